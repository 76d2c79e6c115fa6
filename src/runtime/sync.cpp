// sync.cpp: the non-template halves of the primitives and of JoinHandle.
#include "schedkit/sync.h"

#include <mutex>
#include <thread>

#include "schedkit/coro.h"

namespace schedkit {

namespace detail {

Waiter* claim_next(WaitList& list, WakeReason why) noexcept {
    for (Waiter* w = list.head; w != nullptr; w = w->next) {
        if (claim(*w->fiber, why)) {
            list.remove(*w);
            return w;
        }
    }
    return nullptr;
}

void claim_all(WaitList& list, WakeReason why, WaitList& out) noexcept {
    for (Waiter* w = list.head; w != nullptr;) {
        Waiter* next = w->next;
        if (claim(*w->fiber, why)) {
            list.remove(*w);
            out.push_back(*w);
        }
        w = next;
    }
}

void wake_all(WaitList& claimed) {
    // Pop before waking: once woken, a fiber may resume and free its waiter.
    while (Waiter* w = claimed.pop_front())
        wake(*w->fiber);
}

void cancel_all_and_wait(SpinLock& lock, WaitList& list) {
    WaitList claimed;
    std::unique_lock g(lock);
    claim_all(list, WakeReason::Cancelled, claimed);
    // What is left was claimed by cancellers that will unlink it through
    // this very source: it must outlive their unlink().
    while (!list.empty()) {
        g.unlock();
        std::this_thread::yield();
        g.lock();
    }
    g.unlock();
    wake_all(claimed);
}

void JoinableFiber::finish() {
    WaitList claimed;
    uint32_t w = lock_joiners();
    claim_all(joiners, WakeReason::Signaled, claimed);
    // kDone is published by the unlocking store (release: the result too).
    // A joiner or a plain thread registers only while kLock is clear, so
    // either it did before we locked (and we see kJoined/kThreads) or it
    // sees kDone.
    unlock_joiners(w | kDone);
    wake_all(claimed);
    if ((w & kThreads) != 0)
        refs.notify_all();
}

void JoinableFiber::finish_and_release() {
    uint32_t w = refs.load(std::memory_order_relaxed);
    for (;;) {
        w = unlocked(w);
        if ((w & (kJoined | kThreads)) != 0) {
            // Someone waits (or waited): claim under the lock, notify, then
            // drop the reference (it keeps the fiber alive until then).
            finish();
            release();
            return;
        }
        // Nobody waits: publish kDone and drop the runtime's reference in
        // one step. A joiner arriving meanwhile takes kLock first, and our
        // CAS fails and looks again.
        if (refs.compare_exchange_weak(w, (w | kDone) - kRef, std::memory_order_acq_rel,
                                       std::memory_order_relaxed)) {
            if (w / kRef == 1)
                delete this;
            return;
        }
    }
}

void JoinableFiber::unlink(Waiter& wt) noexcept {
    uint32_t w = lock_joiners();
    if (wt.linked)
        joiners.remove(wt);
    unlock_joiners(w);
}

void JoinableFiber::take_check() {
    if (taken)
        throw std::logic_error("JoinHandle: the result was already taken");
    taken = true;
}

void JoinableFiber::wait_blocking() {
    if (current_fiber() != nullptr)
        throw std::logic_error("JoinHandle::get() from a runtime task: co_await the handle");
    // kThreads asks the finisher to notify; set only while kLock is clear
    // (see finish()). Other changes of the word (references) wake the wait
    // early, and the loop waits again.
    uint32_t w = refs.load(std::memory_order_acquire);
    while ((w & kDone) == 0 && (w & kThreads) == 0) {
        w = unlocked(w);
        if (refs.compare_exchange_weak(w, w | kThreads, std::memory_order_acq_rel,
                                       std::memory_order_acquire))
            w |= kThreads;
    }
    while ((w & kDone) == 0) {
        refs.wait(w, std::memory_order_acquire);
        w = refs.load(std::memory_order_acquire);
    }
}

}  // namespace detail

void Event::set() {
    detail::WaitList claimed;
    {
        std::lock_guard g(q_.lock);
        set_.store(1, std::memory_order_seq_cst);
        detail::claim_all(q_.list, detail::WakeReason::Signaled, claimed);
    }
    detail::wake_all(claimed);
    if (thread_waiters_.load(std::memory_order_seq_cst) != 0)
        set_.notify_all();
}

void Event::wait_blocking() const {
    if (detail::current_fiber() != nullptr)
        throw std::logic_error("Event::wait_blocking() from a runtime task: co_await wait()");
    thread_waiters_.fetch_add(1, std::memory_order_seq_cst);
    while (set_.load(std::memory_order_seq_cst) == 0)
        set_.wait(0, std::memory_order_acquire);
    thread_waiters_.fetch_sub(1, std::memory_order_relaxed);
}

void Mutex::unlock() {
    detail::Waiter* next;
    {
        std::lock_guard g(q_.lock);
        if (!locked_.load(std::memory_order_relaxed))
            throw std::logic_error("Mutex::unlock() of an unlocked mutex");
        // Hand-off: the mutex stays locked and now belongs to `next`.
        next = detail::claim_next(q_.list, detail::WakeReason::Signaled);
        if (next == nullptr)
            locked_.store(false, std::memory_order_relaxed);
    }
    if (next != nullptr)
        detail::wake(*next->fiber);
}

bool Semaphore::spin_for_permit(detail::Fiber& f) noexcept {
    uint64_t w = 0;
    if (!word_.compare_exchange_strong(w, kSpinner, std::memory_order_relaxed,
                                       std::memory_order_relaxed)) {
        // A permit came meanwhile, or someone else already waits: spin on
        // the count as any taker would.
        auto free = [](const void* p) {
            return static_cast<const Semaphore*>(p)->word_.load(std::memory_order_relaxed) >= kOne;
        };
        uint64_t started = 0;
        while (!try_take())
            if (!detail::wait_spin(f, free, this, started))
                return false;
        return true;
    }
    // The spinner: a release hands it the permit by clearing kSpinner.
    auto handed = [](const void* p) {
        return (static_cast<const Semaphore*>(p)->word_.load(std::memory_order_acquire) &
                kSpinner) == 0;
    };
    uint64_t started = 0;
    if (detail::wait_spin(f, handed, this, started))
        return true;
    // Give up: clear the bit, unless a release has just cleared it for us.
    // (Should another task have registered since a hand-off we missed, we
    // clear its bit instead and it takes that permit: one release, one
    // taker, whoever it is.)
    w = word_.load(std::memory_order_acquire);
    while ((w & kSpinner) != 0)
        if (word_.compare_exchange_weak(w, w & ~kSpinner, std::memory_order_acquire,
                                        std::memory_order_acquire))
            return false;
    return true;
}

void Semaphore::release(uint64_t n) {
    if (checked(0, n) == 0)
        return;
    for (;;) {
        // Guess that a task spins for this permit (a reply awaited): the
        // first compare-and-swap then takes the line once, without a load
        // that would fetch it shared first.
        uint64_t w = kSpinner;
        while ((w & kQueued) == 0) {
            uint64_t next = (w & kSpinner) != 0 ? (n - 1) << kShift  // one to the spinner
                                                : checked(w >> kShift, n) << kShift;
            if (word_.compare_exchange_weak(w, next, std::memory_order_release,
                                            std::memory_order_relaxed))
                return;
        }
        detail::WaitList claimed;
        {
            std::lock_guard g(q_.lock);
            // Another release may have emptied the queue since we looked.
            w = word_.load(std::memory_order_relaxed);
            if ((w & kQueued) == 0)
                continue;
            uint64_t p = n;
            // The spinner registered before anyone queued: it goes first
            // (unless it gives up at this very moment).
            while ((w & kSpinner) != 0)
                if (word_.compare_exchange_weak(w, w & ~kSpinner, std::memory_order_release,
                                                std::memory_order_relaxed)) {
                    --p;
                    break;
                }
            // The word is now kQueued and stays so while we hold the lock:
            // no permit is free for a lock-free take, no task may register
            // as the spinner, and releases queue behind us.
            while (p > 0) {
                detail::Waiter* wt = detail::claim_next(q_.list, detail::WakeReason::Signaled);
                if (wt == nullptr)
                    break;
                --p;
                claimed.push_back(*wt);
            }
            // Waiters left unclaimed (cancellers own them) are on their way
            // out: with no claimable one left the bit clears.
            bool queued = p == 0 && !q_.list.empty();
            word_.store(queued ? kQueued : p << kShift, std::memory_order_release);
        }
        detail::wake_all(claimed);
        return;
    }
}

void WaitGroup::done() {
    uint64_t prev = count_.fetch_sub(1, std::memory_order_seq_cst);
    if (prev == 0) {
        count_.fetch_add(1, std::memory_order_relaxed);
        throw std::logic_error("WaitGroup::done() without a matching add()");
    }
    if (prev != 1)
        return;
    detail::WaitList claimed;
    {
        std::lock_guard g(q_.lock);
        detail::claim_all(q_.list, detail::WakeReason::Signaled, claimed);
    }
    detail::wake_all(claimed);
    if (thread_waiters_.load(std::memory_order_seq_cst) != 0)
        count_.notify_all();
}

void WaitGroup::wait_blocking() const {
    if (detail::current_fiber() != nullptr)
        throw std::logic_error("WaitGroup::wait_blocking() from a runtime task: co_await wait()");
    thread_waiters_.fetch_add(1, std::memory_order_seq_cst);
    for (uint64_t c = count_.load(std::memory_order_seq_cst); c != 0;
         c = count_.load(std::memory_order_seq_cst))
        count_.wait(c, std::memory_order_acquire);
    thread_waiters_.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace schedkit
