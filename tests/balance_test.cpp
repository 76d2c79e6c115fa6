// The fair balancer's rules, one by one, on hand-built states.
#include <gtest/gtest.h>

#include "policy/fair/fair_policy.h"
#include "policy_support.h"

using namespace schedkit;
using namespace schedkit::fair;
using schedkit::test::HandBuilt;

namespace {

constexpr uint64_t kMs = 1'000'000;
constexpr size_t kIdle = static_cast<size_t>(IdleType::Idle);
constexpr size_t kNewIdle = static_cast<size_t>(IdleType::NewlyIdle);

std::unique_ptr<FairPolicy> fair_with(int nr_migrate = 32, uint64_t migration_cost_ns = 500'000) {
    FairConfig c;
    c.nr_migrate = nr_migrate;
    c.migration_cost_ns = migration_cost_ns;
    return std::make_unique<FairPolicy>(c);
}

GroupStats stats(int weight, int nr_running, int busy_cpus) {
    GroupStats s;
    s.weight = weight;
    s.nr_running = nr_running;
    s.capacity = static_cast<uint64_t>(weight) * kCapacity;
    s.util = static_cast<uint64_t>(busy_cpus) * kCapacity;
    s.runnable = static_cast<uint64_t>(nr_running) * kCapacity;
    s.idle_cpus = weight - busy_cpus;
    return s;
}

}  // namespace

TEST(Balance, GroupClassification) {
    EXPECT_EQ(classify_group(stats(4, 2, 2), 117, false), GroupType::HasSpare);
    EXPECT_EQ(classify_group(stats(4, 4, 4), 117, false), GroupType::FullyBusy);
    EXPECT_EQ(classify_group(stats(4, 6, 4), 117, false), GroupType::Overloaded);
    EXPECT_EQ(classify_group(stats(1, 2, 1), 110, false), GroupType::Overloaded);
    // More tasks than CPUs, but stacked on few CPUs: capacity is left, so
    // it is not overloaded (its own lower levels will spread them).
    EXPECT_EQ(classify_group(stats(8, 9, 6), 117, false), GroupType::HasSpare);
    // Pinning flags a group imbalanced, but overload outranks it.
    EXPECT_EQ(classify_group(stats(4, 4, 4), 117, true), GroupType::Imbalanced);
    EXPECT_EQ(classify_group(stats(4, 2, 2), 117, true), GroupType::Imbalanced);
    EXPECT_EQ(classify_group(stats(4, 6, 4), 117, true), GroupType::Overloaded);
    EXPECT_LT(GroupType::HasSpare, GroupType::FullyBusy);
    EXPECT_LT(GroupType::Imbalanced, GroupType::Overloaded);
}

TEST(Balance, BusiestGroupIsTheMostOverloaded) {
    HandBuilt h(Topology::flat(4));
    h.put(1);  // CPU 1: one task, fully busy
    h.run(1);
    for (int i = 0; i < 3; ++i)  // CPU 2: three tasks, overloaded
        h.put(2);
    h.run(2);
    for (int i = 0; i < 2; ++i)  // CPU 3: two tasks, overloaded, less load
        h.put(3);
    h.run(3);
    FairPolicy* f = h.use(fair_with());
    LbEnv env;
    env.sched = &h.s();
    env.topo = &f->topology();
    env.dst_cpu = 0;
    env.idle = IdleType::Idle;
    SdStats sds;
    int g = find_busiest_group(env, &sds);
    ASSERT_GE(g, 0);
    EXPECT_EQ(f->topology().level(0).groups[static_cast<size_t>(g)].first_cpu, 2);
    EXPECT_EQ(sds.busiest_stat.type, GroupType::Overloaded);
    EXPECT_EQ(sds.local_stat.type, GroupType::HasSpare);
    EXPECT_EQ(env.type, MigrationType::Task);  // within an LLC: even out task counts
    EXPECT_EQ(env.imbalance, 1);
    EXPECT_EQ(find_busiest_queue(env, g), 2);
}

