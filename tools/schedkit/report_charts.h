// report_charts.h: Vega-Lite specs (as JSON) for `schedkit report`, built
// from the JSON files schedkit writes.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace schedkit::cli {

using Json = nlohmann::ordered_json;

// Chart is one plot of the report: a heading, a line saying how to read it,
// and a Vega-Lite spec with its data inline.
struct Chart {
    std::string title;
    std::string note;
    Json spec;
};

// trace_charts(): per-CPU Gantt, utilisation and run-queue length over time
// from a Chrome trace written by `sim --trace` or `run --trace`.
std::vector<Chart> trace_charts(const Json& trace, const std::string& name);
// summary_charts(): wait and response CDFs (per group when the summary has
// groups[]) from a sim or run summary (--json).
std::vector<Chart> summary_charts(const Json& summary, const std::string& name);
// compare_charts(): per-policy bars (with 95% CI whiskers for --seeds).
std::vector<Chart> compare_charts(const Json& compare, const std::string& name);
// sweep_charts(): each figure against each swept parameter, per policy,
// mean with a 95% CI band.
std::vector<Chart> sweep_charts(const Json& sweep, const std::string& name);
// fidelity_table(): an HTML table of a sim beside a run of the same spec.
std::string fidelity_table(const Json& sim, const Json& run);

}  // namespace schedkit::cli
