// runtime_core.h: the runtime's internals: workers, inboxes, timers, RCU.
#pragma once

#include <concurrentqueue/concurrentqueue.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "runtime/work_deque.h"
#include "schedkit/detail/fiber.h"
#include "schedkit/report.h"
#include "schedkit/runtime.h"
#include "schedkit/scheduler.h"

namespace schedkit::detail {

// RCU (liburcu, memb flavour). Workers are registered readers for their
// whole life; any thread that calls into the scheduler core where policy
// code can run holds a read-side section. Other threads register only for
// the span of a call (RcuThreadScope). Nothing in schedkit calls a blocking
// synchronize: retired policies go through call_rcu (DESIGN story 4).
void rcu_register_worker();
void rcu_unregister_worker();
void rcu_read_lock_() noexcept;
void rcu_read_unlock_() noexcept;

// RcuRead is a read-side critical section.
class RcuRead {
  public:
    RcuRead() noexcept { rcu_read_lock_(); }
    ~RcuRead() { rcu_read_unlock_(); }
    RcuRead(const RcuRead&) = delete;
    RcuRead& operator=(const RcuRead&) = delete;
};

// RcuThreadScope registers a non-worker thread for the scope (nested
// scopes and workers just count: registration happens once per thread).
class RcuThreadScope {
  public:
    RcuThreadScope() { rcu_register_worker(); }
    ~RcuThreadScope() { rcu_unregister_worker(); }
    RcuThreadScope(const RcuThreadScope&) = delete;
    RcuThreadScope& operator=(const RcuThreadScope&) = delete;
};

// retire_policy_after_grace_period() frees `p` with call_rcu. The caller
// is a registered thread.
void retire_policy_after_grace_period(Policy* p);
// rcu_flush() waits for pending call_rcu callbacks (runtime teardown; never
// from a worker or a read-side section).
void rcu_flush();

// TimerQueue is one worker's timers: sleeping tasks (a wait source, so a
// canceller can unlink them) and pokes for lightweight threads (which hold
// a reference to their fiber until fired).
class TimerQueue final : public WaitSource {
  public:
    ~TimerQueue() override;
    void unlink(Waiter& w) noexcept override;
    // add_sleep() links and arms `f`'s waiter `w` due at w.deadline.
    void add_sleep(Fiber& f, Waiter& w);
    // add_poke() calls f->poke(gen) at `deadline` (holds a reference).
    void add_poke(Fiber* f, uint64_t gen, uint64_t deadline);
    // fire() claims due sleepers into `woken` and due pokes into `poked`.
    void fire(uint64_t now, std::vector<Fiber*>& woken,
              std::vector<std::pair<Fiber*, uint64_t>>& poked);
    // next_deadline() is the earliest due time, or UINT64_MAX. Lock-free.
    uint64_t next_deadline() const noexcept { return next_.load(std::memory_order_acquire); }

  private:
    void update_next_locked() noexcept;

    SpinLock lock_;
    std::set<std::pair<uint64_t, Waiter*>> sleeps_;               // guarded by lock_
    std::multimap<uint64_t, std::pair<Fiber*, uint64_t>> pokes_;  // guarded by lock_
    std::atomic<uint64_t> next_{UINT64_MAX};
};

// InboxItem is a request from a thread that is not this worker: spawn a
// new task or wake a blocked one through the core on this worker.
struct InboxItem {
    // FastWake: a fast-path task (never seen by the core) woken from its
    // join wait: the worker pushes it on its own deque.
    enum class Kind : uint8_t { Spawn, Wake, FastWake } kind = Kind::Spawn;
    Fiber* fiber = nullptr;
};

class RuntimeCore;
struct ThreadFiber;
struct Resolved;  // a validated Config with defaults filled in (runtime.cpp)

// Worker is one CPU's thread and its private state. It sits on its own
// cache lines: other threads write its inbox and futex word, and the
// statistics below are written by the worker alone (relaxed atomics so
// stats() can read them from any thread).
struct alignas(64) Worker {
    Worker(RuntimeCore& rt, int cpu, int host_cpu);

    void main();           // the thread's body
    void kick() noexcept;  // wake it if parked (any thread)
    // post() hands `item` to this worker's inbox and kicks it (any thread).
    void post(InboxItem item);
    // post_wake() hands this worker a core task that another worker woke
    // and placed here (Scheduler::wake_place); this worker queues it
    // (wake_enqueue), so its run queue's lock and counters never leave
    // its CPU for a wake. The waker writes one line: the wake list's head,
    // which shares a line with the kick's words.
    void post_wake(Fiber& f, int waker_cpu) noexcept;
    // nudge_idle_worker() wakes one parked worker, at most once per
    // Config::idle_balance_ns, so that its newidle balance can take some of
    // the work waiting here (this worker's thread only).
    void nudge_idle_worker(uint64_t now);

