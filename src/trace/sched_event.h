// sched_event.h: one Linux scheduler event, decoded, and the builder that
// turns a time-ordered stream of them into per-thread histories.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "schedkit/trace.h"

namespace schedkit::trace {

// EventKind lists the scheduler events a trace reader uses.
enum class EventKind : uint8_t { Switch, Wakeup, Waking, WakeupNew, Fork, Exit, Migrate };

// event_kind() maps an event name ("sched_switch") to its kind; false when
// the name is not one of them.
bool event_kind(std::string_view name, EventKind& kind);

// SchedEvent is one decoded event. `cur_pid`/`cur_comm` are the task that
// was running on `cpu` when it was recorded (the line's COMM-PID prefix).
// Which other fields are set depends on the kind:
//   Switch: prev_*, prev_runnable, next_*
//   Wakeup, Waking, WakeupNew, Exit, Migrate: pid, comm
//   Fork: pid/comm (parent), child_pid/child_comm
struct SchedEvent {
    EventKind kind = EventKind::Switch;
    uint64_t ts_ns = 0;
    int cpu = 0;
    int cur_pid = -1;
    std::string_view cur_comm;
    int prev_pid = -1, next_pid = -1;
    std::string_view prev_comm, next_comm;
    bool prev_runnable = false;
    int pid = -1, child_pid = -1;
    std::string_view comm, child_comm;
};

// parse_event_fields() decodes the text after "EVENT:" (both the raw
// key=value form and trace-cmd's compact form: "a:1 [120] S ==> b:2 [120]",
// "a:1 [120] CPU:001") into `e` (kind already set). On failure it returns
// false and sets `expected` to what the fields should look like.
bool parse_event_fields(std::string_view fields, SchedEvent& e, std::string& expected);

// TraceBuilder folds events, in time order, into a Trace's threads.
class TraceBuilder {
  public:
    explicit TraceBuilder(Trace& out) : out_(out) {}
    void add(const SchedEvent& e);
    // finish() closes every burst still open at the trace's last timestamp
    // and drops threads that never ran.
    void finish();

  private:
    struct State {
        size_t index = 0;  // into out_.threads
        bool running = false;
        bool comm_from_event = false;
        int cpu = -1;
        uint64_t start_ns = 0;
        uint64_t ready_ns = 0;
        bool woken = false;  // a wake-up was seen since it last blocked
        int waker_tid = -1;
        int waker_cpu = -1;
    };
    State& thread(int pid, std::string_view comm, bool comm_is_event, uint64_t ts);
    void start_burst(State& s, int pid, int cpu, uint64_t ts);
    void end_burst(State& s, uint64_t ts, BurstEnd how);
    void saw_running(int pid, std::string_view comm, int cpu, uint64_t ts);
    void woken(int pid, std::string_view comm, const SchedEvent& e);

    Trace& out_;
    std::unordered_map<int, State> states_;
    std::vector<int> cpu_current_;  // pid running per CPU, -1 unknown/idle
};

// parse_timestamp() reads "SECONDS.FRACTION" into ns; false if malformed.
bool parse_timestamp(std::string_view text, uint64_t& ns);
// parse_int() reads a decimal integer (optionally negative); false if malformed.
bool parse_int(std::string_view text, int& value);
std::string_view trim(std::string_view s);

}  // namespace schedkit::trace
