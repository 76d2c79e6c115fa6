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
#include <new>
#include <stdexcept>
#include <string>
#include <thread>

#include "schedkit/detail/pool.h"
#include "schedkit/runqueue.h"
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
// bounded spin (pausing, as RqLock) keeps oversubscribed workers from
// spinning against a preempted holder.
class SpinLock {
  public:
    void lock() noexcept {
        for (int spins = 0; locked_.exchange(true, std::memory_order_acquire);) {
            while (locked_.load(std::memory_order_relaxed)) {
                spin_pause();
                if (++spins > 256) {
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

// WaitSource is anything a Waiter can be linked into. unlink() removes `w`
// under the source's lock if it is still linked.
struct WaitSource {
    virtual ~WaitSource() = default;
    virtual void unlink(Waiter& w) noexcept = 0;
};

// RunState tracks a fiber between its worker and a waker, so that a wake
// racing with the worker's block() is neither lost nor doubled.
enum class RunState : uint8_t { Queued, Running, Blocked, WakePending };

// Fiber is the runtime's control block of one schedulable entity: a spawned
// coroutine task or a lightweight thread. task() is the core's view of it,
// built only when the fiber joins the core (make_task()): a fast-path task
// (docs/runtime.md, "The fast path") that runs and ends, or only waits on
// joins, never has one. The Task lives out of line, allocated on promotion,
// so that a fiber is small (a plain function's task is 128 bytes, not
// 456): a batch of spawns touches a quarter of the memory.
//
// The wait protocol (docs/runtime.md, "Waiting and waking"):
// - A fiber about to block links one Waiter into one source, records the
//   source in wait_src/wait_w and arm()s, all under the source's lock.
// - Whoever ends the episode must first win claim() (one atomic exchange of
//   `armed`), and then unlinks the waiter it claimed, under the source's lock,
//   before it wakes the fiber. Primitives claim under their lock; a
//   canceller claims without it and then unlinks through wait_src.
// - A waiter claimed by someone else stays linked until that claimer
//   unlinks it: a primitive skips such waiters, and a primitive being
//   destroyed waits for them. So a resumed fiber never touches its source
//   again, and a source never goes away under a canceller.
struct Fiber : Pooled {
    Fiber() noexcept {}
    virtual ~Fiber() {
        if (has_task) {
            task_->~Task();
            pool_free(task_, sizeof(Task));
        }
    }
    Fiber(const Fiber&) = delete;
    Fiber& operator=(const Fiber&) = delete;
    // run() executes one slice: until the fiber yields, blocks or exits.
    virtual Outcome run() = 0;
    // finish() runs on the worker after the core retired the task: publish
    // the result and wake joiners.
    virtual void finish() = 0;
    // poke() is a timer the fiber set with generation `gen` firing
    // (lightweight threads wake for their pollers this way).
    virtual void poke(uint64_t gen) { (void)gen; }

    // What the fast path touches per task comes first (with the vtable
    // pointer, on the block's first cache line).
    //
    // refs: the reference count (in units of kRef) and, for a spawned task
    // (JoinableFiber, coro.h), its join state in the low bits: kLock guards
    // its joiner list, kDone says it finished, kJoined that a task waits (or
    // waited) on it, kThreads that a plain thread does. One word, so that a
    // task nobody waits on publishes its end and drops the runtime's
    // reference with one locked instruction. Every change is a CAS made
    // while kLock is clear, except the lock holder's unlocking store.
    static constexpr uint32_t kLock = 1, kDone = 2, kJoined = 4, kThreads = 8, kRef = 1U << 8;
    std::atomic<uint32_t> refs{kRef};
    std::atomic<RunState> run_state{RunState::Queued};
    // fast_join: the fiber is suspending in a join wait (set by
    // JoinAwaiter). A fast-path task blocked that way stays off the core
    // (docs/runtime.md, "The fast path"). Owned by the running worker.
    bool fast_join = false;
    // has_task: task() is built (make_task()). Written once, by submit_core()
    // before anyone else sees the fiber or by the worker promoting it while it
    // runs; a waker reads it after its RunState CAS, which orders the two.
    bool has_task = false;
    Outcome outcome = Outcome::Exit;       // set by whatever suspended it
    std::coroutine_handle<> resume_point;  // where a coroutine fiber continues
    RuntimeCore* rt = nullptr;
    TaskId id = 0;         // the task's id, with or without a Task
    int spawner_cpu = -1;  // Task::spawner_cpu, kept for make_task()
    std::atomic<bool> armed{false};
    WakeReason wake_reason = WakeReason::None;  // written by the claimer only
    std::atomic<bool> cancel_requested{false};
    WaitSource* wait_src = nullptr;  // written before arm(), read after claim()
    Waiter* wait_w = nullptr;
    // A remote wake in transit to its CPU's worker (Worker::post_wake):
    // the next fiber in that worker's wake list and the waker's CPU.
    // Written by the waker before the list's release push, read by the
    // worker after its acquire exchange.
    Fiber* wake_next = nullptr;
    int wake_from_cpu = -1;

    // task() is the core's Task; only once has_task (make_task()).
    Task& task() noexcept { return *task_; }
    const Task& task() const noexcept { return *task_; }
    // make_task() builds the Task (id, spawner CPU, executor_data filled
    // in) for the core to see. Once, by whoever owns the fiber then.
    // Throws std::bad_alloc when memory is exhausted (nothing changed then).
    Task& make_task() {
        Task* t = new (pool_alloc(sizeof(Task))) Task();
        task_ = t;
        t->id = id;
        t->spawner_cpu = spawner_cpu;
        t->executor_data = this;
        has_task = true;
        return *t;
    }

    void add_ref() noexcept {
        uint32_t w = refs.load(std::memory_order_relaxed);
        do
            w = unlocked(w);
        while (!refs.compare_exchange_weak(w, w + kRef, std::memory_order_relaxed));
    }
    void release() noexcept {
        // Holding the last reference, nobody else can take one (a new
        // reference is always copied from a held one), nor hold kLock (its
        // holders hold a reference): no locked instruction. The acquire
        // pairs with the other holders' release.
        uint32_t w = refs.load(std::memory_order_acquire);
        if (w / kRef == 1) {
            delete this;
            return;
        }
        do
            w = unlocked(w);
        while (!refs.compare_exchange_weak(w, w - kRef, std::memory_order_acq_rel,
                                           std::memory_order_relaxed));
        if (w / kRef == 1)
            delete this;
    }
    // sole_owner() says whether the caller's reference is the only one.
    bool sole_owner() const noexcept { return refs.load(std::memory_order_acquire) / kRef == 1; }
    // finish_and_release() is finish() then release(); a spawned task
    // nobody waits on does both with one locked instruction.
    virtual void finish_and_release() {
        finish();
        release();
    }
    // unlocked() is `w`, or the word once kLock is clear (spinning while a
    // joiner or finisher holds it for a few instructions).
    uint32_t unlocked(uint32_t w) const noexcept {
        for (int spins = 0; (w & kLock) != 0; w = refs.load(std::memory_order_relaxed)) {
            spin_pause();
            if (++spins > 256) {
                std::this_thread::yield();
                spins = 0;
            }
        }
        return w;
    }

  private:
    Task* task_ = nullptr;  // allocated by make_task()
};

// tls_fiber is the fiber running on the calling thread (set by its worker
// around each slice), or null; current_fiber() reads it inline (constinit:
// no initialisation guard on the per-task path).
extern thread_local constinit Fiber* tls_fiber;
inline Fiber* current_fiber() noexcept {
    return tls_fiber;
}

// arm() opens a blocking episode: call it under the lock of `src`, right
// after linking `w` there, so no waker can see the waiter unarmed.
inline void arm(Fiber& f, WaitSource& src, Waiter& w) noexcept {
    f.wake_reason = WakeReason::None;
    f.wait_src = &src;
    f.wait_w = &w;
    f.armed.store(true, std::memory_order_seq_cst);
}

// claim() wins the right to end `f`'s current blocking episode.
inline bool claim(Fiber& f, WakeReason why) noexcept {
    if (!f.armed.exchange(false, std::memory_order_seq_cst))
        return false;
    f.wake_reason = why;
    return true;
}

// wake() schedules a fiber whose episode the caller claimed (and unlinked).
// Any thread.
void wake(Fiber& f);

// should_suspend() runs after arm(), outside the source's lock: it closes
// the race with a canceller that set the flag before the fiber armed. When
// the fiber wins its own episode back it unlinks and must not suspend.
// seq_cst pairs with request_cancel(): one of the two sees the other.
inline bool should_suspend(Fiber& f, WaitSource& src, Waiter& w) noexcept {
    if (!f.cancel_requested.load(std::memory_order_seq_cst))
        return true;
    if (!claim(f, WakeReason::Cancelled))
        return true;  // someone else claimed: their wake is coming
    src.unlink(w);
    return false;
}

// request_cancel() marks `f` cancelled and ends its current wait, if any.
// The caller keeps `f` alive (holds a reference).
inline void request_cancel(Fiber& f) {
    f.cancel_requested.store(true, std::memory_order_seq_cst);
    if (claim(f, WakeReason::Cancelled)) {
        f.wait_src->unlink(*f.wait_w);
        wake(f);
    }
}

// end_wait() is the awaiter's await_resume() half: throw Cancelled when the
// wait was ended by cancellation.
inline void end_wait(const Fiber& f) {
    if (f.wake_reason == WakeReason::Cancelled)
        throw Cancelled();
}

// check_cancelled() throws Cancelled when `f` was cancelled.
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
