// worker_idle.cpp: a worker with nothing to run: the idle spin and parking,
// the nudge that wakes a parked worker to pull work, a task's spin before a
// wait (wait_spin), and block_on's guest in an idle worker's seat.
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <thread>

#include "runtime/runtime_core.h"

namespace schedkit::detail {

namespace {

// futex_wait() sleeps while *word == expected, at most timeout_ns (UINT64_MAX:
// forever). Spurious returns are fine: the caller re-checks for work.
void futex_wait(std::atomic<uint32_t>& word, uint32_t expected, uint64_t timeout_ns) {
    timespec ts{};
    timespec* tsp = nullptr;
    if (timeout_ns != UINT64_MAX) {
        ts.tv_sec = static_cast<time_t>(timeout_ns / 1'000'000'000);
        ts.tv_nsec = static_cast<long>(timeout_ns % 1'000'000'000);
        tsp = &ts;
    }
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAIT_PRIVATE, expected, tsp,
            nullptr, 0);
}

}  // namespace

bool Worker::nothing_else_to_do(uint64_t now) const noexcept {
    // Atomics this worker owns (or that others write only to hand it work),
    // and other CPUs' queue counters: reading them costs no cache line from
    // another CPU while nothing changes.
    const RunQueue& rq = rt.sched.rq(cpu);
    return wakes.load(std::memory_order_relaxed) == nullptr &&
           !inbox_pending.load(std::memory_order_relaxed) && deque.empty_hint() &&
           rq.nr_queued.load(std::memory_order_relaxed) == 0 &&
           rq.push_to.load(std::memory_order_relaxed) < 0 && timers.next_deadline() > now &&
           !rt.exit_workers.load(std::memory_order_relaxed) &&
           // Tasks waiting elsewhere (queued, or in another deque): the
           // spinning task blocks instead, so that this CPU goes idle and
           // pulls or steals them.
           !others_have_queued() && !fast_work_elsewhere();
}

bool wait_spin_allowed() noexcept {
    // Off when configured so, and when workers outnumber the CPUs they may
    // run on (resolve() turns it off then).
    Worker* w = current_worker();
    return w != nullptr && w->rt.cfg.wait_spin_ns != 0;
}

bool wait_spin(Fiber& f, bool (*peek)(const void*), const void* arg, uint64_t& start) noexcept {
    if (!wait_spin_allowed())
        return false;
    Worker* w = current_worker();
    // A retry (the hint came true, the take lost) spins within the first
    // spin's budget only, so that a hint that keeps lying cannot spin for
    // ever. A first spin whose hint came true before any clock read leaves
    // kStartAtRetry: the budget then starts at the retry.
    constexpr uint64_t kStartAtRetry = ~uint64_t{0};
    if (start == kStartAtRetry)
        start = w->rt.now_ns();
    else if (start != 0 && w->rt.now_ns() - start >= w->rt.cfg.wait_spin_ns)
        return false;
    // The clock and the worker's state are read after the first poll (an
    // answer already on its way is seen before any clock read; a worker
    // with other work stops after one pause) and then every 16 polls.
    for (uint32_t i = 0;; ++i) {
        if (peek(arg)) {
            if (start == 0)
                start = kStartAtRetry;
            return true;
        }
        if ((i & 15) == 1) {
            uint64_t now = w->rt.now_ns();
            if (start == 0)
                start = now;
            if (now - start >= w->rt.cfg.wait_spin_ns || !w->nothing_else_to_do(now) ||
                f.cancel_requested.load(std::memory_order_relaxed))
                return false;
        }
        spin_pause();
    }
}

bool Worker::has_work(uint64_t now) const noexcept {
    // Called by the idle thread, which does not hold the seat: atomics only.
    // While a guest holds the seat, the guest does this CPU's work.
    if (rt.exit_workers.load(std::memory_order_relaxed))
        return true;
    if (seat.load(std::memory_order_relaxed) == kSeatGuest)
        return false;
    const RunQueue& rq = rt.sched.rq(cpu);
    uint64_t tick = next_tick_ns.load(std::memory_order_relaxed);
    return wakes.load(std::memory_order_relaxed) != nullptr ||
           inbox_pending.load(std::memory_order_relaxed) || !deque.empty_hint() ||
           fast_work_elsewhere() || rq.nr_queued.load(std::memory_order_relaxed) > 0 ||
           rq.push_to.load(std::memory_order_relaxed) >= 0 || timers.next_deadline() <= now ||
           (tick != 0 && tick <= now);
}

uint64_t Worker::park_deadline() const noexcept {
    uint64_t deadline = timers.next_deadline();
    // While tasks are alive, an idle CPU still runs its policy's periodic
    // balance (maybe_tick() keeps next_tick_ns at 0 otherwise) - unless the
    // policy put it to sleep.
    uint64_t tick = next_tick_ns.load(std::memory_order_relaxed);
    if (tick != 0 && !rt.sched.rq(cpu).sleeping.load(std::memory_order_relaxed))
        deadline = std::min(deadline, tick);
    return deadline;
}

void Worker::nudge_idle_worker(uint64_t now) {
    // Linux's nohz balancer kick: a CPU with tasks waiting wakes one parked
    // CPU so that it runs its newidle balance (and pulls, if the policy
    // does), at most once per idle_balance_ns.
    if (now - last_nudge_ns_ < rt.cfg.idle_balance_ns)
        return;
    last_nudge_ns_ = now;
    // Whom to wake is the core's rule (the simulator follows it too); a
    // worker that is not parked is already looking for work.
    rt.sched.kick_idle_for(cpu, [this](int other) {
        Worker& w = *rt.workers[static_cast<size_t>(other)];
        if (!w.parked.load(std::memory_order_relaxed) ||
            rt.sched.rq(other).sleeping.load(std::memory_order_relaxed))
            return false;
        w.kick();
        return true;
    });
}

bool Worker::others_have_queued() const noexcept {
    for (const auto& w : rt.workers)
        if (w->cpu != cpu && rt.sched.rq(w->cpu).nr_queued.load(std::memory_order_relaxed) > 0)
            return true;
    return false;
}

void Worker::pull_while_idle(uint64_t now) {
    // The core's newidle pass for this CPU belongs to the seat's holder.
    if (!try_seat_thread())
        return;
    enter_read();
    rt.sched.idle_balance(cpu, now);
    leave_read();
    seat.store(kSeatIdle, std::memory_order_release);
}

void Worker::idle_wait() {
    uint64_t start = rt.now_ns();
    uint64_t now = start;
    // Spin first: work often arrives within microseconds (a reply, a wake),
    // and a futex round trip costs more than that. An unbound worker may
    // share its CPU with another worker (oversubscribed), so it yields now
    // and then to let the one with work run; a worker bound to a CPU of its
    // own does not (a yield is a syscall, and the latency of a wake).
    //
    // Work handed over by another thread always comes with a kick(), which
    // sets `poked`: the spin watches that word and checks everything else
    // (its own timers and tick, work that came without a kick) every 64
    // rounds. The exchange orders the clear before the first full check, so
    // a kick is either seen by that check or leaves `poked` set.
    poked.exchange(false, std::memory_order_seq_cst);
    bool sleeping = rt.sched.rq(cpu).sleeping.load(std::memory_order_relaxed);
    bool may_share_cpu = host_cpu < 0;
    // While a guest holds the seat there is nothing to spin for: park at
    // once (a spinning thread would take CPU time from the guest).
    for (int i = 0; !sleeping && now - start < rt.cfg.idle_spin_ns &&
                    seat.load(std::memory_order_relaxed) != kSeatGuest;
         ++i) {
        if (((i & 63) == 0 || poked.load(std::memory_order_acquire)) && has_work(now))
            return;
        // Fast-path spawns come without a kick while this worker spins:
        // look at the other deques more often (a read of two counters).
        if ((i & 7) == 7 && fast_work_elsewhere() &&
            seat.load(std::memory_order_relaxed) != kSeatGuest)
            return;
        spin_pause();
        if ((i & 63) == 63) {
            if (may_share_cpu)
                std::this_thread::yield();
            now = rt.now_ns();
            // Work queued elsewhere since this CPU's newidle pass (children
            // a busy CPU spawned locally): give the policy another chance
            // to pull it, as a spinning Go M or Tokio worker steals.
            if (others_have_queued())
                pull_while_idle(now);
        }
    }
    uint32_t seq = futex_word.load(std::memory_order_acquire);
    // Cleared before parking: the fast path's spawns wake only workers
    // whose `poked` is clear (one kick per parking, RuntimeCore::
    // wake_one_parked). Work published before a kick that this clear
    // erases is seen by the check below.
    poked.store(false, std::memory_order_relaxed);
    parked.store(true, std::memory_order_relaxed);
    rt.parked_workers.fetch_add(1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    now = rt.now_ns();
    if (!has_work(now)) {
        // A guest in the seat runs this CPU's ticks and timers: sleep until
        // kicked (unseat_guest() kicks for what it leaves), not until a tick
        // that is overdue only because the guest has not looked at it yet
        // (waking for it would spin this thread against the guest).
        uint64_t deadline =
            seat.load(std::memory_order_relaxed) == kSeatGuest ? UINT64_MAX : park_deadline();
        parks.store(parks.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        if (deadline > now)
            futex_wait(futex_word, seq, deadline == UINT64_MAX ? UINT64_MAX : deadline - now);
    }
    rt.parked_workers.fetch_sub(1, std::memory_order_relaxed);
    parked.store(false, std::memory_order_relaxed);
    idle_ns.store(idle_ns.load(std::memory_order_relaxed) + (rt.now_ns() - start),
                  std::memory_order_relaxed);
}

bool Worker::try_seat_thread() noexcept {
    uint32_t idle = kSeatIdle;
    return seat.compare_exchange_strong(idle, kSeatThread, std::memory_order_acquire,
                                        std::memory_order_relaxed);
}

// ---- block_on's guest (docs/runtime.md, "block_on") ---------------------

bool Worker::try_seat_guest() noexcept {
    if (seat.load(std::memory_order_relaxed) != kSeatIdle)
        return false;
    uint32_t idle = kSeatIdle;
    if (!seat.compare_exchange_strong(idle, kSeatGuest, std::memory_order_acquire,
                                      std::memory_order_relaxed))
        return false;
    rcu_register_worker();  // the core's policy code runs here now
    tls_worker = this;
    // What the worker caches of the policy may predate a switch (or the
    // worker's first pass): the guest's spawns follow the active policy.
    enter_read();
    refresh_policy_view();
    leave_read();
    guest_hold_next = true;
    return true;
}

void Worker::run_guest(const JoinableFiber& until) {
    guest_hold_next = false;
    if (Fiber* root = std::exchange(guest_root, nullptr))
        run_fast(*root);
    uint64_t idle_from = 0;
    while (!until.is_done() && !rt.exit_workers.load(std::memory_order_acquire)) {
        if (schedule_once()) {
            idle_from = 0;
            continue;
        }
        // Nothing here: the root waits on work elsewhere. Poll a while
        // (the root's end is usually microseconds away), then leave the
        // seat to the worker's thread and wait as a plain thread.
        uint64_t now = rt.now_ns();
        if (idle_from == 0)
            idle_from = now;
        else if (now - idle_from >= rt.cfg.idle_spin_ns)
            return;
        for (int i = 0; i < 64 && !until.is_done(); ++i)
            spin_pause();
    }
}

void Worker::unseat_guest() noexcept {
    guest_hold_next = false;
    if (Fiber* root = std::exchange(guest_root, nullptr))
        deque.push(root);  // never ran here (the guest left early): a worker runs it
    leave_read();
    last_now_ = 0;  // the next holder reads the clock afresh
    tls_worker = nullptr;
    rcu_unregister_worker();
    seat.store(kSeatIdle, std::memory_order_release);
    // Pairs with idle_wait()'s fence: either the idle thread sees the seat
    // free (and then the work), or we see it parked and kick it if we leave
    // anything behind: tasks, a due tick, or any timer (the thread parked
    // with a deadline that may predate a timer the guest's tasks set).
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (parked.load(std::memory_order_relaxed) &&
        (timers.next_deadline() != UINT64_MAX || has_work(rt.now_ns())))
        kick();
}

}  // namespace schedkit::detail
