// timers.cpp: per-worker timer queues: sleep_for() and lightweight-thread
// poller deadlines.
#include <mutex>

#include "core/check.h"
#include "runtime/runtime_core.h"

namespace schedkit::detail {

TimerQueue::~TimerQueue() {
    // Pokes hold references; sleepers cannot be left (their tasks ended
    // before the workers stopped).
    for (auto& [deadline, poke] : pokes_)
        poke.first->release();
    SCHEDKIT_CHECK(sleeps_.empty(), "timer queue destroyed with sleeping tasks");
}

void TimerQueue::update_next_locked() noexcept {
    uint64_t next = UINT64_MAX;
    if (!sleeps_.empty())
        next = sleeps_.begin()->first;
    if (!pokes_.empty())
        next = std::min(next, pokes_.begin()->first);
    next_.store(next, std::memory_order_release);
}

void TimerQueue::unlink(Waiter& w) noexcept {
    std::lock_guard g(lock_);
    if (!w.linked)
        return;
    sleeps_.erase({w.deadline, &w});
    w.linked = false;
    update_next_locked();
}

void TimerQueue::add_sleep(Fiber& f, Waiter& w) {
    std::lock_guard g(lock_);
    w.fiber = &f;
    sleeps_.emplace(w.deadline, &w);
    w.linked = true;
    arm(f, *this, w);
    update_next_locked();
}

void TimerQueue::add_poke(Fiber* f, uint64_t gen, uint64_t deadline) {
    f->add_ref();
    std::lock_guard g(lock_);
    pokes_.emplace(deadline, std::make_pair(f, gen));
    update_next_locked();
}

void TimerQueue::fire(uint64_t now, std::vector<Fiber*>& woken,
                      std::vector<std::pair<Fiber*, uint64_t>>& poked) {
    if (next_deadline() > now)
        return;
    std::lock_guard g(lock_);
    for (auto it = sleeps_.begin(); it != sleeps_.end() && it->first <= now;) {
        Waiter* w = it->second;
        // A sleeper a canceller already claimed stays until it unlinks it.
        if (claim(*w->fiber, WakeReason::Timeout)) {
            w->linked = false;
            woken.push_back(w->fiber);
            it = sleeps_.erase(it);
        } else {
            ++it;
        }
    }
    for (auto it = pokes_.begin(); it != pokes_.end() && it->first <= now;) {
        poked.push_back(it->second);
        it = pokes_.erase(it);
    }
    update_next_locked();
}

bool start_sleep(Fiber& f, Waiter& w, uint64_t duration_ns) {
    f.wake_reason = WakeReason::None;
    if (f.cancel_requested.load(std::memory_order_relaxed)) {
        f.wake_reason = WakeReason::Cancelled;
        return false;
    }
    if (duration_ns == 0) {
        f.outcome = Outcome::Yield;
        return true;
    }
    Worker* worker = current_worker();
    SCHEDKIT_CHECK(worker != nullptr, "a fiber runs outside a worker");
    w.deadline = f.rt->now_ns() + duration_ns;
    worker->timers.add_sleep(f, w);
    return should_suspend(f, worker->timers, w);
}

}  // namespace schedkit::detail
