// trace_replay.h: replaying a Linux trace in the simulator, and how close
// the replay came to what the kernel did.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "schedkit/policy.h"
#include "schedkit/sim.h"
#include "schedkit/trace.h"
#include "schedkit/trace_import.h"

namespace schedkit {

// make_as_traced_policy() is the hidden `as-traced` policy of `schedkit
// replay`: each traced burst on its traced CPU, in its traced order on that
// CPU, never preempted. It needs the spec trace_to_spec() built from the same
// trace with split_bursts (each burst a run step that begins with one
// placement). Throws InputError when the topology has fewer CPUs than the
// trace. Not registered: it cannot be built without its trace.
std::unique_ptr<Policy> make_as_traced_policy(const Trace& trace, const ImportedTrace& imported,
                                              int num_cpus);

// TaskRunStats is one simulated task's share of a run, from its segments.
struct TaskRunStats {
    TaskId id = 0;
    std::string name;
    int group = -1;
    uint64_t arrival_ns = 0;
    uint64_t first_run_ns = 0;
    uint64_t last_end_ns = 0;
    bool ran = false;
    bool exited = false;
    uint64_t cpu_ns = 0;
    uint64_t voluntary = 0;    // runs that ended in a block or an exit
    uint64_t involuntary = 0;  // runs that ended preempted
    uint64_t cpu_changes = 0;  // runs on another CPU than the run before (wakes included)
    uint64_t waits = 0;        // runs that began after a wait in a queue
    uint64_t wait_total_ns = 0;
    uint64_t wait_max_ns = 0;
    int last_cpu = -1;
};

// TaskStatsListener collects TaskRunStats per task from a simulation's
// segments (SimConfig::listener). Single-threaded, as the simulator.
class TaskStatsListener final : public SimListener {
  public:
    void on_segment(const SimSegment& s) override;
    // tasks() are the tasks that ran, in order of their first run.
    const std::vector<TaskRunStats>& tasks() const { return tasks_; }

  private:
    std::vector<TaskRunStats> tasks_;
    std::vector<size_t> index_;  // TaskId -> tasks_ index + 1 (0: none yet)
};

// SimListeners fans one simulation's segments out to several listeners.
class SimListeners final : public SimListener {
  public:
    void add(SimListener* l) {
        if (l != nullptr)
            listeners_.push_back(l);
    }
    void on_segment(const SimSegment& s) override {
        for (SimListener* l : listeners_)
            l->on_segment(s);
    }

  private:
    std::vector<SimListener*> listeners_;
};

// ReplayOptions are `schedkit replay`'s choices.
struct ReplayOptions {
    std::string policy = "fair";      // a registry policy spec, or "as-traced"
    std::string topology;             // empty: "core:N pu:1" for the trace's N CPUs
    std::string comm_regex;           // replay only matching threads (see TraceImportOptions)
    bool keep_trace = false;          // keep the Perfetto trace (Simulator::recorder())
    SimListener* listener = nullptr;  // sees every segment too (schedule recording)
    // progress and stop are SimConfig's: a progress callback, and a flag
    // that ends the run early with a partial summary ("interrupted").
    std::function<void(const SimProgress&)> progress;
    const std::atomic<bool>* stop = nullptr;
    // make_policy, when set, builds the policy instead of the registry (the
    // schedule follower of --replay-schedule); `policy` still chooses the
    // spec's shape (as-traced or not).
    std::function<std::unique_ptr<Policy>(const Topology&)> make_policy;
};

// TraceReplay is a finished replay: the spec it ran, the run, per-task
// statistics and the comparison with the trace. Not movable: the simulator
// refers to the spec.
struct TraceReplay {
    ImportedTrace imported;
    std::unique_ptr<Simulator> sim;
    SimResult result;
    TaskStatsListener stats;
    std::string fidelity_json;

    TraceReplay() = default;
    TraceReplay(const TraceReplay&) = delete;
    TraceReplay& operator=(const TraceReplay&) = delete;
};

// replay_trace() imports `trace` (causal wake-ups for registry policies;
// burst by burst, with traced gaps and no switch or migration costs, for
// as-traced) and simulates it on the chosen topology. Throws InputError for
// a bad policy, topology or filter, or a trace with no thread to replay.
std::unique_ptr<TraceReplay> replay_trace(const Trace& trace, const ReplayOptions& opts);

// fidelity_json() compares a replay with its trace: the `fidelity` object of
// docs/traces.md (traced and simulated CPU totals, traced and simulated
// makespan, and per thread tid, comm, CPU, wall time and migrations).
std::string fidelity_json(const Trace& trace, const ImportedTrace& imported,
                          const TaskStatsListener& stats, double simulated_makespan_us);

}  // namespace schedkit
