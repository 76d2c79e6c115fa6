// sync.h: blocking primitives for runtime tasks: Event, Mutex, Semaphore,
// WaitGroup and Channel<T>.
//
// A task that waits on one of these suspends; its worker runs other tasks.
// Every wait is a cancellation point: a cancelled task's wait ends with
// Cancelled. Destroying a primitive that still has waiters cancels them (a
// usage bug, but one stop() can provoke while unwinding tasks that own
// primitives others wait on). Lock order: a primitive's lock, then a run
// queue's lock (waking); never the reverse (docs/runtime.md).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "schedkit/detail/fiber.h"

namespace schedkit {

namespace detail {

// claim_next() unlinks and returns the first waiter of `list` whose fiber the
// caller could claim, skipping waiters a canceller claimed (that canceller
// unlinks them). The caller holds the list's lock and wakes the returned
// waiter's fiber after unlocking.
Waiter* claim_next(WaitList& list, WakeReason why) noexcept;
// claim_all() moves every claimable waiter of `list` to `out`.
void claim_all(WaitList& list, WakeReason why, WaitList& out) noexcept;
// wake_all() wakes the fibers of a list filled by claim_all(); call it
// without the source's lock.
void wake_all(WaitList& claimed);
// cancel_all_and_wait() is for a source being destroyed: it cancels every
// waiter still in `list` and waits until cancellers that claimed one have
// unlinked it, so nobody touches the source after it is gone.
void cancel_all_and_wait(SpinLock& lock, WaitList& list);

// WaitQueue is a primitive's waiter list and the lock that guards it and
// the primitive's own state.
class WaitQueue : public WaitSource {
  public:
    WaitQueue() = default;
    WaitQueue(const WaitQueue&) = delete;
    WaitQueue& operator=(const WaitQueue&) = delete;
    ~WaitQueue() override { cancel_all_and_wait(lock, list); }

    void unlink(Waiter& w) noexcept override {
        std::lock_guard g(lock);
        if (w.linked)
            list.remove(w);
    }
    // enqueue() links and arms the current fiber's waiter; caller holds lock.
    void enqueue(Fiber& f, Waiter& w) noexcept {
        w.fiber = &f;
        list.push_back(w);
        arm(f, *this, w);
    }

    mutable SpinLock lock;
    WaitList list;  // guarded by lock
};

// suspend_in() finishes an awaiter's await_suspend() after enqueue().
inline bool suspend_in(WaitSource& src, Fiber& f, Waiter& w, std::coroutine_handle<> h) noexcept {
    suspend_blocked(f, h);
    return should_suspend(f, src, w);
}

// NeverReady is QueueAwaiter's default lock-free check: always take the lock.
struct NeverReady {
    bool operator()() const noexcept { return false; }
};

// wait_spin() is the spin before a wait (Runtime::Config::wait_spin_ns): the task polls
// `peek(arg)`, a lock-free hint that its wait may already be over, for at most that long, and only
// while its worker has nothing else to do (no task queued or posted for it, no timer due) and
// nobody cancelled it. True when the hint came true (the caller then tries under the lock as
// usual). A worker with nothing to run would spin as long in its idle loop; spinning in the task
// instead spares the block, the wake and the hand-over when the other side answers within that time
// (adaptive spinning, as Linux's mutexes spin while the owner runs).
// `started` carries the spin's start across calls (0 before the first
// call), so that a caller whose hint came true but whose take lost the race
// spins again within the same budget rather than a fresh one.
bool wait_spin(Fiber& f, bool (*peek)(const void*), const void* arg, uint64_t& started) noexcept;
// wait_spin_allowed() says whether the calling task may spin at all (a
// runtime worker, a spin configured and not turned off by oversubscription):
// what a primitive checks before it prepares a spin.
bool wait_spin_allowed() noexcept;

// QueueAwaiter is the awaiter of a wait in a WaitQueue. `take()`, called
// under the queue's lock, ends the wait at once when it returns true (and
// may take what the wait is for: a mutex, a permit); otherwise the task
// enqueues and suspends until a waker claims it. `ready()` is a lock-free
// early check, only for side-effect-free conditions. A wait ended by
// cancellation throws Cancelled from await_resume(). `what` names the
// operation in the error for awaiting outside a runtime task.
// `peek()`, when given, is a lock-free hint that take() may succeed: the
// task spins on it before it queues (wait_spin()). Unlike `ready()`, true
// proves nothing: take() still decides, under the lock.
template <typename Take, typename Ready = NeverReady, typename Peek = NeverReady>
class QueueAwaiter {
  public:
    QueueAwaiter(WaitQueue& q, const char* what, Take take, Ready ready = {}, Peek peek = {})
        : q_(q), what_(what), take_(take), ready_(ready), peek_(peek) {}

