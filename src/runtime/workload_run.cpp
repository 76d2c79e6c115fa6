// workload_run.cpp: a workload spec executed for real on the runtime.
#include <fmt/format.h>
#include <time.h>

#include <algorithm>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/check.h"
#include "runtime/runtime_core.h"
#include "schedkit/control.h"
#include "schedkit/runtime_workload.h"
#include "schedkit/sync.h"
#include "schedkit/thread.h"

namespace schedkit {

namespace {

using Clock = std::chrono::steady_clock;

uint64_t clock_ns(clockid_t clock) {
    timespec ts{};
    clock_gettime(clock, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t thread_cpu_ns() {
    return clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

// SpinClock is one worker's time spent in `run` steps: wall and thread CPU.
// Written only by that worker's thread, read after the run.
struct alignas(64) SpinClock {
    std::atomic<uint64_t> wall_ns{0};
    std::atomic<uint64_t> cpu_ns{0};
};

// RunContext is shared by the driver thread and every task of one run.
struct RunContext {
    RunContext(const WorkloadSpec& s, Runtime& r, double sc, uint64_t sd, uint64_t max)
        : spec(s), rt(r), scale(sc), seed(sd), max_tasks(max) {}

    const WorkloadSpec& spec;
    Runtime& rt;
    double scale;
    uint64_t seed;
    uint64_t max_tasks;
    std::atomic<bool> over_budget{false};  // a spawn was refused: max_tasks alive
    std::atomic<uint64_t> next_index{0};   // per-task random streams
    // The spec's lightweight threads: per thread group a slot per thread,
    // filled in creation order by the driver (at the thread's arrival) and
    // published by `threads_up` (release after the slot is written: senders and
    // closers read only the first `threads_up` slots), a round-robin counter
    // for sends, and per thread a random stream used only on that thread
    // (its messages and pollers run there one by one).
    struct Thread {
        std::shared_ptr<LightThread> thread;
        std::unique_ptr<Rng> rng;
    };
    std::vector<std::vector<Thread>> threads;
    std::unique_ptr<std::atomic<size_t>[]> threads_up;
    std::vector<uint64_t> stream_base;  // per group: threads of the groups before it
    std::unique_ptr<std::atomic<uint64_t>[]> next_thread;
    std::unique_ptr<std::atomic<uint64_t>[]> next_close;  // close steps: oldest open first
    std::atomic<uint64_t> messages_in_flight{0};          // sent, not yet run to the end
    // Every message sent is delivered (run to its end), refused (its thread
    // closed), returned (a cancelling close step) or pending (handed back by
    // the closing at --until): the simulator's accounting (sim.h MessageCounts).
    std::atomic<uint64_t> msg_sent{0}, msg_delivered{0}, msg_refused{0}, msg_returned{0},
        msg_pending{0};
    std::unique_ptr<SpinClock[]> spin =
        std::make_unique<SpinClock[]>(static_cast<size_t>(rt.scheduler().num_cpus()));
    std::mutex mu;  // guards the fields below
    std::condition_variable all_done;
    uint64_t live = 0;
    uint64_t last_exit_ns = 0;
    // One semaphore per spec event (wait/notify steps), as the simulator's.
    std::vector<std::unique_ptr<Semaphore>> events;

    // scaled() saturates: an arrival near kMaxVirtualNs times a scale of
    // up to 1000 must not overflow the cast.
    uint64_t scaled(uint64_t ns) const {
        double v = std::min(static_cast<double>(ns) * scale, static_cast<double>(kMaxVirtualNs));
        return static_cast<uint64_t>(std::llround(v));
    }
    // started() counts a task about to be spawned; false (and nothing
    // counted) when max_tasks are alive.
    bool started() {
        std::lock_guard g(mu);
        if (live >= max_tasks) {
            over_budget.store(true, std::memory_order_relaxed);
            all_done.notify_all();  // the run ends at once
            return false;
        }
        ++live;
        return true;
    }
    void finished() {
        std::lock_guard g(mu);
        last_exit_ns = std::max(last_exit_ns, rt.now_ns());
        if (--live == 0)
            all_done.notify_all();
    }
};

// spin() burns `ns` of this thread's CPU time at once, counting wall and CPU
// time for the worker it runs on.
void spin(RunContext& ctx, uint64_t ns) {
    uint64_t wall_start = clock_ns(CLOCK_MONOTONIC);
    uint64_t start = thread_cpu_ns();
    uint64_t cpu = start;
    while ((cpu = thread_cpu_ns()) - start < ns) {
    }
    uint64_t wall = clock_ns(CLOCK_MONOTONIC) - wall_start;
    if (detail::Worker* w = detail::current_worker()) {
        // Single writer per worker: plain adds.
        SpinClock& c = ctx.spin[static_cast<size_t>(w->cpu)];
        c.wall_ns.store(c.wall_ns.load(std::memory_order_relaxed) + wall,
                        std::memory_order_relaxed);
        c.cpu_ns.store(c.cpu_ns.load(std::memory_order_relaxed) + (cpu - start),
                       std::memory_order_relaxed);
    }
}

// send_messages() queues `count` messages to `group`'s threads, round
// robin; each runs the group's behavior on its thread.
void send_messages(RunContext& ctx, int group, int count);

// close_step() closes `count` of `group`'s threads, oldest open first (as
// the simulator's close step; past the last thread created so far it closes
// nothing, and a thread created later is the next one closed). Cancel hands
// their queued messages back: they will never run.
void close_step(RunContext& ctx, int group, int count, bool cancel) {
    auto g = static_cast<size_t>(group);
    auto& targets = ctx.threads[g];
    std::atomic<uint64_t>& cursor = ctx.next_close[g];
    for (int i = 0; i < count; ++i) {
        uint64_t index = cursor.load();
        do {
            if (index >= ctx.threads_up[g].load(std::memory_order_acquire))
                return;
        } while (!cursor.compare_exchange_weak(index, index + 1));
        auto back = targets[index].thread->close(cancel ? CloseMode::Cancel : CloseMode::Drain);
        ctx.msg_returned.fetch_add(back.size());
        ctx.messages_in_flight.fetch_sub(back.size());
    }
}

void run_message(RunContext& ctx, int group, size_t index) {
    Rng& rng = *ctx.threads[static_cast<size_t>(group)][index].rng;
    for (const Step& s : ctx.spec.groups[static_cast<size_t>(group)].behavior) {
        if (s.kind == Step::Kind::Run)
            spin(ctx, ctx.scaled(s.duration.sample(rng)));
        else if (s.kind == Step::Kind::Send)
            send_messages(ctx, s.spawn_group, s.spawn_count);
        else if (s.kind == Step::Kind::Close)
            close_step(ctx, s.spawn_group, s.spawn_count, s.cancel);
    }
}

void send_messages(RunContext& ctx, int group, int count) {
    auto g = static_cast<size_t>(group);
    auto& targets = ctx.threads[g];
    size_t n = ctx.threads_up[g].load(std::memory_order_acquire);
    for (int i = 0; i < count; ++i) {
        ctx.msg_sent.fetch_add(1);
        if (n == 0) {
            ctx.msg_refused.fetch_add(1);  // the group has no thread yet
            continue;
        }
        size_t index = ctx.next_thread[g].fetch_add(1) % n;
        ctx.messages_in_flight.fetch_add(1);
        SendStatus st = targets[index].thread->send([&ctx, group, index] {
            run_message(ctx, group, index);
            ctx.msg_delivered.fetch_add(1);
            ctx.messages_in_flight.fetch_sub(1);
        });
        if (st == SendStatus::Closed) {
            ctx.msg_refused.fetch_add(1);  // closed by a close step or at --until
            ctx.messages_in_flight.fetch_sub(1);
        }
    }
}

// prepare_threads() makes a slot for each of the spec's lightweight threads.
void prepare_threads(RunContext& ctx) {
    const size_t n = ctx.spec.groups.size();
    ctx.threads.resize(n);
    ctx.threads_up = std::make_unique<std::atomic<size_t>[]>(n);
    ctx.stream_base.assign(n, 0);
    ctx.next_thread = std::make_unique<std::atomic<uint64_t>[]>(n);
    ctx.next_close = std::make_unique<std::atomic<uint64_t>[]>(n);
    uint64_t streams = 0;
    for (size_t gi = 0; gi < n; ++gi) {
        const GroupSpec& g = ctx.spec.groups[gi];
        if (!g.thread)
            continue;
        ctx.threads[gi].resize(static_cast<size_t>(g.count));
        ctx.stream_base[gi] = streams;
        streams += static_cast<uint64_t>(g.count);
    }
}

// start_thread() creates thread `index` of thread group `gi` (the next one:
// threads of a group arrive in index order) with its pollers, on the
// driver's thread, and publishes it to senders and closers.
void start_thread(RunContext& ctx, size_t gi, size_t index) {
    const GroupSpec& g = ctx.spec.groups[gi];
    SCHEDKIT_CHECK(ctx.threads_up[gi].load(std::memory_order_relaxed) == index,
                   "threads of a group start in index order");
    RunContext::Thread& t = ctx.threads[gi][index];
    t.thread = ctx.rt.create_thread(fmt::format("{}#{}", g.name, index), g.affinity);
    t.rng = std::make_unique<Rng>(ctx.seed ^
                                  (0xd1b54a32d192ed03ULL * (ctx.stream_base[gi] + index + 1)));
    Rng* rng = t.rng.get();
    for (const Poller& p : g.pollers)
        t.thread->add_poller(
            [&ctx, &p, rng] {
                spin(ctx, ctx.scaled(p.run.sample(*rng)));
                return true;
            },
            std::chrono::nanoseconds(std::max<uint64_t>(ctx.scaled(p.every_ns), 1)));
    ctx.threads_up[gi].store(index + 1, std::memory_order_release);
}

// threads_started() counts the threads created so far (all of them once
// the driver's timeline is done).
uint64_t threads_started(const RunContext& ctx) {
    uint64_t n = 0;
    for (size_t gi = 0; gi < ctx.threads.size(); ++gi)
        n += ctx.threads_up[gi].load(std::memory_order_acquire);
    return n;
}

// close_threads() closes the threads once every message in flight has run
// (Drain), or at once when the run is stopped (Cancel), and waits for them.
void close_threads(RunContext& ctx, Clock::time_point until) {
    while (ctx.messages_in_flight.load() > 0 && Clock::now() < until)
        std::this_thread::sleep_for(std::chrono::microseconds(100));
    bool stopped = ctx.messages_in_flight.load() > 0;
    const CloseMode mode = stopped ? CloseMode::Cancel : CloseMode::Drain;
    for (size_t gi = 0; gi < ctx.threads.size(); ++gi)
        for (size_t i = 0; i < ctx.threads_up[gi].load(std::memory_order_acquire); ++i)
            ctx.msg_pending.fetch_add(ctx.threads[gi][i].thread->close(mode).size());
    for (size_t gi = 0; gi < ctx.threads.size(); ++gi)
        for (size_t i = 0; i < ctx.threads_up[gi].load(std::memory_order_acquire); ++i)
            ctx.threads[gi][i].thread->exited().wait_blocking();
}

// spin_for() burns `ns` of this thread's CPU time, yielding at the policy's
// time slice so that others (and the policy) get their turn.
Job<void> spin_for(RunContext& ctx, uint64_t ns) {
    while (ns > 0) {
        uint64_t slice = std::min(ns, std::max<uint64_t>(ctx.rt.time_slice_ns(), 1000));
        spin(ctx, slice);
        ns -= slice;
        if (ns > 0)
            co_await yield();
    }
}

SpawnOptions options_for(RunContext& ctx, int group, uint64_t index) {
    const GroupSpec& g = ctx.spec.groups[static_cast<size_t>(group)];
    SpawnOptions o;
    o.name = fmt::format("{}#{}", g.name, index);
    o.affinity = g.affinity;
    o.nice = g.nice;
    o.weight = g.weight;
    o.group = group;
    return o;
}

Job<void> run_task(RunContext& ctx, int group, uint64_t stream);

// spawn_task() starts one task of `group` drawing from `stream` (rng.h); the
// run is not over until it ends. Over the task budget it starts nothing and
// returns an empty handle.
std::optional<JoinHandle<void>> spawn_task(RunContext& ctx, int group, uint64_t stream) {
    if (!ctx.started())
        return std::nullopt;
    uint64_t index = ctx.next_index.fetch_add(1, std::memory_order_relaxed);
    return ctx.rt.spawn(run_task(ctx, group, stream), options_for(ctx, group, index));
}

Job<void> run_task(RunContext& ctx, int group, uint64_t stream) {
    struct Done {
        RunContext& ctx;
        ~Done() { ctx.finished(); }
    } done{ctx};
    const GroupSpec& g = ctx.spec.groups[static_cast<size_t>(group)];
    // Each task draws from its own stream, as in the simulator: tasks run
    // concurrently, so one shared generator would make the draws depend on
    // the interleaving.
    Rng rng(stream);
    uint64_t children = 0;
    for (int rep = 0; rep < g.repeat; ++rep) {
        for (const Step& s : g.behavior) {
            switch (s.kind) {
                case Step::Kind::Run:
                    co_await spin_for(ctx, ctx.scaled(s.duration.sample(rng)));
                    break;
                case Step::Kind::Block:
                    co_await sleep_for(
                        std::chrono::nanoseconds(ctx.scaled(s.duration.sample(rng))));
                    break;
                case Step::Kind::Spawn: {
                    std::vector<JoinHandle<void>> kids;
                    for (int i = 0; i < s.spawn_count; ++i) {
                        auto kid = spawn_task(ctx, s.spawn_group, child_stream(stream, children++));
                        if (!kid)
                            co_return;  // over budget: the run is ending
                        kids.push_back(std::move(*kid));
                    }
                    if (s.join)
                        for (auto& k : kids)
                            co_await k;
                    break;
                }
                case Step::Kind::Exit:
                    co_return;
                case Step::Kind::Send:
                    send_messages(ctx, s.spawn_group, s.spawn_count);
                    break;
                case Step::Kind::Close:
                    close_step(ctx, s.spawn_group, s.spawn_count, s.cancel);
                    break;
                case Step::Kind::Wait:
                    co_await ctx.events[static_cast<size_t>(s.event)]->acquire();
                    break;
                case Step::Kind::Notify:
                    ctx.events[static_cast<size_t>(s.event)]->release();
                    break;
            }
        }
    }
}

HostShare host_share(RunContext& ctx, Runtime& rt, uint64_t process_cpu_ns, uint64_t wall_ns) {
    HostShare h;
    RuntimeStats stats = rt.stats();
    for (const WorkerStats& ws : stats.workers) {
        HostShare::Worker w;
        w.cpu = ws.cpu;
        w.host_cpu = ws.host_cpu;
        const SpinClock& c = ctx.spin[static_cast<size_t>(ws.cpu)];
        w.run_wall_ns = c.wall_ns.load(std::memory_order_relaxed);
        w.run_cpu_ns = c.cpu_ns.load(std::memory_order_relaxed);
        h.run_wall_ns += w.run_wall_ns;
        h.run_cpu_ns += w.run_cpu_ns;
        h.workers.push_back(w);
    }
    h.cpu_share = h.run_wall_ns > 0
                      ? static_cast<double>(h.run_cpu_ns) / static_cast<double>(h.run_wall_ns)
                      : 1.0;
    h.process_cpu_ns = process_cpu_ns;
    h.wall_ns = wall_ns;
    return h;
}

}  // namespace

std::string HostShare::json() const {
    using Json = nlohmann::ordered_json;
    auto us = [](uint64_t ns) { return std::round(static_cast<double>(ns)) / 1e3; };
    Json ws = Json::array();
    for (const Worker& w : workers)
        ws.push_back(Json{{"cpu", w.cpu},
                          {"host_cpu", w.host_cpu},
                          {"run_wall_us", us(w.run_wall_ns)},
                          {"run_cpu_us", us(w.run_cpu_ns)},
                          {"cpu_share", w.run_wall_ns > 0 ? static_cast<double>(w.run_cpu_ns) /
                                                                static_cast<double>(w.run_wall_ns)
                                                          : 1.0}});
    double cpus = static_cast<double>(std::max<size_t>(workers.size(), 1));
    Json j{{"cpu_share", cpu_share},
           {"run_wall_us", us(run_wall_ns)},
           {"run_cpu_us", us(run_cpu_ns)},
           {"process_cpu_us", us(process_cpu_ns)},
           {"wall_us", us(wall_ns)},
           {"process_share", wall_ns > 0 ? static_cast<double>(process_cpu_ns) /
                                               (static_cast<double>(wall_ns) * cpus)
                                         : 0.0},
           {"workers", std::move(ws)}};
    return j.dump();
}

RealRunResult run_workload(const WorkloadSpec& spec, const RealRunConfig& config) {
    // The summary `schedkit run` prints needs the recorder.
    Runtime rt(Runtime::Config(config.runtime).with_record(true));
    check_against(spec, rt.scheduler().topology());
    std::optional<ControlServer> control;  // destroyed before the runtime
    if (!config.control_socket.empty())
        control.emplace(rt, config.control_socket);
    uint64_t seed = config.seed.value_or(spec.seed);
    RunContext ctx(spec, rt, config.scale, seed, config.max_tasks);
    for (size_t i = 0; i < spec.events.size(); ++i)
        ctx.events.push_back(std::make_unique<Semaphore>(0));
    // The simulator's draws: the same tasks at the same times.
    std::vector<TaskArrival> starts = draw_arrivals(spec, seed);
    // One timeline for the driver: arrivals and policy switches in order.
    struct TimelineEntry {
        uint64_t at_ns;
        int group;            // -1: a switch
        size_t switch_index;  // a switch's; a thread's index in its group
        uint64_t stream;      // an arrival's random stream
        bool thread;          // a thread's arrival: it is created then
    };
    std::vector<TimelineEntry> timeline;
    for (const TaskArrival& a : starts)
        timeline.push_back({ctx.scaled(a.at_ns), a.group, static_cast<size_t>(a.index),
                            task_stream(seed, a.group, static_cast<uint64_t>(a.index)),
                            spec.groups[static_cast<size_t>(a.group)].thread});
    for (size_t i = 0; i < config.switches.size(); ++i)
        timeline.push_back({config.switches[i].first, -1, i, 0, false});
    std::stable_sort(
        timeline.begin(), timeline.end(),
        [](const TimelineEntry& a, const TimelineEntry& b) { return a.at_ns < b.at_ns; });

    uint64_t process_cpu0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
    rt.start();
    prepare_threads(ctx);
    // Threads arriving at time 0 exist before any task runs (as in the
    // simulator); the others are created at their arrival.
    for (const TimelineEntry& e : timeline)
        if (e.thread && e.at_ns == 0)
            start_thread(ctx, static_cast<size_t>(e.group), e.switch_index);
    auto t0 = Clock::now() - std::chrono::nanoseconds(rt.now_ns());  // the runtime's epoch
    // The spec's time zero is now, when the driver is ready: starting the
    // workers and the threads above took from about a millisecond to tens
    // of them under a sanitizer, and measuring arrivals from the runtime's
    // epoch would bunch the early ones together late.
    auto zero = Clock::now();
    auto until = config.until_ns != 0 ? zero + std::chrono::nanoseconds(config.until_ns)
                                      : Clock::time_point::max();
    for (const TimelineEntry& e : timeline) {
        auto at = zero + std::chrono::nanoseconds(e.at_ns);
        if (at > until)
            break;
        std::this_thread::sleep_until(at);
        if (ctx.over_budget.load(std::memory_order_relaxed))
            break;
        if (e.thread) {
            if (e.at_ns > 0)
                start_thread(ctx, static_cast<size_t>(e.group), e.switch_index);
        } else if (e.group >= 0) {
            if (auto h = spawn_task(ctx, e.group, e.stream))
                h->detach();
        } else {
            rt.set_policy(config.switches[e.switch_index].second);  // a refusal is logged
        }
    }
    {
        std::unique_lock lk(ctx.mu);
        ctx.all_done.wait_until(lk, until, [&] {
            return ctx.live == 0 || ctx.over_budget.load(std::memory_order_relaxed);
        });
    }
    control.reset();  // no switches from outside while stopping
    close_threads(ctx, until);
    RealRunResult r;
    r.stop = rt.stop(std::chrono::nanoseconds(0));
    if (ctx.over_budget.load(std::memory_order_relaxed))
        budget_exceeded(
            fmt::format("{}: the run had {} tasks alive at once", spec.path, config.max_tasks),
            "--max-tasks", config.max_tasks);
    r.host = host_share(ctx, rt, clock_ns(CLOCK_PROCESS_CPUTIME_ID) - process_cpu0,
                        static_cast<uint64_t>((Clock::now() - t0).count()));
    RuntimeStats stats = rt.stats();
    r.summary = std::move(stats.summary);
    r.summary.workload = spec.name;
    for (GroupSummary& g : r.summary.groups)
        if (g.group >= 0 && static_cast<size_t>(g.group) < spec.groups.size())
            g.name = spec.groups[static_cast<size_t>(g.group)].name;
    r.summary.seed = seed;
    {
        using Json = nlohmann::ordered_json;
        Json extra =
            r.summary.extra_json.empty() ? Json::object() : Json::parse(r.summary.extra_json);
        extra["host"] = Json::parse(r.host.json());
        if (std::any_of(spec.groups.begin(), spec.groups.end(),
                        [](const GroupSpec& g) { return g.thread; }))
            extra["messages"] = {{"sent", ctx.msg_sent.load()},
                                 {"delivered", ctx.msg_delivered.load()},
                                 {"refused", ctx.msg_refused.load()},
                                 {"returned", ctx.msg_returned.load()},
                                 {"pending", ctx.msg_pending.load()}};
        r.summary.extra_json = extra.dump();
    }
    r.unfinished = r.stop.cancelled;
    r.completed = r.unfinished == 0;
    // Threads count as tasks, spawned and (once closed) completed, as in the simulator.
    uint64_t threads = threads_started(ctx);  // all exited: close_threads() waited for them
    r.summary.completed = r.stop.completed + threads;
    // Lost would be a task neither completed nor cancelled: stop() asserts
    // there is none, and this reports it from its own count.
    r.summary.lost = r.stop.spawned - r.stop.completed - r.stop.cancelled - r.stop.failed;
    {
        std::lock_guard g(ctx.mu);
        if (r.completed)
            r.summary.makespan_us = static_cast<double>(ctx.last_exit_ns) / 1e3;
    }
    if (!config.trace_path.empty())
        rt.write_trace(config.trace_path, fmt::format("schedkit run {} ({}, {})", spec.name,
                                                      r.summary.policy, r.summary.topology));
    return r;
}

}  // namespace schedkit
