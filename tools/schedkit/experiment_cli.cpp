#include "experiment_cli.h"

#include <fmt/format.h>

#include "schedkit/error.h"

namespace schedkit::cli {

void ExperimentFlags::add_to(CLI::App& cmd) {
    cmd.add_option("--seeds", seeds,
                   "Repeat every run with this many seeds (the base seed and the next ones); "
                   "figures become mean ± 95% confidence half-width")
        ->capture_default_str();
    cmd.add_option("--jobs", jobs, "Simulations at once (threads)")->capture_default_str();
    cmd.add_option("--csv", csv_path, "Also write one CSV row per run to FILE");
}

void ExperimentFlags::check() const {
    if (seeds < 1 || seeds > 100000)
        throw InputError(fmt::format("--seeds '{}': expected a count from 1 to 100000", seeds));
    if (jobs < 1 || jobs > 1024)
        throw InputError(fmt::format("--jobs '{}': expected a count from 1 to 1024", jobs));
}

std::vector<uint64_t> seed_list(const LoadedWorkload& w, int n) {
    uint64_t base = w.seed.value_or(w.spec.seed);
    std::vector<uint64_t> out;
    for (int i = 0; i < n; ++i)
        out.push_back(base + static_cast<uint64_t>(i));
    return out;
}

std::vector<std::pair<std::string, std::string>> csv_run_row(
    const std::vector<std::pair<std::string, std::string>>& keys, const GridRun& run,
    const LoadedWorkload& w) {
    std::vector<std::pair<std::string, std::string>> row = {{"workload", w.spec.name},
                                                            {"topology", w.topo.source()}};
    row.insert(row.end(), keys.begin(), keys.end());
    row.emplace_back("policy", run.policy);
    row.emplace_back("seed", std::to_string(run.seed));
    row.emplace_back("completed", run.result.completed ? "true" : "false");
    row.emplace_back("interrupted", run.result.interrupted ? "true" : "false");
    for (const auto& [name, v] : figures_of(run.result))
        row.emplace_back(name, csv_number(v));
    return row;
}

std::string plus_minus(const Estimate& e, int decimals, double scale) {
    if (e.n == 0)
        return "-";
    return fmt::format("{:.{}f} ± {:.{}f}", e.mean / scale, decimals, e.ci95 / scale, decimals);
}

GridProgress::GridProgress(const ProgressFlags& flags, std::string what)
    : progress(flags, std::move(what)) {}

void GridProgress::on_done(size_t done, size_t total, const GridRun& run) {
    progress.stage(done - 1, total, run.policy);
    SimProgress p;
    p.events = run.result.summary.events;
    p.now_ns = static_cast<uint64_t>(run.result.summary.makespan_us * 1e3);
    p.fraction = 1.0;  // this run is done: (done - 1 + 1) / total overall
    progress.update(p);
}

}  // namespace schedkit::cli
