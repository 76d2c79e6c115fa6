// detail/fiber.h: the runtime's task control block and wait protocol.
//
// Internal: the coroutine and primitive templates (coro.h, sync.h) need these
// definitions, so they live in a header, but nothing here is public API and
// it may change without notice. docs/runtime.md explains the protocols.
#pragma once

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <stdexcept>
#include <thread>

#include "schedkit/task.h"

namespace schedkit {

// Cancelled is thrown into a task at a suspension point (co_await of yield,
// sleep_for, a primitive or a join) once it has been cancelled: by
// JoinHandle::cancel(), or by Runtime::stop() for tasks still alive at its
// drain deadline. A task may catch it to clean up; it stays cancelled, so
// every later suspension point throws again.
class Cancelled : public std::runtime_error {
  public:
    Cancelled() : std::runtime_error("task cancelled") {}
};

namespace detail {

// SpinLock guards the short critical sections of primitives and mailboxes (a
// few pointer updates): spinning beats a futex there, and yielding after a
// bounded spin keeps oversubscribed workers from spinning against a
// preempted holder.
class SpinLock {
  public:
    void lock() noexcept {
        for (int spins = 0; locked_.exchange(true, std::memory_order_acquire);) {
            while (locked_.load(std::memory_order_relaxed)) {
                if (++spins > 64) {
                    std::this_thread::yield();
                    spins = 0;
                }
            }
        }
    }
    void unlock() noexcept { locked_.store(false, std::memory_order_release); }

  private:
    std::atomic<bool> locked_{false};
};

// Outcome is why a fiber gave its worker back.
enum class Outcome : uint8_t { Yield, Block, Exit };

// WakeReason is who ended a fiber's wait (written by the claimer).
enum class WakeReason : uint8_t { None, Signaled, Timeout, Cancelled };

struct Fiber;
class RuntimeCore;

// Waiter is one fiber's registration in one wait source (a primitive's list,
// a timer queue, a mailbox). It lives in the waiting coroutine's frame (or
// the lightweight thread object), so a source may touch it only under the
// source's lock and only while it is linked; the fiber unlinks it, under the
// same lock, before the frame can go away.
struct Waiter {
    Fiber* fiber = nullptr;
    Waiter* prev = nullptr;
    Waiter* next = nullptr;
    bool linked = false;    // guarded by the source's lock
    void* slot = nullptr;   // hand-off payload (a channel value), source-specific
    bool handed = false;    // hand-off done by the claimer, read after wake
    uint64_t deadline = 0;  // timer waits: when
    uint64_t count = 1;     // semaphore waits: how many permits
};

// WaitList is an intrusive FIFO of waiters guarded by its owner's lock.
struct WaitList {
    Waiter* head = nullptr;
    Waiter* tail = nullptr;

    bool empty() const { return head == nullptr; }
    void push_back(Waiter& w) noexcept {
        w.prev = tail;
        w.next = nullptr;
        (tail != nullptr ? tail->next : head) = &w;
        tail = &w;
        w.linked = true;
    }
    void remove(Waiter& w) noexcept {
        (w.prev != nullptr ? w.prev->next : head) = w.next;
        (w.next != nullptr ? w.next->prev : tail) = w.prev;
        w.prev = w.next = nullptr;
        w.linked = false;
    }
    Waiter* pop_front() noexcept {
        Waiter* w = head;
        if (w != nullptr)
            remove(*w);
        return w;
    }
};

// RunState tracks a fiber between its worker and a waker, so that a wake
// racing with the worker's block() is neither lost nor doubled.
enum class RunState : uint8_t { Queued, Running, Blocked, WakePending };

// Fiber is the runtime's control block of one schedulable entity: a spawned
// coroutine task or a lightweight thread. `task` is the core's view of it.
//
// The wait protocol (docs/runtime.md): a fiber that is about to block links
// Waiters into its sources and sets `armed` under each source's lock. A
// waker (a primitive, a timer, a canceller) must win claim() - one atomic
// exchange of `armed` - before it may hand anything over or wake the fiber,
// so each blocking episode is ended by exactly one claimer. Sources may keep
// stale Waiters of a fiber someone else woke; the fiber removes them when it
// resumes.
struct Fiber {
    virtual ~Fiber() = default;
    // run() executes one slice: until the fiber yields, blocks or exits.
    virtual Outcome run() = 0;
    // finish() runs on the worker after the core retired the task: publish
    // the result and wake joiners.
    virtual void finish() = 0;

    Task task;
    RuntimeCore* rt = nullptr;
    std::coroutine_handle<> resume_point;  // where a coroutine fiber continues
    Outcome outcome = Outcome::Exit;       // set by whatever suspended it
    std::atomic<bool> armed{false};
    WakeReason wake_reason = WakeReason::None;  // written by the claimer only
    std::atomic<bool> cancel_requested{false};
    std::atomic<RunState> run_state{RunState::Queued};
    std::atomic<int> refs{1};

    void add_ref() noexcept { refs.fetch_add(1, std::memory_order_relaxed); }
    void release() noexcept {
        if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1)
            delete this;
    }
};

// current_fiber() is the fiber running on the calling thread, or null.
Fiber* current_fiber() noexcept;

// arm() opens a blocking episode; call it under the lock of the source the
// waiter was just linked into, so no waker can see the waiter unarmed.
inline void arm(Fiber& f) noexcept {
    f.wake_reason = WakeReason::None;
    f.armed.store(true, std::memory_order_seq_cst);
}

// claim() wins the right to end `f`'s current blocking episode.
inline bool claim(Fiber& f, WakeReason why) noexcept {
    if (!f.armed.exchange(false, std::memory_order_seq_cst))
        return false;
    f.wake_reason = why;
    return true;
}

// wake() schedules a fiber whose episode the caller claimed. Any thread.
void wake(Fiber& f);

// cancel_check_after_arm() closes the race between a canceller and a fiber
// that just armed: it returns true when the fiber itself claimed its episode
// because cancellation was requested (the caller must not suspend and must
// unlink its waiters). seq_cst pairs with request_cancel()'s store and claim.
inline bool cancel_check_after_arm(Fiber& f) noexcept {
    if (!f.cancel_requested.load(std::memory_order_seq_cst))
        return false;
    return claim(f, WakeReason::Cancelled);
}

// request_cancel() marks `f` cancelled and ends its current wait, if any.
inline void request_cancel(Fiber& f) {
    f.cancel_requested.store(true, std::memory_order_seq_cst);
    if (claim(f, WakeReason::Cancelled))
        wake(f);
}

// check_cancelled() throws Cancelled when the current fiber was cancelled.
inline void check_cancelled(const Fiber& f) {
    if (f.cancel_requested.load(std::memory_order_relaxed))
        throw Cancelled();
}

// current_fiber_checked() is current_fiber() or a logic_error naming `what`:
// awaiting a runtime primitive outside a runtime task is a usage bug.
inline Fiber& current_fiber_checked(const char* what) {
    Fiber* f = current_fiber();
    if (f == nullptr)
        throw std::logic_error(std::string(what) + " awaited outside a schedkit runtime task");
    return *f;
}

// suspend_blocked() records that the fiber suspends at `h` to wait.
inline void suspend_blocked(Fiber& f, std::coroutine_handle<> h) noexcept {
    f.resume_point = h;
    f.outcome = Outcome::Block;
}

}  // namespace detail
}  // namespace schedkit
