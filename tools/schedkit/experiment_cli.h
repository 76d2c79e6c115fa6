// experiment_cli.h: the flags and output shared by the commands that repeat
// simulations over seeds (`compare --seeds`, `sweep`).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "figures.h"
#include "progress.h"
#include "schedkit/experiment.h"
#include "workload_args.h"

namespace schedkit::cli {

// ExperimentFlags are --seeds, --jobs and --csv.
struct ExperimentFlags {
    int seeds = 1;
    int jobs = 1;
    std::string csv_path;  // empty: no CSV
    void add_to(CLI::App& cmd);
    // check() validates the flags; throws InputError.
    void check() const;
};

// seed_list() is the seeds of an experiment: the base seed (--seed, else
// the spec's) and the next n-1 integers.
std::vector<uint64_t> seed_list(const LoadedWorkload& w, int n);

// csv_run_row() is the CSV row of one run: `keys` (e.g. the sweep's
// parameters) then policy, seed, completed, interrupted and its figures.
std::vector<std::pair<std::string, std::string>> csv_run_row(
    const std::vector<std::pair<std::string, std::string>>& keys, const GridRun& run,
    const LoadedWorkload& w);

// plus_minus() prints an estimate as "mean ± half-width" with `decimals`,
// values divided by `scale` first.
std::string plus_minus(const Estimate& e, int decimals, double scale = 1);

// GridProgress shows "N/M runs" through a Progress line and counts.
struct GridProgress {
    explicit GridProgress(const ProgressFlags& flags, std::string what);
    void on_done(size_t done, size_t total, const GridRun& run);
    Progress progress;
};

}  // namespace schedkit::cli
