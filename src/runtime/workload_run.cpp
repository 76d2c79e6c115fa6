// workload_run.cpp: a workload spec executed for real on the runtime.
#include <fmt/format.h>
#include <time.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "core/check.h"
#include "schedkit/runtime_workload.h"

namespace schedkit {

namespace {

using Clock = std::chrono::steady_clock;

uint64_t thread_cpu_ns() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

// RunContext is shared by the driver thread and every task of one run.
struct RunContext {
    RunContext(const WorkloadSpec& s, Runtime& r, double sc, uint64_t sd)
        : spec(s), rt(r), scale(sc), seed(sd) {}

    const WorkloadSpec& spec;
    Runtime& rt;
    double scale;
    uint64_t seed;
    std::atomic<uint64_t> next_index{0};  // per-task random streams
    std::mutex mu;                        // guards the fields below
    std::condition_variable all_done;
    uint64_t live = 0;
    uint64_t last_exit_ns = 0;

    uint64_t scaled(uint64_t ns) const {
        return static_cast<uint64_t>(std::llround(static_cast<double>(ns) * scale));
    }
    void started() {
        std::lock_guard g(mu);
        ++live;
    }
    void finished() {
        std::lock_guard g(mu);
        last_exit_ns = std::max(last_exit_ns, rt.now_ns());
        if (--live == 0)
            all_done.notify_all();
    }
};

// spin_for() burns `ns` of this thread's CPU time, yielding at the policy's
// time slice so that others (and the policy) get their turn.
Job<void> spin_for(RunContext& ctx, uint64_t ns) {
    while (ns > 0) {
        uint64_t slice = std::min(ns, std::max<uint64_t>(ctx.rt.time_slice_ns(), 1000));
        uint64_t start = thread_cpu_ns();
        while (thread_cpu_ns() - start < slice) {
        }
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
    o.group = group;
    return o;
}

Job<void> run_task(RunContext& ctx, int group, uint64_t index);

// spawn_task() starts one task of `group`; the run is not over until it ends.
JoinHandle<void> spawn_task(RunContext& ctx, int group) {
    uint64_t index = ctx.next_index.fetch_add(1, std::memory_order_relaxed);
    ctx.started();
    return ctx.rt.spawn(run_task(ctx, group, index), options_for(ctx, group, index));
}

Job<void> run_task(RunContext& ctx, int group, uint64_t index) {
    struct Done {
        RunContext& ctx;
        ~Done() { ctx.finished(); }
    } done{ctx};
    const GroupSpec& g = ctx.spec.groups[static_cast<size_t>(group)];
    // Each task draws from its own stream: tasks run concurrently, so one
    // shared generator would make the draws depend on the interleaving.
    Rng rng(ctx.seed ^ (0x9e3779b97f4a7c15ULL * (index + 1)));
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
                    for (int i = 0; i < s.spawn_count; ++i)
                        kids.push_back(spawn_task(ctx, s.spawn_group));
                    if (s.join)
                        for (auto& k : kids)
                            co_await k;
                    break;
                }
                case Step::Kind::Exit:
                    co_return;
            }
        }
    }
}

}  // namespace

RealRunResult run_workload(const WorkloadSpec& spec, const RealRunConfig& config) {
    Runtime rt(config.runtime);
    check_against(spec, rt.scheduler().topology());
    uint64_t seed = config.seed.value_or(spec.seed);
    RunContext ctx(spec, rt, config.scale, seed);
    Rng arrival_rng(seed);  // the simulator's stream: the same tasks at the same times
    std::vector<TaskArrival> starts = draw_arrivals(spec, arrival_rng);
    // One timeline for the driver: arrivals and policy switches in order.
    struct Event {
        uint64_t at_ns;
        int group;  // -1: a switch
        size_t switch_index;
    };
    std::vector<Event> timeline;
    for (const TaskArrival& a : starts)
        timeline.push_back({ctx.scaled(a.at_ns), a.group, 0});
    for (size_t i = 0; i < config.switches.size(); ++i)
        timeline.push_back({config.switches[i].first, -1, i});
    std::stable_sort(timeline.begin(), timeline.end(),
                     [](const Event& a, const Event& b) { return a.at_ns < b.at_ns; });

    rt.start();
    auto t0 = Clock::now() - std::chrono::nanoseconds(rt.now_ns());  // the runtime's epoch
    auto until = config.until_ns != 0 ? t0 + std::chrono::nanoseconds(config.until_ns)
                                      : Clock::time_point::max();
    for (const Event& e : timeline) {
        auto at = t0 + std::chrono::nanoseconds(e.at_ns);
        if (at > until)
            break;
        std::this_thread::sleep_until(at);
        if (e.group >= 0)
            spawn_task(ctx, e.group).detach();
        else
            rt.set_policy(config.switches[e.switch_index].second);  // a refusal is logged
    }
    {
        std::unique_lock lk(ctx.mu);
        ctx.all_done.wait_until(lk, until, [&] { return ctx.live == 0; });
    }
    RealRunResult r;
    r.stop = rt.stop(std::chrono::nanoseconds(0));
    RuntimeStats stats = rt.stats();
    r.summary = std::move(stats.summary);
    r.summary.workload = spec.name;
    r.summary.seed = seed;
    r.unfinished = r.stop.cancelled;
    r.completed = r.unfinished == 0;
    r.summary.completed = r.stop.completed;
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
