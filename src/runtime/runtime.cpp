// runtime.cpp: RuntimeCore (configuration, spawn paths, stop) and the
// public Runtime that forwards to it. Wakes and ends: runtime_wake.cpp.
#include "schedkit/runtime.h"

#include <fmt/format.h>

#include <sched.h>

#include <algorithm>
#include <cstring>

#include "core/check.h"
#include "runtime/runtime_core.h"
#include "runtime/thread_fiber.h"
#include "schedkit/error.h"
#include "schedkit/policy_registry.h"
#include "schedkit/thread.h"

namespace schedkit {

namespace {

// host_topology() is read once: hwloc discovery costs milliseconds and the
// machine does not change under us.
const Topology& host_topology() {
    static const Topology host = Topology::host();
    return host;
}

CpuSet host_os_cpus() {
    CpuSet s;
    for (const CpuInfo& c : host_topology().cpus())
        s.set(c.os_index);
    return s;
}

// allowed_cpus() is the host CPUs the calling thread may run on (taskset,
// cgroup cpuset); the machine's when the mask cannot be read.
CpuSet allowed_cpus() {
    CpuSet host = host_os_cpus();
    int n = std::max(host.last() + 1, 1);
    size_t size = CPU_ALLOC_SIZE(n);
    cpu_set_t* mask = CPU_ALLOC(n);
    if (mask == nullptr)
        return host;
    CpuSet out;
    if (sched_getaffinity(0, size, mask) == 0)
        for (int c = host.first(); c >= 0; c = host.next(c))
            if (CPU_ISSET_S(static_cast<size_t>(c), size, mask))
                out.set(c);
    CPU_FREE(mask);
    return out.empty() ? host : out;
}

}  // namespace

namespace detail {

struct Resolved {
    Runtime::Config cfg;
    Topology topo = Topology::flat(1);
    std::vector<int> host_cpus;  // per worker: bound host CPU or -1
};

}  // namespace detail

namespace {

detail::Resolved resolve(Runtime::Config cfg) {
    cfg.validate();
    detail::Resolved r;
    // By default the CPUs this thread may run on: a runtime started under
    // `taskset -c 0` stays on CPU 0, bound or not.
    CpuSet cpus = cfg.cpus.empty() ? allowed_cpus() : cfg.cpus;
    if (cfg.workers == 0)
        cfg.workers = cfg.topology ? cfg.topology->num_cpus() : cpus.count();
    if (cfg.topology)
        r.topo = *cfg.topology;
    else if (cfg.cpus.empty() && cfg.workers == host_topology().num_cpus())
        r.topo = host_topology();
    else
        r.topo = Topology::flat(cfg.workers);
    // More workers than CPUs: leave them unbound, Linux time-shares them.
    bool bind = cfg.bind && cfg.workers <= cpus.count();
    // ... and no task spins before a wait: the side that would answer may
    // be waiting for the very CPU the spinner holds. Counted against the
    // CPUs the threads may run on (taskset, cgroup), not the machine's.
    if (cfg.workers > (bind ? cpus.count() : allowed_cpus().count()))
        cfg.wait_spin_ns = 0;
    int c = cpus.first();
    for (int i = 0; i < cfg.workers; ++i) {
        r.host_cpus.push_back(bind ? c : -1);
        if (bind)
            c = cpus.next(c);
    }
    r.cfg = std::move(cfg);
    return r;
}

// build_policy() is the configured policy: the factory's, else by name.
// The quantum override is the core's (Scheduler::set_quantum_ns).
std::unique_ptr<Policy> build_policy(const Runtime::Config& cfg) {
    if (cfg.policy_factory) {
        auto p = cfg.policy_factory();
        if (p == nullptr)
            throw InputError("policy_factory: returned no policy (expected a Policy object)");
        return p;
    }
    return make_policy(cfg.policy, "policy");
}

}  // namespace

void Runtime::Config::validate() const {
    if (workers < 0 || workers > 4096)
        throw InputError(fmt::format("workers {}: expected 0 (one per CPU) to 4096", workers));
    if (!cpus.empty() && !cpus.is_subset_of(host_os_cpus()))
        throw InputError(fmt::format("cpus '{}': expected CPUs of this machine ({})",
                                     cpus.to_string(), host_os_cpus().to_string()));
    if (bind && !cpus.empty() && !cpus.is_subset_of(allowed_cpus())) {
        CpuSet allowed = allowed_cpus(), outside;
        for (int c = cpus.first(); c >= 0; c = cpus.next(c))
            if (!allowed.test(c))
                outside.set(c);
        throw InputError(fmt::format(
            "cpus '{}': CPU {} is not one this process may run on (expected CPUs within {}, the "
            "affinity mask)",
            cpus.to_string(), outside.to_string(), allowed.to_string()));
    }
    int n = workers != 0 ? workers : (cpus.empty() ? allowed_cpus().count() : cpus.count());
    if (topology && topology->num_cpus() != n && workers != 0)
        throw InputError(fmt::format("topology '{}' has {} CPUs: expected one per worker ({})",
                                     topology->source(), topology->num_cpus(), n));
    if (idle_spin_ns > 1'000'000'000)
        throw InputError("idle_spin_ns: expected at most 1 s");
    if (wait_spin_ns > 1'000'000'000)
        throw InputError("wait_spin_ns: expected at most 1 s");
    if (thread_window_ns == 0)
        throw InputError("thread_window_ns: expected a positive window");
    if (idle_balance_ns == 0)
        throw InputError("idle_balance_ns: expected a positive interval");
    if (!policy_factory)  // InputError naming the bad option or a CPU beyond the machine
        make_policy(policy, "policy", topology ? topology->num_cpus() : n);
}

namespace detail {

RuntimeCore::RuntimeCore(Runtime::Config c) : RuntimeCore(resolve(std::move(c))) {}

RuntimeCore::RuntimeCore(Resolved r)
    : cfg(std::move(r.cfg)),
      // keep_trace implies recording (the trace is the recorder's).
      recorder(cfg.record || cfg.keep_trace
                   ? std::make_unique<Recorder>(r.topo.num_cpus(), cfg.keep_trace)
                   : nullptr),
      sched(r.topo, DomainTree::build(r.topo), build_policy(cfg)),
      t0_(Clock::now()) {
    sched.set_executor(this);
    sched.set_quantum_ns(cfg.quantum_ns);
    if (recorder) {
        recorder->keep_task_stats(cfg.keep_task_stats);
        sched.set_observer(recorder.get());
    }
    sched.set_retire(retire_policy_after_grace_period);
    for (int i = 0; i < sched.num_cpus(); ++i)
        workers.push_back(std::make_unique<Worker>(*this, i, r.host_cpus[static_cast<size_t>(i)]));
}

RuntimeCore::~RuntimeCore() {
    for (auto& w : workers)
        if (w->thread.joinable())
            w->thread.join();
    // Retired policies must be gone before the runtime is (they may hold
    // nothing of ours today, but a policy's destructor is its own business).
    rcu_flush();
}

void RuntimeCore::start() {
    std::lock_guard g(lifecycle_mu_);
    start_locked(true);
}

void RuntimeCore::start_locked(bool report_bind_failures) {
    if (started_)
        throw std::logic_error("Runtime::start(): already started");
    int binding = 0;
    for (auto& w : workers)
        binding += w->host_cpu >= 0 ? 1 : 0;
    binds_pending_.store(binding, std::memory_order_relaxed);
    start_verdict_.store(0, std::memory_order_relaxed);
    for (auto& w : workers)
        w->thread = std::thread([wp = w.get()] { wp->main(); });
    for (int n; (n = binds_pending_.load(std::memory_order_acquire)) != 0;)
        binds_pending_.wait(n, std::memory_order_acquire);
    const Worker* failed = nullptr;
    for (auto& w : workers)
        if (w->host_cpu >= 0 && w->bind_error != 0 && failed == nullptr)
            failed = w.get();
    if (failed != nullptr && report_bind_failures) {
        // Not started after all: the workers leave before their loop, and
        // work handed over before start() stays queued for a later start()
        // or stop().
        exit_workers.store(true, std::memory_order_release);
        start_verdict_.store(1, std::memory_order_release);
        start_verdict_.notify_all();
        for (auto& w : workers)
            w->thread.join();
        exit_workers.store(false, std::memory_order_relaxed);
        throw InputError(fmt::format(
            "cpus '{}': cannot bind worker {} to CPU {}: {} (expected CPUs this process may "
            "run on: its affinity mask and cpuset; Runtime::start)",
            cfg.cpus.empty() ? std::string("default") : cfg.cpus.to_string(), failed->cpu,
            failed->host_cpu, std::strerror(failed->bind_error)));
    }
    started_ = true;
    start_verdict_.store(1, std::memory_order_release);
    start_verdict_.notify_all();
}

void RuntimeCore::bind_reported() noexcept {
    if (binds_pending_.fetch_sub(1, std::memory_order_acq_rel) == 1)
        binds_pending_.notify_all();
}

void RuntimeCore::wait_start_verdict() noexcept {
    start_verdict_.wait(0, std::memory_order_acquire);
}

Worker* RuntimeCore::worker_here() const noexcept {
    Worker* w = current_worker();
    return w != nullptr && &w->rt == this ? w : nullptr;
}

void RuntimeCore::kick(int cpu) {
    workers[static_cast<size_t>(cpu)]->kick();
}

void RuntimeCore::submit(Fiber& f, SpawnOptions&& opts, bool is_thread) {
    Worker* here = worker_here();
    // The fast path: a task spawned by a task, with default options, under
    // a policy that opts in goes on this worker's deque and nowhere else
    // (no core, no clock, no name): one push. It joins the core only if it
    // blocks or yields (Worker::run_fast).
    if (here != nullptr && here->fast_spawns && !is_thread && opts.nice == 0 && opts.weight == 0 &&
        opts.group < 0 && opts.name.empty() && opts.affinity.empty()) {
        submit_fast(*here, f);
        return;
    }
    submit_core(here, f, std::move(opts), is_thread);
}

void RuntimeCore::submit_default(Fiber& f) {
    // submit() without options to check: the fast path whenever the worker
    // takes it.
    Worker* here = worker_here();
    if (here != nullptr && here->fast_spawns) {
        submit_fast(*here, f);
        return;
    }
    submit_core_default(here, f);
}

void RuntimeCore::submit_core_default(Worker* here, Fiber& f) {
    submit_core(here, f, SpawnOptions{}, false);
}

void RuntimeCore::submit_fast(Worker& here, Fiber& f) {
    // No Task: the fiber keeps what make_task() needs if it ever joins the
    // core (Worker::run_fast).
    f.id = new_task_id(&here);
    f.spawner_cpu = here.cpu;
    f.rt = this;
    // Counted before anyone can see it, so it cannot end uncounted.
    here.tasks_spawned.store(here.tasks_spawned.load(std::memory_order_relaxed) + 1,
                             std::memory_order_relaxed);
    if (cancel_new.load(std::memory_order_relaxed))
        f.cancel_requested.store(true, std::memory_order_relaxed);
    if (here.guest_hold_next) [[unlikely]] {
        here.guest_hold_next = false;
        here.guest_root = &f;  // block_on's root: its guest runs it next
        return;
    }
    here.deque.push(&f);
    // Wake a parked worker to come and steal; not when the only one parked
    // is this worker's own thread (a guest holds its seat).
    int parked = parked_workers.load(std::memory_order_relaxed);
    if (parked > 1 || (parked == 1 && !here.parked.load(std::memory_order_relaxed)))
        wake_one_parked(here);
}

void RuntimeCore::submit_core(Worker* here, Fiber& f, SpawnOptions&& opts, bool is_thread) {
    Task* tp = nullptr;
    try {
        tp = &f.make_task();
    } catch (...) {
        f.release();  // out of memory: this fiber never existed
        throw;
    }
    Task& t = *tp;
    if (!opts.affinity.empty() && !opts.affinity.is_subset_of(sched.topology().all())) {
        f.release();  // the runtime's reference: this fiber never existed
        throw std::invalid_argument(fmt::format("spawn affinity '{}' is outside CPUs 0-{}",
                                                opts.affinity.to_string(), sched.num_cpus() - 1));
    }
    if (here == nullptr && (stopping_.load(std::memory_order_acquire) || stopped_)) {
        f.release();
        throw std::logic_error("Runtime is stopping: spawn refused");
    }
    t.id = f.id = new_task_id(here);
    // Default names are made only where something shows them (traces and
    // reports, thread listings): formatting one per task is a visible share
    // of a short task's cost.
    if (!opts.name.empty())
        t.name = std::move(opts.name);
    else if (is_thread || recorder)
        t.name = fmt::format("{}#{}", is_thread ? "thread" : "task", t.id);
    t.group = opts.group;
    t.nice = opts.nice;
    t.weight = opts.weight != 0 ? opts.weight : nice_to_weight(opts.nice);
    t.affinity = std::move(opts.affinity);
    t.is_thread = is_thread;
    t.spawner_cpu = f.spawner_cpu = here != nullptr ? here->cpu : -1;
    f.rt = this;
    if (is_thread) {
        live_threads_.fetch_add(1, std::memory_order_relaxed);
    } else {
        // Counted before the core sees it, so it cannot end uncounted.
        if (here != nullptr)
            here->tasks_spawned.store(here->tasks_spawned.load(std::memory_order_relaxed) + 1,
                                      std::memory_order_relaxed);
        else
            external_spawned_.fetch_add(1, std::memory_order_seq_cst);
        if (cancel_new.load(std::memory_order_acquire))
            f.cancel_requested.store(true, std::memory_order_relaxed);
    }
    if (here != nullptr) {
        uint64_t now = now_ns();
        {
            RcuRead r;
            sched.spawn(t, now, true);
        }
        // A policy that keeps spawns local (steal) leaves them queued here
        // while this task runs on: wake a parked CPU to come and take some,
        // as Go's wakep() does (rate-limited; a no-op when none is parked).
        if (sched.rq(here->cpu).nr_queued.load(std::memory_order_relaxed) > 1)
            here->nudge_idle_worker(now);
        return;
    }
    // Another thread: hand it to a worker, round-robin; the core places it
    // (possibly elsewhere) when that worker spawns it.
    size_t n = workers.size();
    Worker& w = *workers[next_worker_.fetch_add(1, std::memory_order_relaxed) % n];
    w.post(InboxItem{InboxItem::Kind::Spawn, &f});
}

Worker* RuntimeCore::seat_guest() {
    // Not from a task or a worker (it would seat a thread twice), not while
    // stopping (a plain thread's spawn is refused then), not with bound
    // workers (their CPU is their identity: `schedkit run`, fidelity).
    if (current_worker() != nullptr || !started_.load(std::memory_order_acquire) ||
        stopping_.load(std::memory_order_acquire) || stopped_.load(std::memory_order_acquire))
        return nullptr;
    for (auto& w : workers) {
        if (w->host_cpu >= 0 || !w->try_seat_guest())
            continue;
        // Only where the root takes the fast path: other policies place an
        // outside spawn themselves, as before.
        if (w->fast_spawns)
            return w.get();
        w->unseat_guest();
        return nullptr;
    }
    return nullptr;
}

uint64_t RuntimeCore::new_task_id(Worker* here) {
    // Workers take ids in blocks, so spawning shares no counter between
    // CPUs; ids stay unique (and small), not ordered across workers.
    constexpr uint64_t kBlock = 1024;
    if (here == nullptr)
        return next_id_.fetch_add(1, std::memory_order_relaxed) + 1;
    if (here->next_id == here->id_end) {
        here->next_id = next_id_.fetch_add(kBlock, std::memory_order_relaxed) + 1;
        here->id_end = here->next_id + kBlock;
    }
    return here->next_id++;
}

RuntimeCore::TaskCounts RuntimeCore::task_counts() const {
    TaskCounts c;
    // Ends first (seq_cst, pairing with on_exit's increments): a task's
    // spawn is counted before it can end, so the spawns read afterwards
    // include every task whose end was read.
    for (const auto& w : workers) {
        c.completed += w->tasks_completed.load(std::memory_order_seq_cst);
        c.cancelled += w->tasks_cancelled.load(std::memory_order_seq_cst);
        c.failed += w->tasks_failed.load(std::memory_order_seq_cst);
    }
    c.spawned = external_spawned_.load(std::memory_order_seq_cst);
    for (const auto& w : workers)
        c.spawned += w->tasks_spawned.load(std::memory_order_seq_cst);
    return c;
}

void RuntimeCore::cancel_live_tasks() {
    // Collect references under the core's task-list lock (a task in the
    // list has not exited, so its fiber is alive), cancel outside it.
    std::vector<Fiber*> fibers;
    sched.for_each_task([&](Task& t) {
        if (!t.is_thread) {
            auto* f = static_cast<Fiber*>(t.executor_data);
            f->add_ref();
            fibers.push_back(f);
        }
    });
    for (Fiber* f : fibers) {
        request_cancel(*f);
        f->release();
    }
}

StopReport RuntimeCore::stop(std::chrono::nanoseconds drain) {
    if (worker_here() != nullptr)
        throw std::logic_error(
            "Runtime::stop() called from a runtime task (it would wait on itself)");
    // Any number of threads may call stop(): the first stops, the others
    // wait for it here and get the same report.
    std::lock_guard lifecycle(lifecycle_mu_);
    if (stopped_)
        return report_;
    if (!started_)
        start_locked(false);
    stopping_.store(true, std::memory_order_release);
    auto deadline = Clock::now() + drain;
    stop_waiting_.store(true, std::memory_order_seq_cst);
    auto no_tasks = [this] { return task_counts().live() == 0; };
    report_.drained = wait_until(deadline, no_tasks);
    // Lightweight threads are closed after the tasks had their chance (a
    // task may be waiting on a thread's reply); their queued messages run.
    {
        std::lock_guard g(threads_mu_);
        for (ThreadFiber* t : threads_) {
            bool was_open = false;
            t->close(CloseMode::Drain, &was_open);
            if (was_open)
                threads_closed.fetch_add(1, std::memory_order_relaxed);
        }
    }
    wait_until(Clock::time_point::max(), [this] { return live_threads_.load() == 0; });
    if (!report_.drained) {
        cancel_new.store(true, std::memory_order_release);
        // Sweep until nothing is left: a cancelled task may spawn while it
        // unwinds, and spawns handed to an inbox join the core's list late.
        while (!wait_until(Clock::now() + std::chrono::milliseconds(10), no_tasks))
            cancel_live_tasks();
    }
    stop_ns_ = now_ns();
    exit_workers.store(true, std::memory_order_release);
    for (auto& w : workers)
        w->kick();
    for (auto& w : workers)
        w->thread.join();
    stopped_ = true;
    TaskCounts counts = task_counts();
    report_.spawned = counts.spawned;
    report_.completed = counts.completed;
    report_.cancelled = counts.cancelled;
    report_.failed = counts.failed;
    report_.threads_closed = threads_closed.load();
    report_.messages_delivered = messages_delivered.load();
    report_.messages_cancelled = messages_cancelled.load();
    SCHEDKIT_CHECK(report_.completed + report_.cancelled + report_.failed == report_.spawned,
                   "a task was lost: spawned tasks do not add up after stop");
    return report_;
}

SwitchResult RuntimeCore::set_policy(std::string_view spec) {
    return set_policy(make_policy(spec, "set_policy", sched.num_cpus()));
}

SwitchResult RuntimeCore::set_policy(std::unique_ptr<Policy> next) {
    if (next == nullptr)
        throw std::invalid_argument("Runtime::set_policy(): null policy");
    std::lock_guard g(switch_mu_);
    // The retire hook calls call_rcu, which wants a registered thread; the
    // switch itself never waits for a grace period.
    RcuThreadScope scope;
    std::string from = sched.policy().name();  // only switches change it; we hold switch_mu_
    std::string to = next->name();
    uint64_t now = now_ns();
    SwitchResult r = sched.switch_policy(std::move(next), now);
    switch_log_ +=
        fmt::format(R"({}{{"at_us":{:.3f},"from":"{}","to":"{}","ok":{}{}}})",
                    switch_log_.empty() ? "" : ",", static_cast<double>(now) / 1e3, from, to,
                    r.ok ? "true" : "false", r.ok ? "" : fmt::format(R"(,"error":"{}")", r.error));
    return r;
}

void RuntimeCore::restore_failed_policy() {
    std::unique_lock g(switch_mu_, std::try_to_lock);
    if (!g.owns_lock())
        return;
    RcuThreadScope scope;  // the retire hook calls call_rcu
    uint64_t now = now_ns();
    std::optional<PolicyRestore> r = sched.restore_failed_policy(now);
    if (!r)
        return;
    if (!switch_log_.empty())
        switch_log_ += ",";
    switch_log_ += restore_log_entry(*r, now);
}

std::string RuntimeCore::policy_name() const {
    RcuThreadScope scope;
    RcuRead r;
    return sched.policy().name();
}

void RuntimeCore::register_thread(ThreadFiber* t) {
    std::lock_guard g(threads_mu_);
    // It may have exited already (closed at once by a racing handle drop).
    if (t->exited.is_set())
        return;
    t->add_ref();
    threads_.insert(t);
}

}  // namespace detail

// Runtime forwards to RuntimeCore.

Runtime::Runtime(Config config) : core_(std::make_unique<detail::RuntimeCore>(std::move(config))) {
    core_->owner = this;
}

Runtime::~Runtime() {
    // Never started or still running: stop() starts it if needed so that
    // work handed over before start() is run and accounted for.
    if (!core_->stopped())
        core_->stop(std::chrono::seconds(5));
}

void Runtime::start() {
    core_->start();
}
StopReport Runtime::stop(std::chrono::nanoseconds drain) {
    return core_->stop(drain);
}
bool Runtime::running() const {
    return core_->started() && !core_->stopped();
}
void Runtime::submit(detail::JoinableFiber* f, SpawnOptions* opts) {
    if (opts == nullptr)
        core_->submit_default(*f);
    else
        core_->submit(*f, std::move(*opts), false);
}
void Runtime::submit_here(detail::JoinableFiber* f, SpawnOptions* opts) {
    // Runtime::current(), then submit_default()'s worker_here(), in one:
    // this thread's worker is the spawning task's, of the runtime it spawns on.
    detail::Worker* w = detail::current_worker();
    if (w == nullptr) {
        f->release();  // the runtime's reference: this fiber never existed
        throw std::logic_error("schedkit::spawn() called outside a runtime task");
    }
    if (opts != nullptr)
        w->rt.submit(*f, std::move(*opts), false);
    else if (w->fast_spawns) [[likely]]
        w->rt.submit_fast(*w, *f);
    else
        w->rt.submit_core_default(w, *f);
}
SwitchResult Runtime::set_policy(std::string_view spec) {
    return core_->set_policy(spec);
}
SwitchResult Runtime::set_policy(std::unique_ptr<Policy> policy) {
    return core_->set_policy(std::move(policy));
}
std::string Runtime::policy_name() const {
    return core_->policy_name();
}
PluginInfo Runtime::load_plugin(const std::string& path) {
    return schedkit::load_plugin(path);
}
bool Runtime::unload_plugin(const std::string& name) {
    return schedkit::unload_plugin(name);
}
uint64_t Runtime::time_slice_ns() const {
    detail::RcuThreadScope scope;
    detail::RcuRead r;
    Policy& p = core_->sched.policy();
    detail::Fiber* f = detail::current_fiber();
    if (f == nullptr)
        return p.quantum_ns;
    if (f->has_task)
        return p.time_slice_ns(f->task());
    // A fast-path task the core has not seen: as a fresh task's slice.
    static const Task fresh;
    return p.time_slice_ns(fresh);
}
RuntimeStats Runtime::stats() const {
    return core_->stats();
}
void Runtime::write_trace(const std::string& path, const std::string& title) const {
    if (!core_->recorder || !core_->recorder->keep_trace())
        throw std::logic_error("Runtime::write_trace() needs Config::keep_trace");
    core_->recorder->write_trace(path, title);
}
int Runtime::num_workers() const {
    return static_cast<int>(core_->workers.size());
}
uint64_t Runtime::now_ns() const {
    return core_->now_ns();
}
Scheduler& Runtime::scheduler() {
    return core_->sched;
}
const Runtime::Config& Runtime::config() const {
    return core_->cfg;
}
Runtime::GuestSeat::GuestSeat(Runtime& rt) : w_(rt.core_->seat_guest()) {}

void Runtime::GuestSeat::run_until(const detail::JoinableFiber& root) {
    if (w_ != nullptr)
        w_->run_guest(root);
}

void Runtime::GuestSeat::leave() noexcept {
    if (w_ != nullptr)
        std::exchange(w_, nullptr)->unseat_guest();
}

Runtime* Runtime::current() {
    detail::Worker* w = detail::current_worker();
    return w != nullptr ? w->rt.owner : nullptr;
}

}  // namespace schedkit
