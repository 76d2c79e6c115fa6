// scheduler.h: the scheduler core: tasks, per-CPU run queues, operations.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "schedkit/cpu_bits.h"
#include "schedkit/domain.h"
#include "schedkit/policy.h"
#include "schedkit/runqueue.h"
#include "schedkit/task.h"
#include "schedkit/topology.h"

namespace schedkit {

// PickStatus is the outcome of picking on a CPU. Idle, Wait and Eof are
// normal outcomes, never errors: an all-blocked queue is Idle.
enum class PickStatus : uint8_t {
    Task,  // a task now runs on the CPU
    Idle,  // nothing runnable now: advance time / park
    Wait,  // do not advance time (the policy is holding the CPU for ordering)
    Eof,   // no work will ever come to this CPU again
};
const char* pick_status_name(PickStatus s);

struct Pick {
    PickStatus status = PickStatus::Idle;
    Task* task = nullptr;
};

// SchedObserver receives what the core does, for statistics and traces.
// Callbacks may come from any CPU's thread in the runtime (an observer
// synchronises itself); they run with no run-queue lock held.
class SchedObserver {
  public:
    virtual ~SchedObserver() = default;
    // on_switch(): `next` starts running on `cpu` (prev ran there before, or null).
    virtual void on_switch(int cpu, const Task* prev, const Task& next, uint64_t now_ns) = 0;
    // on_migrate(): a Runnable task moved between queues, or a woken task
    // was placed on another CPU than the one it last ran on (`from`).
    virtual void on_migrate(const Task& task, int from, int to, uint64_t now_ns) = 0;
    // on_queue_length(): `cpu`'s queue now holds `nr_queued` runnable tasks.
    virtual void on_queue_length(int cpu, int nr_queued, uint64_t now_ns) = 0;
    // on_wait(): `task` waited `wait_ns` runnable before it ran.
    virtual void on_wait(const Task& task, uint64_t wait_ns) = 0;
    // on_idle(): `cpu` found nothing to run and goes idle; once per idle
    // spell (the next on_switch() there ends it).
    virtual void on_idle(int cpu, uint64_t now_ns) {
        (void)cpu;
        (void)now_ns;
    }
};

// ExecutorHooks let the core reach the executor: kick() asks `cpu` to run
// the scheduler soon (work was queued on an idle CPU, or an active push is
// pending there).
//
// A kick to a CPU that is running a task whose Task::rehome flag is set asks
// the executor to preempt it (put_prev) soon, so the core can re-place it.
class ExecutorHooks {
  public:
    virtual ~ExecutorHooks() = default;
    virtual void kick(int cpu) = 0;
    // on_sleep() reports that a policy put `cpu` to sleep (true) or woke it
    // (false) through Scheduler::set_sleeping(). A sleeping CPU should stop
    // burning CPU time while it has nothing to run (the runtime parks its
    // worker; the simulator counts the time as sleeping). Work that does
    // reach a sleeping CPU still runs: sleep never strands a task.
    virtual void on_sleep(int cpu, bool sleeping) {
        (void)cpu;
        (void)sleeping;
    }
};

// SwitchResult reports a policy switch.
struct SwitchResult {
    bool ok = true;
    std::string error;  // why the new policy refused to start
};

// PolicyRestore reports what Scheduler::restore_failed_policy() did.
struct PolicyRestore {
    std::string from;     // the policy that failed
    std::string to;       // the one put back ("" when there was none to put back)
    std::string why;      // the failure, as the policy reported it
    SwitchResult result;  // the switch back
};

// restore_log_entry() is the `policy_switches` JSON item both executors log
// for a restore: at_us, from, to, ok, `restored` (the failure) and, when
// nothing could be put back, error.
std::string restore_log_entry(const PolicyRestore& r, uint64_t now_ns);

// Scheduler is the core: it owns the run queues and carries out the
// operations a policy decides. It enforces the invariants (a task is on at
// most one queue or CPU; affinity holds; counts conserve) and asserts them.
//
// Thread-safety: all operations are thread-safe; each locks at most one run
// queue at a time. Per-task operations on one task must not race (the
// executor that owns a task serialises them; a task belongs to one CPU's
// executor while Running, to its queue while Runnable).
class Scheduler {
  public:
    Scheduler(Topology topo, DomainTree domains, std::unique_ptr<Policy> policy);
    ~Scheduler();
    Scheduler(const Scheduler&) = delete;
    Scheduler& operator=(const Scheduler&) = delete;

