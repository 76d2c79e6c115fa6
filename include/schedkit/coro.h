// coro.h: coroutine tasks: Job<T>, JoinHandle<T>, yield() and sleep_for().
//
// Naming: the scheduler core already has `schedkit::Task` (its view of any
// schedulable entity, task.h), so the coroutine type is `Job<T>`: a Job is
// the code; spawning it makes a Task the scheduler places, queues and
// balances; the JoinHandle is how you get its result.
#pragma once

#include <chrono>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <variant>

#include "schedkit/detail/fiber.h"

namespace schedkit {

class Runtime;

template <typename T = void>
class Job;

namespace detail {

// JobPromiseBase is the part of every Job's promise that does not depend on
// T: the awaiting coroutine to continue with, and a thrown exception.
struct JobPromiseBase {
    std::coroutine_handle<> continuation;
    std::exception_ptr error;

    // Frames come from the per-thread pool: one per spawned task and per
    // awaited Job, freed as soon as it ends (often on another worker).
    static void* operator new(std::size_t n) { return pool_alloc(n); }
    static void operator delete(void* p, std::size_t n) noexcept { pool_free(p, n); }

    // A Job starts lazily: when awaited or spawned, never when created.
    std::suspend_always initial_suspend() noexcept { return {}; }

    struct FinalAwaiter {
        bool await_ready() noexcept { return false; }
        // Symmetric transfer back to the awaiter; a spawned (root) Job ends
        // its fiber instead.
        template <typename P>
        std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
            if (std::coroutine_handle<> c = h.promise().continuation)
                return c;
            if (Fiber* f = current_fiber())
                f->outcome = Outcome::Exit;
            return std::noop_coroutine();
        }
        void await_resume() noexcept {}
    };
    FinalAwaiter final_suspend() noexcept { return {}; }
    void unhandled_exception() noexcept { error = std::current_exception(); }
    void rethrow_if_error() const {
        if (error)
            std::rethrow_exception(error);
    }
};

template <typename T>
struct JobPromise : JobPromiseBase {
    std::optional<T> value;

    Job<T> get_return_object() noexcept;
    template <typename U>
    requires std::is_convertible_v<U&&, T>
    void return_value(U&& v) { value.emplace(std::forward<U>(v)); }
    T take() {
        rethrow_if_error();
        return std::move(*value);
    }
};

template <>
struct JobPromise<void> : JobPromiseBase {
    Job<void> get_return_object() noexcept;
    void return_void() noexcept {}
    void take() const { rethrow_if_error(); }
};

}  // namespace detail

// Job<T> is a lazily started coroutine producing a T. `co_await job` runs it
// inline, as a subroutine of the awaiting task (no new task, no scheduling);
// Runtime::spawn(job) makes it a task of its own. An exception escaping the
// Job is rethrown to whoever awaits it. Move-only; destroying a Job that
// never ran frees its frame. Not thread-safe: one owner at a time.
template <typename T>
class [[nodiscard]] Job {
  public:
    using promise_type = detail::JobPromise<T>;
    using value_type = T;

    Job(Job&& other) noexcept : h_(std::exchange(other.h_, nullptr)) {}
    Job& operator=(Job&& other) noexcept {
        if (this != &other) {
            if (h_)
                h_.destroy();
            h_ = std::exchange(other.h_, nullptr);
        }
        return *this;
    }
    Job(const Job&) = delete;
    Job& operator=(const Job&) = delete;
    ~Job() {
        if (h_)
            h_.destroy();
    }

    // valid() is false for a moved-from Job.
    bool valid() const noexcept { return static_cast<bool>(h_); }

    // co_await runs the Job to completion inside the awaiting coroutine.
    auto operator co_await() && noexcept {
        struct Awaiter {
            std::coroutine_handle<promise_type> h;
            bool await_ready() noexcept { return false; }
            std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
                h.promise().continuation = awaiting;
                return h;
            }
            T await_resume() { return h.promise().take(); }
        };
        return Awaiter{h_};
    }
    auto operator co_await() & noexcept { return std::move(*this).operator co_await(); }

    // handle() is the coroutine, for the runtime that starts a spawned Job.
    std::coroutine_handle<promise_type> handle() const noexcept { return h_; }

  private:
    friend promise_type;
    explicit Job(std::coroutine_handle<promise_type> h) noexcept : h_(h) {}
    std::coroutine_handle<promise_type> h_;
};

