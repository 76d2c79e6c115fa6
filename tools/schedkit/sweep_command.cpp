// `schedkit sweep`: a grid of policy parameters x seeds, run here on local
// cores, or printed as one self-contained command per point (--emit-jobs)
// for GNU parallel or a Slurm array, whose outputs `schedkit merge` joins.
#include <fmt/format.h>

#include <filesystem>

#include "commands.h"
#include "compare_seeds.h"
#include "schedkit/error.h"
#include "sweep_grid.h"

namespace schedkit::cli {

namespace {

struct SweepArgs {
    WorkloadArgs workload;
    ProgressFlags progress;
    ExperimentFlags experiment;
    std::string policies;
    std::vector<std::string> params;
    bool emit_jobs = false;
    std::string output;  // --output FILE: the JSON, written whole
    int point = -1;      // --point K: run only point K
};

// quote() makes a shell word of `s` (single quotes).
std::string quote(const std::string& s) {
    std::string out = "'";
    for (char c : s)
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

// emit_jobs() prints one command per point: the same sweep, absolute paths,
// with --point K --output sweep-point-K.json.
void emit_jobs(const SweepArgs& a, const std::vector<SweepPoint>& points, const LoadedWorkload& w) {
    std::string self = std::filesystem::canonical("/proc/self/exe").string();
    std::string common =
        quote(self) + " sweep " + quote(std::filesystem::absolute(a.workload.spec_path).string());
    if (!a.policies.empty())
        common += " --policies " + quote(a.policies);
    for (const std::string& p : a.params)
        common += " --param " + quote(p);
    common +=
        fmt::format(" --seeds {} --seed {}", a.experiment.seeds, w.seed.value_or(w.spec.seed));
    if (!a.workload.topology.empty())
        common += " --topology " + quote(a.workload.topology);
    if (!a.workload.until.empty())
        common += " --until " + quote(a.workload.until);
    if (!a.workload.quantum.empty())
        common += " --quantum " + quote(a.workload.quantum);
    if (!a.workload.warmup.empty())
        common += " --warmup " + quote(a.workload.warmup);
    for (size_t k = 0; k < points.size(); ++k)
        fmt::print("{} --point {} --quiet --output sweep-point-{}.json\n", common, k, k);
}

int run_sweep(const SweepArgs& a) {
    a.experiment.check();
    std::vector<SweepPoint> points = sweep_points(a.policies, a.params);
    LoadedWorkload w = load(a.workload);
    if (a.point >= 0 && static_cast<size_t>(a.point) >= points.size())
        throw InputError(fmt::format("--point {}: expected 0 to {} (the sweep has {} points)",
                                     a.point, points.size() - 1, points.size()));
    if (a.emit_jobs) {
        emit_jobs(a, points, w);
        return 0;
    }
    check_csv_path(a.experiment.csv_path);
    check_csv_path(a.output);
    std::vector<uint64_t> seeds = seed_list(w, a.experiment.seeds);
    std::vector<size_t> chosen;
    for (size_t k = 0; k < points.size(); ++k)
        if (a.point < 0 || static_cast<size_t>(a.point) == k)
            chosen.push_back(k);
    std::vector<GridRun> runs;
    for (size_t k : chosen)
        for (uint64_t seed : seeds)
            runs.push_back(GridRun{points[k].run_policy, seed, k, {}, false});
    GridProgress progress(a.progress, "sweep " + w.spec.name);
    install_interrupt_handlers();
    GridOptions options;
    options.config = sim_config(w);
    options.jobs = a.experiment.jobs;
    options.stop = interrupt_flag();
    options.on_done = [&](size_t done, size_t total, const GridRun& r) {
        progress.on_done(done, total, r);
    };
    run_grid(w.spec, w.topo, runs, options);
    progress.progress.finish();

    Json param_names = Json::array();
    for (const SweepPoint& p : points)
        for (const auto& [name, v] : p.params)
            if (std::find(param_names.begin(), param_names.end(), name) == param_names.end())
                param_names.push_back(name);
    Json out = {{"workload", w.spec.name},
                {"topology", w.topo.source()},
                {"cpus", w.topo.num_cpus()},
                {"sweep",
                 {{"policies", a.policies},
                  {"params", a.params},
                  {"param_names", std::move(param_names)},
                  {"seeds", seeds},
                  {"points", points.size()}}},
                {"points", Json::array()},
                {"interrupted", interrupted()}};
    if (w.warmup_ns > 0)  // in "sweep", so merge refuses parts with another warm-up
        out["sweep"]["warmup_us"] = static_cast<double>(w.warmup_ns) / 1e3;
    for (size_t i = 0; i < chosen.size(); ++i) {
        std::vector<const GridRun*> mine;
        for (size_t s = 0; s < seeds.size(); ++s)
            mine.push_back(&runs[i * seeds.size() + s]);
        out["points"].push_back(point_json(chosen[i], points[chosen[i]], mine));
    }
    print_sweep(out, a.workload.json, a.experiment.csv_path, a.output);
    if (interrupted()) {
        fmt::print(stderr, "schedkit: interrupted; figures cover the runs that finished\n");
        return interrupted_status();
    }
    return 0;
}

}  // namespace

void print_sweep(const Json& out, bool json, const std::string& csv_path,
                 const std::string& output) {
    if (!csv_path.empty())
        write_output_atomically(csv_path, sweep_csv(out));
    if (!output.empty())
        write_output_atomically(output, out.dump() + "\n");
    if (json) {
        fmt::print("{}\n", out.dump());
    } else if (output.empty()) {
        const Json& sw = out["sweep"];
        fmt::print(
            "sweep {} on {} ({} CPUs): {} of {} points x {} seeds; mean ± 95% "
            "confidence half-width over seeds\n",
            out["workload"].get<std::string>(), out["topology"].get<std::string>(),
            out["cpus"].get<int>(), out["points"].size(), sw["points"].get<size_t>(),
            sw["seeds"].size());
        std::vector<std::string> labels;
        std::vector<Json> figures;
        for (const Json& p : out["points"]) {
            labels.push_back(p["run_policy"].get<std::string>());
            figures.push_back(p["figures"]);
        }
        print_estimates(labels, figures, "policy");
    }
}

void add_sweep_command(CLI::App& app, Command& run) {
    auto args = std::make_shared<SweepArgs>();
    CLI::App* cmd = app.add_subcommand(
        "sweep", "Simulate a grid of policy parameters x seeds (here, or as one job per point)");
    args->workload.add_to(*cmd, false, true);
    args->workload.add_warmup_flag(*cmd);
    cmd->add_option("--policies", args->policies,
                    "Policies to run (default: the ones --param names), e.g. static,fair");
    cmd->add_option("--param", args->params,
                    "POLICY:OPTION=V1,V2,... values of one option to sweep (repeatable: the "
                    "grid is their product)")
        ->expected(1)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    args->experiment.add_to(*cmd);
    args->progress.add_to(*cmd);
    cmd->add_flag("--emit-jobs", args->emit_jobs,
                  "Print one self-contained command per point instead of running; join their "
                  "outputs with 'schedkit merge sweep-point-*.json'");
    cmd->add_option("--point", args->point, "Run only point K of the grid (what --emit-jobs uses)");
    cmd->add_option("--output", args->output, "Write the JSON to FILE (whole, at the end)");
    cmd->callback([args, &run] { run = [args] { return run_sweep(*args); }; });
}

}  // namespace schedkit::cli
