// `schedkit sim`: simulate a workload spec under a policy with virtual time.
#include <fmt/format.h>

#include "commands.h"
#include "output_flags.h"
#include "progress.h"
#include "schedkit/error.h"
#include "schedkit/output_file.h"
#include "schedkit/policy_registry.h"
#include "schedkit/sim.h"
#include "schedkit/trace_replay.h"
#include "schedule_flags.h"
#include "workload_args.h"

namespace schedkit::cli {

namespace {

struct SimArgs {
    WorkloadArgs workload;
    OutputFlags output;
    ProgressFlags progress;
    ScheduleFlags schedule;
};

int run_sim(const SimArgs& sim_args) {
    WorkloadArgs args = sim_args.workload;
    const ScheduleFlags& flags = sim_args.schedule;
    std::optional<Schedule> replay = flags.load("sim");
    if (replay) {
        // The recorded run's own choices make it again, whatever was named.
        const ScheduleHeader& h = replay->header;
        args.policy = h.policy;
        args.switches = h.switches;
        args.seed = h.seed;
        args.quantum = h.quantum;
        args.until = h.until;
        args.topology = h.topology;
    }
    LoadedWorkload w = load(args);
    const OutputFlags& out = sim_args.output;
    out.check();  // fail now, not after the run
    ScheduleSession schedule(
        flags, std::move(replay),
        ScheduleHeader{"sim", args.spec_path, args.policy, args.switches,
                       !args.topology.empty() ? args.topology : w.spec.topology.value_or("host"),
                       args.seed, args.quantum, args.until, ""});
    SimConfig cfg = sim_config(w);
    cfg.keep_trace = !out.trace_path.empty();
    cfg.keep_task_stats = out.per_task;
    Progress progress(sim_args.progress, "sim " + w.spec.name);
    cfg.progress = progress.callback();
    cfg.stop = interrupt_flag();
    install_interrupt_handlers();
    cfg.listener = schedule.listener();
    Simulator sim(w.spec, w.topo, make_policy(args.policy), cfg);
    for (const PolicySwitch& s : w.switches)
        sim.schedule_switch(s.at_ns, make_policy(s.policy));
    SimResult r = sim.run();
    progress.finish();
    sim.clear_listener();
    schedule.finish(r.interrupted);
    if (!out.trace_path.empty())
        sim.recorder().write_trace(
            out.trace_path, fmt::format("schedkit sim {} ({}, {})", w.spec.name, r.summary.policy,
                                        r.summary.topology));
    out.emit(summary_result(r.summary), summary_table(r.summary) + "\n", "run");
    warn_refused_switches(r.summary);
    return r.interrupted ? interrupted_run("run", r.summary.makespan_us) : 0;
}

}  // namespace

void add_sim_command(CLI::App& app, Command& run) {
    auto args = std::make_shared<SimArgs>();
    CLI::App* cmd = app.add_subcommand("sim", "Simulate a workload spec with virtual time");
    args->workload.add_to(*cmd, true, false);
    args->output.add_to(*cmd, true);
    args->progress.add_to(*cmd);
    args->schedule.add_to(*cmd);
    args->workload.add_cost_flags(*cmd);
    args->workload.add_warmup_flag(*cmd);
    cmd->callback([args, &run] { run = [args] { return run_sim(*args); }; });
}

}  // namespace schedkit::cli
