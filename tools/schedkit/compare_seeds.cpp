// `schedkit compare --seeds N`: every policy over the same N seeds, figures
// as mean ± 95% confidence half-width, one CSV row per run.
#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <string_view>

#include "compare_seeds.h"
#include "schedkit/error.h"
#include "schedkit/output_file.h"
#include "sweep_grid.h"

namespace schedkit::cli {

namespace {}  // namespace

void check_csv_path(const std::string& path) {
    if (path.empty())
        return;
    // Fail on a bad path now, not after the runs; the file itself is
    // written whole at the end (temporary file and rename).
    OutputFile::check(path, "--csv");
}

int run_compare_seeds(const LoadedWorkload& w, const std::vector<std::string>& policies,
                      const ExperimentFlags& flags, bool json,
                      const ProgressFlags& progress_flags) {
    flags.check();
    check_csv_path(flags.csv_path);
    std::vector<uint64_t> seeds = seed_list(w, flags.seeds);
    std::vector<GridRun> runs;
    for (const std::string& p : policies)
        for (uint64_t seed : seeds)
            runs.push_back(GridRun{p, seed, 0, {}, false});
    GridProgress progress(progress_flags, "compare " + w.spec.name);
    install_interrupt_handlers();
    GridOptions options;
    options.config = sim_config(w);
    options.jobs = flags.jobs;
    options.stop = interrupt_flag();
    options.on_done = [&](size_t done, size_t total, const GridRun& r) {
        progress.on_done(done, total, r);
    };
    run_grid(w.spec, w.topo, runs, options);
    progress.progress.finish();
    bool stopped = interrupted();

    Json rows = Json::array();
    CsvTable csv;
    std::vector<Json> aggregates;
    for (size_t pi = 0; pi < policies.size(); ++pi) {
        std::vector<Figures> figures;
        size_t completed = 0;
        for (size_t si = 0; si < seeds.size(); ++si) {
            const GridRun& run = runs[pi * seeds.size() + si];
            // An interrupted or skipped run is no sample of the figure.
            if (!run.ran)
                continue;
            csv.add_row(csv_run_row({}, run, w));
            if (run.result.interrupted)
                continue;
            figures.push_back(figures_of(run.result));
            completed += run.result.completed ? 1 : 0;
        }
        Json agg = aggregate(figures);
        aggregates.push_back(agg);
        rows.push_back({{"policy", policies[pi]},
                        {"runs", figures.size()},
                        {"completed", completed},
                        {"figures", std::move(agg)}});
    }
    if (!flags.csv_path.empty())
        write_output_file(flags.csv_path, csv.text(), "--csv");
    if (json) {
        Json out = {{"workload", w.spec.name},     {"topology", w.topo.source()},
                    {"cpus", w.topo.num_cpus()},   {"seeds", seeds},
                    {"policies", std::move(rows)}, {"interrupted", stopped}};
        if (w.warmup_ns > 0)
            out["warmup_us"] = static_cast<double>(w.warmup_ns) / 1e3;
        fmt::print("{}\n", out.dump());
    } else {
        fmt::print(
            "compare {} on {} ({} CPUs), {} seed{} ({}..{}): mean ± 95% confidence "
            "half-width over seeds\n",
            w.spec.name, w.topo.source(), w.topo.num_cpus(), seeds.size(),
            seeds.size() == 1 ? "" : "s", seeds.front(), seeds.back());
        print_estimates(policies, aggregates, "policy");
    }
    if (stopped) {
        fmt::print(stderr,
                   "schedkit: interrupted; figures cover the runs that finished before it\n");
        return interrupted_status();
    }
    return 0;
}

}  // namespace schedkit::cli
