// runtime.h: the real runtime: one worker thread per CPU running coroutine
// tasks and lightweight threads under the scheduler core and a policy.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "schedkit/coro.h"
#include "schedkit/cpuset.h"
#include "schedkit/error.h"
#include "schedkit/plugin_loader.h"
#include "schedkit/report.h"
#include "schedkit/scheduler.h"
#include "schedkit/topology.h"

namespace schedkit {

class LightThread;
namespace detail {
struct Worker;
struct SpawnHere;
}  // namespace detail

// SpawnOptions place a spawned task: a name for traces, an affinity within
// the runtime's CPUs (empty = any), and a nice value for its weight (or
// the weight itself: its share of a CPU under `fair`, docs/policies.md).
struct SpawnOptions {
    std::string name;
    CpuSet affinity;
    int nice = 0;
    int group = -1;       // workload group, for reports
    uint32_t weight = 0;  // 0: nice_to_weight(nice)
};

// WorkerStats is one worker's share of a stats() snapshot.
struct WorkerStats {
    int cpu = 0;
    int host_cpu = -1;  // the host CPU it is bound to, or -1 when unbound
    uint64_t busy_ns = 0;
    uint64_t idle_ns = 0;
    uint64_t slices = 0;  // task slices run (a task resumed until it suspended)
    uint64_t context_switches = 0;
    uint64_t migrations_in = 0;
    uint64_t migrations_out = 0;
    uint64_t parks = 0;  // times it went to sleep on its futex
    // The fast path (Policy::fast_path): tasks that ran and ended on it
    // (the core never saw them), tasks taken from another worker's deque,
    // and tasks that blocked (other than on a join) or yielded and so
    // joined the core (counted there from then on).
    uint64_t fast_tasks = 0;
    uint64_t fast_steals = 0;
    uint64_t fast_promoted = 0;
    // Core tasks another worker woke and placed here, handed over through
    // this worker's wake list and queued by this worker itself.
    uint64_t remote_wakes = 0;
    int queued = 0;
    bool parked = false;
    bool sleeping = false;  // put to sleep by the policy (dynamic)
    // Lightweight threads whose last CPU is this worker, with their busy %.
    std::vector<std::pair<std::string, double>> threads;
};

// RuntimeStats is a snapshot: the run summary (the simulator's shape, so
// `summary_json(stats.summary)` prints what `schedkit sim --json` prints)
// plus per-worker detail.
struct RuntimeStats {
    RunSummary summary;
    std::vector<WorkerStats> workers;
    // json() is summary_json() with a "workers" array added.
    std::string json() const;
};

// StopReport is what stop() did with the work in flight. Every task spawned
// is accounted for: completed + cancelled + failed == spawned tasks.
struct StopReport {
    uint64_t spawned = 0;    // coroutine tasks ever spawned
    uint64_t completed = 0;  // ended normally
    uint64_t cancelled = 0;  // ended with Cancelled (by stop() or cancel())
    uint64_t failed = 0;     // ended with another exception
    uint64_t threads_closed = 0;
    uint64_t messages_delivered = 0;  // run by lightweight threads over the run
    uint64_t messages_cancelled = 0;  // handed back by closes with cancel
    bool drained = true;              // every task ended before the drain deadline
};

// Runtime runs coroutine tasks (Job<T>) and lightweight threads on one
// worker thread per CPU. Placement, queueing, balancing and migration go
// through the scheduler core and the active policy - the same code the
// simulator drives. See docs/runtime.md.
class Runtime {
  public:
    // Config: what to run on and how. Defaults: every host CPU, `steal` (the
    // fork-join policy, with the fast path), recording off.
    struct Config {
        // cpus are the host CPUs the workers are bound to (Linux list
        // syntax); empty means every host CPU.
        CpuSet cpus;
        // workers is the number of workers; 0 means one per CPU in `cpus`.
        // More workers than CPUs is allowed (they are then not bound).
        int workers = 0;
        // topology is the machine the scheduler sees; it must have exactly
        // `workers` CPUs. Default: the host's when the workers are all host
        // CPUs one-to-one, else a flat machine of `workers` CPUs.
        std::optional<Topology> topology;
        // policy is a registry spec, e.g. "fair:nr_migrate=16".
        std::string policy = "steal";
        // policy_factory, when set, builds the policy instead (a user's own
        // Policy subclass); `policy` is then ignored.
        std::function<std::unique_ptr<Policy>()> policy_factory;
        // quantum_ns overrides the policy's time slice when non-zero.
        uint64_t quantum_ns = 0;
        // idle_spin_ns is how long an idle worker polls before parking.
        uint64_t idle_spin_ns = 50'000;
        // wait_spin_ns: a task about to wait on a Semaphore, an Event or a
        // held Mutex first polls it this long, while its worker has nothing
        // else to run and no other CPU has tasks queued (docs/runtime.md,
        // "Spinning before a wait"). 0: off; config() shows 0 when the
        // workers outnumber the CPUs they may run on (affinity mask, cgroup).
        uint64_t wait_spin_ns = 20'000;
        // idle_balance_ns: a worker with tasks waiting in its queue wakes
        // one parked worker at most this often so that it can pull work
        // (policies that balance on newidle), as Linux's nohz kick does.
        uint64_t idle_balance_ns = 1'000'000;
        // bind pins each worker to its host CPU with hwloc. Off by default
        // (as oneTBB, Go and Tokio): on a shared machine a pinned worker that
        // is woken waits for its one CPU, however busy, while Linux runs an
        // unpinned one on whichever CPU frees first (docs/PERFORMANCE.md).
        // `schedkit run` binds, to measure a spec on the CPUs it names.
        bool bind = false;
        // record collects the run summary's waits, responses and busy time
        // per slice (stats() counts tasks and workers either way). Off by
        // default: it costs a little per task, and turns the fast path off.
        bool record = false;
        // keep_trace also keeps slices for write_trace() (and so records).
        bool keep_trace = false;
        // keep_task_stats keeps per-task statistics and schedule strings for
        // the summary (RunSummary::task_stats; only with record or keep_trace).
        bool keep_task_stats = false;
        // thread_window_ns is the window over which a lightweight thread's
        // busy % is measured.
        uint64_t thread_window_ns = 100'000'000;

