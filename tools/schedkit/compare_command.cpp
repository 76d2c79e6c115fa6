// `schedkit compare`: one workload under several policies, side by side,
// each against the lower bound max(total work / CPUs, critical path).
#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "compare_seeds.h"
#include "compare_split.h"
#include "progress.h"
#include "schedkit/error.h"
#include "schedkit/policy_registry.h"
#include "schedkit/sim.h"
#include "workload_args.h"

namespace schedkit::cli {

namespace {

struct CompareArgs {
    WorkloadArgs workload;
    ProgressFlags progress;
    ExperimentFlags experiment;
    std::string policies = "static,dynamic,fair,steal,governor";
};

int run_compare(const CompareArgs& args) {
    load_plugins(args.workload.plugins);
    std::vector<std::string> policies = split_policies(args.policies);
    for (const std::string& p : policies) {
        if (p.empty())
            throw InputError(fmt::format("--policies '{}': empty policy name", args.policies));
        make_policy(p, "--policies");  // every name and option checked before any run
    }
    LoadedWorkload w = load(args.workload);
    const ExperimentFlags& ex = args.experiment;
    ex.check();
    if (ex.seeds > 1 || ex.jobs > 1 || !ex.csv_path.empty())
        return run_compare_seeds(w, policies, ex, args.workload.json, args.progress);
    nlohmann::ordered_json rows = nlohmann::ordered_json::array();
    std::string table;
    double bound = -1;
    Progress progress(args.progress, "compare " + w.spec.name);
    install_interrupt_handlers();
    for (size_t i = 0; i < policies.size() && !interrupted(); ++i) {
        const std::string& p = policies[i];
        progress.stage(i, policies.size(), p);
        SimConfig cfg;
        cfg.seed = w.seed;
        cfg.until_ns = w.until_ns;
        cfg.quantum_ns = w.quantum_ns;
        cfg.progress = progress.callback();
        cfg.stop = interrupt_flag();
        SimResult r = Simulator(w.spec, w.topo, make_policy(p, "--policies"), cfg).run();
        const RunSummary& s = r.summary;
        if (bound < 0)
            bound = r.lower_bound_us;
        double ratio = r.lower_bound_us > 0 ? s.makespan_us / r.lower_bound_us : 0;
        // Rounded so the JSON text carries no floating-point noise.
        auto round6 = [](double v) { return std::round(v * 1e6) / 1e6; };
        rows.push_back({{"policy", p},
                        {"makespan_us", s.makespan_us},
                        {"lower_bound_us", r.lower_bound_us},
                        {"ratio_to_bound", round6(ratio)},
                        {"imbalance_ratio", s.imbalance_ratio},
                        {"migrations", s.migrations},
                        {"context_switches", s.context_switches},
                        {"wait_p99_us", s.wait_us.p99},
                        {"energy_j", round6(r.energy_j)},
                        {"completed", r.completed},
                        {"interrupted", r.interrupted}});
        table +=
            fmt::format("{:<24} {:>12.3f} {:>7.4f} {:>9.3f} {:>10} {:>9} {:>11.1f} {:>9.3f}{}\n", p,
                        s.makespan_us / 1e3, ratio, s.imbalance_ratio, s.migrations,
                        s.context_switches, s.wait_us.p99, r.energy_j,
                        r.interrupted ? "  (interrupted)" : (r.completed ? "" : "  (stopped)"));
    }
    progress.finish();
    bool stopped_early = interrupted();
    if (stopped_early)
        fmt::print(stderr, "schedkit: interrupted; the table covers the runs so far\n");
    if (args.workload.json) {
        nlohmann::ordered_json out = {{"workload", w.spec.name},   {"topology", w.topo.source()},
                                      {"cpus", w.topo.num_cpus()}, {"lower_bound_us", bound},
                                      {"policies", rows},          {"interrupted", stopped_early}};
        fmt::print("{}\n", out.dump());
        return stopped_early ? interrupted_status() : 0;
    }
    fmt::print(
        "compare {} on {} ({} CPUs); lower bound {:.3f} ms = max(work / CPUs, critical path)\n",
        w.spec.name, w.topo.source(), w.topo.num_cpus(), bound / 1e3);
    fmt::print("{:<24} {:>12} {:>7} {:>9} {:>10} {:>9} {:>11} {:>9}\n", "policy", "makespan_ms",
               "ratio", "imbalance", "migrations", "ctx_switch", "wait_p99_us", "energy_j");
    fmt::print("{}", table);
    if (stopped_early) {
        fmt::print("interrupted: {} of {} policies ran (the last one only partly)\n", rows.size(),
                   policies.size());
        return interrupted_status();
    }
    return 0;
}

}  // namespace

void add_compare_command(CLI::App& app, Command& run) {
    auto args = std::make_shared<CompareArgs>();
    CLI::App* cmd =
        app.add_subcommand("compare", "Simulate a workload under several policies, side by side");
    args->workload.add_to(*cmd, false);
    args->progress.add_to(*cmd);
    args->experiment.add_to(*cmd);
    cmd->add_option("--policies", args->policies,
                    "Comma-separated policies with options, e.g. static,fair:nr_migrate=16,steal")
        ->capture_default_str();
    cmd->callback([args, &run] { run = [args] { return run_compare(*args); }; });
}

}  // namespace schedkit::cli
