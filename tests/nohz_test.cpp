// NOHZ idle and the core's CPU sets (issue #11 item 4): idle CPUs take no
// ticks under policies that say so, busy CPUs still do, and a busy CPU with
// tasks waiting kicks an idle one; the sets follow the queues.
#include <gtest/gtest.h>

#include <vector>

#include "schedkit/policy_registry.h"
#include "schedkit/scheduler.h"
#include "schedkit/sim.h"
#include "sim_support.h"

using namespace schedkit;
using namespace schedkit::test;

namespace {

// TickCounter places everything on CPU 0 and counts the ticks each CPU
// takes; `idle_ticks` is its answer to tick_when_idle().
class TickCounter final : public Policy {
  public:
    TickCounter(bool idle_ticks, std::vector<int>* ticks)
        : idle_ticks_(idle_ticks), ticks_(ticks) {}
    std::string name() const override { return "tick-counter"; }
    int select_cpu(Scheduler&, const Task&, PlaceReason) override { return 0; }
    uint64_t tick_period_ns() const override { return kMs; }
    bool tick_when_idle() const override { return idle_ticks_; }
    void tick(Scheduler&, int cpu, uint64_t) override { ++(*ticks_)[static_cast<size_t>(cpu)]; }

  private:
    bool idle_ticks_;
    std::vector<int>* ticks_;
};

std::vector<int> ticks_of(bool idle_ticks) {
    std::vector<int> ticks(4, 0);
    WorkloadSpec w = spec({group("t", 1, {run(10 * kMs)})});
    SimResult r =
        Simulator(w, Topology::flat(4), std::make_unique<TickCounter>(idle_ticks, &ticks)).run();
    EXPECT_TRUE(r.completed);
    return ticks;
}

}  // namespace

TEST(Nohz, DefaultPolicyTicksOnEveryCpu) {
    std::vector<int> ticks = ticks_of(true);
    for (int t : ticks)
        EXPECT_GE(t, 9);
}

TEST(Nohz, IdleCpusTakeNoTicksWhenThePolicySays) {
    std::vector<int> ticks = ticks_of(false);
    EXPECT_GE(ticks[0], 9);  // the busy CPU ticks all along
    EXPECT_EQ(ticks[1], 0);
    EXPECT_EQ(ticks[2], 0);
    EXPECT_EQ(ticks[3], 0);
}

TEST(Nohz, FairAndStealEventsGrowWithBusyCpusNotTheMachine) {
    // One task of 100 ms on 256 CPUs: with a tick on every CPU every 1 ms
    // that would be 25,600 tick events; NOHZ leaves the busy CPU's ~100.
    WorkloadSpec w = spec({group("t", 1, {run(100 * kMs)})});
    for (const char* p : {"fair", "steal"}) {
        SimResult r = Simulator(w, Topology::flat(256), make_policy(p)).run();
        ASSERT_TRUE(r.completed) << p;
        EXPECT_LT(r.summary.events, 300u) << p;
    }
}

TEST(Nohz, IdleCpuPullsWhatWaitsBehindABusyOne) {
    // Under steal a spawned child queues on its parent's CPU 0 and the
    // parent runs on; CPU 1 idles with its tick stopped. CPU 0's tick kicks
    // CPU 1, which steals the child: both end at about 51 ms, where sharing
    // CPU 0 would take about 101 ms.
    WorkloadSpec w = spec({group("parent", 1, {run(kMs), spawn(1, 1, false), run(50 * kMs)}),
                           group("child", 0, {run(50 * kMs)})});
    SimResult r = Simulator(w, Topology::flat(2), make_policy("steal")).run();
    ASSERT_TRUE(r.completed);
    EXPECT_LT(r.summary.makespan_us, 60'000);
    EXPECT_EQ(r.summary.migrations, 1u);
}

TEST(CpuSets, FollowTheQueues) {
    Scheduler s(Topology::flat(2), DomainTree::build(Topology::flat(2)), make_static_policy());
    EXPECT_EQ(s.idle_cpus().count(), 2);
    Task a, b;
    a.id = 1;
    b.id = 2;
    a.affinity = b.affinity = CpuSet::single(0);
    s.spawn(a, 0);
    EXPECT_FALSE(s.idle_cpus().test(0));
    EXPECT_TRUE(s.queued_cpus().test(0));
    EXPECT_TRUE(s.running_nothing_cpus().test(0));
    s.spawn(b, 0);
    EXPECT_TRUE(s.overloaded_cpus().test(0));
    ASSERT_EQ(s.pick_next(0, 1).status, PickStatus::Task);
    EXPECT_FALSE(s.running_nothing_cpus().test(0));
    EXPECT_TRUE(s.overloaded_cpus().test(0));  // one running, one queued
    s.block(0, 2);
    EXPECT_FALSE(s.overloaded_cpus().test(0));
    EXPECT_TRUE(s.queued_cpus().test(0));
    ASSERT_EQ(s.pick_next(0, 3).status, PickStatus::Task);
    EXPECT_FALSE(s.queued_cpus().test(0));
    s.exit(0, 4);
    EXPECT_TRUE(s.idle_cpus().test(0));
    EXPECT_EQ(s.idle_cpus().count(), 2);
    EXPECT_EQ(s.overloaded_cpus().count(), 0);
    s.check_invariants();
}
