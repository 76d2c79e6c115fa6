// The steal, governor, dynamic and static policies on hand-built states.
#include <gtest/gtest.h>

#include <set>

#include "policy/governor_policy.h"
#include "policy_support.h"
#include "schedkit/governor.h"
#include "schedkit/policy_registry.h"

using namespace schedkit;
using schedkit::test::HandBuilt;

namespace {

constexpr uint64_t kMs = 1'000'000;

bool rehome_flag(const Task& t) {
    return std::atomic_ref<bool>(const_cast<bool&>(t.rehome)).load();
}

}  // namespace

TEST(Steal, IdleCpuStealsHalfOfTheVictimsQueue) {
    HandBuilt h(Topology::flat(2));
    for (int i = 0; i < 7; ++i)
        h.put(1);
    h.run(1);
    h.use(make_policy("steal"));
    Pick p = h.s().pick_next(0, kMs);  // about to idle: newidle steals
    ASSERT_EQ(p.status, PickStatus::Task);
    EXPECT_EQ(h.s().rq(0).nr_running.load(), 3);  // half of 6, one already running
    EXPECT_EQ(h.s().rq(1).nr_queued.load(), 3);
    h.s().check_invariants();
}

TEST(Steal, ClosestDomainFirst) {
    for (uint64_t seed = 1; seed <= 8; ++seed) {
        HandBuilt h(Topology::synthetic("numa:2 l3:1 core:2 pu:2"));
        for (int i = 0; i < 11; ++i)
            h.put(5);  // far: the other node
        h.run(5);
        for (int i = 0; i < 3; ++i)
            h.put(1);  // near: the SMT sibling
        h.run(1);
        h.use(make_policy("steal:seed=" + std::to_string(seed)));
        ASSERT_EQ(h.s().pick_next(0, kMs).status, PickStatus::Task);
        EXPECT_EQ(h.s().rq(1).nr_queued.load(), 1) << "seed " << seed;
        EXPECT_EQ(h.s().rq(5).nr_queued.load(), 10) << "seed " << seed;
    }
}

TEST(Steal, PinnedTasksAreNotStolen) {
    HandBuilt h(Topology::flat(2));
    for (int i = 0; i < 4; ++i)
        h.put(1, "1");
    h.run(1);
    h.use(make_policy("steal"));
    EXPECT_EQ(h.s().pick_next(0, kMs).status, PickStatus::Idle);
    EXPECT_EQ(h.s().rq(1).nr_queued.load(), 3);
}

// Victims are random but reproducible: the same seed picks the same victim,
// and different seeds do not always agree.
TEST(Steal, VictimsAreSeededPerCpu) {
    auto victim = [](uint64_t seed) {
        HandBuilt h(Topology::flat(8));
        for (int c = 1; c < 8; ++c) {
            for (int i = 0; i < 3; ++i)
                h.put(c);
            h.run(c);
        }
        h.use(make_policy("steal:seed=" + std::to_string(seed)));
        h.s().pick_next(0, kMs);
        for (int c = 1; c < 8; ++c)
            if (h.s().rq(c).nr_queued.load() < 2)
                return c;
        return -1;
    };
    std::set<int> seen;
    for (uint64_t seed = 1; seed <= 12; ++seed) {
        int v = victim(seed);
        EXPECT_EQ(v, victim(seed));
        EXPECT_GE(v, 1);
        seen.insert(v);
    }
    EXPECT_GT(seen.size(), 2u);
}

TEST(Governor, FrequencyRule) {
    using governor::next_freq_level;
    EXPECT_EQ(next_freq_level(0.5, 4), kMinFreqLevel);
    EXPECT_EQ(next_freq_level(30, 4), 3);
    EXPECT_EQ(next_freq_level(30, kMinFreqLevel), kMinFreqLevel);
    EXPECT_EQ(next_freq_level(49.9, 1), 0);
    EXPECT_EQ(next_freq_level(50, 1), 2);
    EXPECT_EQ(next_freq_level(98.9, 3), 4);
    EXPECT_EQ(next_freq_level(99, 0), kMaxFreqLevel);
    EXPECT_EQ(next_freq_level(100, kMaxFreqLevel), kMaxFreqLevel);
    EXPECT_EQ(next_freq_level(70, kMaxFreqLevel), kMaxFreqLevel);
    EXPECT_LT(freq_speed_pm(kMinFreqLevel), freq_speed_pm(kMaxFreqLevel));
    EXPECT_EQ(freq_speed_pm(-1), 1000u);
}

TEST(Governor, ServiceIsSharedAndReferenceCounted) {
    EXPECT_EQ(GovernorService::alive(), 0);
    auto a = acquire_governor();
    auto b = acquire_governor();
    EXPECT_EQ(a.get(), b.get());
    EXPECT_EQ(GovernorService::alive(), 1);
    a.reset();
    EXPECT_EQ(GovernorService::alive(), 1);  // b still uses it
    b.reset();
    EXPECT_EQ(GovernorService::alive(), 0);
    auto c = acquire_governor();
    EXPECT_EQ(GovernorService::alive(), 1);
}

TEST(Governor, CoreFollowsItsBusiestSmtSibling) {
    HandBuilt h(Topology::synthetic("pack:1 core:2 pu:2"));  // cores {0,1}, {2,3}
    h.put(0);
    h.run(0);
    h.use(make_policy("governor:period_us=10000"));
    for (int c = 0; c < 4; ++c)
        h.s().tick(c, 10 * kMs);
    EXPECT_EQ(h.s().rq(0).freq_level.load(), kMaxFreqLevel);  // 100% busy
    EXPECT_EQ(h.s().rq(1).freq_level.load(), kMaxFreqLevel);  // idle, but its sibling is busy
    EXPECT_EQ(h.s().rq(2).freq_level.load(), kMinFreqLevel);
    EXPECT_EQ(h.s().rq(3).freq_level.load(), kMinFreqLevel);
    h.use(make_policy("static"), 11 * kMs);
    for (int c = 0; c < 4; ++c)
        EXPECT_EQ(h.s().rq(c).freq_level.load(), -1) << "governor left CPU " << c << " slowed";
}

