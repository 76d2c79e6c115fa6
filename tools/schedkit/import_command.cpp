// `schedkit import-trace`: a Linux scheduler trace written as a workload spec.
#include <fmt/format.h>

#include "commands.h"
#include "schedkit/error.h"
#include "schedkit/trace.h"
#include "schedkit/trace_import.h"
#include "schedkit/workload_writer.h"
#include "workload_args.h"

namespace schedkit::cli {

namespace {

struct ImportArgs {
    std::string trace_path;
    std::string out_path;
    std::string min_run;
    std::string filter;
};

// parse_filter() reads --filter comm=REGEX.
std::string parse_filter(const std::string& filter) {
    if (filter.empty())
        return {};
    if (!filter.starts_with("comm=") || filter.size() == 5)
        throw InputError(
            fmt::format("--filter '{}': expected comm=REGEX (threads whose name matches)", filter));
    return filter.substr(5);
}

int run_import(const ImportArgs& args) {
    TraceImportOptions opts;
    if (!args.min_run.empty())
        opts.min_run_ns = parse_duration(args.min_run, "--min-run");
    opts.comm_regex = parse_filter(args.filter);
    Trace trace = read_trace_file(args.trace_path);
    ImportedTrace imported = trace_to_spec(trace, opts);
    imported.spec.name = "trace";
    uint64_t kept_cpu = 0;
    for (size_t i : imported.thread_of_group)
        kept_cpu += trace.threads[i].cpu_ns();
    std::string comment = fmt::format(
        "Imported by schedkit import-trace from {} ({}, {} CPUs, {:.3f} ms traced).\n"
        "One group per thread, named COMM-TID; run steps are traced CPU bursts, blocks the\n"
        "traced sleeps between them; spawn steps where the trace shows a fork.",
        args.trace_path, trace_form_name(trace.form), trace.num_cpus,
        static_cast<double>(trace.end_ns - trace.start_ns) / 1e6);
    std::string yaml = format_workload_yaml(imported.spec, comment);
    // Parse what we wrote before writing it: the file must be a valid spec.
    WorkloadSpec check = parse_workload(yaml, args.out_path);
    (void)check;
    write_output_atomically(args.out_path, yaml);
    fmt::print("{}: {} threads ({:.3f} ms CPU) from {} ({}) written to {}\n", "import-trace",
               imported.spec.groups.size(), static_cast<double>(kept_cpu) / 1e6, args.trace_path,
               trace_form_name(trace.form), args.out_path);
    return 0;
}

}  // namespace

std::string filter_regex(const std::string& filter) {
    return parse_filter(filter);
}

void add_import_command(CLI::App& app, Command& run) {
    auto args = std::make_shared<ImportArgs>();
    CLI::App* cmd = app.add_subcommand(
        "import-trace",
        "Write a Linux scheduler trace (ftrace, trace-cmd, perf, trace.dat) as a "
        "workload spec");
    cmd->add_option("trace", args->trace_path,
                    "Trace file: raw ftrace, trace-cmd report, perf script or trace.dat")
        ->required();
    cmd->add_option("-o,--output", args->out_path, "Spec file to write (YAML)")->required();
    cmd->add_option("--min-run", args->min_run, "Drop run bursts shorter than this, e.g. 5us");
    cmd->add_option("--filter", args->filter, "Keep threads whose name matches: comm=REGEX");
    cmd->callback([args, &run] { run = [args] { return run_import(*args); }; });
}

}  // namespace schedkit::cli