    bool await_ready() const noexcept { return ready_(); }
    bool await_suspend(std::coroutine_handle<> h) {
        Fiber& f = current_fiber_checked(what_);
        uint64_t spun_since = 0;
        for (;;) {
            bool hint = false;
            if constexpr (!std::is_same_v<Peek, NeverReady>)
                hint = wait_spin(
                    f, [](const void* p) { return (*static_cast<const Peek*>(p))(); }, &peek_,
                    spun_since);
            std::lock_guard g(q_.lock);
            if (take_())
                return false;
            // The hint came true but another task took it first (a holder
            // that unlocks and locks again): spin on within the budget.
            if (!hint) {
                q_.enqueue(f, w_);
                break;
            }
        }
        waited_ = true;
        return suspend_in(q_, f, w_, h);
    }
    void await_resume() const {
        if (waited_)
            end_wait(*w_.fiber);
    }

  private:
    WaitQueue& q_;
    const char* what_;
    Take take_;
    Ready ready_;
    Peek peek_;
    Waiter w_;
    bool waited_ = false;  // enqueued: the wake reason is this wait's
};

}  // namespace detail

// Event is a manual-reset event: wait() suspends until set(); once set,
// waits pass until reset(). Thread-safe; wait_blocking() serves plain threads.
class Event {
  public:
    explicit Event(bool initially_set = false) : set_(initially_set ? 1 : 0) {}

    // set() sets the event and wakes every waiter. Thread-safe.
    void set();
    // reset() clears the event. Thread-safe.
    void reset() noexcept { set_.store(0, std::memory_order_release); }
    // is_set() says whether the event is set. Thread-safe.
    bool is_set() const noexcept { return set_.load(std::memory_order_acquire) != 0; }
    // wait_blocking() blocks the calling OS thread (not a worker) until set.
    void wait_blocking() const;

    // wait() is awaited by a task: `co_await ev.wait();`.
    auto wait() {
        auto ready = [this] { return is_set(); };
        return detail::QueueAwaiter(q_, "Event::wait()", ready, ready, ready);
    }

  private:
    detail::WaitQueue q_;
    std::atomic<uint32_t> set_;
    mutable std::atomic<uint32_t> thread_waiters_{0};
};

// Mutex is a fair (FIFO hand-off) mutual exclusion lock for tasks:
// `co_await m.lock(); ... m.unlock();` or `auto g = co_await m.scoped();`.
// Thread-safe to unlock from any thread that logically owns it. A task
// that finds it held spins first (Config::wait_spin_ns) while the holder
// may let go soon, as Linux's mutexes spin while their owner runs; the
// mutex is still taken under the lock, and an unlock with tasks queued
// hands it to the first of them (a spinner does not overtake the queue).
class Mutex {
  public:
    // try_lock() takes the mutex if it is free.
    bool try_lock() noexcept {
        std::lock_guard g(q_.lock);
        return take_locked();
    }
    // unlock() hands the mutex to the first waiter, or frees it.
    void unlock();
    // locked() is a snapshot, for tests and assertions.
    bool locked() const noexcept {
        std::lock_guard g(q_.lock);
        return locked_.load(std::memory_order_relaxed);
    }

    // lock() is awaited: the task owns the mutex when the await returns.
    auto lock() {
        auto take = [this] { return take_locked(); };
        auto peek = [this] { return !locked_.load(std::memory_order_relaxed); };
        return detail::QueueAwaiter(q_, "Mutex::lock()", take, detail::NeverReady{}, peek);
    }

    // Guard unlocks on destruction.
    class Guard {
      public:
        explicit Guard(Mutex& m) : m_(&m) {}
        Guard(Guard&& o) noexcept : m_(std::exchange(o.m_, nullptr)) {}
        Guard(const Guard&) = delete;
        Guard& operator=(const Guard&) = delete;
        Guard& operator=(Guard&&) = delete;
        ~Guard() {
            if (m_ != nullptr)
                m_->unlock();
        }