    RuntimeCore& rt;
    const int cpu;
    const int host_cpu;  // bound to this host CPU, or -1
    // bind_error is the bind's result (0 or an errno), written by the worker
    // before RuntimeCore::bind_reported() and read by start() after it.
    int bind_error = 0;
    std::thread thread;
    moodycamel::ConcurrentQueue<InboxItem> inbox;
    // inbox_pending is set after every post and cleared before a drain, so
    // the dispatch loop looks at the queue only when something was posted
    // (an empty ConcurrentQueue still walks its producers).
    std::atomic<bool> inbox_pending{false};
    TimerQueue timers;
    // deque holds the fast path's tasks: spawned here with default options
    // under a policy that opts in (Policy::fast_path), run LIFO by this
    // worker and stolen FIFO by idle ones; they join the core only when they
    // block or yield (Scheduler::adopt_running).
    WorkDeque<Fiber*> deque;
    alignas(64) std::atomic<uint32_t> futex_word{0};
    std::atomic<bool> parked{false};
    // wakes is the list post_wake() pushes onto (newest first, linked
    // through Fiber::wake_next); drain_inbox() takes it whole.
    std::atomic<Fiber*> wakes{nullptr};
    // poked is set by every kick(): a spinning idle worker watches this one
    // word, written once per hand-over, instead of polling its run queue's
    // counters while the waker is still writing them (each poll would pull
    // the line away from the waker mid-enqueue).
    std::atomic<bool> poked{false};

    alignas(64) std::atomic<uint64_t> busy_ns{0};
    std::atomic<uint64_t> idle_ns{0};
    std::atomic<uint64_t> slices{0};
    std::atomic<uint64_t> parks{0};
    // Coroutine tasks spawned from this worker and ended on it (summed by
    // RuntimeCore::task_counts()): per worker so that spawning and ending
    // tasks on different CPUs writes no shared cache line.
    std::atomic<uint64_t> tasks_spawned{0}, tasks_completed{0}, tasks_cancelled{0}, tasks_failed{0};
    // Fast path (single writer): tasks that ended on it (never seen by the
    // core), tasks taken from another worker's deque, and tasks that
    // blocked (other than on a join) or yielded and so joined the core.
    std::atomic<uint64_t> fast_tasks{0}, fast_steals{0}, fast_promoted{0};
    std::atomic<uint64_t> remote_wakes{0};  // drained from `wakes` (single writer)
    // fast_spawns is whether spawns from this worker take the fast path
    // (the active policy's fast_path(), and no recorder); refreshed by the
    // worker after a policy switch.
    bool fast_spawns = false;
    int fast_steal_max = 1;  // Policy::fast_steal_max(), refreshed with fast_spawns
    // next_tick_ns is written by the seat's holder, read by the idle
    // thread too (has_work(), park_deadline()): relaxed.
    std::atomic<uint64_t> next_tick_ns{0};
    uint64_t next_id = 0;  // worker-private: next task id of its reserved block
    uint64_t id_end = 0;   // end of that block

    // The seat: who runs this worker's dispatch (schedule_once() and all
    // the worker-private state above and below). The worker's own thread
    // holds it while it works and gives it up while idle; meanwhile a
    // thread in Runtime::block_on() may take it (a guest, as oneTBB's
    // arena.execute runs the root on the calling thread) and run tasks here
    // until its root ended. Taking it is an acquire, giving it up a release,
    // so the holders' plain writes are ordered (docs/runtime.md, "block_on").
    static constexpr uint32_t kSeatIdle = 0, kSeatThread = 1, kSeatGuest = 2;
    std::atomic<uint32_t> seat{kSeatIdle};
    // A guest's first fast spawn (block_on's root) is kept here instead of
    // the deque, where an idle thief could take it first, and run_guest()
    // runs it at once. Seat-owned.
    bool guest_hold_next = false;
    Fiber* guest_root = nullptr;
    // try_seat_guest() takes the seat for the calling thread if nobody
    // holds it; run_guest() runs the dispatch until the root ended or idle for
    // Config::idle_spin_ns; unseat_guest() gives it back (and kicks the
    // worker's thread when something is left for it).
    bool try_seat_guest() noexcept;
    // nothing_else_to_do() says whether this worker has no task, wake,
    // request, timer or push waiting, and no other CPU has tasks waiting
    // (wait_spin(); the running task's thread asks).
    bool nothing_else_to_do(uint64_t now) const noexcept;
    void run_guest(const JoinableFiber& until);
    void unseat_guest() noexcept;

