// Confidence intervals (Student t) and the parallel grid of simulations.
#include <gtest/gtest.h>

#include "schedkit/experiment.h"
#include "schedkit/policy_registry.h"
#include "schedkit/report.h"

using schedkit::estimate;
using schedkit::GridRun;
using schedkit::student_t975;

TEST(Experiment, StudentTQuantilesMatchTheTables) {
    EXPECT_EQ(student_t975(0), 0);
    EXPECT_NEAR(student_t975(1), 12.7062, 1e-4);
    EXPECT_NEAR(student_t975(4), 2.7764, 1e-4);
    EXPECT_NEAR(student_t975(30), 2.0423, 1e-4);
    // Above the table: the expansion, against published values.
    EXPECT_NEAR(student_t975(31), 2.0395, 2e-4);
    EXPECT_NEAR(student_t975(60), 2.0003, 2e-4);
    EXPECT_NEAR(student_t975(120), 1.9799, 2e-4);
    EXPECT_NEAR(student_t975(100000), 1.9600, 2e-4);
}

TEST(Experiment, EstimateIsMeanAndTHalfWidth) {
    auto e = estimate({1, 2, 3, 4, 5});
    EXPECT_EQ(e.n, 5u);
    EXPECT_DOUBLE_EQ(e.mean, 3);
    // s = sqrt(2.5), half-width = t(0.975, 4) * s / sqrt(5).
    EXPECT_NEAR(e.ci95, 2.7764 * std::sqrt(2.5) / std::sqrt(5.0), 1e-3);
    EXPECT_EQ(e.values.size(), 5u);
    EXPECT_EQ(estimate({7}).ci95, 0);
    EXPECT_EQ(estimate({7}).mean, 7);
    EXPECT_EQ(estimate({}).n, 0u);
    EXPECT_EQ(estimate({2, 2, 2}).ci95, 0);
}

TEST(Experiment, GridResultsDoNotDependOnJobs) {
    auto spec = schedkit::parse_workload_file(std::string(SCHEDKIT_SOURCE_DIR) +
                                              "/examples/workloads/imbalanced.yaml");
    auto topo = schedkit::Topology::load("pack:1 core:8 pu:1");
    auto make_runs = [] {
        std::vector<GridRun> runs;
        for (const char* p : {"static", "fair", "steal"})
            for (uint64_t seed = 1; seed <= 3; ++seed)
                runs.push_back(GridRun{p, seed, 0, {}, false});
        return runs;
    };
    auto serial = make_runs(), parallel = make_runs();
    schedkit::GridOptions one, two;
    two.jobs = 2;
    size_t calls = 0;
    two.on_done = [&](size_t done, size_t total, const GridRun&) {
        EXPECT_EQ(done, ++calls);
        EXPECT_EQ(total, 9u);
    };
    schedkit::run_grid(spec, topo, serial, one);
    schedkit::run_grid(spec, topo, parallel, two);
    EXPECT_EQ(calls, 9u);
    for (size_t i = 0; i < serial.size(); ++i) {
        ASSERT_TRUE(serial[i].ran && parallel[i].ran);
        auto a = serial[i].result.summary, b = parallel[i].result.summary;
        a.wall_s = b.wall_s = a.events_per_s = b.events_per_s = 0;
        EXPECT_EQ(schedkit::summary_json(a), schedkit::summary_json(b)) << i;
        EXPECT_EQ(a.seed, serial[i].seed);
    }
    // Different seeds draw different runs.
    EXPECT_NE(serial[0].result.summary.makespan_us, serial[1].result.summary.makespan_us);
}

TEST(Experiment, AStopFlagSkipsTheRest) {
    auto spec = schedkit::parse_workload_file(std::string(SCHEDKIT_SOURCE_DIR) +
                                              "/examples/workloads/imbalanced.yaml");
    auto topo = schedkit::Topology::load("pack:1 core:4 pu:1");
    std::vector<GridRun> runs(4, GridRun{"static", 1, 0, {}, false});
    std::atomic<bool> stop{false};
    schedkit::GridOptions o;
    o.stop = &stop;
    o.on_done = [&](size_t, size_t, const GridRun&) { stop = true; };
    schedkit::run_grid(spec, topo, runs, o);
    EXPECT_TRUE(runs[0].ran);
    EXPECT_FALSE(runs[1].ran);
    EXPECT_FALSE(runs[3].ran);
}