      private:
        Mutex* m_;
    };
    // scoped() is lock() returning a Guard.
    auto scoped() {
        struct Awaiter {
            Mutex& m;
            decltype(std::declval<Mutex&>().lock()) inner;
            bool await_ready() const noexcept { return inner.await_ready(); }
            bool await_suspend(std::coroutine_handle<> h) { return inner.await_suspend(h); }
            Guard await_resume() {
                inner.await_resume();
                return Guard(m);
            }
        };
        return Awaiter{*this, lock()};
    }

  private:
    // take_locked() takes the mutex if it is free; caller holds q_.lock.
    bool take_locked() noexcept {
        if (locked_.load(std::memory_order_relaxed))
            return false;
        locked_.store(true, std::memory_order_relaxed);
        return true;
    }

    detail::WaitQueue q_;
    // Written under q_.lock; read without it only by lock()'s spin.
    std::atomic<bool> locked_{false};
};

// Semaphore is a counting semaphore with FIFO hand-off of permits. One word
// holds the free permits and two bits: while no task queues, acquire and
// release are one compare-and-swap on it and never take the lock. A task
// about to wait that may spin first (Config::wait_spin_ns) registers as the
// word's spinner when nothing is free and nobody else waits; a release
// then hands it the permit by clearing that bit, and the spinner, polling
// the word, owns the permit without a write of its own: a hand-off between
// two CPUs moves the line twice, as a bare store and load do. Once a task
// queues, every release goes through the lock and hands permits out in
// order: the spinner (it came first), then the queued tasks.
//
// It takes a cache line of its own: two semaphores side by side (a request
// and a reply) would otherwise share one, and each side's writes would move
// the line the other side polls.
class alignas(64) Semaphore {
  public:
    // The count is at most kMaxPermits (2^62 - 1); more throws
    // std::overflow_error, here and in release().
    static constexpr uint64_t kMaxPermits = UINT64_MAX >> 2;

    explicit Semaphore(uint64_t permits = 0) : word_(checked(0, permits) << kShift) {}

    // try_acquire() takes a permit if one is free (and hence nobody waits).
    bool try_acquire() noexcept { return try_take(); }
    // release() returns `n` permits, handing them to waiting tasks first.
    void release(uint64_t n = 1);
    // available() is a snapshot of free permits.
    uint64_t available() const noexcept { return word_.load(std::memory_order_acquire) >> kShift; }

    // acquire() is awaited: the task holds a permit when it returns.
    auto acquire() { return Acquire{*this}; }

  private:
    static constexpr uint64_t kQueued = 1;   // tasks may queue: releases take the lock
    static constexpr uint64_t kSpinner = 2;  // a task spins for the next permit
    static constexpr uint64_t kShift = 2;    // free permits above the bits
    static constexpr uint64_t kOne = uint64_t{1} << kShift;

    class Acquire {
      public:
        explicit Acquire(Semaphore& s) : s_(s) {}
        bool await_ready() noexcept { return s_.try_take(); }
        bool await_suspend(std::coroutine_handle<> h) {
            detail::Fiber& f = detail::current_fiber_checked("Semaphore::acquire()");
            if (detail::wait_spin_allowed() && s_.spin_for_permit(f))
                return false;
            {
                std::lock_guard g(s_.q_.lock);
                if (s_.take_or_mark_queued())
                    return false;
                s_.q_.enqueue(f, w_);
            }
            waited_ = true;
            return detail::suspend_in(s_.q_, f, w_, h);
        }
        void await_resume() const {
            if (waited_)
                detail::end_wait(*w_.fiber);
        }

      private:
        Semaphore& s_;
        detail::Waiter w_;
        bool waited_ = false;  // queued: the wake reason is this wait's
    };

    static uint64_t checked(uint64_t have, uint64_t n) {
        if (n > kMaxPermits - have)
            throw std::overflow_error("Semaphore: more than 2^62 - 1 permits");
        return have + n;
    }
    // try_take() takes a free permit. A permit is free only while nobody
    // waits for one, so taking it keeps FIFO hand-off.
    bool try_take() noexcept {
        uint64_t w = word_.load(std::memory_order_relaxed);
        while (w >= kOne)
            if (word_.compare_exchange_weak(w, w - kOne, std::memory_order_acquire,
                                            std::memory_order_relaxed))
                return true;
        return false;
    }
    // spin_for_permit() is the spin before a wait (detail::wait_spin());
    // true when the task got a permit. Out of line (sync.cpp).
    bool spin_for_permit(detail::Fiber& f) noexcept;
    // take_or_mark_queued() takes a free permit or, if none is, sets the
    // queued bit so that the next release comes through the lock; the
    // caller holds q_.lock and queues when it returns false.
    bool take_or_mark_queued() noexcept {
        uint64_t w = word_.load(std::memory_order_relaxed);
        for (;;) {
            if (w >= kOne) {
                if (word_.compare_exchange_weak(w, w - kOne, std::memory_order_acquire,
                                                std::memory_order_relaxed))
                    return true;
            } else if ((w & kQueued) != 0 ||
                       word_.compare_exchange_weak(w, w | kQueued, std::memory_order_relaxed,
                                                   std::memory_order_relaxed)) {
                return false;
            }
        }
    }