// A cache-hot task stays put until balancing at that domain has failed more
// than cache_nice_tries times; newidle failures do not count.
TEST(Balance, CacheHotTaskPulledOnlyAfterFailuresExceedCacheNiceTries) {
    HandBuilt h(Topology::flat(2));  // one LLC level: cache_nice_tries = 1
    h.put(1);
    Task& hot = h.put(1);
    h.run(1);
    const uint64_t now = 10 * kMs;
    hot.exec_ns = 1000;
    hot.last_ran_ns = now - 100'000;  // ran 100 us ago: hot for 500 us
    FairPolicy* f = h.use(fair_with());
    ASSERT_EQ(f->topology().level(0).params.cache_nice_tries, 1u);

    EXPECT_EQ(f->load_balance(h.s(), 0, 0, IdleType::NewlyIdle, now), 0);
    EXPECT_EQ(f->nr_balance_failed(0, 0), 0u);  // newidle failures are not counted
    EXPECT_EQ(f->load_balance(h.s(), 0, 0, IdleType::Idle, now), 0);
    EXPECT_EQ(f->nr_balance_failed(0, 0), 1u);
    EXPECT_EQ(hot.cpu, 1);
    EXPECT_EQ(f->load_balance(h.s(), 0, 0, IdleType::Idle, now), 0);
    EXPECT_EQ(f->nr_balance_failed(0, 0), 2u);
    EXPECT_EQ(hot.cpu, 1);
    EXPECT_EQ(f->load_balance(h.s(), 0, 0, IdleType::Idle, now), 1);  // 2 > cache_nice_tries
    EXPECT_EQ(hot.cpu, 0);
    EXPECT_EQ(f->nr_balance_failed(0, 0), 0u);
    BalanceStats st = f->stats(0);
    EXPECT_EQ(st.lb_failed[kIdle], 2u);
    EXPECT_EQ(st.lb_failed[kNewIdle], 1u);
    EXPECT_EQ(st.lb_gained[kIdle], 1u);
    EXPECT_EQ(st.lb_hot_gained[kIdle], 1u);
    h.s().check_invariants();
}

TEST(Balance, ColdTaskIsPulledAtOnce) {
    HandBuilt h(Topology::flat(2));
    h.put(1);
    Task& cold = h.put(1);
    h.run(1);
    cold.exec_ns = 1000;
    cold.last_ran_ns = 0;  // ran 10 ms ago
    FairPolicy* f = h.use(fair_with());
    EXPECT_EQ(f->load_balance(h.s(), 0, 0, IdleType::Idle, 10 * kMs), 1);
    EXPECT_EQ(cold.cpu, 0);
    EXPECT_EQ(f->stats(0).lb_hot_gained[kIdle], 0u);
}

TEST(Balance, AffinityIsRespected) {
    HandBuilt h(Topology::flat(2));
    Task& running = h.put(1, "1");
    Task& pinned = h.put(1, "1");
    Task& free = h.put(1);
    h.run(1);
    FairPolicy* f = h.use(fair_with());
    EXPECT_EQ(f->load_balance(h.s(), 0, 0, IdleType::Idle, kMs), 1);
    EXPECT_EQ(free.cpu, 0);
    EXPECT_EQ(pinned.cpu, 1);
    // Now only pinned tasks remain: however often it tries, nothing moves
    // and no push is asked for (the running task may not come either).
    for (int pass = 0; pass < 10; ++pass)
        EXPECT_EQ(f->load_balance(h.s(), 0, 0, IdleType::Idle, kMs * (2 + pass)), 0);
    EXPECT_EQ(pinned.cpu, 1);
    EXPECT_EQ(running.cpu, 1);
    EXPECT_EQ(h.s().rq(1).push_to.load(), -1);
    EXPECT_GE(f->stats(0).lb_balanced[kIdle], 10u);
    h.s().check_invariants();
}

// Two tasks on the SMT siblings of one core while the other core idles:
// the running tasks cannot be pulled; after cache_nice_tries + 2 failures
// the idle CPU asks the source to push one (active balance).
TEST(Balance, RunningTaskIsNotPulledButPushedByActiveBalance) {
    HandBuilt h(Topology::synthetic("pack:1 core:2 pu:2"));  // SMT {0,1},{2,3}; LLC
    Task& a = h.put(0);
    h.put(1);
    h.run(0);
    h.run(1);
    FairPolicy* f = h.use(fair_with());
    const int llc = 1;
    const uint32_t tries = f->topology().level(llc).params.cache_nice_tries;
    for (uint32_t pass = 0; pass < tries + 3; ++pass) {
        EXPECT_EQ(f->load_balance(h.s(), 2, llc, IdleType::Idle, kMs * (pass + 1)), 0);
        EXPECT_EQ(a.state, TaskState::Running);
        EXPECT_EQ(a.cpu, 0);
        if (pass < tries + 2) {
            EXPECT_EQ(h.s().rq(0).push_to.load(), -1) << "pass " << pass;
        }
    }
    EXPECT_EQ(h.s().rq(0).push_to.load(), 2);
    EXPECT_EQ(f->stats(llc).lb_failed[kIdle], tries + 3);
    // The source CPU carries the push out: preempt, then move one task.
    h.s().put_prev(0, 10 * kMs);
    EXPECT_TRUE(h.s().active_balance(0, 10 * kMs));
    EXPECT_EQ(a.cpu, 2);
    EXPECT_EQ(f->stats(llc).alb_pushed, 1u);
    EXPECT_EQ(f->stats(llc).alb_count, 1u);
    h.s().check_invariants();
}