  private:
    bool try_seat_thread() noexcept;
    // enter_read()/leave_read() open and close the worker's RCU read-side
    // section; it spans a slice's bookkeeping and the next pick, and is
    // never held while task code runs.
    void enter_read() noexcept;
    void leave_read() noexcept;
    bool schedule_once();
    void run_fiber(Fiber& f, uint64_t start_ns);
    // after_run() is the bookkeeping after a slice of a core task; true
    // when the task runs on (a fresh slice, no switch).
    bool after_run(Fiber& f, Outcome o, uint64_t end);
    // run_fast() runs a fast-path task; it joins the core if it blocks or
    // yields. steal_fast() takes one from another worker's deque.
    void run_fast(Fiber& f);
    // promote() is run_fast()'s rare end: `f` blocked (not on a join) or
    // yielded, and joins the core. Out of line, so that run_fast() stays a
    // short function for the common ends.
    [[gnu::noinline]] void promote(Fiber& f, Outcome o);
    Fiber* steal_fast();
    // fast_work_elsewhere() says whether another worker's deque has
    // entries: all of them, not the policy's victims_, which belong to the
    // seat (the idle thread asks without it).
    bool fast_work_elsewhere() const noexcept;
    // refresh_policy_view() re-reads what the worker caches of the active
    // policy (fast_path, steal_order) after a switch. In a read section.
    void refresh_policy_view();
    void service(uint64_t now);      // inbox, timers, tick, active balance
    void drain_inbox(uint64_t now);  // the wake list, then the inbox
    void drain_wakes(uint64_t now);
    void fire_timers(uint64_t now);
    void maybe_tick(uint64_t now);
    bool has_work(uint64_t now) const noexcept;
    void idle_wait();
    bool others_have_queued() const noexcept;
    void pull_while_idle(uint64_t now);
    uint64_t park_deadline() const noexcept;
    int bind_to_host_cpu() noexcept;  // 0 or the errno of the failed bind

    uint64_t last_nudge_ns_ = 0;
    uint64_t policy_gen_ = UINT64_MAX;  // policy_switches() when last refreshed
    std::vector<int> victims_;          // steal order (Policy::steal_order)
    int fast_streak_ = 0;               // fast tasks run since the last full pass
    bool deque_turn_ = false;           // a core task yielded to the deque's tasks
    uint64_t last_now_ = 0;             // end of the slice just run: the next pass's clock, or 0
    bool in_read_ = false;              // inside the RCU read-side section (enter_read)
};

// RuntimeCore is Runtime's implementation and the scheduler core's
// executor (ExecutorHooks::kick).
class RuntimeCore final : public ExecutorHooks {
  public:
    explicit RuntimeCore(Runtime::Config cfg);
    ~RuntimeCore() override;
    RuntimeCore(const RuntimeCore&) = delete;
    RuntimeCore& operator=(const RuntimeCore&) = delete;

