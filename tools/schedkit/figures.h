// figures.h: the numbers an experiment compares across policies and seeds,
// read from each simulation's summary, aggregated to mean ± 95% CI, and
// written as CSV (one row per run).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "schedkit/experiment.h"
#include "schedkit/sim.h"

namespace schedkit::cli {

using Json = nlohmann::ordered_json;

// Figures are one run's named numbers, in a fixed order: the whole run's,
// then per group "group:NAME:FIGURE" (when the summary has groups[]).
using Figures = std::vector<std::pair<std::string, double>>;

// figures_of() reads a finished simulation's figures: makespan_us,
// lower_bound_us, ratio_to_bound, imbalance_ratio, migrations,
// context_switches, wait_{mean,p50,p99}_us, response_{mean,p50,p99}_us (a
// mean only when the summary has one), energy_j, then the groups'.
Figures figures_of(const SimResult& r);

// aggregate() turns the figures of several runs of one configuration into
// {"NAME": {"mean", "ci95", "n", "values"}} in the first run's order; a
// figure missing from some run counts over the runs that have it.
Json aggregate(const std::vector<Figures>& runs);

// estimate_of() is one figure of an aggregate() object as an Estimate.
Estimate estimate_of(const Json& aggregated, const std::string& figure);

// csv_field() quotes a CSV field when it holds a comma, quote or newline
// (RFC 4180); csv_number() prints a figure with up to 6 decimals, no noise.
std::string csv_field(const std::string& text);
std::string csv_number(double v);

// CsvTable collects rows of named columns; columns appear in first-seen
// order and a row without a column leaves it empty.
class CsvTable {
  public:
    void add_row(std::vector<std::pair<std::string, std::string>> row);
    std::string text() const;  // header line, then the rows, '\n' ends each

  private:
    std::vector<std::string> columns_;
    std::vector<std::vector<std::pair<std::string, std::string>>> rows_;
};

}  // namespace schedkit::cli
