// stats.cpp: Runtime::stats(): the simulator's summary shape plus workers.
#include <fmt/format.h>

#include <mutex>
#include <nlohmann/json.hpp>

#include "runtime/runtime_core.h"
#include "runtime/thread_fiber.h"

namespace schedkit {

namespace detail {

RuntimeStats RuntimeCore::stats() const {
    RuntimeStats st;
    RunSummary& s = st.summary;
    uint64_t end = stopped_ ? stop_ns_ : now_ns();
    s.workload = "runtime";
    s.topology = sched.topology().source();
    {
        RcuThreadScope scope;
        RcuRead r;
        s.policy = sched.policy().name();
        s.policy_stats_json = sched.policy().stats_json();
    }
    // Fast-path tasks that ended without the core ever seeing them.
    uint64_t fast_only = 0;
    for (const auto& w : workers)
        fast_only += w->fast_tasks.load(std::memory_order_relaxed);
    s.spawned = sched.spawned() + fast_only;
    if (recorder) {
        recorder->summarize(s, end);
    } else {
        for (const auto& w : workers) {
            CpuSummary c;
            c.cpu = w->cpu;
            c.busy_us = static_cast<double>(w->busy_ns.load(std::memory_order_relaxed)) / 1e3;
            c.idle_us = static_cast<double>(end) / 1e3 - c.busy_us;
            s.cpus.push_back(c);
        }
        s.makespan_us = static_cast<double>(end) / 1e3;
    }
    uint64_t slices = 0;
    for (const auto& w : workers) {
        WorkerStats ws;
        const RunQueue& rq = sched.rq(w->cpu);
        ws.cpu = w->cpu;
        ws.host_cpu = w->host_cpu;
        ws.busy_ns = w->busy_ns.load(std::memory_order_relaxed);
        ws.idle_ns = w->idle_ns.load(std::memory_order_relaxed);
        ws.slices = w->slices.load(std::memory_order_relaxed);
        ws.parks = w->parks.load(std::memory_order_relaxed);
        ws.fast_tasks = w->fast_tasks.load(std::memory_order_relaxed);
        ws.fast_steals = w->fast_steals.load(std::memory_order_relaxed);
        ws.fast_promoted = w->fast_promoted.load(std::memory_order_relaxed);
        ws.remote_wakes = w->remote_wakes.load(std::memory_order_relaxed);
        {
            std::lock_guard g(rq.lock);
            ws.context_switches = rq.nr_switches;
            ws.migrations_in = rq.migrations_in;
            ws.migrations_out = rq.migrations_out.load(std::memory_order_relaxed);
        }
        ws.queued = rq.nr_queued.load(std::memory_order_relaxed);
        ws.parked = w->parked.load(std::memory_order_relaxed);
        ws.sleeping = rq.sleeping.load(std::memory_order_relaxed);
        slices += ws.slices;
        st.workers.push_back(std::move(ws));
    }
    {
        std::lock_guard g(threads_mu_);
        for (ThreadFiber* t : threads_) {
            int cpu = std::atomic_ref<const int>(t->task().cpu).load(std::memory_order_relaxed);
            if (cpu >= 0 && cpu < static_cast<int>(st.workers.size()))
                st.workers[static_cast<size_t>(cpu)].threads.emplace_back(
                    t->task().name, t->busy_pct.load(std::memory_order_relaxed));
        }
    }
    s.events = slices;
    s.wall_s = static_cast<double>(end) / 1e9;
    s.events_per_s = s.wall_s > 0 ? static_cast<double>(slices) / s.wall_s : 0;
    // Exited tasks are completed; live ones are unfinished (and so, in
    // "unfinished" below, are cancelled ones); a task is lost only if the
    // counts do not add up (an invariant the core asserts too).
    TaskCounts counts = task_counts();
    uint64_t exited = sched.exited() + fast_only;
    uint64_t unfinished = sched.alive();
    s.completed = exited;
    s.lost = s.spawned - exited - unfinished;
    std::string switches;
    {
        std::lock_guard g(switch_mu_);
        switches = switch_log_;
    }
    s.extra_json = fmt::format(
        R"({{"executor":"runtime","unfinished":{},"tasks_cancelled":{},"tasks_failed":{},)"
        R"("messages_delivered":{},"policy_switches":[{}]}})",
        unfinished + counts.cancelled, counts.cancelled, counts.failed, messages_delivered.load(),
        switches);
    return st;
}

}  // namespace detail

std::string RuntimeStats::json() const {
    using Json = nlohmann::ordered_json;
    Json j = Json::parse(summary_json(summary));
    Json ws = Json::array();
    for (const WorkerStats& w : workers) {
        Json o = Json::object();
        o["cpu"] = w.cpu;
        o["host_cpu"] = w.host_cpu;
        o["busy_us"] = static_cast<double>(w.busy_ns) / 1e3;
        o["idle_us"] = static_cast<double>(w.idle_ns) / 1e3;
        o["slices"] = w.slices;
        o["context_switches"] = w.context_switches;
        o["migrations_in"] = w.migrations_in;
        o["migrations_out"] = w.migrations_out;
        o["parks"] = w.parks;
        o["fast_tasks"] = w.fast_tasks;
        o["fast_steals"] = w.fast_steals;
        o["fast_promoted"] = w.fast_promoted;
        o["remote_wakes"] = w.remote_wakes;
        o["queued"] = w.queued;
        o["parked"] = w.parked;
        o["sleeping"] = w.sleeping;
        Json threads = Json::array();
        for (const auto& [name, pct] : w.threads)
            threads.push_back(Json{{"name", name}, {"busy_pct", pct}});
        o["threads"] = std::move(threads);
        ws.push_back(std::move(o));
    }
    j["workers"] = std::move(ws);
    return j.dump();
}

}  // namespace schedkit