    detail::WaitQueue q_;
    // free permits << kShift | kSpinner | kQueued. Either bit is set only
    // while no permit is free; kQueued is set and cleared only under
    // q_.lock; kSpinner is set by a spinning task when the word is 0 and
    // cleared by the release that hands it a permit, or by the spinner
    // when it gives up.
    std::atomic<uint64_t> word_;
};

// WaitGroup counts outstanding work: add() before starting it, done() when
// it finishes, and wait() suspends until the count is zero. Thread-safe;
// wait_blocking() serves plain threads.
class WaitGroup {
  public:
    explicit WaitGroup(uint64_t count = 0) : count_(count) {}

    // add() adds `n` to the count.
    void add(uint64_t n = 1) noexcept { count_.fetch_add(n, std::memory_order_relaxed); }
    // done() subtracts one; the last one wakes the waiters. Going below zero
    // is a logic_error.
    void done();
    // count() is a snapshot.
    uint64_t count() const noexcept { return count_.load(std::memory_order_acquire); }
    // wait_blocking() blocks the calling OS thread (not a worker) until zero.
    void wait_blocking() const;

    // wait() is awaited by a task: `co_await wg.wait();`.
    auto wait() {
        auto ready = [this] { return count() == 0; };
        return detail::QueueAwaiter(q_, "WaitGroup::wait()", ready, ready);
    }

  private:
    detail::WaitQueue q_;
    std::atomic<uint64_t> count_;
    mutable std::atomic<uint32_t> thread_waiters_{0};
};

// Channel<T> is a bounded multi-producer multi-consumer FIFO between tasks.
// send() suspends while the buffer is full, recv() while it is empty.
// close() ends the channel: later and blocked sends fail (return false; the
// value stays in the sender's awaiter and is destroyed with it), buffered
// values are still received, and receives then return nullopt.
// Thread-safe (try_send/try_recv/close from any thread).
template <typename T>
class Channel {
  public:
    // capacity must be at least 1.
    explicit Channel(size_t capacity) : capacity_(capacity) {
        if (capacity == 0)
            throw std::invalid_argument("Channel capacity must be at least 1");
    }
    Channel(const Channel&) = delete;
    Channel& operator=(const Channel&) = delete;
    ~Channel() { detail::cancel_all_and_wait(recvq_.lock, sendq_); }

    // try_send() buffers `v` (or hands it to a waiting receiver) if there is
    // room; false when full or closed, leaving `v` untouched.
    bool try_send(T& v) {
        detail::Waiter* woken = nullptr;
        {
            std::lock_guard g(recvq_.lock);
            if (closed_ || !put_locked(v, woken))
                return false;
        }
        if (woken != nullptr)
            detail::wake(*woken->fiber);
        return true;
    }
    bool try_send(T&& v) { return try_send(v); }

    // try_recv() takes a buffered value, if any.
    std::optional<T> try_recv() {
        detail::Waiter* woken = nullptr;
        std::optional<T> out;
        {
            std::lock_guard g(recvq_.lock);
            out = take_locked(woken);
        }
        if (woken != nullptr)
            detail::wake(*woken->fiber);
        return out;
    }

    // close() closes the channel and wakes every blocked sender (false) and
    // receiver (nullopt: the buffer is empty when receivers wait). Idempotent.
    void close() {
        detail::WaitList claimed;
        {
            std::lock_guard g(recvq_.lock);
            closed_ = true;
            detail::claim_all(recvq_.list, detail::WakeReason::Signaled, claimed);
            detail::claim_all(sendq_, detail::WakeReason::Signaled, claimed);
        }
        detail::wake_all(claimed);
    }
    bool closed() const noexcept {
        std::lock_guard g(recvq_.lock);
        return closed_;
    }
    size_t size() const noexcept {
        std::lock_guard g(recvq_.lock);
        return buf_.size();
    }
    size_t capacity() const noexcept { return capacity_; }

