// `schedkit replay`: a Linux trace's threads simulated under a policy and
// topology, compared with what the kernel did.
#include <fmt/format.h>

#include "commands.h"
#include "output_flags.h"
#include "progress.h"
#include "schedkit/error.h"
#include "schedkit/output_file.h"
#include "schedkit/policy_registry.h"
#include "schedkit/sim.h"
#include "schedkit/trace.h"
#include "schedkit/trace_replay.h"
#include "schedule_flags.h"
#include "workload_args.h"

namespace schedkit::cli {

std::string filter_regex(const std::string& filter);  // import_command.cpp

namespace {

struct ReplayArgs {
    std::string trace_path;
    std::string topology;
    std::string policy = "fair";
    std::string filter;
    OutputFlags output;
    ProgressFlags progress;
    ScheduleFlags schedule;
};

std::string json_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '"' || c == '\\')
            out += '\\';
        out += c;
    }
    return out;
}

// add_fields() appends `fields` ("\"a\":1,...") to a JSON object's text.
std::string add_fields(const std::string& object, const std::string& fields) {
    if (object.empty() || object == "{}")
        return "{" + fields + "}";
    return object.substr(0, object.size() - 1) + "," + fields + "}";
}

int run_replay(const ReplayArgs& given) {
    ReplayArgs args = given;
    const ScheduleFlags& flags = given.schedule;
    const OutputFlags& out = given.output;
    // From the start: a signal while the trace is read still ends the run
    // with a (then empty) summary rather than killing it.
    install_interrupt_handlers();
    std::optional<Schedule> replay = flags.load("replay");
    if (replay) {
        // The recorded run's own choices make it again, whatever was named.
        args.policy = replay->header.policy;
        args.topology = replay->header.topology;
        args.filter = replay->header.filter;
    }
    ReplayOptions opts;
    opts.policy = args.policy;
    opts.topology = args.topology;
    opts.comm_regex = filter_regex(args.filter);
    opts.keep_trace = !out.trace_path.empty();
    if (args.policy != "as-traced")
        make_policy(args.policy, "--policy");  // bad flags before reading the trace
    out.check();                               // a bad path fails before the run
    ScheduleSession schedule(
        flags, std::move(replay),
        ScheduleHeader{
            "replay", args.trace_path, args.policy, {}, args.topology, "", "", "", args.filter});
    opts.listener = schedule.listener();
    Trace trace = read_trace_file(args.trace_path);
    Progress progress(given.progress,
                      "replay " + trace.name.substr(trace.name.find_last_of('/') + 1));
    opts.progress = progress.callback();
    opts.stop = interrupt_flag();
    std::unique_ptr<TraceReplay> rp = replay_trace(trace, opts);
    progress.finish();
    SimResult& r = rp->result;
    schedule.finish(r.interrupted);
    if (!out.trace_path.empty())
        rp->sim->recorder().write_trace(
            out.trace_path, fmt::format("schedkit replay {} ({}, {})", rp->imported.spec.name,
                                        r.summary.policy, r.summary.topology));
    r.summary.extra_json = add_fields(
        r.summary.extra_json,
        fmt::format(R"("trace":{{"file":"{}","form":"{}","cpus":{},"threads":{}}},)"
                    R"("fidelity":{})",
                    json_escape(args.trace_path), trace_form_name(trace.form), trace.num_cpus,
                    rp->imported.thread_of_group.size(), rp->fidelity_json));
    nlohmann::ordered_json result = summary_result(r.summary);  // task_stats always
    if (!out.per_task)
        r.summary.task_stats.reset();  // the table shows them on request only
    uint64_t traced = 0, simulated = 0;
    uint64_t traced_end = trace.start_ns;
    for (size_t i : rp->imported.thread_of_group) {
        traced += trace.threads[i].cpu_ns();
        traced_end = std::max(traced_end, trace.threads[i].bursts.back().end_ns);
    }
    for (const TaskRunStats& t : rp->stats.tasks())
        simulated += t.cpu_ns;
    std::string table = summary_table(r.summary) + "\n";
    table += fmt::format(
        "trace {} ({}, {} CPUs, {} threads): CPU traced {:.3f} ms, simulated {:.3f} ms; "
        "makespan traced {:.3f} ms, simulated {:.3f} ms\n",
        args.trace_path, trace_form_name(trace.form), trace.num_cpus,
        rp->imported.thread_of_group.size(), static_cast<double>(traced) / 1e6,
        static_cast<double>(simulated) / 1e6,
        static_cast<double>(traced_end - trace.start_ns) / 1e6, r.summary.makespan_us / 1e3);
    out.emit(result, table, "run");
    return r.interrupted ? interrupted_run("replay", r.summary.makespan_us) : 0;
}

}  // namespace

void add_replay_command(CLI::App& app, Command& run) {
    auto args = std::make_shared<ReplayArgs>();
    CLI::App* cmd = app.add_subcommand(
        "replay", "Simulate a Linux trace's threads under a policy and topology");
    cmd->add_option("trace", args->trace_path,
                    "Trace file: raw ftrace, trace-cmd report, perf script or trace.dat")
        ->required();
    cmd->add_option("--topology", args->topology,
                    "host, an hwloc synthetic string or an XML file (default: core:N pu:1 for "
                    "the trace's N CPUs)");
    cmd->add_option("--policy", args->policy,
                    "Policy and options, or as-traced: every burst on its traced CPU in order")
        ->capture_default_str();
    cmd->add_option("--filter", args->filter, "Replay only threads whose name matches: comm=REGEX");
    args->output.add_to(*cmd, true);
    args->progress.add_to(*cmd);
    args->schedule.add_to(*cmd);
    cmd->callback([args, &run] { run = [args] { return run_replay(*args); }; });
}

}  // namespace schedkit::cli