TEST(Balance, NrMigrateCapsAPass) {
    for (int nr_migrate : {4, 32}) {
        HandBuilt h(Topology::flat(2));
        for (int i = 0; i < 21; ++i)
            h.put(1);
        h.run(1);
        FairPolicy* f = h.use(fair_with(nr_migrate));
        int moved = f->load_balance(h.s(), 0, 0, IdleType::Idle, kMs);
        // The imbalance is (21 - 0) / 2 = 10 tasks; nr_migrate caps it.
        EXPECT_EQ(moved, std::min(nr_migrate, 10)) << "nr_migrate " << nr_migrate;
        EXPECT_EQ(h.s().rq(0).nr_queued.load(), moved);
        h.s().check_invariants();
    }
}

// Pinning at a low level flags the group for the level above, where
// another CPU then pulls from it; without the flag that CPU would call the
// machine balanced (one idle CPU on each side).
TEST(Balance, PinnedImbalanceIsFixedOneLevelUp) {
    auto build = [](HandBuilt& h) {
        h.put(1, "1");    // runs on CPU 1, pinned
        h.put(1, "1-3");  // waits on CPU 1; may not go to CPU 0
        h.run(1);
        h.put(2);  // CPU 2 busy, CPU 3 idle
        h.run(2);
    };
    HandBuilt without(Topology::synthetic("pack:2 core:2 pu:1"));  // LLC {0,1},{2,3}; SYSTEM
    build(without);
    FairPolicy* f0 = without.use(fair_with());
    EXPECT_EQ(f0->load_balance(without.s(), 3, 1, IdleType::Idle, kMs), 0);
    EXPECT_EQ(f0->stats(1).lb_nobusyg[kIdle], 1u);

    HandBuilt h(Topology::synthetic("pack:2 core:2 pu:1"));
    build(h);
    Task& waiting = h.tasks[1];
    FairPolicy* f = h.use(fair_with());
    // CPU 0 cannot take the waiting task: the group {0,1} gets flagged.
    EXPECT_EQ(f->load_balance(h.s(), 0, 0, IdleType::Idle, kMs), 0);
    LbEnv env;
    env.sched = &h.s();
    env.topo = &f->topology();
    env.level = 1;
    env.dst_cpu = 3;
    env.idle = IdleType::Idle;
    SdStats sds;
    EXPECT_GE(find_busiest_group(env, &sds), 0);
    EXPECT_EQ(sds.busiest_stat.type, GroupType::Imbalanced);
    EXPECT_EQ(env.type, MigrationType::Task);
    EXPECT_EQ(f->load_balance(h.s(), 3, 1, IdleType::Idle, 2 * kMs), 1);
    EXPECT_EQ(waiting.cpu, 3);
    h.s().check_invariants();
}

