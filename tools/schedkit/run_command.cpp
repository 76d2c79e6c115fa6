// `schedkit run`: execute a workload spec for real on the runtime.
#include <fmt/format.h>

#include <sched.h>

#include <charconv>

#include "commands.h"
#include "output_flags.h"
#include "schedkit/error.h"
#include "schedkit/output_file.h"
#include "schedkit/runtime_workload.h"
#include "workload_args.h"

namespace schedkit::cli {

namespace {

// RunArgs are `run`'s flags beyond the shared workload ones.
struct RunArgs {
    WorkloadArgs workload;
    OutputFlags output;
    std::string cpus;                          // host CPUs to bind workers to (list syntax)
    const CLI::Option* cpus_option = nullptr;  // to tell `--cpus ''` from no --cpus
    std::string scale = "1";                   // multiplies every duration of the spec
    bool oversubscribe = false;
    std::string control;  // JSON-RPC control socket path (docs/control.md), empty: none
};

double parse_scale(const std::string& text) {
    double v = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || ptr != text.data() + text.size() || !(v > 0) || v > 1000)
        throw InputError(
            fmt::format("--scale '{}': expected a number greater than 0 and at most 1000", text));
    return v;
}

// allowed_cpus() is the CPUs this process may run on (taskset, cgroups),
// as kernel CPU ids.
CpuSet allowed_cpus() {
    cpu_set_t mask;
    CPU_ZERO(&mask);
    CpuSet out;
    if (sched_getaffinity(0, sizeof mask, &mask) != 0)
        return out;  // unknown: no restriction beyond the machine's
    for (int c = 0; c < CPU_SETSIZE; ++c)
        if (CPU_ISSET(c, &mask))
            out.set(c);
    return out;
}

// choose_cpus() is the host CPUs the workers run on: --cpus, which must be
// CPUs this process may use, or by default every CPU it may use (so a run
// under `taskset -c 0` stays on CPU 0). Empty: no restriction to apply.
CpuSet choose_cpus(const RunArgs& args) {
    CpuSet allowed = allowed_cpus();
    if (args.cpus_option == nullptr || args.cpus_option->count() == 0)
        return allowed;
    if (args.cpus.find_first_not_of(' ') == std::string::npos)
        throw InputError(fmt::format(
            "--cpus '{}': expected a CPU list like 0-3 (leave --cpus out for every allowed CPU)",
            args.cpus));
    CpuSet cpus = CpuSet::parse(args.cpus, "--cpus");
    if (!allowed.empty() && !cpus.is_subset_of(allowed)) {
        CpuSet outside;
        for (int c = cpus.first(); c >= 0; c = cpus.next(c))
            if (!allowed.test(c))
                outside.set(c);
        throw InputError(fmt::format(
            "--cpus '{}': CPU {} is not one this process may run on (expected CPUs within {}, "
            "the affinity mask)",
            args.cpus, outside.to_string(), allowed.to_string()));
    }
    return cpus;
}

int run_real(const RunArgs& args) {
    LoadedWorkload w = load(args.workload);
    double scale = parse_scale(args.scale);
    RealRunConfig cfg;
    cfg.runtime.policy = args.workload.policy;
    cfg.runtime.quantum_ns = w.quantum_ns;
    cfg.runtime.keep_trace = !args.output.trace_path.empty();
    cfg.runtime.keep_task_stats = args.output.per_task;
    cfg.runtime.bind = true;  // each worker on its own CPU, as the spec's CPUs
    Topology topo = w.topo;
    CpuSet cpus = choose_cpus(args);
    bool restricted = args.cpus_option->count() > 0 || cpus.count() < Topology::host().num_cpus();
    if (restricted && !cpus.empty()) {
        cfg.runtime.cpus = cpus;
        // No machine named: the scheduler sees exactly the CPUs it runs on.
        if (args.workload.topology.empty() && !w.spec.topology) {
            topo = Topology::flat(cfg.runtime.cpus.count());
            check_against(w.spec, topo);
        }
    }
    check_fits_host(topo, cfg.runtime.cpus, args.oversubscribe);
    check_policies(args.workload, topo.num_cpus());
    cfg.runtime.workers = topo.num_cpus();
    cfg.runtime.topology = topo;
    cfg.runtime.validate();  // bad --cpus: exit 2 before anything runs
    for (const PolicySwitch& s : w.switches)
        cfg.switches.emplace_back(s.at_ns, s.policy);
    cfg.seed = w.seed;
    cfg.until_ns = w.until_ns;
    cfg.scale = scale;
    cfg.max_tasks = w.budget.max_tasks;
    // Fail on a bad path now, not after the run; an existing file stays
    // until the new trace replaces it.
    args.output.check();
    cfg.trace_path = args.output.trace_path;
    cfg.control_socket = args.control;
    RealRunResult r = run_workload(w.spec, cfg);
    args.output.emit(summary_result(r.summary),
                     summary_table(r.summary) + "\n" + host_share_line(r.host) + "\n", "run");
    return 0;
}

}  // namespace

void add_run_command(CLI::App& app, Command& run) {
    auto args = std::make_shared<RunArgs>();
    CLI::App* cmd = app.add_subcommand(
        "run", "Execute a workload spec for real on the runtime (one worker per CPU)");
    args->workload.add_to(*cmd, true, false);
    args->output.add_to(*cmd, true);
    args->cpus_option = cmd->add_option(
        "--cpus", args->cpus,
        "Host CPUs to run the workers on, e.g. 0-3 (default: every CPU the process may use)");
    cmd->add_option("--scale", args->scale,
                    "Multiply every duration of the spec by this factor, e.g. 0.1")
        ->capture_default_str();
    cmd->add_flag("--oversubscribe", args->oversubscribe,
                  "Allow a topology with more CPUs than the run has (workers time-share them)");
    cmd->add_option("--control", args->control,
                    "Serve JSON-RPC 2.0 on this Unix socket while running (schedkit ctl)");
    cmd->callback([args, &run] { run = [args] { return run_real(*args); }; });
}

}  // namespace schedkit::cli