        Config& with_cpus(CpuSet c) {
            cpus = std::move(c);
            return *this;
        }
        Config& with_workers(int n) {
            workers = n;
            return *this;
        }
        Config& with_topology(Topology t) {
            topology = std::move(t);
            return *this;
        }
        Config& with_policy(std::string p) {
            policy = std::move(p);
            return *this;
        }
        Config& with_policy_factory(std::function<std::unique_ptr<Policy>()> f) {
            policy_factory = std::move(f);
            return *this;
        }
        Config& with_quantum_ns(uint64_t q) {
            quantum_ns = q;
            return *this;
        }
        Config& with_wait_spin_ns(uint64_t s) {
            wait_spin_ns = s;
            return *this;
        }
        Config& with_idle_spin_ns(uint64_t s) {
            idle_spin_ns = s;
            return *this;
        }
        Config& with_bind(bool b) {
            bind = b;
            return *this;
        }
        Config& with_record(bool r) {
            record = r;
            return *this;
        }
        Config& with_trace(bool t) {
            keep_trace = t;
            return *this;
        }

        // all_cores() is the default: one bound worker per host CPU.
        static Config all_cores() { return Config{}; }
        // validate() checks every field at once; throws InputError naming
        // the bad one.
        void validate() const;
    };

    // Runtime() validates the config and builds the core; start() starts
    // the workers.
    explicit Runtime(Config config = Config::all_cores());
    // ~Runtime() stops the runtime if it is running (see stop()).
    ~Runtime();
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;

    // start() starts the workers. Not thread-safe with stop().
    void start();
    // stop() ends the run gracefully: new spawns from outside are refused;
    // tasks get until `drain` to finish; lightweight threads are closed
    // (their queued messages delivered); tasks still alive are cancelled
    // (Cancelled at their next suspension point) and waited for. Nothing is
    // dropped silently: the report accounts for every task. A task that
    // never reaches a suspension point keeps stop() waiting. Idempotent;
    // call it from a plain thread, not from a task.
    StopReport stop(std::chrono::nanoseconds drain = std::chrono::seconds(5));
    bool running() const;

