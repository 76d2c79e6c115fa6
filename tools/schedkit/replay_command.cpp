// `schedkit replay`: a Linux trace's threads simulated under a policy and
// topology, compared with what the kernel did.
#include <fmt/format.h>

#include "commands.h"
#include "schedkit/error.h"
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
    std::string trace_out;
    bool json = false;
};

// check_writable() probes that `path` can be written, leaving nothing behind.
void check_writable(const std::string& path, const char* flag) {
    std::string probe = path + ".tmp";
    std::FILE* f = std::fopen(probe.c_str(), "wb");
    if (f == nullptr)
        throw InputError(
            fmt::format("{} '{}': cannot write there (expected a writable path)", flag, path));
    std::fclose(f);
    std::remove(probe.c_str());
}

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

int run_replay(const ReplayArgs& given, const ScheduleFlags& flags) {
    ReplayArgs args = given;
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
    opts.keep_trace = !args.trace_out.empty();
    if (args.policy != "as-traced")
        make_policy(args.policy, "--policy");  // bad flags before reading the trace
    if (!args.trace_out.empty())
        check_writable(args.trace_out, "--trace");  // a bad path fails before the run
    if (!flags.record.empty())
        check_writable(flags.record, "--record-schedule");
    ScheduleRecorder recorded(ScheduleHeader{
        "replay", args.trace_path, args.policy, {}, args.topology, "", "", "", args.filter});
    std::optional<ScheduleChecker> checker;
    SimListeners listeners;
    if (replay) {
        checker.emplace(*replay, flags.replay);
        listeners.add(&*checker);
    }
    if (!flags.record.empty())
        listeners.add(&recorded);
    opts.listener = &listeners;
    Trace trace = read_trace_file(args.trace_path);
    std::unique_ptr<TraceReplay> rp = replay_trace(trace, opts);
    if (checker)
        checker->finish();  // a schedule that does not fit: an error, and no output files
    if (!flags.record.empty())
        write_output_atomically(flags.record, recorded.text());
    SimResult& r = rp->result;
    if (!args.trace_out.empty())
        rp->sim->recorder().write_trace(
            args.trace_out, fmt::format("schedkit replay {} ({}, {})", rp->imported.spec.name,
                                        r.summary.policy, r.summary.topology));
    r.summary.extra_json =
        add_fields(r.summary.extra_json,
                   fmt::format(R"("trace":{{"file":"{}","form":"{}","cpus":{},"threads":{}}},)"
                               R"("fidelity":{},"task_stats":{})",
                               json_escape(args.trace_path), trace_form_name(trace.form),
                               trace.num_cpus, rp->imported.thread_of_group.size(),
                               rp->fidelity_json, rp->stats.task_stats_json()));
    if (args.json) {
        fmt::print("{}\n", summary_json(r.summary));
        return 0;
    }
    fmt::print("{}\n", summary_table(r.summary));
    uint64_t traced = 0, simulated = 0;
    uint64_t traced_end = trace.start_ns;
    for (size_t i : rp->imported.thread_of_group) {
        traced += trace.threads[i].cpu_ns();
        traced_end = std::max(traced_end, trace.threads[i].bursts.back().end_ns);
    }
    for (const TaskRunStats& t : rp->stats.tasks())
        simulated += t.cpu_ns;
    fmt::print(
        "trace {} ({}, {} CPUs, {} threads): CPU traced {:.3f} ms, simulated {:.3f} ms; "
        "makespan traced {:.3f} ms, simulated {:.3f} ms\n",
        args.trace_path, trace_form_name(trace.form), trace.num_cpus,
        rp->imported.thread_of_group.size(), static_cast<double>(traced) / 1e6,
        static_cast<double>(simulated) / 1e6,
        static_cast<double>(traced_end - trace.start_ns) / 1e6, r.summary.makespan_us / 1e3);
    return 0;
}

}  // namespace

void add_replay_command(CLI::App& app, Command& run) {
    auto args = std::make_shared<ReplayArgs>();
    auto flags = std::make_shared<ScheduleFlags>();
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
    cmd->add_option("--trace", args->trace_out, "Write a Chrome/Perfetto trace JSON file");
    cmd->add_flag("--json", args->json, "Print one JSON object instead of a table");
    flags->add_to(*cmd);
    cmd->callback(
        [args, flags, &run] { run = [args, flags] { return run_replay(*args, *flags); }; });
}

}  // namespace schedkit::cli