namespace detail {

template <typename T>
Job<T> JobPromise<T>::get_return_object() noexcept {
    return Job<T>(std::coroutine_handle<JobPromise<T>>::from_promise(*this));
}
inline Job<void> JobPromise<void>::get_return_object() noexcept {
    return Job<void>(std::coroutine_handle<JobPromise<void>>::from_promise(*this));
}

// JoinableFiber is a spawned task's fiber as its JoinHandle sees it: the
// join state in Fiber::refs (kDone, kJoined, kThreads, and kLock guarding
// the joiners) and the joiners. finish() (sync.cpp) sets kDone and wakes
// the joiners; finish_and_release() does it with one CAS when there are
// none.
struct JoinableFiber : Fiber, WaitSource {
    WaitList joiners;  // guarded by kLock
    // taken: the result was moved out. Only the JoinHandle's holder takes
    // it, one thread at a time (the handle is move-only), so a plain flag.
    bool taken = false;
    bool started = false;  // owned by the running worker

    void finish() override;
    void finish_and_release() override;
    void unlink(Waiter& w) noexcept override;
    // is_done() says whether it finished (acquire: its result is visible).
    bool is_done() const noexcept { return (refs.load(std::memory_order_acquire) & kDone) != 0; }
    // lock_joiners() takes kLock and returns the word as it was then;
    // unlock_joiners(w) stores `w` (that word, maybe with flags added)
    // without it: nothing else changes the word while kLock is held.
    uint32_t lock_joiners() noexcept {
        uint32_t w = refs.load(std::memory_order_relaxed);
        do
            w = unlocked(w);
        while (!refs.compare_exchange_weak(w, w | kLock, std::memory_order_acquire,
                                           std::memory_order_relaxed));
        return w;
    }
    void unlock_joiners(uint32_t w) noexcept { refs.store(w & ~kLock, std::memory_order_release); }
    // take_check() marks the result taken; a second take is a usage bug.
    void take_check();
    // wait_blocking() blocks the calling OS thread (not a worker) until done.
    void wait_blocking();
    // ended_by_cancel() says whether the task ended with Cancelled.
    virtual bool ended_by_cancel() const = 0;
    virtual bool ended_by_error() const = 0;
};

// is_cancelled_error() says whether `error` is a Cancelled. Every task's
// end asks, so the common case (no error) is inline and the rethrow is not.
[[gnu::noinline]] inline bool rethrows_cancelled(const std::exception_ptr& error) {
    try {
        std::rethrow_exception(error);
    } catch (const Cancelled&) {
        return true;
    } catch (...) {
        return false;
    }
}
inline bool is_cancelled_error(const std::exception_ptr& error) {
    return error && rethrows_cancelled(error);
}

// SpawnedFiber<T> runs one spawned Job<T>. `make` builds the Job the first
// time the fiber runs: a spawned lambda is stored here, so a coroutine
// lambda's captures live exactly as long as its task.
template <typename T, typename Make>
struct SpawnedFiber final : JoinableFiber {
    explicit SpawnedFiber(Make m) : make(std::move(m)) {}

    Make make;
    std::optional<Job<T>> job;