    // spawn() makes `job` a task. From a task the core places it at once;
    // from another thread it is handed to a worker's inbox. Thread-safe.
    // An empty Job (moved from) is std::invalid_argument.
    // (No `opts = {}` defaults here or below: g++ 12 destroys a defaulted
    // class-type argument twice when the call is the operand of co_await.)
    template <typename T>
    JoinHandle<T> spawn(Job<T> job, SpawnOptions opts) {
        return spawn_fn(detail::JobHolder<T>(std::move(job)), &opts);
    }
    template <typename T>
    JoinHandle<T> spawn(Job<T> job) {
        return spawn_fn(detail::JobHolder<T>(std::move(job)), nullptr);
    }
    // spawn(fn) runs fn() as a task: fn may be a coroutine returning Job<T>
    // (it is kept alive as long as the task, so its captures stay valid) or
    // a plain function returning T.
    template <typename F>
    requires std::is_invocable_v<F&>
    auto spawn(F fn, SpawnOptions opts) { return spawn_fn(std::move(fn), &opts); }
    template <typename F>
    requires std::is_invocable_v<F&>
    auto spawn(F fn) { return spawn_fn(std::move(fn), nullptr); }

    // block_on() spawns `job` and blocks the calling thread until it ends,
    // returning its result or rethrowing. Starts the runtime if needed.
    // Under a fast-path policy (steal) with unbound workers, the calling
    // thread takes an idle worker's place while it waits and runs tasks
    // there, the root first (as oneTBB's arena.execute): no hand-over to a
    // worker and back. It leaves when the root ended or it found nothing to
    // run for Config::idle_spin_ns, and then waits as a plain thread.
    template <typename T>
    T block_on(Job<T> job) {
        if (!running())
            start();
        GuestSeat seat(*this);
        JoinHandle<T> h = spawn(std::move(job));
        seat.run_until(*h.f_);
        seat.leave();
        return h.get();
    }

    // create_thread() makes a lightweight thread allowed on `cpumask`
    // (empty = any CPU). Thread-safe.
    std::shared_ptr<LightThread> create_thread(std::string name, CpuSet cpumask = {});

    // set_policy() switches the active policy while tasks run, with the
    // core's protocol; the old policy is freed after an RCU grace period.
    // A refused start leaves the old policy active and is reported. Bad
    // specs throw InputError. Thread-safe (switches are serialised).
    SwitchResult set_policy(std::string_view spec);
    // set_policy(policy) switches to a policy object (a user's own Policy
    // subclass) the same way. A null policy throws std::invalid_argument.
    SwitchResult set_policy(std::unique_ptr<Policy> policy);
    // load_plugin() loads a policy plug-in (schedkit/plugin_loader.h) so
    // that set_policy() accepts its name; unload_plugin() drops it (the
    // policies made from it are freed after an RCU grace period, then the
    // shared object is closed). Neither waits for anything. Thread-safe.
    PluginInfo load_plugin(const std::string& path);
    bool unload_plugin(const std::string& name);
    // policy_name() is the active policy's name. Thread-safe.
    std::string policy_name() const;

    // time_slice_ns() is how long the calling task may run before it should
    // yield under the active policy (cooperative code checks it). Thread-safe.
    uint64_t time_slice_ns() const;

    // stats() is a snapshot of the run so far. Thread-safe.
    RuntimeStats stats() const;
    // write_trace() writes the Perfetto trace (needs Config::keep_trace).
    void write_trace(const std::string& path, const std::string& title) const;

    int num_workers() const;
    // now_ns() is the runtime's clock: steady time since construction.
    uint64_t now_ns() const;
    Scheduler& scheduler();
    const Config& config() const;

    // current() is the runtime whose task is running on this thread, or null.
    static Runtime* current();

