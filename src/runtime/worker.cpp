// worker.cpp: one worker per CPU: the dispatch loop (the simulator's, with
// a real clock), its inbox, wake list, timers and ticks. An idle worker's
// spin and parking, and block_on's guest: worker_idle.cpp.
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "core/check.h"
#include "runtime/runtime_core.h"

namespace schedkit::detail {

namespace {

void futex_wake(std::atomic<uint32_t>& word) {
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr,
            0);
}

}  // namespace

thread_local constinit Worker* tls_worker = nullptr;
thread_local constinit Fiber* tls_fiber = nullptr;

Worker::Worker(RuntimeCore& r, int c, int h) : rt(r), cpu(c), host_cpu(h) {}

int Worker::bind_to_host_cpu() noexcept {
    // host_cpu is the kernel's CPU id (hwloc's os_index). A CPU outside the
    // process's cpuset (cgroup) fails with EINVAL; Runtime::start() reports
    // it (RuntimeCore::start_locked).
    size_t size = CPU_ALLOC_SIZE(host_cpu + 1);
    cpu_set_t* set = CPU_ALLOC(host_cpu + 1);
    if (set == nullptr)
        return ENOMEM;
    CPU_ZERO_S(size, set);
    CPU_SET_S(static_cast<size_t>(host_cpu), size, set);
    int err = pthread_setaffinity_np(pthread_self(), size, set);
    CPU_FREE(set);
    return err;
}

void Worker::kick() noexcept {
    // A spinning worker notices this store (not a syscall): see idle_wait().
    if (!poked.load(std::memory_order_relaxed))
        poked.store(true, std::memory_order_release);
    // Pairs with the fence in idle_wait(): either the worker sees the work
    // we just published, or we see it parked and bump its futex word. A
    // guest in its seat does its work instead (and when it leaves, either we
    // see the seat free or it sees the work, and kicks: unseat_guest()).
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (parked.load(std::memory_order_relaxed) &&
        seat.load(std::memory_order_relaxed) != kSeatGuest) {
        futex_word.fetch_add(1, std::memory_order_release);
        futex_wake(futex_word);
    }
}

void Worker::main() {
    tls_worker = this;
    rcu_register_worker();
    if (host_cpu >= 0) {
        // start() waits for every worker's bind and decides: run, or (a
        // bind failed) exit_workers before anything ran here.
        bind_error = bind_to_host_cpu();
        rt.bind_reported();
        rt.wait_start_verdict();
    }
    while (!rt.exit_workers.load(std::memory_order_acquire)) {
        // The seat is this thread's while it works; idle, it gives the seat
        // up, so that a block_on() caller can sit here (a guest).
        if (!try_seat_thread()) {
            idle_wait();  // a guest holds the seat: has_work() is false until it leaves
            continue;
        }
        while (schedule_once() && !rt.exit_workers.load(std::memory_order_acquire)) {
        }
        leave_read();
        seat.store(kSeatIdle, std::memory_order_release);
        if (!rt.exit_workers.load(std::memory_order_acquire))
            idle_wait();
    }
    // Requests that raced with exit belong to finished runs: stop() only
    // sets exit_workers once every fiber has exited.
    rcu_unregister_worker();
    tls_worker = nullptr;
}

void Worker::post(InboxItem item) {
    inbox.enqueue(item);
    // After the item: a drain that clears the flag (acquire) sees the item.
    inbox_pending.store(true, std::memory_order_release);
    kick();
}

void Worker::post_wake(Fiber& f, int waker_cpu) noexcept {
    f.wake_from_cpu = waker_cpu;
    Fiber* head = wakes.load(std::memory_order_relaxed);
    do {
        f.wake_next = head;
    } while (!wakes.compare_exchange_weak(head, &f, std::memory_order_release,
                                          std::memory_order_relaxed));
    kick();
}

