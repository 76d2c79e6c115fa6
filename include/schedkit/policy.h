// policy.h: the decisions a scheduling policy makes.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "schedkit/task.h"

namespace schedkit {

class Scheduler;
struct RunQueue;

// PlaceReason says why a task needs a CPU.
enum class PlaceReason : uint8_t { Spawn, Wake };

// EnqueueKind says how a task joined a run queue, for a policy that orders
// its queues itself (Policy::orders_queues()).
enum class EnqueueKind : uint8_t {
    Spawn,      // a new task, placed for the first time
    Wake,       // a blocked task woken
    Preempted,  // the queue's running task, put back (put_prev)
    Migrated,   // moved here from another queue (balance, push, re-place)
};
// DequeueKind says how a task left a run queue or its CPU. Picked and
// Migrating of a queued task take it off the list; Blocked, Exited and
// Migrating of the running task (a re-place at preemption) follow its last
// run: the core has accounted that run and cleared rq.current.
enum class DequeueKind : uint8_t { Picked, Migrating, Blocked, Exited };

// PolicyError is thrown by Policy::start() to refuse to start (the switching
// protocol then restarts the previous policy and reports this error).
class PolicyError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// QueuePick is a policy's answer to "what runs next from this queue":
// a task, or WAIT (do not advance time; used for replaying an ordering).
struct QueuePick {
    Task* task = nullptr;
    bool wait = false;
};

// Policy decides; the Scheduler core carries the decision out. A policy
// never owns tasks and keeps no pointer to a task past a call (except, for
// a policy that orders its queues, to the tasks on them). Every hook is
// called without run-queue locks held, except pick() and the queue
// ordering hooks, which run under the queue's lock and must not block or
// call back into the Scheduler.
//
// Hooks may run concurrently on different CPUs in the runtime; a policy
// guards its own mutable state. In the simulator all calls are sequential.
class Policy {
  public:
    virtual ~Policy() = default;

    // name() is the registry name, e.g. "static".
    virtual std::string name() const = 0;

    // start() runs when the policy becomes active (after the previous one's
    // stop()). Throw PolicyError to refuse.
    virtual void start(Scheduler& sched, uint64_t now_ns) {
        (void)sched;
        (void)now_ns;
    }
    // stop() runs when the policy is replaced or the scheduler shuts down.
    virtual void stop(Scheduler& sched, uint64_t now_ns) {
        (void)sched;
        (void)now_ns;
    }

    // select_cpu() places a spawned or woken task: return a CPU in its
    // affinity (the core checks and asserts).
    virtual int select_cpu(Scheduler& sched, const Task& task, PlaceReason why) = 0;

    // queue_front() says whether a task placed on `cpu` for `why` goes to the
    // head of that queue (runs next, LIFO) instead of its tail (FIFO, the
    // default). `from_cpu` is the CPU it was spawned or woken from (by the
    // task running there, or by that CPU's executor on a task's behalf: a
    // child's exit waking its joiner, a timer), or -1 (another thread, not
    // known). Work stealing runs what a CPU's
    // own task spawns or wakes next, depth-first as on a work-stealing
    // deque, while thieves take the oldest tasks from the tail. The core
    // bounds queue-jumping: once tasks that jumped have run back to back
    // for `quantum_ns`, everything goes to the tail until a task from the
    // tail has run (as Go's runnext inherits the time slice), so nothing
    // queued starves. Called under `cpu`'s queue lock: it must not block or
    // call the Scheduler.
    virtual bool queue_front(const Task& task, PlaceReason why, int cpu, int from_cpu) const {
        (void)task;
        (void)why;
        (void)cpu;
        (void)from_cpu;
        return false;
    }

    // pick() chooses the next task from a non-empty queue (default: FIFO).
    // It is the pick of the policy ordering `rq` (RunQueue::order) when
    // there is one, else the active policy's.
    virtual QueuePick pick(const RunQueue& rq);

