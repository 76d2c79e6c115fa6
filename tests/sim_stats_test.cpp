// The simulator's statistics: per-group figures and slowdown, switch costs
// counted as busy everywhere, cost settings, and run-queue counters that
// match the queues.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli_runner.h"
#include "schedkit/policy_registry.h"
#include "schedkit/report.h"
#include "schedkit/sim.h"
#include "sim_support.h"

using namespace schedkit;
using namespace schedkit::test;

TEST(SimStats, GroupsAndSlowdownHandComputed) {
    // One CPU, FIFO order: short runs [0, 1) ms, long [1, 5) ms.
    WorkloadSpec w = spec({group("short", 1, {run(1 * kMs)}), group("long", 1, {run(4 * kMs)})});
    SimResult r = Simulator(w, Topology::flat(1), make_static_policy(), no_costs(10 * kMs)).run();
    ASSERT_TRUE(r.completed);
    const RunSummary& s = r.summary;
    EXPECT_DOUBLE_EQ(s.wait_us.mean, 500.0);  // waits 0 and 1 ms
    EXPECT_DOUBLE_EQ(s.response_us.mean, 3'000.0);
    ASSERT_EQ(s.groups.size(), 2u);
    EXPECT_EQ(s.groups[0].name, "short");
    EXPECT_EQ(s.groups[0].completed, 1u);
    EXPECT_DOUBLE_EQ(s.groups[0].response_us.mean, 1'000.0);
    EXPECT_DOUBLE_EQ(s.groups[0].slowdown.mean, 1.0);
    EXPECT_EQ(s.groups[1].name, "long");
    EXPECT_DOUBLE_EQ(s.groups[1].wait_us.mean, 1'000.0);
    EXPECT_DOUBLE_EQ(s.groups[1].response_us.mean, 5'000.0);
    EXPECT_DOUBLE_EQ(s.groups[1].slowdown.mean, 1.25);
}

TEST(SimStats, SlowdownIsOverSampledDemandNotCosts) {
    // A 2 us switch before each of the two runs: the long task's response
    // is 5.004 ms for a 4 ms demand (the costs are not service).
    WorkloadSpec w = spec({group("short", 1, {run(1 * kMs)}), group("long", 1, {run(4 * kMs)})});
    SimConfig cfg = no_costs(10 * kMs);
    cfg.context_switch_ns = 2 * kUs;
    SimResult r = Simulator(w, Topology::flat(1), make_static_policy(), cfg).run();
    ASSERT_EQ(r.summary.groups.size(), 2u);
    EXPECT_DOUBLE_EQ(r.summary.groups[0].slowdown.mean, 1.002);
    EXPECT_DOUBLE_EQ(r.summary.groups[1].slowdown.mean, 5.004 / 4.0);
}

TEST(SimStats, SwitchCostIsBusyInTimesAndEnergyAlike) {
    // Two 10 ms tasks round-robin at 3 ms: 8 dispatches, each a switch.
    WorkloadSpec w = spec({group("t", 2, {run(10 * kMs)})});
    SimConfig cfg = no_costs(3 * kMs);
    cfg.context_switch_ns = 2 * kUs;
    SimResult r = Simulator(w, Topology::flat(1), make_static_policy(), cfg).run();
    ASSERT_TRUE(r.completed);
    EXPECT_EQ(r.summary.context_switches, 8u);
    EXPECT_DOUBLE_EQ(r.summary.makespan_us, 20'016.0);
    EXPECT_DOUBLE_EQ(r.summary.cpus[0].busy_us, 20'016.0);  // runs + 8 switches
    EXPECT_DOUBLE_EQ(r.summary.cpus[0].idle_us, 0.0);
    // Energy prices the same busy time at full-speed power and no idle.
    PowerModel pm;
    EXPECT_NEAR(r.energy_j, 20'016e-6 * pm.busy_w(1000), 1e-12);
}

TEST(SimStats, SpecCostsReplaceTheConfig) {
    WorkloadSpec w = spec({group("t", 2, {run(10 * kMs)})});
    w.costs.switch_ns = 5 * kUs;
    SimResult r = Simulator(w, Topology::flat(1), make_static_policy(), no_costs(3 * kMs)).run();
    EXPECT_DOUBLE_EQ(r.summary.makespan_us, 20'040.0);  // 8 switches of 5 us
}

TEST(SimStats, MigrationCostFromSpecIsCharged) {
    // Blocking and CPU-bound tasks on two packages under steal: a task that runs on another CPU
    // than last time pays the spec's cost once, as extra run time.
    WorkloadSpec w = spec({group("io", 8, {run(1 * kMs), block(2 * kMs), run(500 * kUs)}, 2),
                           group("cpu", 3, {run(8 * kMs)})});
    Topology topo = Topology::load("pack:2 core:1 pu:1");
    SimResult plain = Simulator(w, topo, make_policy("steal"), no_costs(3 * kMs)).run();
    for (auto& c : w.costs.migration_ns)
        c = 100 * kUs;
    SimResult costly = Simulator(w, topo, make_policy("steal"), no_costs(3 * kMs)).run();
    ASSERT_TRUE(costly.completed);
    auto busy = [](const SimResult& r) {
        return r.summary.cpus[0].busy_us + r.summary.cpus[1].busy_us;
    };
    EXPECT_DOUBLE_EQ(busy(plain), 48'000.0);
    double charges = (busy(costly) - 48'000.0) / 100.0;
    EXPECT_GE(charges, 1.0);
    EXPECT_DOUBLE_EQ(charges, std::round(charges));
    EXPECT_LE(charges, static_cast<double>(costly.summary.migrations));
}

// Replays each CPU's run-queue counter track from the trace against its run
// slices: with no switch cost, a CPU never sits idle while its counter says
// tasks wait there, and every counter ends at 0 once the run is done. Stale
// counters (a steal or pull that did not report the source's new length)
// break both.
void expect_counters_match_slices(const std::string& policy) {
    SCOPED_TRACE(policy);
    // Blocking tasks on 4 CPUs: queues fill and drain unevenly, so the
    // balancer moves tasks all the time.
    WorkloadSpec w = spec({group("io", 24, {run(1 * kMs), block(2 * kMs), run(500 * kUs)}, 4),
                           group("cpu", 6, {run(8 * kMs)})});
    SimConfig cfg = no_costs(1 * kMs);
    cfg.keep_trace = true;
    Simulator sim(w, Topology::flat(4), make_policy(policy), cfg);
    SimResult r = sim.run();
    ASSERT_TRUE(r.completed);
    ASSERT_GT(r.summary.migrations, 0u) << "the check needs migrations";
    std::string path = ::testing::TempDir() + "/counters_" + policy + ".json";
    sim.recorder().write_trace(path, "counters");
    auto trace = nlohmann::json::parse(slurp(path));
    std::remove(path.c_str());

    std::map<int, std::vector<std::pair<double, double>>> slices;  // per CPU
    std::map<int, std::vector<std::pair<double, int>>> counters;
    for (const auto& e : trace["traceEvents"]) {
        if (e["ph"] == "X" && e["cat"] == "run") {
            slices[e["tid"].get<int>() - 1].emplace_back(
                e["ts"].get<double>(), e["ts"].get<double>() + e["dur"].get<double>());
        } else if (e["ph"] == "C") {
            int cpu =
                std::stoi(e["name"].get<std::string>().substr(std::string("runqueue CPU ").size()));
            counters[cpu].emplace_back(e["ts"].get<double>(), e["args"]["len"].get<int>());
        }
    }
    double end = r.summary.makespan_us;
    for (int cpu = 0; cpu < 4; ++cpu) {
        SCOPED_TRACE(cpu);
        auto& cs = counters[cpu];
        ASSERT_FALSE(cs.empty());
        EXPECT_EQ(cs.back().second, 0) << "a queue that ended non-empty";
        // Idle gaps: before the first slice, between slices, after the last.
        std::vector<std::pair<double, double>> gaps;
        double t = 0;
        for (auto [from, to] : slices[cpu]) {
            if (from > t)
                gaps.emplace_back(t, from);
            t = std::max(t, to);
        }
        if (end > t)
            gaps.emplace_back(t, end);
        // The counter's value at time x: the last sample at or before x.
        auto value_at = [&](double x) {
            int v = 0;
            for (auto [at, len] : cs) {
                if (at > x)
                    break;
                v = len;
            }
            return v;
        };
        for (auto [from, to] : gaps) {
            // Every sample inside the gap, and the value it opens with.
            EXPECT_EQ(value_at(from + 1e-3), 0) << "idle at " << from << " us with tasks queued";
            for (auto [at, len] : cs) {
                if (at > from && at < to) {
                    EXPECT_EQ(len, 0) << "idle CPU shows " << len << " queued at " << at << " us";
                }
            }
        }
    }
}

TEST(SimStats, RunQueueCountersMatchTheQueuesUnderSteal) {
    expect_counters_match_slices("steal");
}

TEST(SimStats, RunQueueCountersMatchTheQueuesUnderFair) {
    expect_counters_match_slices("fair");
}
