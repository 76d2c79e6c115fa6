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

constexpr size_t kTableGroups = 4;

// Rounded so the JSON text carries no floating-point noise.
double round6(double v) {
    return std::round(v * 1e6) / 1e6;
}

const GroupSummary* find_group(const RunSummary& s, int group) {
    for (const GroupSummary& g : s.groups)
        if (g.group == group)
            return &g;
    return nullptr;
}

int run_compare(const CompareArgs& args) {
    load_plugins(args.workload.plugins);
    std::vector<std::string> policies = split_policies(args.policies);
    for (const std::string& p : policies) {
        if (p.empty())
            throw InputError(fmt::format("--policies '{}': empty policy name", args.policies));
        make_policy(p, "--policies");  // every name and option checked before any run
    }
    LoadedWorkload w = load(args.workload);
    for (const std::string& p : policies)
        check_policy_quantum(w, p, "--policies");  // builds it for this machine, too
    const ExperimentFlags& ex = args.experiment;
    ex.check();
    if (ex.seeds > 1 || ex.jobs > 1 || !ex.csv_path.empty())
        return run_compare_seeds(w, policies, ex, args.workload.json, args.progress);
    nlohmann::ordered_json rows = nlohmann::ordered_json::array();
    std::string table;
    double bound = -1;
    // Per-group columns (response mean and p99 of each group) for the first
    // few groups; the JSON has every group.
    size_t table_groups = std::min<size_t>(w.spec.groups.size(), kTableGroups);
    Progress progress(args.progress, "compare " + w.spec.name);
    install_interrupt_handlers();
    for (size_t i = 0; i < policies.size() && !interrupted(); ++i) {
        const std::string& p = policies[i];
        progress.stage(i, policies.size(), p);
        SimConfig cfg = sim_config(w);
        cfg.progress = progress.callback();
        cfg.stop = interrupt_flag();
        SimResult r = Simulator(w.spec, w.topo, make_policy(p, "--policies"), cfg).run();
        const RunSummary& s = r.summary;
        if (bound < 0)
            bound = r.lower_bound_us;
        double ratio = r.lower_bound_us > 0 ? s.makespan_us / r.lower_bound_us : 0;
        nlohmann::ordered_json groups = nlohmann::ordered_json::array();
        for (const GroupSummary& g : s.groups)
            groups.push_back({{"group", g.name},
                              {"completed", g.completed},
                              {"wait_mean_us", round6(g.wait_us.mean)},
                              {"response_mean_us", round6(g.response_us.mean)},
                              {"response_p50_us", g.response_us.p50},
                              {"response_p99_us", g.response_us.p99},
                              {"slowdown_mean", round6(g.slowdown.mean)},
                              {"slowdown_p99", round6(g.slowdown.p99)}});
        rows.push_back({{"policy", p},
                        {"makespan_us", s.makespan_us},
                        {"lower_bound_us", r.lower_bound_us},
                        {"ratio_to_bound", round6(ratio)},
                        {"imbalance_ratio", s.imbalance_ratio},
                        {"migrations", s.migrations},
                        {"context_switches", s.context_switches},
                        {"wait_mean_us", round6(s.wait_us.mean)},
                        {"wait_p99_us", s.wait_us.p99},
                        {"response_mean_us", round6(s.response_us.mean)},
                        {"response_p50_us", s.response_us.p50},
                        {"response_p99_us", s.response_us.p99},
                        {"energy_j", round6(r.energy_j)},
                        {"completed", r.completed},
                        {"interrupted", r.interrupted},
                        {"groups", std::move(groups)}});
        table += fmt::format(
            "{:<24} {:>12.3f} {:>7.4f} {:>9.3f} {:>10} {:>10} {:>11.1f} {:>11.1f} {:>11.1f} "
            "{:>9.3f}",
            p, s.makespan_us / 1e3, ratio, s.imbalance_ratio, s.migrations, s.context_switches,
            s.wait_us.p99, s.response_us.p50, s.response_us.p99, r.energy_j);
        for (size_t gi = 0; gi < table_groups; ++gi) {
            const GroupSummary* g = find_group(s, static_cast<int>(gi));
            table += g == nullptr ? fmt::format(" {:>14} {:>14}", "-", "-")
                                  : fmt::format(" {:>14.1f} {:>14.1f}", g->response_us.mean,
                                                g->response_us.p99);
        }
        table += r.interrupted ? "  (interrupted)\n" : (r.completed ? "\n" : "  (stopped)\n");
    }
    progress.finish();
    bool stopped_early = interrupted();
    if (stopped_early)
        fmt::print(stderr, "schedkit: interrupted; the table covers the runs so far\n");
    if (args.workload.json) {
        nlohmann::ordered_json out = {{"workload", w.spec.name},   {"topology", w.topo.source()},
                                      {"cpus", w.topo.num_cpus()}, {"lower_bound_us", bound},
                                      {"policies", rows},          {"interrupted", stopped_early}};
        if (w.warmup_ns > 0)
            out["warmup_us"] = static_cast<double>(w.warmup_ns) / 1e3;
        fmt::print("{}\n", out.dump());
        return stopped_early ? interrupted_status() : 0;
    }
    fmt::print(
        "compare {} on {} ({} CPUs); lower bound {:.3f} ms = max(work / CPUs, critical path)\n",
        w.spec.name, w.topo.source(), w.topo.num_cpus(), bound / 1e3);
    std::string header =
        fmt::format("{:<24} {:>12} {:>7} {:>9} {:>10} {:>10} {:>11} {:>11} {:>11} {:>9}", "policy",
                    "makespan_ms", "ratio", "imbalance", "migrations", "ctx_switch", "wait_p99_us",
                    "resp_p50_us", "resp_p99_us", "energy_j");
    for (size_t gi = 0; gi < table_groups; ++gi) {
        std::string name = w.spec.groups[gi].name.substr(0, 8);
        header += fmt::format(" {:>14} {:>14}", name + ":resp_mean", name + ":resp_p99");
    }
    fmt::print("{}\n{}", header, table);
    if (w.spec.groups.size() > table_groups)
        fmt::print("(per-group columns for the first {} of {} groups; --json has all)\n",
                   table_groups, w.spec.groups.size());
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
    args->workload.add_to(*cmd, false, true);
    args->workload.add_warmup_flag(*cmd);
    args->progress.add_to(*cmd);
    args->experiment.add_to(*cmd);
    args->workload.add_cost_flags(*cmd);
    cmd->add_option("--policies", args->policies,
                    "Comma-separated policies with options, e.g. static,fair:nr_migrate=16,steal")
        ->capture_default_str();
    cmd->callback([args, &run] { run = [args] { return run_compare(*args); }; });
}

}  // namespace schedkit::cli
