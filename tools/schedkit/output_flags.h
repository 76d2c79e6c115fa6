// output_flags.h: the output flags of the commands that print one result
// (sim, run, replay, topo, fidelity, policies): --json, --csv FILE, and for
// runs --trace FILE and --per-task. One place checks them before anything
// runs and writes them after (docs/output.md, "CSV").
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "schedkit/report.h"

namespace schedkit::cli {

// OutputFlags are one command's output flags and what it does with them.
struct OutputFlags {
    bool json = false;
    std::string csv_path;    // empty: no CSV
    std::string trace_path;  // empty: no trace (runs only)
    bool per_task = false;   // per-task statistics and schedule strings (runs only)

    // add_to() adds --json and --csv, and with `run_flags` --trace and --per-task.
    void add_to(CLI::App& cmd, bool run_flags);
    // check() refuses an empty or unwritable --csv/--trace path (InputError,
    // exit 2) without creating anything: call it before the work.
    void check() const;
    // emit() writes the CSV of `result` to --csv (whole, or nothing), then
    // prints `result` as JSON with --json, else `table` as it is.
    // `indent` is the JSON's (-1: one line). `record` names the CSV's
    // top-level rows (run, topology, fidelity, policies).
    void emit(const nlohmann::ordered_json& result, const std::string& table,
              const std::string& record, int indent = 2) const;
    // write_csv() is emit()'s CSV part alone, for a command that prints itself.
    void write_csv(const nlohmann::ordered_json& result, const std::string& record) const;

  private:
    const CLI::Option* csv_option_ = nullptr;
    const CLI::Option* trace_option_ = nullptr;
};

// result_csv() is a JSON result as the tidy CSV every one-result command
// writes: a header `record,key,metric,value`, then a row per number or
// string. Top-level fields are record `record` with an empty key; an array of
// objects (cpus, groups, task_stats, ...) gives each object's fields as
// record = the array's path, key = the object's id, tid, cpu, group, point or
// name (the first it has; else its 0-based index), nested arrays of objects
// joining keys with '/'; nested objects and arrays of values name their
// fields with dotted paths (wait_us.p99, cpu_sleep_us.0).
std::string result_csv(const nlohmann::ordered_json& result, const std::string& record);

// summary_result() is summary_json(s) as a JSON value (the same bytes when dumped).
nlohmann::ordered_json summary_result(const RunSummary& s);

}  // namespace schedkit::cli
