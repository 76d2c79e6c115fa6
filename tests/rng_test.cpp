// Random streams: the generator against its published reference outputs,
// and per-task streams that give every policy exactly the same tasks.
#include "schedkit/rng.h"

#include <gtest/gtest.h>

#include <set>

#include "schedkit/policy_registry.h"
#include "schedkit/sim.h"
#include "sim_support.h"

using namespace schedkit;
using namespace schedkit::test;

TEST(Rng, Xoshiro256StarStarReferenceOutputs) {
    // From the state {1, 2, 3, 4}, as computed by the authors' C code.
    Rng r = Rng::from_state(1, 2, 3, 4);
    EXPECT_EQ(r(), 11520u);
    EXPECT_EQ(r(), 0u);
    EXPECT_EQ(r(), 1509978240u);
    EXPECT_EQ(r(), 1215971899390074240u);
}

TEST(Rng, SplitMix64ReferenceOutput) {
    uint64_t state = 0;
    EXPECT_EQ(splitmix64_next(state), 0xe220a8397b1dcdafULL);
    EXPECT_EQ(splitmix64_next(state), 0x6e789e6aa1b965f4ULL);
}

TEST(Rng, StreamsOfNearbyPathsDiffer) {
    std::set<uint64_t> firsts;
    for (uint64_t g = 0; g < 8; ++g)
        for (uint64_t i = 0; i < 64; ++i) {
            Rng r(task_stream(1, static_cast<int>(g), i));
            firsts.insert(r());
        }
    Rng a(child_stream(task_stream(1, 0, 0), 0));
    firsts.insert(a());
    EXPECT_EQ(firsts.size(), 8u * 64u + 1u);
    EXPECT_NE(task_stream(1, 0, 0), task_stream(2, 0, 0));
}

// Every policy sees exactly the same tasks: the same sampled work and the
// same critical path (which assigns each sample to its task), however the
// policies order the runs, blocks and spawns.
TEST(Rng, EveryPolicySeesTheSameTasks) {
    Duration exp_run{Duration::Kind::Exp, 2 * kMs, 0};
    Duration exp_block{Duration::Kind::Exp, 1 * kMs, 0};
    Step r{Step::Kind::Run, exp_run, -1, 1, false, {}};
    Step b{Step::Kind::Block, exp_block, -1, 1, false, {}};
    GroupSpec parent = group("parent", 6, {r, spawn(1, 3, true), b, r}, 2);
    GroupSpec child = group("child", 0, {r, b, r});
    GroupSpec solo = group("solo", 20, {r});
    solo.arrival.kind = Arrival::Kind::Poisson;
    solo.arrival.rate_per_s = 2000;
    WorkloadSpec w = spec({parent, child, solo}, 7);
    double work = -1, path = -1;
    for (const char* p : {"static", "fair", "steal", "fifo", "dynamic", "governor"}) {
        SCOPED_TRACE(p);
        SimResult res =
            Simulator(w, Topology::synthetic("pack:1 core:4 pu:1"), make_policy(p)).run();
        ASSERT_TRUE(res.completed);
        if (work < 0) {
            work = res.work_us;
            path = res.critical_path_us;
        }
        EXPECT_DOUBLE_EQ(res.work_us, work);
        EXPECT_DOUBLE_EQ(res.critical_path_us, path);
    }
    // Another seed gives other tasks.
    w.seed = 8;
    SimResult other =
        Simulator(w, Topology::synthetic("pack:1 core:4 pu:1"), make_policy("static")).run();
    EXPECT_NE(other.work_us, work);
}