    Outcome run() override {
        if (!started) {
            started = true;
            job.emplace(make());
            if (cancel_requested.load(std::memory_order_relaxed)) {
                // Cancelled before it ever ran: it never starts.
                job->handle().promise().error = std::make_exception_ptr(Cancelled());
                return Outcome::Exit;
            }
            resume_point = job->handle();
        }
        outcome = Outcome::Exit;
        resume_point.resume();
        return outcome;
    }
    T take() {
        take_check();
        return job->handle().promise().take();
    }
    bool ended_by_error() const override {
        return static_cast<bool>(job->handle().promise().error);
    }
    bool ended_by_cancel() const override {
        return is_cancelled_error(job->handle().promise().error);
    }
};

// PlainFiber<R, F> runs a spawned plain function (one returning R, not a
// Job): fn() is called directly, so the task is one allocation (this
// fiber) and no coroutine frame. It has no suspension points: it runs
// once and ends, unless it was cancelled before it ever started.
template <typename R, typename F>
struct PlainFiber final : JoinableFiber {
    explicit PlainFiber(F f) : fn(std::move(f)) {}

    F fn;
    // The result (void: nothing to keep) or the exception fn() threw.
    [[no_unique_address]] std::conditional_t<std::is_void_v<R>, std::monostate, std::optional<R>>
        value;
    std::exception_ptr error;

    Outcome run() override {
        if (cancel_requested.load(std::memory_order_relaxed)) {
            error = std::make_exception_ptr(Cancelled());
            return Outcome::Exit;
        }
        try {
            if constexpr (std::is_void_v<R>)
                fn();
            else
                value.emplace(fn());
        } catch (...) {
            error = std::current_exception();
        }
        return Outcome::Exit;
    }
    R take() {
        take_check();
        if (error)
            std::rethrow_exception(error);
        if constexpr (!std::is_void_v<R>)
            return std::move(*value);
    }
    bool ended_by_error() const override { return static_cast<bool>(error); }
    bool ended_by_cancel() const override { return is_cancelled_error(error); }
};

// JobHolder hands an already-built Job to a SpawnedFiber. An empty Job
// (moved from) would be a task with no code: spawn() refuses it here,
// before any fiber exists.
template <typename T>
struct JobHolder {
    Job<T> job;
    explicit JobHolder(Job<T>&& j) : job(std::move(j)) {
        if (!job.valid())
            throw std::invalid_argument("spawn: the Job is empty (moved from or already spawned)");
    }
    Job<T> operator()() { return std::move(job); }
};

// JoinAwaiter suspends a task until a JoinableFiber finished.
struct JoinAwaiter {
    JoinableFiber& target;
    Waiter w;
    bool waited = false;  // suspended or armed: wake_reason is this wait's

    bool await_ready() const noexcept { return target.is_done(); }
    bool await_suspend(std::coroutine_handle<> h) {
        Fiber& self = current_fiber_checked("JoinHandle");
        w.fiber = &self;
        uint32_t word = target.lock_joiners();
        if ((word & Fiber::kDone) != 0) {
            target.unlock_joiners(word);
            return false;
        }
        target.joiners.push_back(w);
        arm(self, target, w);
        // kJoined tells the finisher to take the lock and claim.
        target.unlock_joiners(word | Fiber::kJoined);
        waited = true;
        suspend_blocked(self, h);
        if (!should_suspend(self, target, w))
            return false;
        self.fast_join = true;
        return true;
    }
    void await_resume() const {
        if (waited)
            end_wait(*w.fiber);
    }
};

}  // namespace detail

// JoinHandle<T> is a spawned task's result: `co_await handle` from another
// task, or get() from a plain thread. The result (or the exception the task
// threw, Cancelled included) is delivered once; a second retrieval is a
// logic_error. Dropping the handle detaches the task, which still runs to
// completion. Move-only; a JoinHandle may be used from any thread, one at a
// time.
template <typename T>
class [[nodiscard]] JoinHandle {
  public:
    // Taker moves the result out of the concrete fiber type spawn() created.
    using Taker = T (*)(detail::JoinableFiber&);

    JoinHandle() = default;
    // Used by Runtime::spawn(): adopts one reference to `f`.
    JoinHandle(detail::JoinableFiber* f, Taker take) noexcept : f_(f), take_(take) {}
    JoinHandle(JoinHandle&& o) noexcept
        : f_(std::exchange(o.f_, nullptr)), take_(std::exchange(o.take_, nullptr)) {}
    JoinHandle& operator=(JoinHandle&& o) noexcept {
        if (this != &o) {
            reset();
            f_ = std::exchange(o.f_, nullptr);
            take_ = std::exchange(o.take_, nullptr);
        }
        return *this;
    }
    JoinHandle(const JoinHandle&) = delete;
    JoinHandle& operator=(const JoinHandle&) = delete;
    ~JoinHandle() { reset(); }

