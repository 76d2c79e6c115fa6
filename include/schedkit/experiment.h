// experiment.h: repeated simulations (policies x seeds, in parallel) and
// the statistics that say how sure a figure is: mean and 95% confidence
// interval over seeds.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "schedkit/sim.h"

namespace schedkit {

// Estimate is one figure over repeated runs: the per-run values, their mean
// and the half-width of the 95% confidence interval of the mean,
// t(0.975, n-1) * s / sqrt(n) with s the sample standard deviation (Student
// t: runs are few, the figure's spread is unknown). n < 2: ci95 = 0.
struct Estimate {
    double mean = 0;
    double ci95 = 0;
    size_t n = 0;
    std::vector<double> values;
};

// estimate() computes an Estimate of `values` (which it keeps).
Estimate estimate(std::vector<double> values);

// student_t975() is the 0.975 quantile of Student's t with `dof` degrees of
// freedom (dof >= 1; 0 gives 0): tabulated to 30, a Cornish-Fisher
// expansion (error < 1e-4) above.
double student_t975(size_t dof);

// GridRun is one simulation of an experiment: a policy (with options) and
// a seed; `result` is filled by run_grid().
struct GridRun {
    std::string policy;
    uint64_t seed = 0;
    size_t point = 0;  // the caller's index of the parameter point, for sweeps
    SimResult result;
    bool ran = false;  // false: skipped because the run was interrupted first
};

// GridOptions say how run_grid() runs.
struct GridOptions {
    SimConfig config;  // for every run; its seed, progress and stop are set per run
    int jobs = 1;      // simulations at once, each on its own thread
    const std::atomic<bool>* stop = nullptr;  // see SimConfig::stop
    // progress(done, total, run) is called after each run finishes, from
    // the thread that ran it (one at a time).
    std::function<void(size_t, size_t, const GridRun&)> on_done;
};

// run_grid() simulates every run of `runs` (policy names already checked
// with make_policy) on `spec` and `topo`, `jobs` at a time; each run is
// deterministic, so the results do not depend on `jobs`. Once `stop` reads
// true, runs in flight end interrupted and the rest are skipped.
void run_grid(const WorkloadSpec& spec, const Topology& topo, std::vector<GridRun>& runs,
              const GridOptions& options);

}  // namespace schedkit
