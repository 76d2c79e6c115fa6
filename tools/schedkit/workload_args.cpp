#include "workload_args.h"

#include <fmt/format.h>

#include <charconv>
#include <nlohmann/json.hpp>

#include "schedkit/error.h"
#include "schedkit/output_file.h"
#include "schedkit/plugin_loader.h"
#include "schedkit/policy_registry.h"
#include "schedkit/sim.h"

namespace schedkit::cli {

void add_plugin_option(CLI::App& cmd, std::vector<std::string>& plugins) {
    cmd.add_option("--plugin", plugins,
                   "Load a policy plug-in (shared object, docs/plugins.md); repeatable")
        ->allow_extra_args(false)  // one path per --plugin: a positional after it is not a plug-in
        ->take_all();
}

void load_plugins(const std::vector<std::string>& plugins) {
    for (const std::string& p : plugins)
        load_plugin(p);
}

void WorkloadArgs::add_to(CLI::App& cmd, bool with_policy, bool with_json) {
    cmd.add_option("spec", spec_path, "Workload spec (YAML), see docs/workload-format.md")
        ->required();
    cmd.add_option(
        "--topology", topology,
        "host, an hwloc synthetic string or an XML file (default: the spec's, else host)");
    if (with_policy) {
        cmd.add_option("--policy", policy, "Policy and options, e.g. fair:nr_migrate=16")
            ->capture_default_str();
        cmd.add_option("--switch", switches, "Switch policy at a time, e.g. 200ms=governor")
            ->take_all();
    }
    add_plugin_option(cmd, plugins);
    cmd.add_option("--seed", seed, "Random seed (default: the spec's)");
    cmd.add_option("--until", until, "Stop at this time, e.g. 2s");
    cmd.add_option("--quantum", quantum, "Time slice for every policy, e.g. 3ms");
    if (with_json)
        cmd.add_flag("--json", json, "Print one JSON object instead of a table");
    Budget d;
    cmd.add_option(
        "--max-tasks", max_tasks,
        fmt::format("Budget: tasks a simulation creates, or a run has alive (default {})",
                    d.max_tasks));
    cmd.add_option("--max-events", max_events,
                   fmt::format("Budget: simulator events (default {})", d.max_events));
    cmd.add_option(
        "--max-time", max_time,
        fmt::format("Budget: virtual time a simulation reaches (default {}ns)", d.max_time_ns));
    cmd.add_option("--max-spec-bytes", max_spec_bytes,
                   fmt::format("Budget: size of the spec file (default {})", d.max_spec_bytes));
}

namespace {

// budget_flag() reads a budget: a positive integer (a duration for
// --max-time), within what schedkit can represent.
uint64_t budget_flag(const std::string& text, const char* flag, uint64_t dflt, uint64_t max) {
    if (text.empty())
        return dflt;
    uint64_t v = 0;
    if (std::string_view(flag) == "--max-time") {
        v = parse_duration(text, flag, max);
    } else {
        auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec != std::errc{} || ptr != text.data() + text.size())
            throw InputError(fmt::format("{} '{}': expected a positive integer", flag, text));
    }
    if (v == 0 || v > max)
        throw InputError(
            fmt::format("{} '{}': expected a positive value up to {}", flag, text, max));
    return v;
}

Budget read_budget(const WorkloadArgs& args) {
    Budget d, b;
    b.max_tasks = budget_flag(args.max_tasks, "--max-tasks", d.max_tasks, uint64_t{1} << 40);
    b.max_events = budget_flag(args.max_events, "--max-events", d.max_events, UINT64_MAX);
    b.max_time_ns = budget_flag(args.max_time, "--max-time", d.max_time_ns, kMaxVirtualNs);
    b.max_spec_bytes =
        budget_flag(args.max_spec_bytes, "--max-spec-bytes", d.max_spec_bytes, uint64_t{1} << 40);
    return b;
}

}  // namespace

void check_policies(const WorkloadArgs& args, int num_cpus) {
    make_policy(args.policy, "--policy", num_cpus);
    for (const std::string& s : args.switches)
        make_policy(s.substr(s.find('=') + 1), "--switch", num_cpus);
}

void WorkloadArgs::add_warmup_flag(CLI::App& cmd) {
    cmd.add_option("--warmup", warmup,
                   "Leave tasks arriving before this time out of the wait, response and per-task "
                   "statistics, e.g. 100ms");
}

void check_quantum(const LoadedWorkload& w, uint64_t quantum_ns, const char* what,
                   const std::string& text) {
    // A slice no longer than a context switch makes every slice all switch:
    // the run crawls and its events grow without bound.
    if (quantum_ns <= w.switch_cost_ns)
        throw InputError(fmt::format(
            "{} '{}': expected a quantum of more than the {} ns a context switch costs{}", what,
            text, w.switch_cost_ns,
            w.switch_cost_ns == SimConfig{}.context_switch_ns
                ? ""
                : " here (--switch-cost, or the spec's costs: switch:)"));
}

void check_policy_quantum(const LoadedWorkload& w, const std::string& policy, const char* what) {
    if (w.quantum_ns != 0)
        return;  // --quantum replaces every policy's own
    std::unique_ptr<Policy> p = make_policy(policy, what, w.topo.num_cpus());
    check_quantum(w, p->quantum_ns, what, policy);
}

