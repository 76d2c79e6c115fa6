// The simulator on hand-computable cases, determinism and conservation.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <queue>
#include <random>
#include <sstream>

#include "cli_runner.h"
#include "schedkit/policy_registry.h"
#include "schedkit/report.h"
#include "schedkit/sim.h"
#include "sim/event_queue.h"
#include "sim_support.h"

using namespace schedkit;
using namespace schedkit::test;

namespace {

// Drops the wall-clock fields, the only ones allowed to differ between runs.
nlohmann::json stable(const RunSummary& s) {
    nlohmann::json j = nlohmann::json::parse(summary_json(s));
    j.erase("events_per_s");
    j.erase("wall_s");
    return j;
}

}  // namespace

TEST(Sim, OneCpuTwoTasksRoundRobinAtTheQuantum) {
    WorkloadSpec w = spec({group("t", 2, {run(10 * kMs)})});
    SimConfig cfg = no_costs(3 * kMs);
    cfg.keep_trace = true;
    Simulator sim(w, Topology::flat(1), make_static_policy(), cfg);
    SimResult r = sim.run();
    ASSERT_TRUE(r.completed);
    // A3 B3 A3 B3 A3 B3 A1 B1: 20 ms, 8 dispatches.
    EXPECT_DOUBLE_EQ(r.summary.makespan_us, 20'000);
    EXPECT_EQ(r.summary.context_switches, 8u);
    EXPECT_EQ(r.summary.spawned, 2u);
    EXPECT_EQ(r.summary.completed, 2u);
    EXPECT_EQ(r.summary.lost, 0u);
    ASSERT_EQ(r.summary.cpus.size(), 1u);
    EXPECT_DOUBLE_EQ(r.summary.cpus[0].busy_us, 20'000);
    EXPECT_DOUBLE_EQ(r.summary.cpus[0].idle_us, 0);
    // Task waits: A 0, B 3, A 3, B 3, A 3, B 3, A 3, B 1 (ms).
    EXPECT_DOUBLE_EQ(r.summary.wait_us.max, 3'000);
    EXPECT_DOUBLE_EQ(r.summary.response_us.max, 20'000);  // B exits last
    std::string path = ::testing::TempDir() + "/two_tasks.json";
    sim.recorder().write_trace(path, "two tasks");
    auto trace = nlohmann::json::parse(slurp(path));
    std::vector<std::pair<double, double>> slices;
    for (const auto& e : trace["traceEvents"])
        if (e["ph"] == "X" && e["name"].get<std::string>().rfind("t#", 0) == 0)
            slices.emplace_back(e["ts"].get<double>(), e["dur"].get<double>());
    std::vector<std::pair<double, double>> want = {{0, 3000},     {3000, 3000},  {6000, 3000},
                                                   {9000, 3000},  {12000, 3000}, {15000, 3000},
                                                   {18000, 1000}, {19000, 1000}};
    EXPECT_EQ(slices, want);
}

TEST(Sim, ContextSwitchCostIsPaidPerSwitch) {
    WorkloadSpec w = spec({group("t", 2, {run(10 * kMs)})});
    SimConfig cfg = no_costs(3 * kMs);
    cfg.context_switch_ns = 2 * kUs;
    SimResult r = Simulator(w, Topology::flat(1), make_static_policy(), cfg).run();
    EXPECT_DOUBLE_EQ(r.summary.makespan_us, 20'000 + 8 * 2);
}

TEST(Sim, LoneTaskIsNotPreemptedAtTheQuantum) {
    WorkloadSpec w = spec({group("t", 1, {run(10 * kMs)})});
    SimResult r = Simulator(w, Topology::flat(1), make_static_policy(), no_costs(3 * kMs)).run();
    EXPECT_DOUBLE_EQ(r.summary.makespan_us, 10'000);
    EXPECT_EQ(r.summary.context_switches, 1u);
}

TEST(Sim, BlockedTaskLeavesTheCpuIdle) {
    // run 1 ms, block 5 ms, run 1 ms: 7 ms, 2 ms busy, 5 ms idle.
    WorkloadSpec w = spec({group("io", 1, {run(kMs), block(5 * kMs), run(kMs)})});
    SimResult r = Simulator(w, Topology::flat(1), make_static_policy(), no_costs(3 * kMs)).run();
    EXPECT_DOUBLE_EQ(r.summary.makespan_us, 7'000);
    EXPECT_DOUBLE_EQ(r.summary.cpus[0].busy_us, 2'000);
    EXPECT_DOUBLE_EQ(r.summary.cpus[0].idle_us, 5'000);
    EXPECT_EQ(r.summary.context_switches, 2u);
}

TEST(Sim, ForkJoinWaitsForChildren) {
    // Parent runs 1 ms, spawns 2 children of 4 ms on 2 CPUs, joins, runs 1 ms.
    WorkloadSpec w = spec({group("parent", 1, {run(kMs), spawn(1, 2, true), run(kMs)}),
                           group("child", 0, {run(4 * kMs)})});
    SimResult r = Simulator(w, Topology::flat(2), make_static_policy(), no_costs(3 * kMs)).run();
    ASSERT_TRUE(r.completed);
    EXPECT_EQ(r.summary.spawned, 3u);
    EXPECT_EQ(r.summary.completed, 3u);
    EXPECT_DOUBLE_EQ(r.summary.makespan_us, 6'000);
}

TEST(Sim, RepeatRunsTheBehaviorAgain) {
    WorkloadSpec w = spec({group("r", 1, {run(kMs), block(kMs)}, 3)});
    SimResult r = Simulator(w, Topology::flat(1), make_static_policy(), no_costs(3 * kMs)).run();
    EXPECT_DOUBLE_EQ(r.summary.makespan_us, 6'000);  // exits after the third block
    EXPECT_DOUBLE_EQ(r.summary.cpus[0].busy_us, 3'000);
}

TEST(Sim, UntilStopsTheRunWithoutLosingTasks) {
    WorkloadSpec w = spec({group("t", 4, {run(10 * kMs)})});
    SimConfig cfg = no_costs(3 * kMs);
    cfg.until_ns = 5 * kMs;
    SimResult r = Simulator(w, Topology::flat(2), make_static_policy(), cfg).run();
    EXPECT_FALSE(r.completed);
    EXPECT_DOUBLE_EQ(r.summary.makespan_us, 5'000);
    EXPECT_EQ(r.unfinished, 4u);
    EXPECT_EQ(r.summary.lost, 0u);
}

TEST(Sim, MigrationCostGrowsWithTheLevelCrossed) {
    SimConfig cfg;
    EXPECT_LT(cfg.migration_cost_ns[static_cast<size_t>(LevelKind::SMT)],
              cfg.migration_cost_ns[static_cast<size_t>(LevelKind::LLC)]);
    EXPECT_LT(cfg.migration_cost_ns[static_cast<size_t>(LevelKind::LLC)],
              cfg.migration_cost_ns[static_cast<size_t>(LevelKind::PKG)]);
    EXPECT_LT(cfg.migration_cost_ns[static_cast<size_t>(LevelKind::PKG)],
              cfg.migration_cost_ns[static_cast<size_t>(LevelKind::NUMA)]);
}

TEST(Sim, SameSeedSameBytes) {
    WorkloadSpec w = spec({group("mix", 40, {run(2 * kMs), block(kMs), run(kMs)}, 3)});
    w.groups[0].behavior[0].duration = Duration{Duration::Kind::Exp, 2 * kMs, 0};
    w.groups[0].arrival = Arrival{Arrival::Kind::Poisson, 0, 2000};
    auto once = [&](const std::string& trace) {
        SimConfig cfg;
        cfg.keep_trace = true;
        Simulator sim(w, Topology::synthetic("pack:2 core:2 pu:2"), make_static_policy(), cfg);
        SimResult r = sim.run();
        sim.recorder().write_trace(trace, "det");
        return r;
    };
    std::string p1 = ::testing::TempDir() + "/det1.json", p2 = ::testing::TempDir() + "/det2.json";
    SimResult a = once(p1), b = once(p2);
    EXPECT_EQ(stable(a.summary), stable(b.summary));
    EXPECT_EQ(slurp(p1), slurp(p2));
    EXPECT_GT(slurp(p1).size(), 1000u);
    // A different seed gives a different run.
    SimConfig cfg;
    cfg.seed = 99;
    SimResult c =
        Simulator(w, Topology::synthetic("pack:2 core:2 pu:2"), make_static_policy(), cfg).run();
    EXPECT_NE(stable(a.summary)["makespan_us"], stable(c.summary)["makespan_us"]);
}

// Story 1 in the simulator: CPU 0's tasks are all blocked at once while CPU 1
// works; CPU 0 is idle (never an error) and the run completes.
TEST(Sim, AllBlockedCpuIsIdleAndRunCompletes) {
    WorkloadSpec w = spec({group("sleepers", 2, {run(kUs), block(20 * kMs), run(kUs)}),
                           group("worker", 1, {run(15 * kMs)})});
    w.groups[0].affinity = CpuSet::parse("0");
    w.groups[1].affinity = CpuSet::parse("1");
    SimResult r = Simulator(w, Topology::flat(2), make_static_policy(), no_costs(3 * kMs)).run();
    ASSERT_TRUE(r.completed);
    EXPECT_EQ(r.summary.completed, 3u);
    EXPECT_GT(r.summary.cpus[0].idle_us, 19'000);
}

// Conservation over random specs: every spawned task completes exactly once,
// nothing is lost, and the core's invariants hold at the end (checked by run()).
RC_GTEST_PROP(SimProperty, ConservationOverRandomSpecs, ()) {
    int cpus = *rc::gen::inRange(1, 9);
    std::vector<GroupSpec> groups = random_groups(cpus);
    WorkloadSpec w = spec(groups, *rc::gen::inRange<uint64_t>(0, 1000));
    SimConfig cfg;
    cfg.keep_trace = true;
    Simulator sim(w, Topology::flat(cpus), make_static_policy(), cfg);
    SimResult r = sim.run();
    RC_ASSERT(r.completed);
    RC_ASSERT(r.summary.lost == 0u);
    RC_ASSERT(r.summary.completed == r.summary.spawned);
    // No task on two CPUs at once: a task's run slices never overlap.
    std::string path = ::testing::TempDir() + "/conservation.json";
    sim.recorder().write_trace(path, "conservation");
    std::map<uint64_t, std::vector<std::pair<double, double>>> runs;
    // Keep the parsed document alive: a range-for over a member of a
    // temporary iterates freed memory (the temporary dies first in C++20).
    const nlohmann::json trace = nlohmann::json::parse(slurp(path));
    for (const auto& e : trace["traceEvents"])
        if (e["ph"] == "X" && e.contains("args") && e["args"].contains("task"))
            runs[e["args"]["task"]].emplace_back(e["ts"], e["dur"]);
    for (auto& [task, slices] : runs) {
        std::sort(slices.begin(), slices.end());
        for (size_t i = 1; i < slices.size(); ++i)
            RC_ASSERT(slices[i].first >= slices[i - 1].first + slices[i - 1].second - 1e-6);
    }
}

// The radix event queue pops exactly as a binary heap on (time, insertion
// order) would, whatever mix of pushes and pops, ties and time ranges; the
// simulator's determinism rests on it. Pushes never precede the last pop, as
// in a simulation, and some land exactly on it (the "now" events).
RC_GTEST_PROP(SimProperty, EventQueuePopsInTimeThenInsertionOrder, ()) {
    struct Ref {
        uint64_t time, seq;
        uint32_t target;
        bool operator>(const Ref& o) const { return time != o.time ? time > o.time : seq > o.seq; }
    };
    std::priority_queue<Ref, std::vector<Ref>, std::greater<>> ref;
    sim::EventQueue q;
    std::mt19937_64 rng(*rc::gen::arbitrary<uint64_t>());
    // Time range: ties to sparse, up to level 6 of the queue's 8 (3,000
    // pops of at most 2^51 each cannot overflow).
    const int shift = *rc::gen::inRange(0, 52);
    const int ops = *rc::gen::inRange(1, 3000);
    uint64_t now = 0, seq = 0;
    for (int i = 0; i < ops; ++i) {
        if (ref.empty() || rng() % 3 != 0) {
            uint64_t r = rng();
            uint64_t t = r % 4 == 0 ? now : now + ((r >> 2) & ((uint64_t{1} << shift) - 1));
            auto target = static_cast<uint32_t>(i);
            q.push(t, sim::EventKind::Wake, target);
            ref.push(Ref{t, seq++, target});
            continue;
        }
        RC_ASSERT(q.size() == ref.size());
        RC_ASSERT(q.top_time() == ref.top().time);
        sim::Event e = q.pop();
        RC_ASSERT(e.time_ns == ref.top().time);
        RC_ASSERT(e.target == ref.top().target);
        now = e.time_ns;
        ref.pop();
    }
    while (!ref.empty()) {
        RC_ASSERT(q.pop().target == ref.top().target);
        ref.pop();
    }
    RC_ASSERT(q.empty());
}

// Times across the whole 64-bit range (every level of the queue, the top
// byte included) come out in order, ties first-in first-out, and a push
// before the last popped time is refused.
TEST(Sim, EventQueueSpansAllLevelsAndRefusesThePast) {
    sim::EventQueue q;
    const uint64_t top = UINT64_MAX;
    const std::vector<uint64_t> times = {top, uint64_t{1} << 63, 5, top, 300, 1u << 20, 5, 0};
    for (size_t i = 0; i < times.size(); ++i)
        q.push(times[i], sim::EventKind::Wake, static_cast<uint32_t>(i));
    std::vector<uint32_t> order;
    while (!q.empty()) {
        uint64_t at = q.top_time();
        sim::Event e = q.pop();
        EXPECT_EQ(e.time_ns, at);
        order.push_back(e.target);
        if (e.target == 4)  // at 300: "now" events go after the ones queued for 300
            q.push(300, sim::EventKind::Resched, 100);
    }
    EXPECT_EQ(order, (std::vector<uint32_t>{7, 2, 6, 4, 100, 5, 1, 0, 3}));
    sim::EventQueue past;
    past.push(10, sim::EventKind::Wake, 0);
    past.pop();
    EXPECT_DEATH(past.push(9, sim::EventKind::Wake, 1), "before the simulated clock");
}

// SingleThreadRecorder (the simulator's) records exactly what the locking
// Recorder records: same summary, same trace bytes.
TEST(Sim, SingleThreadRecorderMatchesRecorder) {
    Recorder locked(3, true);
    SingleThreadRecorder unlocked(3, true);
    std::vector<Task> t(4);
    for (size_t i = 0; i < t.size(); ++i) {
        t[i].id = i + 1;
        t[i].name = "t" + std::to_string(i);
        t[i].arrival_ns = 100 * i;
    }
    auto feed = [&](Recorder& r) {
        for (int k = 0; k < 50; ++k) {
            Task& a = t[static_cast<size_t>(k) % t.size()];
            int cpu = k % 3;
            uint64_t at = 1000 * static_cast<uint64_t>(k);
            r.on_queue_length(cpu, k % 4, at);
            r.on_wait(a, static_cast<uint64_t>(k * 7));
            r.on_switch(cpu, nullptr, a, at);
            r.on_run(cpu, a, at, at + 900);
            if (k % 5 == 0)
                r.on_migrate(a, cpu, (cpu + 1) % 3, at + 900);
            if (k % 7 == 0)
                r.on_exit(a, at + 900);
        }
    };
    feed(locked);
    feed(unlocked);
    RunSummary a, b;
    locked.summarize(a, 60'000);
    unlocked.summarize(b, 60'000);
    EXPECT_EQ(summary_json(a), summary_json(b));
    std::string pa = ::testing::TempDir() + "rec_locked.json";
    std::string pb = ::testing::TempDir() + "rec_unlocked.json";
    locked.write_trace(pa, "x");
    unlocked.write_trace(pb, "x");
    EXPECT_EQ(slurp(pa), slurp(pb));
    EXPECT_NE(slurp(pa).find("migration"), std::string::npos);
    std::remove(pa.c_str());
    std::remove(pb.c_str());
}
