// task.h: a schedulable entity and its load tracking.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "schedkit/cpuset.h"

namespace schedkit {

using TaskId = uint64_t;

// TaskState is where a task is in its life. A task is on a run queue only
// when Runnable, on a CPU only when Running.
enum class TaskState : uint8_t { New, Runnable, Running, Blocked, Exited };
const char* task_state_name(TaskState s);

// nice_to_weight() is Linux's sched_prio_to_weight table: nice 0 is 1024 and
// each step is ~1.25x. `nice` is clamped to [-20, 19].
uint32_t nice_to_weight(int nice);

// Pelt tracks decaying averages of runnable and running time, as Linux's
// per-entity load tracking: contributions are summed in 1024 us periods and
// decay by y per period with y^32 = 1/2 (half-life 32 ms). load_avg is the
// runnable fraction scaled by weight; util_avg the running fraction scaled
// to 1024. Not thread-safe: guarded by whoever owns the task at the time.
struct Pelt {
    static constexpr uint64_t kPeriodNs = 1024 * 1000;
    static constexpr double kHalfLifeMs = 32.0;

    double runnable_avg = 0;  // in [0, 1]
    double running_avg = 0;   // in [0, 1]
    uint64_t last_update_ns = 0;

    // update() accounts [last_update_ns, now) as runnable/running or not.
    void update(uint64_t now_ns, bool runnable, bool running);
    double load_avg(uint32_t weight) const { return runnable_avg * weight; }
    double util_avg() const { return running_avg * 1024.0; }
};

// Task is the scheduler core's view of one schedulable entity. Its memory is
// owned by the executor (the simulator's task table, the runtime's task
// control block); the core never allocates or frees tasks. Fields below the
// identity are guarded by the run-queue lock of the CPU the task is on (or,
// while Blocked/New, by the executor that owns it).
struct Task {
    // Identity, fixed at spawn.
    TaskId id = 0;
    std::string name;
    int group = -1;  // workload group index, or -1
    int nice = 0;
    uint32_t weight = 1024;
    CpuSet affinity;        // empty means every CPU
    int original_cpu = -1;  // where it was first placed (a hint: see below)
    int home_cpu = -1;      // where its policy wants it (static, dynamic)
    // spawner_cpu is the CPU whose running task spawned this one, or -1 when
    // it came from outside (an arrival, a plain thread). Set by the executor
    // before Scheduler::spawn(), so a policy can keep children local
    // (steal); fixed afterwards.
    int spawner_cpu = -1;

    // Scheduling state. `state`, `cpu`, `last_ran_ns` and `exec_ns` are also
    // read without the lock, as hints (see task_state_hint() below): the core
    // writes them through std::atomic_ref.
    TaskState state = TaskState::New;
    int cpu = -1;  // queue or CPU it is on; last CPU while blocked
    Pelt pelt;
    uint64_t arrival_ns = 0;         // when it was spawned
    uint64_t runnable_since_ns = 0;  // when it last became runnable (for wait)
    uint64_t last_ran_ns = 0;        // start of its current run, else end of its last
    uint64_t exec_ns = 0;            // total CPU time received (finished runs)
    // vruntime_ns is virtual runtime: the core adds each run scaled by
    // 1024/weight; a policy that orders its queues (fair's EEVDF) also
    // places it on its queue's virtual clock. Read as a signed value there.
    uint64_t vruntime_ns = 0;
    // nr_migrations counts every change of CPU between queues: a balancer's
    // or a policy's move, and a wake placed on another CPU than the task
    // last ran on (as Linux's se.nr_migrations).
    uint64_t nr_migrations = 0;
    // Schedstats, as Linux's nvcsw/nivcsw and wait_sum/wait_max/wait_count:
    // written by the core with the fields above, read by the executor once
    // the task exited or the run is over (docs/output.md, per-task stats).
    uint64_t nr_voluntary = 0;    // runs that ended blocking or exiting
    uint64_t nr_involuntary = 0;  // runs that ended preempted (put_prev)
    uint64_t nr_runs = 0;         // runs begun, each after a wait (maybe 0 long)
    uint64_t wait_sum_ns = 0;     // runnable time before those runs
    uint64_t wait_max_ns = 0;
    bool is_thread = false;  // a long-lived lightweight thread
    double busy_pct = 0;     // measured by the executor for thread-style policies
    // work_ns is, for a lightweight thread, the part of exec_ns in which its
    // messages or pollers did work (cumulative): a thread polling without
    // result burns CPU time but is idle. Written by the executor through an
    // atomic_ref; thread-style policies (dynamic) balance by it.
    uint64_t work_ns = 0;
    // rehome asks the core to re-place the task through the policy's
    // select_cpu(Wake) at its next preemption (put_prev) or wake, so a policy
    // can move a *running* task (static returning threads to their original
    // CPUs, dynamic consolidating them). Set by Scheduler::rehome_current()
    // from any CPU; read and cleared by the CPU running the task. Accessed
    // only through std::atomic_ref (Task stays copyable).
    bool rehome = false;