    const Topology& topology() const { return topo_; }
    const DomainTree& domains() const { return domains_; }
    int num_cpus() const { return static_cast<int>(rqs_.size()); }
    RunQueue& rq(int cpu) { return *rqs_[static_cast<size_t>(cpu)]; }
    const RunQueue& rq(int cpu) const { return *rqs_[static_cast<size_t>(cpu)]; }
    // policy() is the active policy (its lifetime is managed by switch_policy).
    Policy& policy() const { return *policy_.load(std::memory_order_acquire); }

    void set_observer(SchedObserver* observer) { observer_ = observer; }
    void set_executor(ExecutorHooks* hooks) { executor_ = hooks; }
    // set_retire() replaces how an old policy is freed after a switch (the
    // runtime defers it past an RCU grace period). Default: delete at once.
    void set_retire(std::function<void(Policy*)> retire) { retire_ = std::move(retire); }

    // spawn() registers a New task (owned by the caller), places it through
    // the policy and queues it. Affinity outside the machine is a bug.
    // With `per_cpu_list` (the runtime) the task joins the live-task list of
    // the CPU it is placed on, where it usually also exits, so spawns and
    // exits on different CPUs share no lock and no counter; without (the
    // simulator, one thread) every task joins list 0, before placement, so
    // for_each_task() is in spawn order. Placement is the policy's either way.
    void spawn(Task& task, uint64_t now_ns, bool per_cpu_list = false);
    // pick_next() runs on `cpu` when it has no current task. An empty queue
    // first gets the policy's newidle() chance to pull.
    Pick pick_next(int cpu, uint64_t now_ns);
    // idle_balance() runs the policy's newidle() for `cpu` (unless a policy
    // switch is quiescing balancing): pick_next() does when the queue is
    // empty, and an executor whose CPU stays idle may call it again while
    // it waits for work (a spinning worker looking for work to steal).
    void idle_balance(int cpu, uint64_t now_ns);
    // adopt_running() makes a New task that the executor started without
    // the core (the runtime's fast path: a spawn run from a worker's deque)
    // the running task of `cpu`, as if it had been spawned there and picked
    // at `now_ns`: it joins cpu's live list and its original and home CPU
    // are `cpu`. `cpu` must have no current task. The executor then goes on
    // with put_prev/block/exit as for any running task.
    void adopt_running(int cpu, Task& task, uint64_t now_ns);
    // put_prev() preempts the running task on `cpu` back to the tail of its queue.
    void put_prev(int cpu, uint64_t now_ns);
    // block() takes the running task on `cpu` off the CPU as Blocked.
    void block(int cpu, uint64_t now_ns);
    // wake() makes a Blocked task Runnable on the CPU its policy picks.
    // `waker_cpu` is the CPU it is woken from, or -1 (another thread, not
    // known); see Policy::queue_front().
    void wake(Task& task, uint64_t now_ns, int waker_cpu = -1);
    // wake() in two halves, for an executor that hands a wake to the chosen
    // CPU's own thread (the runtime's remote wake, as Linux's wake list):
    // wake_place() brings the task's load up to `now_ns` and returns the
    // CPU its policy picks; wake_enqueue() takes it out of its last CPU's
    // blocked count and queues it there (on any thread; usually that
    // CPU's), so the queue's lock and counters stay on the CPU that uses
    // them. Between the two the task is still Blocked where it last ran.
    // wake() is wake_enqueue(wake_place()), so both executors decide alike.
    int wake_place(Task& task, uint64_t now_ns);
    void wake_enqueue(Task& task, int cpu, uint64_t now_ns, int waker_cpu = -1);
    // exit() retires the running task on `cpu`.
    void exit(int cpu, uint64_t now_ns);