void WorkloadArgs::add_cost_flags(CLI::App& cmd) {
    cost_flags = true;
    cmd.add_option("--switch-cost", switch_cost,
                   "CPU time a context switch costs in the simulator, e.g. 2us");
    cmd.add_option("--migration-cost", migration_cost,
                   "Cache-refill cost of a migration per level, e.g. LLC=5us,NUMA=80us");
}

LoadedWorkload load(const WorkloadArgs& args) {
    load_plugins(args.plugins);  // their policies may be named below
    LoadedWorkload w;
    w.budget = read_budget(args);
    CostSpec flags;
    if (!args.switch_cost.empty())
        flags.switch_ns = parse_duration(args.switch_cost, "--switch-cost");
    if (!args.migration_cost.empty())
        parse_migration_costs(args.migration_cost, "--migration-cost", flags);
    if (!args.seed.empty()) {
        uint64_t v = 0;
        auto [ptr, ec] = std::from_chars(args.seed.data(), args.seed.data() + args.seed.size(), v);
        if (ec != std::errc{} || ptr != args.seed.data() + args.seed.size())
            throw InputError(
                fmt::format("--seed '{}': expected a non-negative integer", args.seed));
        w.seed = v;
    }
    if (!args.until.empty()) {
        w.until_ns = parse_duration(args.until, "--until");
        if (w.until_ns == 0)  // 0 would read as "no limit": leave the flag out for that
            throw InputError(fmt::format(
                "--until '{}': expected a positive time (leave --until out to run to the end)",
                args.until));
    }
    if (!args.quantum.empty())
        w.quantum_ns = parse_duration(args.quantum, "--quantum");  // checked against the cost below
    if (!args.warmup.empty())
        w.warmup_ns = parse_duration(args.warmup, "--warmup");
    make_policy(args.policy, "--policy");  // validates before any work is done
    for (const std::string& s : args.switches) {
        size_t eq = s.find('=');
        if (eq == std::string::npos)
            throw InputError(
                fmt::format("--switch '{}': expected TIME=POLICY, e.g. 200ms=governor", s));
        PolicySwitch ps;
        ps.at_ns = parse_duration(s.substr(0, eq), "--switch");
        ps.policy = s.substr(eq + 1);
        make_policy(ps.policy, "--switch");
        w.switches.push_back(ps);
    }
    w.spec = parse_workload_file(args.spec_path, w.budget.max_spec_bytes);
    if (flags.switch_ns)
        w.spec.costs.switch_ns = flags.switch_ns;
    for (size_t k = 0; k < flags.migration_ns.size(); ++k)
        if (flags.migration_ns[k])
            w.spec.costs.migration_ns[k] = flags.migration_ns[k];
    std::string topo = !args.topology.empty() ? args.topology : w.spec.topology.value_or("host");
    try {
        w.topo = Topology::load(topo);
    } catch (const InputError& e) {
        if (!args.topology.empty() || !w.spec.topology)
            throw;
        SourceLoc at = w.spec.topology_loc;  // the spec's own `topology:`
        throw InputError(fmt::format("{}:{}:{}: {}", w.spec.path, at.line, at.column, e.what()));
    }
    check_against(w.spec, w.topo);
    // A simulator command pays the configured switch cost (--switch-cost, else the spec's
    // `costs: switch:`); `run` pays real costs, checked against the default.
    w.switch_cost_ns = SimConfig{}.context_switch_ns;
    if (args.cost_flags && w.spec.costs.switch_ns)
        w.switch_cost_ns = *w.spec.costs.switch_ns;
    if (w.quantum_ns != 0)
        check_quantum(w, w.quantum_ns, "--quantum", args.quantum);
    check_policies(args, w.topo.num_cpus());
    check_policy_quantum(w, args.policy, "--policy");
    for (const std::string& s : args.switches)
        check_policy_quantum(w, s.substr(s.find('=') + 1), "--switch");
    check_spec_budget(w.spec, w.budget, w.until_ns != 0);
    return w;
}

void warn_refused_switches(const RunSummary& s) {
    if (s.extra_json.empty())
        return;
    auto extra = nlohmann::json::parse(s.extra_json);
    if (!extra.contains("policy_switches"))
        return;
    for (const auto& sw : extra["policy_switches"])
        if (sw.contains("restored"))  // the plug-in already said why on stderr
            fmt::print(stderr, "schedkit: warning: at {:.3f} ms '{}' failed; {}\n",
                       sw.value("at_us", 0.0) / 1e3, sw.value("from", std::string("?")),
                       sw.value("ok", false)
                           ? fmt::format("'{}' was put back", sw.value("to", std::string("?")))
                           : sw.value("error", std::string("nothing was put back")));
        else if (!sw.value("ok", true))
            fmt::print(stderr,
                       "schedkit: warning: --switch at {:.3f} ms to '{}' was refused ({}); '{}' "
                       "went on\n",
                       sw.value("at_us", 0.0) / 1e3, sw.value("to", std::string("?")),
                       sw.value("error", std::string("no reason given")),
                       sw.value("from", std::string("?")));
}

void write_output_atomically(const std::string& path, const std::string& text) {
    write_output_file(path, text, "output");
}

SimConfig sim_config(const LoadedWorkload& w) {
    SimConfig cfg;
    cfg.seed = w.seed;
    cfg.until_ns = w.until_ns;
    cfg.quantum_ns = w.quantum_ns;
    cfg.warmup_ns = w.warmup_ns;
    cfg.max_tasks = w.budget.max_tasks;
    cfg.max_events = w.budget.max_events;
    cfg.max_time_ns = w.budget.max_time_ns;
    return cfg;
}

}  // namespace schedkit::cli