    void kick(int cpu) override;
    uint64_t now_ns() const noexcept {
        return static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0_).count());
    }

    void start();  // start() and stop(): safe from any thread, stop() idempotent
    // A worker that binds reports its bind, then waits for start()'s verdict
    // (start_locked: every bind must succeed, else start() throws).
    void bind_reported() noexcept;
    void wait_start_verdict() noexcept;
    StopReport stop(std::chrono::nanoseconds drain);
    bool started() const noexcept { return started_; }
    bool stopped() const noexcept { return stopped_; }
    // submit() registers a new fiber (task or thread) and queues it.
    void submit(Fiber& f, SpawnOptions&& opts, bool is_thread);
    // submit_default() is submit() of a task spawned without options.
    void submit_default(Fiber& f);
    // submit_core_default() is its core half, out of line (the options it
    // builds would cost submit_default() a stack frame).
    [[gnu::noinline]] void submit_core_default(Worker* here, Fiber& f);
    // submit_fast() is submit()'s fast path (docs/runtime.md, "The fast
    // path"); submit_core() the rest: the core places the task.
    void submit_fast(Worker& here, Fiber& f);
    void submit_core(Worker* here, Fiber& f, SpawnOptions&& opts, bool is_thread);
    // wake_fiber() is detail::wake(): the RunState protocol, then the core.
    void wake_fiber(Fiber& f);
    // on_exit() runs on worker `w` after the core retired `f`.
    void on_exit(Worker& w, Fiber& f, bool is_thread);
    // on_fast_exit() is on_exit() for a fast-path task the core never saw.
    void on_fast_exit(Worker& w, Fiber& f);
    // fast_wake() resumes a fast-path task woken from a join wait: onto the
    // calling worker's deque, or through a worker's inbox from elsewhere.
    void fast_wake(Fiber& f);
    // wake_one_parked() kicks one parked worker that has not been kicked
    // yet (the fast path's spawns: idle workers come to steal).
    void wake_one_parked(const Worker& from) noexcept;
    std::atomic<int> parked_workers{0};  // workers asleep on their futex
    // seat_guest() seats the calling plain thread at an idle worker for
    // Runtime::block_on(), or returns null (then it waits as before).
    Worker* seat_guest();
    // worker_here() is the calling thread's worker if it belongs to this
    // runtime, else null.
    Worker* worker_here() const noexcept;

    SwitchResult set_policy(std::string_view spec);
    SwitchResult set_policy(std::unique_ptr<Policy> next);
    // restore_failed_policy() puts the previous policy back once the active
    // one failed (Scheduler::restore_pending()); a worker calls it between
    // dispatches, outside any read-side section. If a switch is under way it
    // returns at once: that switch replaces the failed policy, or the next
    // pass retries.
    void restore_failed_policy();
    std::string policy_name() const;
    RuntimeStats stats() const;
    // register_thread() lists a new lightweight thread (taking a reference)
    // for stop() and stats(); it leaves the list when it exits.
    void register_thread(ThreadFiber* t);

    using Clock = std::chrono::steady_clock;
    Runtime* owner = nullptr;
    Runtime::Config cfg;
    std::unique_ptr<Recorder> recorder;  // null when cfg.record is false
    Scheduler sched;
    std::vector<std::unique_ptr<Worker>> workers;
    std::atomic<bool> exit_workers{false};  // workers leave their loop
    std::atomic<bool> cancel_new{false};    // stop() is cancelling: new tasks never start

    // TaskCounts is a snapshot of the coroutine tasks' tallies.
    struct TaskCounts {
        uint64_t spawned = 0, completed = 0, cancelled = 0, failed = 0;
        uint64_t live() const { return spawned - (completed + cancelled + failed); }
    };
    // task_counts() sums the workers' tallies (exact after stop()). Ends are
    // read before spawns, so every task counted as ended is counted as
    // spawned, and live() == 0 only when no task was alive.
    TaskCounts task_counts() const;

    // Counters for the stop report (relaxed; exact after stop()).
    std::atomic<uint64_t> messages_delivered{0}, messages_cancelled{0}, threads_closed{0};

  private:
    explicit RuntimeCore(Resolved r);
    // start_locked() is start() with lifecycle_mu_ held. With
    // report_bind_failures, a worker that cannot bind to its CPU makes it
    // stop the workers again (none ran anything) and throw InputError;
    // stop() starting a never-started runtime runs unbound workers instead.
    void start_locked(bool report_bind_failures);
    // wait_until() waits until done() holds (checked under idle_mu_) or the
    // deadline; returns done().
    // Polls as well (every millisecond): a fast-path task's end does not
    // synchronise with the waiter (no locked instruction per task), so its
    // notification may come before the wait starts.
    template <typename Done>
    bool wait_until(Clock::time_point deadline, Done done) {
        std::unique_lock lk(idle_mu_);
        while (!done()) {
            if (Clock::now() >= deadline)
                return false;
            auto step = Clock::now() + std::chrono::milliseconds(1);
            idle_cv_.wait_until(lk, std::min(deadline, step));
        }
        return true;
    }
    uint64_t new_task_id(Worker* here);
    void cancel_live_tasks();
    void core_wake(Fiber& f);

    Clock::time_point t0_;
    std::atomic<uint64_t> next_id_{0};
    std::atomic<uint64_t> next_worker_{0};
    std::atomic<uint64_t> external_spawned_{0};  // tasks spawned by plain threads
    std::atomic<int64_t> live_threads_{0};
    // stop_waiting_ is set while stop() waits for tasks: only then does a
    // task's end notify idle_cv_ (seq_cst against the tallies' increments).
    std::atomic<bool> stop_waiting_{false};
    std::mutex idle_mu_;  // pairs with idle_cv_: stop() waits for live counts to reach 0
    std::condition_variable idle_cv_;
    mutable std::mutex switch_mu_;  // serialises set_policy() and guards switch_log_
    std::string switch_log_;
    mutable std::mutex threads_mu_;  // guards threads_
    std::set<ThreadFiber*> threads_;
    std::atomic<bool> stopping_{false};  // external spawns refused
    // lifecycle_mu_ serialises start() and stop(): a second stop() waits
    // for the first and returns its report. The flags are atomic because
    // spawns and stats read them without it.
    std::mutex lifecycle_mu_;
    std::atomic<bool> started_{false};
    std::atomic<bool> stopped_{false};
    std::atomic<int> binds_pending_{0};  // workers yet to report their bind
    std::atomic<int> start_verdict_{0};  // 0 until start() decided; then 1
    StopReport report_;
    uint64_t stop_ns_ = 0;
};

// current_worker() is the calling thread's worker (any runtime), or null.
extern thread_local constinit Worker* tls_worker;
inline Worker* current_worker() noexcept {
    return tls_worker;
}

}  // namespace schedkit::detail