    // ---- Queue ordering (optional; fair's EEVDF uses it) -----------------
    // A policy whose orders_queues() is true keeps its own index of each run
    // queue (a tree, sums over the queued tasks). The core then calls the
    // hooks below under the queue's lock for every change to a queue it
    // orders, so index and list never disagree, in both executors. Hooks
    // must not block or call the Scheduler; per-task state they keep lives
    // in the Task's ordering fields (task.h).
    virtual bool orders_queues() const { return false; }
    // take_queue(): this policy starts ordering `rq` (the scheduler was
    // built with it, or a switch made it active): index the tasks queued
    // there. rq.current, if any, was picked by someone else.
    virtual void take_queue(RunQueue& rq, uint64_t now_ns) {
        (void)rq;
        (void)now_ns;
    }
    // on_enqueue(): `task` was just linked into rq's list (the core has
    // accounted its last run in exec_ns and vruntime_ns).
    virtual void on_enqueue(RunQueue& rq, Task& task, EnqueueKind kind, uint64_t now_ns) {
        (void)rq;
        (void)task;
        (void)kind;
        (void)now_ns;
    }
    // on_dequeue(): `task` left rq (see DequeueKind). Picked: it becomes
    // rq.current right after.
    virtual void on_dequeue(RunQueue& rq, Task& task, DequeueKind kind, uint64_t now_ns) {
        (void)rq;
        (void)task;
        (void)kind;
        (void)now_ns;
    }
    // wakeup_preempt(): `task` just joined `rq` (spawn, wake, migration)
    // while rq.current runs. True asks the running task to leave its CPU
    // now: the core sets rq.need_resched, kicks the CPU and must_yield()
    // says so, and the executor preempts it (the simulator at once, the
    // runtime at the task's next yield) and picks again.
    virtual bool wakeup_preempt(const RunQueue& rq, const Task& task, uint64_t now_ns) {
        (void)rq;
        (void)task;
        (void)now_ns;
        return false;
    }

    // time_slice_ns() is how long `task` may run before it is preempted when
    // others wait.
    virtual uint64_t time_slice_ns(const Task& task) const {
        (void)task;
        return quantum_ns;
    }

    // tick_period_ns() is how often the executor calls tick() per CPU while
    // work remains; 0 means never.
    virtual uint64_t tick_period_ns() const { return 0; }
    // tick_when_idle() says whether tick() must also run on a CPU that has
    // nothing running or queued. When false, the simulator stops an idle
    // CPU's tick until it runs a task again (Linux's NOHZ idle), and a busy
    // CPU's tick that finds tasks waiting on its queue kicks the nearest
    // idle CPU, whose newidle() pulls (Linux's nohz idle-balance kick): the
    // work of ticks grows with busy CPUs, not with the machine. Default
    // true: a policy that does not say keeps every tick.
    virtual bool tick_when_idle() const { return true; }
    // tick() is the periodic hook (balance, re-place, frequency).
    virtual void tick(Scheduler& sched, int cpu, uint64_t now_ns) {
        (void)sched;
        (void)cpu;
        (void)now_ns;
    }
    // newidle() runs when `cpu` is about to go idle: a chance to pull work.
    virtual void newidle(Scheduler& sched, int cpu, uint64_t now_ns) {
        (void)sched;
        (void)cpu;
        (void)now_ns;
    }

    // on_active_balance() reports the outcome of a push asked for with
    // Scheduler::request_push(): `moved` says whether a task went from `src`
    // to `dst`. Runs on `src` without run-queue locks. A switch drops the
    // old policy's pending pushes; one already under way when the switch
    // published this policy reports here.
    virtual void on_active_balance(int src, int dst, bool moved) {
        (void)src;
        (void)dst;
        (void)moved;
    }

    // fast_path() opts in to the runtime's fast path for spawns: a task
    // spawned by a running task, with default SpawnOptions, goes on its
    // worker's work-stealing deque (run LIFO by that worker, stolen FIFO by
    // idle ones) and becomes a core Task, placed by this policy, only when
    // it first blocks or yields. Right for fork-join policies that keep
    // spawns local anyway (steal); wrong for one that places every spawn
    // itself. The simulator has no fast path: a spawn is placed at once.
    virtual bool fast_path() const { return false; }
    // steal_order() lists the CPUs whose deques an idle `cpu` tries, in
    // order (default: nearest first by sched-domain level, then by id
    // distance). Runtime only; asked again after every policy switch.
    virtual void steal_order(const Scheduler& sched, int cpu, std::vector<int>& out) const;
    // fast_steal_max() is how many entries a thief takes from one deque at
    // most: the oldest, plus up to half of the rest (steal-half, as Go and
    // Tokio). 1 takes one at a time. Runtime only.
    virtual int fast_steal_max() const { return 1; }

    // stats_json() is a JSON object with the policy's own statistics, or ""
    // when it has none.
    virtual std::string stats_json() const { return {}; }

    uint64_t quantum_ns = 3'000'000;  // 3 ms, Linux's default minimum granularity order
};

// make_static_policy() round-robins spawned tasks over their allowed CPUs,
// keeps woken tasks on their home CPU, serves queues FIFO with a quantum and
// never migrates.
std::unique_ptr<Policy> make_static_policy();

// make_fifo_policy() is one first-come-first-served queue served by every
// CPU (docs/policies.md).
std::unique_ptr<Policy> make_fifo_policy();

}  // namespace schedkit