// Newidle walks the levels bottom-up and stops at the first that pulls:
// the SMT sibling before the LLC, the LLC before the other NUMA node.
TEST(Balance, LevelsAreBalancedSmtThenLlcThenNuma) {
    const char* topo = "numa:2 l3:1 core:2 pu:2";  // SMT {0,1}; LLC {0-3}; NUMA {0-7}
    auto remote_overload = [](HandBuilt& h) {
        for (int c = 4; c < 8; ++c) {
            h.put(c);
            h.run(c);
        }
        for (int i = 0; i < 3; ++i)
            h.put(4);
    };
    {
        HandBuilt h(Topology::synthetic(topo));
        remote_overload(h);
        h.put(1);
        Task& near = h.put(1);
        h.run(1);
        FairPolicy* f = h.use(fair_with());
        ASSERT_EQ(f->topology().num_levels(), 3);
        f->newidle(h.s(), 0, kMs);
        EXPECT_EQ(near.cpu, 0);
        EXPECT_EQ(f->stats(0).lb_gained[kNewIdle], 1u);
        EXPECT_EQ(f->stats(1).lb_count[kNewIdle], 0u);
        EXPECT_EQ(f->stats(2).lb_count[kNewIdle], 0u);
    }
    {
        HandBuilt h(Topology::synthetic(topo));
        remote_overload(h);
        h.put(3);
        Task& llc = h.put(3);
        h.run(3);
        FairPolicy* f = h.use(fair_with());
        f->newidle(h.s(), 0, kMs);
        EXPECT_EQ(llc.cpu, 0);
        EXPECT_EQ(f->stats(0).lb_nobusyg[kNewIdle], 1u);  // sibling idle: nothing
        EXPECT_EQ(f->stats(1).lb_gained[kNewIdle], 1u);
        EXPECT_EQ(f->stats(2).lb_count[kNewIdle], 0u);
    }
    {
        HandBuilt h(Topology::synthetic(topo));
        remote_overload(h);
        FairPolicy* f = h.use(fair_with());
        f->newidle(h.s(), 0, kMs);
        EXPECT_EQ(f->stats(0).lb_balanced[kNewIdle], 1u);
        EXPECT_EQ(f->stats(1).lb_balanced[kNewIdle], 1u);
        // Across nodes the imbalance is in utilisation: fill our idle node.
        EXPECT_EQ(f->stats(2).lb_gained[kNewIdle], 3u);
        EXPECT_EQ(h.s().rq(0).nr_queued.load(), 3);
        EXPECT_EQ(h.s().rq(4).nr_running.load(), 1);
    }
}

TEST(Balance, NewidlePullsThroughPickNext) {
    HandBuilt h(Topology::flat(2));
    h.put(1);
    Task& waiting = h.put(1);
    h.run(1);
    h.use(fair_with(32, 0));
    Pick p = h.s().pick_next(0, kMs);
    ASSERT_EQ(p.status, PickStatus::Task);
    EXPECT_EQ(p.task, &waiting);
    EXPECT_EQ(waiting.cpu, 0);
}

// Story 1 again: queues holding only blocked tasks are idle, and balancing
// over them moves nothing and reports no error.
TEST(Balance, AllBlockedQueuesAreIdleNotAnError) {
    HandBuilt h(Topology::synthetic("pack:1 core:2 pu:2"));
    for (int c = 0; c < 4; ++c) {
        h.put(c);
        h.put(c);
        h.run(c);
        h.s().block(c, kMs);
        h.run(c, kMs);
        h.s().block(c, kMs);
    }
    FairPolicy* f = h.use(fair_with());
    for (uint64_t t = 2; t < 200; ++t)
        for (int c = 0; c < 4; ++c)
            f->tick(h.s(), c, t * kMs);
    for (int c = 0; c < 4; ++c) {
        EXPECT_EQ(h.s().pick_next(c, 300 * kMs).status, PickStatus::Idle);
        EXPECT_EQ(h.s().rq(c).nr_blocked.load(), 2);
    }
    EXPECT_EQ(h.s().migrations(), 0u);
    for (int l = 0; l < 2; ++l)
        EXPECT_EQ(f->stats(l).lb_failed[kIdle], 0u);
    h.s().check_invariants();
}

TEST(Balance, IntervalGrowsWhileBalancedAndBusyCpusBalanceRarely) {
    HandBuilt h(Topology::flat(4));
    FairPolicy* f = h.use(fair_with());
    uint32_t base = f->balance_interval_ms(0, 0);
    EXPECT_EQ(base, 4u);  // the span weight
    for (uint64_t t = 1; t <= 100; ++t)
        f->tick(h.s(), 0, t * kMs);
    EXPECT_EQ(f->balance_interval_ms(0, 0), f->topology().level(0).params.max_interval_ms);
    // Idle CPU 0 balanced at 4, 12 (interval 8), then every 8 ms.
    uint64_t idle_passes = f->stats(0).lb_count[kIdle];
    EXPECT_GE(idle_passes, 12u);
    EXPECT_LE(idle_passes, 14u);
    // A busy CPU waits busy_factor times longer.
    HandBuilt b(Topology::flat(4));
    b.put(0);
    b.run(0);
    FairPolicy* fb = b.use(fair_with());
    for (uint64_t t = 1; t <= 100; ++t)
        fb->tick(b.s(), 0, t * kMs);
    EXPECT_EQ(fb->stats(0).lb_count[static_cast<size_t>(IdleType::Busy)], 1u);  // at 64 ms
}
