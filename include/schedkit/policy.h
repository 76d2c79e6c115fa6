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
// never owns tasks and keeps no pointer to a task past a call. Every hook is
// called without run-queue locks held, except pick() which runs under the
// queue's lock and must not block or call back into the Scheduler.
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
    virtual QueuePick pick(const RunQueue& rq);

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