    // send() is awaited: `bool ok = co_await ch.send(v);` false once closed.
    auto send(T v) {
        struct Awaiter {
            Channel& ch;
            T value;
            detail::Waiter w;
            bool waited = false;
            bool result = false;
            bool await_ready() const noexcept { return false; }
            bool await_suspend(std::coroutine_handle<> h) {
                detail::Fiber& f = detail::current_fiber_checked("Channel::send()");
                detail::Waiter* woken = nullptr;
                {
                    std::lock_guard g(ch.recvq_.lock);
                    if (ch.closed_)
                        return false;
                    result = ch.put_locked(value, woken);
                    if (!result) {
                        w.fiber = &f;
                        w.slot = &value;
                        ch.sendq_.push_back(w);
                        detail::arm(f, ch.send_src_, w);
                    }
                }
                if (woken != nullptr)
                    detail::wake(*woken->fiber);
                if (result)
                    return false;
                waited = true;
                return detail::suspend_in(ch.send_src_, f, w, h);
            }
            bool await_resume() const {
                if (!waited)
                    return result;
                detail::end_wait(*w.fiber);
                return w.handed;
            }
        };
        return Awaiter{*this, std::move(v), {}};
    }

    // recv() is awaited: `std::optional<T> v = co_await ch.recv();` nullopt
    // once the channel is closed and drained.
    auto recv() {
        struct Awaiter {
            Channel& ch;
            std::optional<T> value;
            detail::Waiter w;
            bool waited = false;
            bool await_ready() const noexcept { return false; }
            bool await_suspend(std::coroutine_handle<> h) {
                detail::Fiber& f = detail::current_fiber_checked("Channel::recv()");
                detail::Waiter* woken = nullptr;
                {
                    std::lock_guard g(ch.recvq_.lock);
                    value = ch.take_locked(woken);
                    if (!value && !ch.closed_) {
                        w.slot = &value;
                        ch.recvq_.enqueue(f, w);
                        waited = true;
                    }
                }
                if (woken != nullptr)
                    detail::wake(*woken->fiber);
                return waited && detail::suspend_in(ch.recvq_, f, w, h);
            }
            std::optional<T> await_resume() {
                if (waited)
                    detail::end_wait(*w.fiber);
                return std::move(value);
            }
        };
        return Awaiter{*this, std::nullopt, {}};
    }

  private:
    // SendSource lets a canceller unlink a blocked sender: senders wait in
    // sendq_, guarded by the same lock as everything else.
    struct SendSource final : detail::WaitSource {
        Channel* ch;
        explicit SendSource(Channel* c) : ch(c) {}
        void unlink(detail::Waiter& w) noexcept override {
            std::lock_guard g(ch->recvq_.lock);
            if (w.linked)
                ch->sendq_.remove(w);
        }
    };

    // put_locked(): hand `v` to a waiting receiver or buffer it; false when
    // the buffer is full. Receivers wait only while the buffer is empty.
    bool put_locked(T& v, detail::Waiter*& woken) {
        if (buf_.empty()) {
            if (detail::Waiter* r = detail::claim_next(recvq_.list, detail::WakeReason::Signaled)) {
                *static_cast<std::optional<T>*>(r->slot) = std::move(v);
                woken = r;
                return true;
            }
        }
        if (buf_.size() >= capacity_)
            return false;
        buf_.push_back(std::move(v));
        return true;
    }
    // take_locked(): the front value, refilling the buffer from the first
    // blocked sender (senders wait only while the buffer is full).
    std::optional<T> take_locked(detail::Waiter*& woken) {
        if (buf_.empty())
            return std::nullopt;
        std::optional<T> out(std::move(buf_.front()));
        buf_.pop_front();
        if (detail::Waiter* s = detail::claim_next(sendq_, detail::WakeReason::Signaled)) {
            buf_.push_back(std::move(*static_cast<T*>(s->slot)));
            s->handed = true;
            woken = s;
        }
        return out;
    }

    detail::WaitQueue recvq_;  // its lock guards every field below
    detail::WaitList sendq_;
    SendSource send_src_{this};
    size_t capacity_;
    std::deque<T> buf_;
    bool closed_ = false;
};

}  // namespace schedkit