    // migrate() moves a Runnable queued task to `dst`. Returns false, moving
    // nothing, when the task is not queued any more, is running, or `dst` is
    // outside its affinity. Locks src then dst, never both at once.
    bool migrate(Task& task, int dst, uint64_t now_ns);
    // detach_tasks() takes up to `max` queued tasks from `src`'s tail (the
    // coldest first) for which `can_move` holds, under src's lock only.
    // `can_move` must not block or call into the Scheduler.
    std::vector<Task*> detach_tasks(int src, int max,
                                    const std::function<bool(const Task&)>& can_move);
    // detach_first() takes the first queued task of `src` from the head
    // (the longest queued) for which `can_move` holds, or returns null; it
    // stops at the first match, so taking the head of a long queue is O(1).
    Task* detach_first(int src, const std::function<bool(const Task&)>& can_move);
    // attach_tasks() queues detached tasks on `dst` (affinity asserted).
    void attach_tasks(int dst, const std::vector<Task*>& tasks, int src, uint64_t now_ns);
    // request_push() asks `src` to push one task to `dst` (active balance);
    // the source CPU carries it out in active_balance().
    void request_push(int src, int dst);
    // active_balance() runs on `src` when a push is pending: preempt the
    // running task if nothing else can move, then move one task to the target.
    // Returns whether a task moved.
    bool active_balance(int src, uint64_t now_ns);

    // tick() runs the policy's periodic hook for `cpu`.
    void tick(int cpu, uint64_t now_ns);

    // ---- The dispatch contract -------------------------------------------
    // The rules every executor (the simulator's virtual CPUs, the runtime's
    // workers) follows between tasks and at the end of a slice, so that the
    // two cannot drift apart. An executor's loop on `cpu` is:
    //   between tasks:   service(cpu, now); pick_next(cpu, now); run it;
    //   slice over:      (quantum used up, or the task yielded, or must_yield())
    //                    after_slice(cpu) == Preempt ? put_prev(cpu, now) : fresh slice;
    //   a kick(cpu):     when the CPU runs a task and must_yield(cpu), end the slice now;
    //   after spawning locally: kick_idle_for(cpu, wake).
    // Ticks come from the executor's clock (events, deadlines) every
    // policy().tick_period_ns() and go through tick().

    // set_quantum_ns() overrides the quantum of every policy (0: each
    // policy's own): the core applies it to the active policy now and to each
    // policy a switch publishes, so no executor writes Policy::quantum_ns.
    // Call it before the executor runs tasks.
    void set_quantum_ns(uint64_t quantum_ns);
    uint64_t quantum_override_ns() const { return quantum_override_ns_; }
    // time_slice_ns() is how long `task` may run before it is preempted when
    // others wait (the active policy's answer).
    uint64_t time_slice_ns(const Task& task) const { return policy().time_slice_ns(task); }
    // must_yield() says the task running on `cpu` must leave it now: an
    // active push is pending there, the policy flagged the task to be
    // re-placed (rehome_current), or the policy ordering the queue wants a
    // task that just arrived to run (Policy::wakeup_preempt). Called by `cpu`'s executor (it reads
    // the CPU's current task, which only that executor changes).
    bool must_yield(int cpu) const;
    enum class SliceAction : uint8_t {
        Continue,  // a fresh slice for the same task, no switch
        Preempt,   // put_prev() it; service() and pick_next() follow
    };
    // after_slice() decides at the end of the running task's slice on `cpu`
    // (its quantum expired in the simulator, it yielded in the runtime, or a
    // kick found must_yield()): Preempt when it must yield or others wait on
    // the queue, else Continue (a lone task keeps its CPU without a switch).
    SliceAction after_slice(int cpu) const;
    // service() does what is pending on `cpu` between tasks: an active push
    // (active_balance). Returns whether a task moved.
    bool service(int cpu, uint64_t now_ns);
    // kick_idle_for() runs after `cpu` queued work locally (a spawn that a
    // policy keeps on its CPU, as steal does): so that idle CPUs' pull can
    // take some, it offers up to one idle CPU per task waiting there beyond
    // the first, nearest CPU ids first, among CPUs running nothing, to
    // `wake(c)`: the executor's kick, returning whether it woke `c` (false:
    // it is coming anyway, or asleep). Returns how many were woken.
    int kick_idle_for(int cpu, const std::function<bool(int)>& wake);