  private:
    // GuestSeat is block_on()'s seat at an idle worker, if it got one.
    class GuestSeat {
      public:
        explicit GuestSeat(Runtime& rt);
        ~GuestSeat() { leave(); }
        GuestSeat(const GuestSeat&) = delete;
        GuestSeat& operator=(const GuestSeat&) = delete;
        // run_until() runs the worker's tasks until `root` ended (or idle).
        void run_until(const detail::JoinableFiber& root);
        void leave() noexcept;

      private:
        detail::Worker* w_;
    };

    friend struct detail::SpawnHere;

    // Options go by pointer from here on, null for a spawn without them:
    // such a spawn builds, checks and moves no SpawnOptions at all. `rt`
    // null: the runtime of the task calling (schedkit::spawn()).
    template <typename F>
    static auto spawn_fn(Runtime* rt, F fn, SpawnOptions* opts) {
        using R = std::invoke_result_t<F&>;
        if constexpr (requires {
                          typename R::promise_type;
                          typename R::value_type;
                      }) {
            using T = typename R::value_type;
            auto* f = new detail::SpawnedFiber<T, F>(std::move(fn));
            return adopt<T>(rt, f, opts);
        } else {
            // A plain function: a task with no suspension points, called
            // directly (no coroutine frame).
            auto* f = new detail::PlainFiber<R, F>(std::move(fn));
            return adopt<R>(rt, f, opts);
        }
    }
    template <typename F>
    auto spawn_fn(F fn, SpawnOptions* opts) {
        return spawn_fn(this, std::move(fn), opts);
    }
    template <typename T, typename Fib>
    static JoinHandle<T> adopt(Runtime* rt, Fib* f, SpawnOptions* opts) {
        // One reference for the handle, one for the runtime. Nobody else
        // has `f` yet: a plain store, not a locked increment (which would
        // wait for the constructor's stores to the fresh block to drain).
        f->refs.store(2 * detail::Fiber::kRef, std::memory_order_relaxed);
        JoinHandle<T> h(
            f, [](detail::JoinableFiber& jf) -> T { return static_cast<Fib&>(jf).take(); });
        if (rt != nullptr)
            rt->submit(f, opts);
        else
            submit_here(f, opts);
        return h;
    }
    // submit() hands the fiber to the core: with `opts`, or with none (null).
    void submit(detail::JoinableFiber* f, SpawnOptions* opts);
    // submit_here() hands it to the calling task's own runtime, found once
    // (the worker this thread runs), or throws std::logic_error from a
    // thread that is no runtime's worker.
    static void submit_here(detail::JoinableFiber* f, SpawnOptions* opts);

    std::unique_ptr<detail::RuntimeCore> core_;
};

// spawn() from inside a task spawns onto the task's own runtime; from a
// thread that runs no runtime's tasks it throws std::logic_error.
namespace detail {
struct SpawnHere {
    template <typename F>
    static auto spawn(F fn, SpawnOptions* opts) {
        return Runtime::spawn_fn(nullptr, std::move(fn), opts);
    }
};
}  // namespace detail
template <typename T>
JoinHandle<T> spawn(Job<T> job, SpawnOptions opts) {
    return detail::SpawnHere::spawn(detail::JobHolder<T>(std::move(job)), &opts);
}
template <typename T>
JoinHandle<T> spawn(Job<T> job) {
    return detail::SpawnHere::spawn(detail::JobHolder<T>(std::move(job)), nullptr);
}
// spawn(fn) from inside a task: see Runtime::spawn(F). Prefer it for
// coroutine lambdas with captures: `spawn([&]() -> Job<void> {...}())`
// would destroy the lambda (and its captures) before the task runs.
template <typename F>
requires std::is_invocable_v<F&>
auto spawn(F fn, SpawnOptions opts) {
    return detail::SpawnHere::spawn(std::move(fn), &opts);
}
template <typename F>
requires std::is_invocable_v<F&>
auto spawn(F fn) {
    return detail::SpawnHere::spawn(std::move(fn), nullptr);
}

}  // namespace schedkit