    // Intrusive run-queue links, owned by RunQueue.
    Task* rq_prev = nullptr;
    Task* rq_next = nullptr;
    // Intrusive links of the scheduler's list of live tasks (spawn to exit),
    // and which of its per-CPU lists holds the task.
    Task* all_prev = nullptr;
    Task* all_next = nullptr;
    int live_list = -1;
    // queued_front: it jumped its queue (Policy::queue_front). Guarded by
    // the run-queue lock.
    bool queued_front = false;
    // ord_linked: it is in its queue's ordering index (below).
    bool ord_linked = false;

    // Ordering state, owned by the policy ordering the task's queue
    // (Policy::orders_queues(); fair's EEVDF: a treap keyed by virtual
    // deadline, each node holding the least vruntime of its subtree).
    // Guarded by the run-queue lock; the running task's own executor also
    // reads deadline_ns and vruntime_ns (time_slice_ns), which nothing
    // writes while the task runs.
    Task* ord_left = nullptr;
    Task* ord_right = nullptr;
    uint64_t deadline_ns = 0;       // virtual deadline (signed, as vruntime_ns)
    uint64_t ord_min_vruntime = 0;  // least vruntime_ns in its subtree
    int64_t vlag_ns = 0;            // lag saved when it last left a queue

    // Opaque pointer for the executor (simulated program, coroutine handle).
    void* executor_data = nullptr;

    bool allowed_on(int c) const { return affinity.empty() || affinity.test(c); }
};

// Hints: policies read a few scheduling fields of tasks they do not own, on
// other CPUs and without those CPUs' run-queue locks (through
// Scheduler::for_each_task, whose lock keeps the task alive but guards none
// of these). Each value read here is one the field really held; the fields
// may be out of step with each other by one context switch, except that a
// Running state comes with the start of that run in last_ran_ns (the core
// stores last_ran_ns before publishing Running with release; the acquire
// here pairs with it). Holders of the task's run-queue lock read the fields
// directly.
inline TaskState task_state_hint(const Task& t) {
    return std::atomic_ref<TaskState>(const_cast<TaskState&>(t.state))
        .load(std::memory_order_acquire);
}
inline int task_cpu_hint(const Task& t) {
    return std::atomic_ref<int>(const_cast<int&>(t.cpu)).load(std::memory_order_relaxed);
}
// original_cpu is written once, at first placement, possibly after the task
// joined the live list for_each_task() walks.
inline int task_original_cpu_hint(const Task& t) {
    return std::atomic_ref<int>(const_cast<int&>(t.original_cpu)).load(std::memory_order_relaxed);
}
inline uint64_t task_last_ran_hint(const Task& t) {
    return std::atomic_ref<uint64_t>(const_cast<uint64_t&>(t.last_ran_ns))
        .load(std::memory_order_relaxed);
}
inline uint64_t task_exec_hint(const Task& t) {
    return std::atomic_ref<uint64_t>(const_cast<uint64_t&>(t.exec_ns))
        .load(std::memory_order_relaxed);
}

}  // namespace schedkit
