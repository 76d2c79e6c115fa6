// trace.h: Linux scheduler traces read into per-thread histories.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace schedkit {

// BurstEnd says how a run burst ended.
enum class BurstEnd : uint8_t {
    Block,     // switched out sleeping (prev_state S, D, I, ...): it waits to be woken
    Preempt,   // switched out still runnable (prev_state R, R+)
    Exit,      // switched out after its sched_process_exit
    TraceEnd,  // still running when the trace ends (closed at its last timestamp)
};
const char* burst_end_name(BurstEnd e);

// TraceBurst is one stretch of CPU time: from a switch-in to the next
// switch-out of the thread, on one CPU. `ready_ns` is when the thread became
// runnable before it (its fork or wake-up, the end of its preempted burst,
// or its first event), so start_ns - ready_ns is its traced wait. A burst
// after a block may name its waker: the thread whose sched_wakeup (or
// sched_waking, whichever came first) made it runnable, with the time.
struct TraceBurst {
    int cpu = 0;
    uint64_t start_ns = 0;
    uint64_t end_ns = 0;
    BurstEnd end = BurstEnd::TraceEnd;
    uint64_t ready_ns = 0;
    int waker_tid = -1;  // -1: not woken by a traced thread (an interrupt, idle, unknown)
    int waker_cpu = -1;  // the CPU the wake-up was recorded on, or -1
    uint64_t cpu_ns() const { return end_ns - start_ns; }
};

// TraceThread is one traced thread (Linux task): what it did, in order.
struct TraceThread {
    int tid = 0;
    std::string comm;       // its last name in the trace (exec renames it)
    int parent_tid = -1;    // from sched_process_fork, or -1 (started before the trace)
    uint64_t first_ns = 0;  // fork time, else its first event
    bool exited = false;    // a sched_process_exit was seen
    uint64_t exit_ns = 0;
    uint64_t migrate_events = 0;  // sched_migrate_task events naming it
    std::vector<TraceBurst> bursts;

    uint64_t cpu_ns() const;
    // cpu_changes() counts bursts on another CPU than the burst before
    // (bursts of no CPU time left out: they ran nowhere measurable).
    uint64_t cpu_changes() const;
};

// TraceForm is the text or binary form a trace came in.
enum class TraceForm : uint8_t { Ftrace, TraceCmdReport, PerfScript, TraceCmdDat };
const char* trace_form_name(TraceForm f);

// Trace is a whole trace: its threads in order of first appearance (so
// parents come before the children they fork), the idle task dropped.
struct Trace {
    std::string name;  // file name, for errors and reports
    TraceForm form = TraceForm::Ftrace;
    int num_cpus = 0;       // from the header (#P:, cpus=) or the highest CPU seen + 1
    uint64_t start_ns = 0;  // first and last timestamp of any event
    uint64_t end_ns = 0;
    uint64_t events = 0;  // scheduler events used
    std::vector<TraceThread> threads;

    uint64_t cpu_ns() const;
    // find() returns the thread with `tid`, or nullptr.
    const TraceThread* find(int tid) const;
};

// parse_trace_text() reads a scheduler trace in any text form: raw ftrace
// (/sys/kernel/tracing/trace), `trace-cmd report`, or `perf script` of a
// `perf sched record`, recognised from the content. It uses sched_switch,
// sched_wakeup, sched_waking, sched_wakeup_new, sched_process_fork,
// sched_process_exit and sched_migrate_task; header lines and other events
// are skipped. A line naming one of these events that does not parse throws
// InputError "name:line: ...; expected ...". A text with no scheduler event
// at all is an error too. Not thread-safe per call only: calls are independent.
Trace parse_trace_text(std::string_view text, const std::string& name);

// read_trace_file() reads a trace file of any form, text or trace-cmd's
// binary trace.dat (read through libtracecmd), recognised from the content.
// Throws InputError for an unreadable file or bad content.
Trace read_trace_file(const std::string& path);

// parse_trace_bytes() is read_trace_file() over bytes in memory (a trace.dat
// is handed to libtracecmd through an anonymous file). `name` names it in
// errors.
Trace parse_trace_bytes(const void* data, size_t size, const std::string& name);

// fuzz_trace_input() is the entry point for a fuzzer (libFuzzer's
// LLVMFuzzerTestOneInput can call it): it parses `size` bytes as a trace,
// swallowing InputError, and returns 0. Any other exception, crash or
// sanitizer report is a bug.
int fuzz_trace_input(const uint8_t* data, size_t size);

}  // namespace schedkit