void Worker::drain_wakes(uint64_t now) {
    if (wakes.load(std::memory_order_relaxed) == nullptr)
        return;
    // Pushed newest first: reversed, they are queued in the order woken.
    Fiber* fifo = nullptr;
    for (Fiber* f = wakes.exchange(nullptr, std::memory_order_acquire); f != nullptr;) {
        Fiber* next = std::exchange(f->wake_next, fifo);
        fifo = f;
        f = next;
    }
    uint64_t n = 0;
    while (fifo != nullptr) {
        Fiber& f = *std::exchange(fifo, fifo->wake_next);
        f.wake_next = nullptr;
        rt.sched.wake_enqueue(f.task(), cpu, now, f.wake_from_cpu);
        ++n;
    }
    remote_wakes.store(remote_wakes.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

void Worker::drain_inbox(uint64_t now) {
    drain_wakes(now);
    // Cleared before draining: a post after this point sets it again and is
    // drained on the next pass.
    if (!inbox_pending.load(std::memory_order_relaxed) ||
        !inbox_pending.exchange(false, std::memory_order_acquire))
        return;
    InboxItem items[32];
    size_t n;
    while ((n = inbox.try_dequeue_bulk(items, 32)) != 0) {
        for (size_t i = 0; i < n; ++i) {
            Fiber& f = *items[i].fiber;
            if (items[i].kind == InboxItem::Kind::Spawn)
                rt.sched.spawn(f.task(), now, true);
            else if (items[i].kind == InboxItem::Kind::FastWake)
                deque.push(&f);
            else
                rt.sched.wake(f.task(), now);
        }
    }
}

void Worker::fire_timers(uint64_t now) {
    if (timers.next_deadline() > now)
        return;
    std::vector<Fiber*> woken;
    std::vector<std::pair<Fiber*, uint64_t>> pokes;
    timers.fire(now, woken, pokes);
    for (Fiber* f : woken)
        rt.wake_fiber(*f);
    for (auto& [f, gen] : pokes) {
        f->poke(gen);
        f->release();
    }
}

void Worker::maybe_tick(uint64_t now) {
    // Between ticks nothing else is read: alive() sums every CPU's counters,
    // too much for every dispatch pass. A tick that comes due after the last
    // task exited only clears next_tick_ns (so a parked worker sleeps on).
    uint64_t next = next_tick_ns.load(std::memory_order_relaxed);
    if (next != 0 && now < next)
        return;
    uint64_t period = rt.sched.policy().tick_period_ns();
    if (period == 0 || rt.sched.alive() == 0) {
        next_tick_ns.store(0, std::memory_order_relaxed);
        return;
    }
    if (next != 0)
        rt.sched.tick(cpu, now);
    next_tick_ns.store(now + period, std::memory_order_relaxed);
}

void Worker::service(uint64_t now) {
    drain_inbox(now);
    fire_timers(now);
    maybe_tick(now);
}

void Worker::enter_read() noexcept {
    if (!in_read_) {
        rcu_read_lock_();
        in_read_ = true;
    }
}

void Worker::leave_read() noexcept {
    if (in_read_) {
        rcu_read_unlock_();
        in_read_ = false;
    }
}

void Worker::refresh_policy_view() {
    uint64_t gen = rt.sched.policy_switches();
    if (gen == policy_gen_)
        return;
    policy_gen_ = gen;
    const Policy& p = rt.sched.policy();
    fast_spawns = p.fast_path() && !rt.recorder;
    fast_steal_max = std::max(1, p.fast_steal_max());
    p.steal_order(rt.sched, cpu, victims_);
}

bool Worker::schedule_once() {
    // The fast path: this worker's deque, newest first, as long as the core
    // has nothing queued here and nothing was posted; a full pass (timers,
    // tick, inbox, the core's queue) at least every 64 tasks. No clock read
    // and no read-side section per task.
    if ((fast_streak_ < 64 && rt.sched.rq(cpu).nr_queued.load(std::memory_order_relaxed) == 0 &&
         !inbox_pending.load(std::memory_order_relaxed) &&
         wakes.load(std::memory_order_relaxed) == nullptr) ||
        std::exchange(deque_turn_, false)) {
        // Its own deque first (the owner's size is exact: an empty pop,
        // which costs a locked store, is skipped), then another worker's:
        // a thief keeps taking stolen tasks without a full pass each.
        Fiber* f = deque.empty_hint() ? nullptr : deque.pop();
        if (f == nullptr && fast_streak_ > 0)
            f = steal_fast();
        if (f != nullptr) {
            ++fast_streak_;
            leave_read();  // task code never runs in a read-side section
            run_fast(*f);
            return true;
        }
    }
    fast_streak_ = 0;
    if (rt.sched.restore_pending()) {  // the active policy failed: put the previous one back
        leave_read();
        rt.restore_failed_policy();
    }
    // Usually still in the section the last slice's bookkeeping opened:
    // one read-side section per dispatch, left before any task code runs.
    enter_read();
    // One clock read serves the whole pass, and the end of the slice just
    // run serves as the next pass's: reading the clock is a visible share
    // of a short task's cost.
    uint64_t now = last_now_ != 0 ? std::exchange(last_now_, 0) : rt.now_ns();
    service(now);
    refresh_policy_view();
    rt.sched.service(cpu, now);  // the core's part: a pending push
    Pick p = rt.sched.pick_next(cpu, now);
    leave_read();
    if (p.status == PickStatus::Task) {
        run_fiber(*static_cast<Fiber*>(p.task->executor_data), now);
        return true;
    }
    // Nothing in the core for this CPU: its own deque, then other workers'.
    Fiber* f = deque.empty_hint() ? nullptr : deque.pop();
    if (f == nullptr)
        f = steal_fast();
    if (f == nullptr)
        return false;
    fast_streak_ = 1;  // the next passes try the deques first
    run_fast(*f);
    return true;
}

Fiber* Worker::steal_fast() {
    for (int v : victims_) {
        Worker& w = *rt.workers[static_cast<size_t>(v)];
        if (w.deque.empty_hint())
            continue;
        // Half of what waits there (the policy's bound): the rest of the
        // batch goes on this worker's own deque and runs from there.
        int moved = 0;
        if (Fiber* f = w.deque.steal_half(deque, fast_steal_max - 1, moved)) {
            fast_steals.store(
                fast_steals.load(std::memory_order_relaxed) + 1 + static_cast<uint64_t>(moved),
                std::memory_order_relaxed);
            return f;
        }
    }
    return nullptr;
}

bool Worker::fast_work_elsewhere() const noexcept {
    for (const auto& w : rt.workers)
        if (w.get() != this && !w->deque.empty_hint())
            return true;
    return false;
}

void Worker::run_fast(Fiber& f) {
    f.run_state.store(RunState::Running, std::memory_order_relaxed);
    tls_fiber = &f;
    Outcome o = f.run();
    tls_fiber = nullptr;
    if (o == Outcome::Exit) {
        fast_tasks.store(fast_tasks.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        // Counted first: the fiber may be gone once released.
        rt.on_fast_exit(*this, f);
        // With its handle dropped (a detached task) nobody can join it or
        // read its result: no finish(), and release() frees it without a
        // locked instruction. Else, when nobody waits on it, one CAS both
        // publishes its end and drops the runtime's reference.
        if (f.sole_owner())
            f.release();
        else
            f.finish_and_release();
        return;
    }
    if (o == Outcome::Block && std::exchange(f.fast_join, false)) {
        // Waiting for a task it joined (fork-join's common case): it stays
        // off the core; its wake pushes it back on a deque (fast_wake).
        RunState expected = RunState::Running;
        if (!f.run_state.compare_exchange_strong(expected, RunState::Blocked,
                                                 std::memory_order_acq_rel)) {
            // Woken while it was still running here.
            SCHEDKIT_CHECK(expected == RunState::WakePending, "fiber run state corrupt");
            f.run_state.store(RunState::Queued, std::memory_order_relaxed);
            deque.push(&f);
        }
        return;
    }
    promote(f, o);
}

void Worker::promote(Fiber& f, Outcome o) {
    // It blocked or yielded: from now on it is a core task, the running
    // one of this CPU, and the slice ends as any core task's does.
    fast_promoted.store(fast_promoted.load(std::memory_order_relaxed) + 1,
                        std::memory_order_relaxed);
    uint64_t now = rt.now_ns();
    Task* t = nullptr;
    try {
        t = &f.make_task();
    } catch (const std::bad_alloc&) {
        // The task is suspended in a wait or a yield and cannot go on
        // without its Task: as with a stack that cannot grow, the process
        // ends, saying why.
        std::fprintf(stderr, "schedkit: out of memory promoting task %llu to the core\n",
                     static_cast<unsigned long long>(f.id));
        std::abort();
    }
    enter_read();
    rt.sched.adopt_running(cpu, *t, now);
    last_now_ = now;
    if (after_run(f, o, now))
        run_fiber(f, now);
}

void Worker::run_fiber(Fiber& f, uint64_t start) {
    f.run_state.store(RunState::Running, std::memory_order_relaxed);
    for (;;) {
        tls_fiber = &f;
        Outcome o = f.run();
        tls_fiber = nullptr;
        uint64_t end = rt.now_ns();
        // Single writer: a plain add, no locked instruction.
        busy_ns.store(busy_ns.load(std::memory_order_relaxed) + (end - start),
                      std::memory_order_relaxed);
        slices.store(slices.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        last_now_ = end;
        if (rt.recorder)
            rt.recorder->on_run(cpu, f.task(), start, end);
        // Left by the next schedule_once() after its pick (or by
        // after_run() before the task runs on).
        enter_read();
        if (!after_run(f, o, end))
            return;
        start = end;
    }
}

bool Worker::after_run(Fiber& f, Outcome o, uint64_t end) {
    switch (o) {
        case Outcome::Yield: {
            service(end);
            // The core decides, as for the simulator at the end of a
            // quantum: a fresh slice, no switch, unless others wait, a
            // push is pending or the policy wants the task elsewhere. The
            // core does not see this worker's deque: with tasks waiting
            // there, a yield gives one of them the next turn (deque_turn_),
            // or a task polling for its own fast-path children would spin
            // alone on this worker.
            bool deque_waits = !deque.empty_hint();
            if (!deque_waits && rt.sched.after_slice(cpu) == Scheduler::SliceAction::Continue) {
                leave_read();
                last_now_ = 0;
                return true;
            }
            rt.sched.put_prev(cpu, end);
            deque_turn_ = deque_waits;
            nudge_idle_worker(end);
            return false;
        }
        case Outcome::Block: {
            rt.sched.block(cpu, end);
            RunState expected = RunState::Running;
            if (!f.run_state.compare_exchange_strong(expected, RunState::Blocked,
                                                     std::memory_order_acq_rel)) {
                // Woken while it was still running here: wake it now.
                SCHEDKIT_CHECK(expected == RunState::WakePending, "fiber run state corrupt");
                f.run_state.store(RunState::Queued, std::memory_order_relaxed);
                rt.sched.wake(f.task(), end);
            }
            return false;
        }
        case Outcome::Exit: {
            bool is_thread = f.task().is_thread;
            rt.sched.exit(cpu, end);
            if (rt.recorder)
                rt.recorder->on_exit(f.task(), end);
            if (is_thread || !f.sole_owner())  // as in run_fast()
                f.finish();
            rt.on_exit(*this, f, is_thread);
            f.release();
            return false;
        }
    }
    return false;
}

}  // namespace schedkit::detail