    // valid() is false for a default-constructed, moved-from or detached handle.
    bool valid() const noexcept { return f_ != nullptr; }
    // done() says whether the task has finished. Thread-safe.
    bool done() const noexcept { return f_->is_done(); }
    // id() is the task's id in the scheduler core.
    TaskId id() const noexcept { return f_->id; }

    // cancel() requests cancellation: the task gets Cancelled at its next
    // suspension point, or never starts. Thread-safe.
    void cancel() { detail::request_cancel(*f_); }

    // get() blocks the calling OS thread until the task finished, then
    // returns its result or rethrows its exception. From a runtime task it
    // is a logic_error (it would block a worker): co_await the handle.
    T get() {
        f_->wait_blocking();
        return take_(*f_);
    }

    // detach() lets the task run on without a handle.
    void detach() noexcept { reset(); }

    // co_await handle suspends the awaiting task until the task finished.
    auto operator co_await() & {
        struct Awaiter : detail::JoinAwaiter {
            Taker take;
            T await_resume() {
                detail::JoinAwaiter::await_resume();
                return take(target);
            }
        };
        return Awaiter{{*f_, {}, false}, take_};
    }
    // `co_await spawn(...)`: the awaiter takes the handle over, so the wait
    // holds the task's reference itself and the result is taken once.
    auto operator co_await() && {
        struct OwningAwaiter : detail::JoinAwaiter {
            JoinHandle handle;
            T await_resume() {
                detail::JoinAwaiter::await_resume();
                return handle.take_(target);
            }
        };
        detail::JoinableFiber& f = *f_;
        return OwningAwaiter{{f, {}, false}, std::move(*this)};
    }

  private:
    friend class Runtime;  // block_on()'s guest watches the root's fiber

    void reset() noexcept {
        if (f_ != nullptr)
            std::exchange(f_, nullptr)->release();
    }

    detail::JoinableFiber* f_ = nullptr;
    Taker take_ = nullptr;
};

namespace detail {

// YieldAwaiter gives the worker back; the task is queued again (or goes
// on at once when nothing else waits on its CPU).
struct YieldAwaiter {
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) {
        Fiber& f = current_fiber_checked("yield()");
        f.resume_point = h;
        f.outcome = Outcome::Yield;
    }
    void await_resume() const {
        if (Fiber* f = current_fiber())
            check_cancelled(*f);
    }
};

// Timer waits (timers.cpp): start_sleep() queues `w` on the current
// worker's timer queue and arms; false means do not suspend. A zero
// duration yields instead.
bool start_sleep(Fiber& f, Waiter& w, uint64_t duration_ns);

struct SleepAwaiter {
    uint64_t ns;
    Waiter w;
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h) {
        Fiber& f = current_fiber_checked("sleep_for()");
        w.fiber = &f;
        suspend_blocked(f, h);
        return start_sleep(f, w, ns);
    }
    // A sleep ends by its timer or by cancellation; a zero sleep is a yield.
    void await_resume() const {
        end_wait(*w.fiber);
        check_cancelled(*w.fiber);
    }
};

}  // namespace detail

// yield() lets other tasks on this worker run: `co_await schedkit::yield();`.
// Throws Cancelled in a cancelled task.
inline detail::YieldAwaiter yield() noexcept {
    return {};
}

// sleep_for() blocks the task (never its worker) for at least `d`, through
// the worker's timer queue: `co_await schedkit::sleep_for(1ms);`.
template <typename Rep, typename Period>
detail::SleepAwaiter sleep_for(std::chrono::duration<Rep, Period> d) noexcept {
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
    return detail::SleepAwaiter{ns > 0 ? static_cast<uint64_t>(ns) : 0, {}};
}

}  // namespace schedkit