    // rehome_current() flags the task running on `cpu`, when `should(task)`
    // holds, to be re-placed through the policy's select_cpu(Wake) at its
    // next preemption, and kicks the CPU so that comes soon. `should` runs
    // under cpu's queue lock: it must not block or call into the Scheduler.
    // Returns whether a task was flagged. (Queued tasks are moved with
    // detach_tasks/attach_tasks; blocked ones are placed again on wake.)
    bool rehome_current(int cpu, const std::function<bool(const Task&)>& should);
    // detach_or_rehome() is detach_tasks() and rehome_current() under one
    // hold of `cpu`'s queue lock: queued tasks for which `should` holds are
    // detached (returned, tail first, as detach_tasks), and the running one
    // is flagged to be re-placed. Done as two calls, a context switch in
    // between could hide a task from both (it was running for the detach
    // and queued for the flag). Kicks `cpu` when it flagged a task.
    std::vector<Task*> detach_or_rehome(int cpu, const std::function<bool(const Task&)>& should);
    // set_sleeping() marks `cpu` asleep or awake for the executor (see
    // ExecutorHooks::on_sleep); a no-op when the state does not change.
    void set_sleeping(int cpu, bool sleeping);
    // cpu_busy_ns() is the total time tasks have run on `cpu` up to now_ns,
    // including the current run. Takes cpu's queue lock.
    uint64_t cpu_busy_ns(int cpu, uint64_t now_ns) const;

    // switch_policy() follows the switching protocol: quiesce balancing,
    // stop the old policy, drop its pending requests (active pushes, rehome
    // flags: they were the old policy's decisions), start the new one (on
    // failure restart the old one and report), publish, retire the old one.
    // Tasks are untouched.
    SwitchResult switch_policy(std::unique_ptr<Policy> next, uint64_t now_ns);

    // A policy that can no longer decide (a plug-in whose hook failed: it
    // isolates itself first) calls policy_failed(); the policy it replaced,
    // kept stopped since that switch, is then put back. Any hook on any CPU
    // may call it; a report from a policy no longer active is ignored.
    // restore_pending() is the executors' cheap check (a relaxed load);
    // restore_failed_policy() switches back (from where set_policy() would
    // be called: never from a hook or a balancing pass) and says what it did,
    // or nullopt when nothing failed. With no previous policy (the run began
    // with the failed one) it stays active, isolated. docs/plugins.md.
    void policy_failed(const Policy& p, std::string why);
    bool restore_pending() const { return restore_pending_.load(std::memory_order_relaxed); }
    std::optional<PolicyRestore> restore_failed_policy(uint64_t now_ns);

    // close_arrivals() tells the core no task will be spawned any more, so an
    // empty CPU with nothing alive can report Eof.
    void close_arrivals() { arrivals_closed_.store(true, std::memory_order_release); }

    // Counters, summed over the per-CPU live lists (relaxed reads; exact
    // once the run has stopped). alive() never counts an exit without its
    // spawn.
    uint64_t spawned() const;
    uint64_t exited() const;
    uint64_t alive() const;
    uint64_t migrations() const { return migrations_.load(std::memory_order_relaxed); }
    uint64_t policy_switches() const { return switches_.load(std::memory_order_relaxed); }

    // for_each_task() calls fn(task) for every live task (spawned, not yet
    // exited): list by list, each in spawn order (the simulator spawns into
    // one list, so there it is spawn order), under that list's lock: fn must not block or call
    // spawn/exit, and must not take a run-queue lock (exit() takes a list lock inside one). That
    // lock keeps each task alive during fn but guards none of its scheduling fields, which other
    // CPUs change under their queue locks: read those only through the hint loads in task.h
    // (task_state_hint(), task_cpu_hint(), task_exec_hint(), task_last_ran_hint(),
    // task_original_cpu_hint(); home_cpu through atomic_ref).
    template <typename Fn>
    void for_each_task(Fn&& fn) const {
        for (int l = 0; l < num_cpus(); ++l) {
            const LiveList& list = live_[static_cast<size_t>(l)];
            std::lock_guard g(list.lock);
            for (Task* t = list.head; t != nullptr; t = t->all_next)
                fn(*t);
        }
    }

