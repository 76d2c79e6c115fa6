// `schedkit run`: execute a workload spec for real on the runtime.
#include <fmt/format.h>

#include <charconv>

#include "commands.h"
#include "schedkit/error.h"
#include "schedkit/runtime_workload.h"
#include "workload_args.h"

namespace schedkit::cli {

namespace {

// RunArgs are `run`'s flags beyond the shared workload ones.
struct RunArgs {
    WorkloadArgs workload;
    std::string cpus;         // host CPUs to bind workers to (list syntax)
    std::string scale = "1";  // multiplies every duration of the spec
    bool oversubscribe = false;
    std::string control;      // JSON-RPC control socket path (docs/control.md), empty: none
};

double parse_scale(const std::string& text) {
    double v = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || ptr != text.data() + text.size() || !(v > 0) || v > 1000)
        throw InputError(
            fmt::format("--scale '{}': expected a number greater than 0 and at most 1000", text));
    return v;
}

int run_real(const RunArgs& args) {
    LoadedWorkload w = load(args.workload);
    double scale = parse_scale(args.scale);
    RealRunConfig cfg;
    cfg.runtime.policy = args.workload.policy;
    cfg.runtime.quantum_ns = w.quantum_ns;
    cfg.runtime.keep_trace = !args.workload.trace_path.empty();
    Topology topo = w.topo;
    if (!args.cpus.empty()) {
        cfg.runtime.cpus = CpuSet::parse(args.cpus, "--cpus");
        // No machine named: the scheduler sees exactly the CPUs it runs on.
        if (args.workload.topology.empty() && !w.spec.topology) {
            topo = Topology::flat(cfg.runtime.cpus.count());
            check_against(w.spec, topo);
        }
    }
    check_fits_host(topo, cfg.runtime.cpus, args.oversubscribe);
    cfg.runtime.workers = topo.num_cpus();
    cfg.runtime.topology = topo;
    cfg.runtime.validate();  // bad --cpus: exit 2 before anything runs
    for (const PolicySwitch& s : w.switches)
        cfg.switches.emplace_back(s.at_ns, s.policy);
    cfg.seed = w.seed;
    cfg.until_ns = w.until_ns;
    cfg.scale = scale;
    if (!args.workload.trace_path.empty()) {
        // Fail on a bad path now, not after the run.
        write_output_atomically(args.workload.trace_path, "");
        std::remove(args.workload.trace_path.c_str());
        cfg.trace_path = args.workload.trace_path;
    }
    cfg.control_socket = args.control;
    RealRunResult r = run_workload(w.spec, cfg);
    fmt::print("{}\n", args.workload.json ? summary_json(r.summary) : summary_table(r.summary));
    if (!args.workload.json)
        fmt::print("{}\n", host_share_line(r.host));
    return 0;
}

}  // namespace

void add_run_command(CLI::App& app, Command& run) {
    auto args = std::make_shared<RunArgs>();
    CLI::App* cmd = app.add_subcommand(
        "run", "Execute a workload spec for real on the runtime (one worker per CPU)");
    args->workload.add_to(*cmd, true);
    cmd->add_option("--cpus", args->cpus,
                    "Host CPUs to run the workers on, e.g. 0-3 (default: all)");
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