// Story 2: dynamic -> governor must not lose the governor the new policy
// uses when the old one tears down (the old is stopped first and only drops
// its own reference), and the governor keeps working afterwards.
TEST(Governor, SwitchFromDynamicKeepsTheSharedService) {
    HandBuilt h(Topology::flat(2));
    h.put(1);
    h.use(make_policy("dynamic:period_us=1000"));
    EXPECT_EQ(GovernorService::alive(), 1);
    auto held = acquire_governor();
    GovernorService* before = held.get();
    ASSERT_NE(h.use(make_policy("governor:period_us=1000"), kMs), nullptr);
    EXPECT_EQ(GovernorService::alive(), 1);
    EXPECT_EQ(acquire_governor().get(), before);
    h.s().tick(0, 2 * kMs);  // CPU 0 idle: minimum frequency
    EXPECT_EQ(h.s().rq(0).freq_level.load(), kMinFreqLevel);
    held.reset();
    h.use(make_policy("static"), 3 * kMs);
    EXPECT_EQ(GovernorService::alive(), 0);
}

TEST(Static, StartReturnsEveryTaskToItsOriginalCpu) {
    HandBuilt h(Topology::flat(4));
    Task& a = h.put(0);
    Task& b = h.put(1);
    Task& e = h.put(0);
    Task& f = h.put(1);
    h.s().migrate(a, 3, 0);
    h.s().migrate(b, 3, 0);
    h.s().migrate(e, 2, 0);
    h.s().migrate(f, 3, 0);
    ASSERT_EQ(h.run(3), &a);  // a runs on 3 ...
    h.s().block(3, kMs);      // ... and blocks there
    ASSERT_EQ(h.run(2), &e);  // e runs on 2, originally 0
    h.use(make_policy("static"), kMs);
    EXPECT_EQ(b.cpu, 1);
    EXPECT_EQ(f.cpu, 1);
    EXPECT_EQ(b.state, TaskState::Runnable);
    EXPECT_TRUE(rehome_flag(e));  // running: moves at its next preemption
    h.s().put_prev(2, 2 * kMs);
    EXPECT_EQ(e.cpu, 0);
    EXPECT_EQ(e.state, TaskState::Runnable);
    EXPECT_FALSE(rehome_flag(e));
    h.s().wake(a, 3 * kMs);  // blocked: placed on its original CPU when it wakes
    EXPECT_EQ(a.cpu, 0);
    h.s().check_invariants();
}

TEST(Dynamic, IdleThreadsGoToTheMainCpuAndEmptyCpusSleep) {
    HandBuilt h(Topology::flat(4));
    for (int c = 0; c < 4; ++c)
        h.put(c);
    h.use(make_policy("dynamic:period_us=100000"));
    for (Task& t : h.tasks)
        t.exec_ns += kMs;  // 1% busy over the period
    h.s().tick(0, 100 * kMs);
    EXPECT_EQ(h.s().rq(0).nr_queued.load(), 4);
    for (int c = 1; c < 4; ++c)
        EXPECT_TRUE(h.s().rq(c).sleeping.load()) << c;
    EXPECT_FALSE(h.s().rq(0).sleeping.load());
    // Switching away wakes them and, to static, sends every task home.
    h.use(make_policy("static"), 101 * kMs);
    for (int c = 0; c < 4; ++c) {
        EXPECT_FALSE(h.s().rq(c).sleeping.load());
        EXPECT_EQ(h.s().rq(c).nr_queued.load(), 1);
    }
    h.s().check_invariants();
}

TEST(Dynamic, BusyThreadsPackMainCpuFirstThenLowIdsUnderCoreLimit) {
    HandBuilt h(Topology::flat(4));
    for (int c = 0; c < 4; ++c)
        h.put(c);
    h.use(make_policy("dynamic:period_us=100000"));
    for (Task& t : h.tasks)
        t.exec_ns += 30 * kMs;  // 30% busy: active; two fit under 80%
    h.s().tick(0, 100 * kMs);
    EXPECT_EQ(h.s().rq(0).nr_queued.load(), 2);
    EXPECT_EQ(h.s().rq(1).nr_queued.load(), 2);
    EXPECT_TRUE(h.s().rq(2).sleeping.load());
    EXPECT_TRUE(h.s().rq(3).sleeping.load());
    // New threads round-robin from CPU 0: the third lands on sleeping CPU 2
    // and wakes it; CPU 3 sleeps on.
    for (int i = 0; i < 3; ++i)
        h.put(0);
    EXPECT_FALSE(h.s().rq(2).sleeping.load());
    EXPECT_EQ(h.s().rq(2).nr_queued.load(), 1);
    EXPECT_TRUE(h.s().rq(3).sleeping.load());
    h.s().check_invariants();
}

TEST(Dynamic, RefusesAMainCpuOutsideTheMachineAndRollsBack) {
    HandBuilt h(Topology::flat(2));
    h.put(0);
    SwitchResult r = h.s().switch_policy(make_policy("dynamic:main_cpu=7"), 0);
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.error.find("main_cpu 7"), std::string::npos);
    EXPECT_EQ(h.s().policy().name(), "pin-home");
}