    // CPU sets by queue state, kept under each queue's lock as its counters
    // change (cpu_bits.h); lock-free hints like the counters themselves.
    // idle: nothing running or queued (nr_running == 0). running_nothing: no
    // current task (queued ones may be on their way). queued: nr_queued > 0.
    // overloaded: two or more runnable (nr_running >= 2, Linux's
    // rq->rd->overloaded per CPU).
    const CpuBits& idle_cpus() const { return idle_; }
    const CpuBits& running_nothing_cpus() const { return no_current_; }
    const CpuBits& queued_cpus() const { return queued_; }
    const CpuBits& overloaded_cpus() const { return overloaded_; }

    // check_invariants() walks every queue and asserts the core's rules.
    // Call only while nothing else runs (tests, end of simulation).
    void check_invariants() const;

  private:
    // LiveList is one CPU's share of the live tasks, on its own cache line:
    // a task joins the list of the CPU it is first placed on (runtime) and
    // leaves the list it joined. The counters are written under `lock` and
    // read without.
    struct alignas(64) LiveList {
        mutable RqLock lock;
        Task* head = nullptr;  // guarded by lock
        Task* tail = nullptr;  // guarded by lock
        std::atomic<uint64_t> spawned{0};
        std::atomic<uint64_t> exited{0};
    };

    static constexpr uint8_t kSetIdle = 1, kSetNoCurrent = 2, kSetQueued = 4, kSetOverloaded = 8;
    void update_cpu_sets(RunQueue& rq);
    void enqueue_locked(RunQueue& rq, Task& t, uint64_t now_ns, bool front, EnqueueKind kind);
    void dequeue_locked(RunQueue& rq, Task& t, uint64_t now_ns, DequeueKind kind);
    bool preempt_check_locked(RunQueue& rq, const Task& t, uint64_t now_ns);
    void left_cpu_locked(RunQueue& rq, Task& t, DequeueKind kind, uint64_t now_ns);
    void live_insert(LiveList& l, Task& t);
    void place_and_enqueue(Task& t, PlaceReason why, uint64_t now_ns, int from_cpu,
                           bool join_cpu_list = false);
    // enqueue_placed() is place_and_enqueue() once the policy chose `cpu`.
    void enqueue_placed(Task& t, int cpu, PlaceReason why, uint64_t now_ns, int from_cpu,
                        bool join_cpu_list);
    bool begin_balance(RunQueue& rq);
    void end_balance(RunQueue& rq);
    void account_switch_out(RunQueue& rq, Task& t, uint64_t now_ns, bool exiting = false);
    int checked_cpu(const Task& t, int cpu) const;

    Topology topo_;
    DomainTree domains_;
    std::vector<std::unique_ptr<RunQueue>> rqs_;
    std::atomic<Policy*> policy_;
    std::function<void(Policy*)> retire_;
    // The last policy a switch replaced (stopped), kept to be put back if the
    // active one fails; retired by the next switch. Switching thread only.
    Policy* previous_ = nullptr;
    std::mutex failed_mu_;            // guards failed_ and failed_why_ with the publish
    const Policy* failed_ = nullptr;  // the active policy, once it reported failure
    std::string failed_why_;
    std::atomic<bool> restore_pending_{false};
    SchedObserver* observer_ = nullptr;
    ExecutorHooks* executor_ = nullptr;
    std::atomic<bool> balancing_paused_{false};
    std::atomic<bool> arrivals_closed_{false};
    std::atomic<uint64_t> migrations_{0}, switches_{0};
    uint64_t quantum_override_ns_ = 0;  // set before tasks run; 0: none
    std::unique_ptr<LiveList[]> live_;  // one per CPU
    CpuBits idle_, no_current_, queued_, overloaded_;
};

}  // namespace schedkit
