// sim.h: the deterministic discrete-event simulator.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "schedkit/budget.h"
#include "schedkit/domain.h"
#include "schedkit/policy.h"
#include "schedkit/report.h"
#include "schedkit/scheduler.h"
#include "schedkit/workload.h"

namespace schedkit {

// PowerModel estimates a CPU's power draw for the energy figure (energy_j,
// docs/policies.md): busy at relative speed s (governor.h) it draws
// idle_w + (busy_max_w - idle_w) * s^3 (dynamic power ~ f * V^2 with V ~ f),
// idle and awake idle_w, asleep (put to sleep by a policy) sleep_w.
struct PowerModel {
    double busy_max_w = 4.0;
    double idle_w = 1.0;
    double sleep_w = 0.1;
    double busy_w(uint32_t speed_pm) const {
        double s = static_cast<double>(speed_pm) / 1000.0;
        return idle_w + (busy_max_w - idle_w) * s * s * s;
    }
};

// SimProgress is how far a running simulation got, for a progress line.
struct SimProgress {
    uint64_t events = 0;  // processed so far
    uint64_t now_ns = 0;  // virtual time
    // fraction of the expected work done (until_ns: of the virtual time),
    // in [0, 1); the expected work is the spec's mean run time over the
    // tasks it is expected to create, so it is an estimate.
    double fraction = 0;
};

// SegmentEnd says why a run segment (a stretch of one task on one CPU
// without a switch) ended.
enum class SegmentEnd : uint8_t {
    Block,     // the task blocked (block, wait, join)
    Exit,      // the task exited
    Preempt,   // the task went back to a queue (time slice, push, re-home)
    Continue,  // the task goes on running here (a new run step, or a fresh slice)
    Stop,      // the run stopped (until_ns, max_events)
};
const char* segment_end_name(SegmentEnd e);

// SimSegment is one run segment as the simulator ends it. `run_start` says
// it began a run (the task was just picked; `wait_ns` is how long it had
// waited runnable), not continued one.
struct SimSegment {
    int cpu = 0;
    const Task* task = nullptr;
    uint64_t start_ns = 0;
    uint64_t end_ns = 0;
    SegmentEnd why = SegmentEnd::Continue;
    bool run_start = false;
    uint64_t wait_ns = 0;
};

// SimListener sees every segment of a simulation, in the order they end
// (per-task statistics, schedule recording). Called from run()'s thread.
class SimListener {
  public:
    virtual ~SimListener() = default;
    virtual void on_segment(const SimSegment& s) = 0;
};

// SimConfig are the simulator's knobs; defaults model a current x86 server.
struct SimConfig {
    // context_switch_ns is CPU time spent switching to a different task.
    uint64_t context_switch_ns = 2'000;
    // migration_cost_ns[level] is extra run time a task pays (refilling
    // caches) on its first run after moving across that domain level kind:
    // cheap within a core or LLC, dear across packages and NUMA nodes.
    std::array<uint64_t, kNumLevelKinds> migration_cost_ns = {
        500,     // SMT: L1/L2 shared with the sibling
        2'000,   // CLUSTER
        5'000,   // LLC: private L2 refills from the shared L3
        30'000,  // PKG: L3 refill from another package
        60'000,  // NUMA: remote memory
        30'000,  // SYSTEM
    };
    // until_ns stops the run at this virtual time (0: run to completion).
    uint64_t until_ns = 0;
    // seed overrides the spec's seed when set.
    std::optional<uint64_t> seed;
    // quantum_ns overrides the policy's time slice when non-zero.
    uint64_t quantum_ns = 0;
    bool keep_trace = false;
    // keep_task_stats fills RunSummary::task_stats: per-task statistics
    // (tasks alive at the end included) and per-CPU schedule strings.
    bool keep_task_stats = false;
    // warmup_ns leaves tasks arriving before it out of the waits, responses
    // and per-task records (Recorder::set_warmup_ns); the summary's extras
    // then say `warmup_us`.
    uint64_t warmup_ns = 0;
    // scale multiplies every drawn duration of the spec (run and block
    // steps, arrival times) as `schedkit run --scale` does, so a scaled real
    // run can be set beside its simulation.
    double scale = 1.0;
    // Budgets (budget.h): a run that would create more tasks, handle more
    // events or reach a later virtual time throws BudgetError, naming the
    // limit: a spec that cannot end fails instead of exhausting the machine.
    uint64_t max_events = Budget{}.max_events;
    uint64_t max_tasks = Budget{}.max_tasks;
    uint64_t max_time_ns = Budget{}.max_time_ns;
    PowerModel power;
    // progress, when set, is called from run()'s thread about every
    // progress_every events.
    std::function<void(const SimProgress&)> progress;
    uint64_t progress_every = 1 << 16;
    // stop, when set, is polled every few thousand events: once it reads
    // true, run() ends as if stopped by until_ns, and the result says
    // interrupted (a signal handler may set it).
    const std::atomic<bool>* stop = nullptr;
    // listener, when set, sees every run segment (not owned; must outlive run()).
    SimListener* listener = nullptr;
};

// MessageCounts accounts for the messages sent to lightweight threads (send
// steps; docs/workload-format.md): each is delivered (run to its end on its
// thread), refused (its thread closed or closing, or its group had no
// thread yet), returned (queued on a thread a close step cancelled), or
// still pending (queued or running: only when the run was cut by until_ns).
struct MessageCounts {
    uint64_t sent = 0;
    uint64_t delivered = 0;
    uint64_t refused = 0;
    uint64_t returned = 0;
    uint64_t pending = 0;
    uint64_t threads = 0;  // threads created (started) so far
    uint64_t closed = 0;   // threads closed by close steps
    // consistent() is the invariant: none lost or doubled, and none pending
    // once the run completed.
    bool consistent(bool completed) const {
        return sent == delivered + refused + returned + pending && (!completed || pending == 0);
    }
};

// SimResult is a finished simulation: its summary and whether it completed.
struct SimResult {
    RunSummary summary;
    bool completed = false;    // every task exited (false when stopped by until_ns)
    bool interrupted = false;  // ended early by SimConfig::stop
    uint64_t unfinished = 0;
    // The CPU work the run's tasks asked for (sampled run bursts, without
    // switch or migration costs), and its critical path: the latest time
    // any task could end with unlimited CPUs (arrival, runs, blocks and joins
    // along its chain). lower_bound_us = max(work_us / CPUs, critical_path_us)
    // is a bound no schedule of this run's samples can beat.
    double work_us = 0;
    double critical_path_us = 0;
    double lower_bound_us = 0;
    double energy_j = 0;     // PowerModel over busy, idle and sleeping time
    double sleep_us = 0;     // idle time CPUs spent asleep, summed over CPUs
    MessageCounts messages;  // lightweight threads' messages (all 0 without threads)
};

// Simulator runs a workload spec on a topology under a policy, with virtual
// time, using the same Scheduler core as the runtime. Deterministic: the
// same spec, topology, policy and seed give the same result and trace.
// Not thread-safe: one thread drives a simulator.
class Simulator {
  public:
    Simulator(const WorkloadSpec& spec, Topology topo, std::unique_ptr<Policy> policy,
              SimConfig config = {});
    ~Simulator();
    Simulator(const Simulator&) = delete;
    Simulator& operator=(const Simulator&) = delete;

    // schedule_switch() switches to `next` at virtual time `at_ns` during
    // run(), following the core's switching protocol. A refused start is
    // reported in the summary's "switches" list and the old policy goes on.
    void schedule_switch(uint64_t at_ns, std::unique_ptr<Policy> next);

    // run() simulates until every task exited or until_ns. Throws
    // BudgetError when the run goes over max_tasks, max_events or
    // max_time_ns.
    SimResult run();

    Scheduler& scheduler();
    const Recorder& recorder() const;
    // clear_listener() detaches SimConfig::listener (after run(), when the
    // listener is about to go).
    void clear_listener();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace schedkit
