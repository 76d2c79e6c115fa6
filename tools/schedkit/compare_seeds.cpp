// `schedkit compare --seeds N`: every policy over the same N seeds, figures
// as mean ± 95% confidence half-width, one CSV row per run.
#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <string_view>

#include "compare_seeds.h"
#include "schedkit/error.h"

namespace schedkit::cli {

namespace {

// The table's columns: figure, header, decimals, scale (us -> ms).
struct Column {
    const char* figure;
    const char* header;
    int decimals;
    double scale;
};
constexpr Column kColumns[] = {
    {"makespan_us", "makespan_ms", 3, 1e3},   {"ratio_to_bound", "ratio", 4, 1},
    {"imbalance_ratio", "imbalance", 3, 1},   {"migrations", "migrations", 1, 1},
    {"context_switches", "ctx_switch", 1, 1}, {"wait_p99_us", "wait_p99_us", 1, 1},
    {"response_p99_us", "resp_p99_us", 1, 1}, {"energy_j", "energy_j", 3, 1},
};

}  // namespace

void check_csv_path(const std::string& path) {
    if (path.empty())
        return;
    // Fail on a bad path now, not after the runs; the file itself is
    // written whole at the end (temporary file and rename).
    write_output_atomically(path + ".probe", "");
    std::remove((path + ".probe").c_str());
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
    options.config = sim_config(w, flags);
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
        write_output_atomically(flags.csv_path, csv.text());
    if (json) {
        Json out = {{"workload", w.spec.name},     {"topology", w.topo.source()},
                    {"cpus", w.topo.num_cpus()},   {"seeds", seeds},
                    {"policies", std::move(rows)}, {"interrupted", stopped}};
        fmt::print("{}\n", out.dump());
    } else {
        fmt::print(
            "compare {} on {} ({} CPUs), {} seed{} ({}..{}): mean ± 95% confidence "
            "half-width over seeds\n",
            w.spec.name, w.topo.source(), w.topo.num_cpus(), seeds.size(),
            seeds.size() == 1 ? "" : "s", seeds.front(), seeds.back());
        // Columns as wide as their widest cell.
        std::vector<std::vector<std::string>> cells(policies.size());
        std::vector<size_t> width;
        size_t name_width = 6;
        for (const Column& c : kColumns)
            width.push_back(std::string_view(c.header).size());
        for (size_t pi = 0; pi < policies.size(); ++pi) {
            name_width = std::max(name_width, policies[pi].size());
            for (size_t ci = 0; ci < std::size(kColumns); ++ci) {
                const Column& c = kColumns[ci];
                cells[pi].push_back(
                    plus_minus(estimate_of(aggregates[pi], c.figure), c.decimals, c.scale));
                // "±" is two bytes and one column.
                width[ci] = std::max(width[ci], cells[pi].back().size() - 1);
            }
        }
        std::string header = fmt::format("{:<{}}", "policy", name_width);
        for (size_t ci = 0; ci < std::size(kColumns); ++ci)
            header += fmt::format("  {:>{}}", kColumns[ci].header, width[ci]);
        fmt::print("{}\n", header);
        for (size_t pi = 0; pi < policies.size(); ++pi) {
            std::string line = fmt::format("{:<{}}", policies[pi], name_width);
            for (size_t ci = 0; ci < std::size(kColumns); ++ci)
                line += fmt::format("  {:>{}}", cells[pi][ci], width[ci] + 1);
            fmt::print("{}\n", line);
        }
    }
    if (stopped) {
        fmt::print(stderr,
                   "schedkit: interrupted; figures cover the runs that finished before it\n");
        return interrupted_status();
    }
    return 0;
}

}  // namespace schedkit::cli
