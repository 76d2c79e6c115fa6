// stress_sim_test.cpp: the five failure stories (DESIGN section 1) as stress
// tests in the simulator, with a progress watchdog. `make test` runs reduced
// counts, `make stress` the full ones (SCHEDKIT_STRESS=full).
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <random>

#include "crossfire_policy.h"
#include "schedkit/plugin_loader.h"
#include "schedkit/policy_registry.h"
#include "schedkit/sim.h"
#include "sim_support.h"
#include "stress_support.h"

using namespace schedkit;
using namespace schedkit::test;

namespace {

Duration exp_ns(uint64_t mean) {
    return Duration{Duration::Kind::Exp, mean, 0};
}

void expect_conserved(const SimResult& r, const std::string& what) {
    EXPECT_TRUE(r.completed) << what;
    EXPECT_EQ(r.summary.lost, 0u) << what;
    EXPECT_EQ(r.summary.completed, r.summary.spawned) << what;
    EXPECT_EQ(r.unfinished, 0u) << what;
}

// StressSim runs one simulation under the watchdog: progress is virtual
// CPU time accounted and tasks ended (sched_progress), the dump every CPU's
// queue.
struct StressSim {
    StressSim(const WorkloadSpec& w, const Topology& topo, std::unique_ptr<Policy> p,
              SimConfig cfg = {})
        : sim(w, topo, std::move(p), cfg) {}
    SimResult run() {
        ProgressWatchdog wd([this] { return sched_progress(sim.scheduler()); },
                            [this] { return dump_scheduler(sim.scheduler()); });
        return sim.run();
    }
    Simulator sim;
};

const char* kTopo16 = "pack:2 core:4 pu:2";

std::unique_ptr<Policy> balancer(const std::string& spec) {
    if (spec == "crossfire")
        return std::make_unique<Crossfire>();
    return make_policy(spec);
}

}  // namespace

// Story 1: tasks block and wake at random while every CPU balances (and,
// under crossfire, pulls from every other CPU): a queue holding only
// blocked tasks is idle, never an error, and every task ends.
TEST(StressSim, Story1RandomBlockWakeWhileEveryCpuBalances) {
    uint64_t n = stress_count(300, 3000);
    int repeat = static_cast<int>(stress_count(10, 40));
    WorkloadSpec w =
        spec({group("blockers", static_cast<int>(n), {run(100 * kUs), block(kMs)}, repeat),
              group("hogs", 4, {run(5 * kMs)}, 4)});
    w.groups[0].behavior[0].duration = exp_ns(100 * kUs);
    w.groups[0].behavior[1].duration = exp_ns(kMs);
    w.groups[0].arrival = Arrival{Arrival::Kind::Poisson, 0, 20000};
    for (const char* p : {"fair:tick_us=100", "steal:idle_steal_us=50", "dynamic:period_us=500",
                          "governor:period_us=500", "crossfire"}) {
        StressSim s(w, Topology::synthetic(kTopo16), balancer(p));
        SimResult r = s.run();
        expect_conserved(r, p);
        EXPECT_EQ(r.summary.spawned, n + 4) << p;
        s.sim.scheduler().check_invariants();
    }
}

// Story 2: thousands of random policy switches (every policy, and one that
// refuses to start) while never-blocking threads and blocking tasks run:
// nothing is lost, refused starts leave the old policy running, and after a
// final switch to static every queued or running task is back on its
// original CPU.
TEST(StressSim, Story2ThousandsOfRandomSwitches) {
    const std::vector<std::string> policies = {
        "static", "dynamic:period_us=500",  "fair:tick_us=200",
        "steal",  "governor:period_us=500", "failing"};
    WorkloadSpec w = spec({group("thread", 8, {run(kMs)}, 200),
                           group("churn", 400, {run(300 * kUs), block(kMs)}, 3)});
    w.groups[1].behavior[0].duration = exp_ns(300 * kUs);
    w.groups[1].behavior[1].duration = exp_ns(kMs);
    w.groups[1].arrival = Arrival{Arrival::Kind::Poisson, 0, 2000};
    uint64_t nswitch = stress_count(1000, 5000);
    const uint64_t last = 300 * kMs;  // the final switch, to static
    auto simulate = [&](uint64_t until, int* failed) {
        SimConfig cfg;
        cfg.until_ns = until;
        auto s = std::make_unique<StressSim>(w, Topology::flat(4), make_policy("fair"), cfg);
        std::mt19937_64 rng(7);
        for (uint64_t i = 0; i < nswitch; ++i) {
            const std::string& p = policies[rng() % policies.size()];
            *failed += p == "failing" ? 1 : 0;
            s->sim.schedule_switch(rng() % last, make_policy(p));
        }
        s->sim.schedule_switch(last, make_policy("static"));
        return s;
    };
    int failed = 0;
    auto full = simulate(0, &failed);
    SimResult r = full->run();
    expect_conserved(r, "switches");
    EXPECT_EQ(r.summary.policy, "static");
    auto log = nlohmann::json::parse(r.summary.extra_json)["policy_switches"];
    ASSERT_EQ(log.size(), nswitch + 1);
    int refused = 0;
    for (const auto& e : log)
        if (e["ok"] == false) {
            ++refused;
            EXPECT_NE(e["error"].get<std::string>().find("refuses to start"), std::string::npos);
        }
    EXPECT_EQ(refused, failed);
    EXPECT_EQ(full->sim.scheduler().policy_switches(), nswitch + 1 - static_cast<uint64_t>(failed));

    int placed = 0;
    for (uint64_t at : {last + 100 * kUs, last + kMs, last + 4 * kMs}) {
        int unused = 0;
        auto part = simulate(at, &unused);
        part->run();
        part->sim.scheduler().for_each_task([&](const Task& t) {
            if (t.state == TaskState::Runnable || t.state == TaskState::Running) {
                ++placed;
                EXPECT_EQ(t.cpu, t.original_cpu) << t.name << " at " << at;
            }
        });
    }
    EXPECT_GT(placed, 8);
}

// Story 3: lightweight threads created at random times (Poisson arrivals),
// sent to by many tasks at random, and closed at random by other tasks,
// with drain or cancel, under each policy and under random switches: every
// message is delivered, refused or returned exactly once. The simulator's
// own accounting is checked (sent == delivered + refused + returned, none
// pending) and cross-checked against what the run did: the senders' sends
// are counted here from the spec, and the CPU work of the messages (30 us
// per message of `t`, 50 us per message of `u`, which `t`'s messages send
// to) pins down how many of each were delivered: a message lost or run
// twice changes the work or the count.
namespace {

Step send_to(int group, int count) {
    Step s;
    s.kind = Step::Kind::Send;
    s.spawn_group = group;
    s.spawn_count = count;
    return s;
}

Step close_of(int group, bool cancel) {
    Step s;
    s.kind = Step::Kind::Close;
    s.spawn_group = group;
    s.cancel = cancel;
    return s;
}

struct Story3Spec {
    WorkloadSpec w;
    uint64_t sent_by_senders = 0;  // known from the spec
    uint64_t sender_work_ns = 0;
};

Story3Spec story3_spec(uint64_t scale) {
    const int nt = static_cast<int>(48 * scale), nu = static_cast<int>(8 * scale);
    const int nsend = static_cast<int>(300 * scale), repeat = 5;
    // groups: 0 sender, 1 drainer, 2 canceller, 3 t, 4 u
    Story3Spec s;
    s.w = spec({group("sender", nsend,
                      {run(50 * kUs), send_to(3, 3), block(200 * kUs), send_to(4, 1)}, repeat),
                group("drainer", nt / 2, {close_of(3, false)}),
                group("canceller", nt / 2 - 2, {close_of(3, true), close_of(4, true)}),
                group("t", nt, {run(30 * kUs), send_to(4, 1)}), group("u", nu, {run(50 * kUs)})});
    s.w.groups[0].behavior[2].duration = exp_ns(200 * kUs);
    s.w.groups[3].thread = true;
    s.w.groups[4].thread = true;
    // Spread over about 60 ms: threads appear from the start, senders and
    // closers all through it.
    const double per_s = 1e3 / 60;
    s.w.groups[0].arrival = Arrival{Arrival::Kind::Poisson, 0, nsend * per_s};
    s.w.groups[1].arrival = Arrival{Arrival::Kind::Poisson, 5 * kMs, nt / 2 * per_s};
    s.w.groups[2].arrival = Arrival{Arrival::Kind::Poisson, 5 * kMs, nt / 2 * per_s};
    s.w.groups[3].arrival = Arrival{Arrival::Kind::Poisson, 0, nt * per_s};
    s.w.groups[4].arrival = Arrival{Arrival::Kind::Poisson, 0, nu * per_s};
    s.sent_by_senders = static_cast<uint64_t>(nsend) * repeat * 4;
    s.sender_work_ns = static_cast<uint64_t>(nsend) * repeat * 50 * kUs;
    return s;
}

void expect_messages_conserved(const Story3Spec& s, const SimResult& r, const std::string& what) {
    const MessageCounts& m = r.messages;
    expect_conserved(r, what);
    EXPECT_TRUE(m.consistent(true)) << what;
    EXPECT_EQ(m.pending, 0u) << what;
    EXPECT_EQ(m.sent, m.delivered + m.refused + m.returned) << what;
    // Each delivered message of t sent one more to u.
    auto work_ns = static_cast<uint64_t>(std::llround(r.work_us * 1e3)) - s.sender_work_ns;
    ASSERT_GE(work_ns, 30 * kUs * m.delivered) << what;
    uint64_t delivered_u = (work_ns - 30 * kUs * m.delivered) / (20 * kUs);
    ASSERT_LE(delivered_u, m.delivered) << what;
    uint64_t delivered_t = m.delivered - delivered_u;
    EXPECT_EQ(30 * kUs * delivered_t + 50 * kUs * delivered_u, work_ns) << what;
    EXPECT_EQ(m.sent, s.sent_by_senders + delivered_t) << what;
    // The run exercised every path.
    EXPECT_GT(m.refused, 0u) << what;
    EXPECT_GT(m.returned, 0u) << what;
    EXPECT_GT(delivered_t, 0u) << what;
    EXPECT_GT(delivered_u, 0u) << what;
    // Each closer closes a started, open thread or none (all of u's are
    // closed long before the last canceller comes).
    const auto closes = static_cast<uint64_t>(s.w.groups[1].count + 2 * s.w.groups[2].count);
    EXPECT_GT(m.closed, 0u) << what;
    EXPECT_LE(m.closed, closes) << what;
    EXPECT_EQ(m.threads, static_cast<uint64_t>(s.w.groups[3].count + s.w.groups[4].count)) << what;
}

}  // namespace

TEST(StressSim, Story3ThreadsCreatedSentToAndClosedConcurrently) {
    Story3Spec s = story3_spec(stress_count(1, 10));
    const std::vector<std::string> policies = {
        "static",   "fair:tick_us=200", "steal", "dynamic:period_us=500", "governor:period_us=500",
        "crossfire"};
    std::vector<MessageCounts> first;
    for (const std::string& p : policies) {
        StressSim sim(s.w, Topology::synthetic(kTopo16), balancer(p));
        SimResult r = sim.run();
        expect_messages_conserved(s, r, p);
        sim.sim.scheduler().check_invariants();
        first.push_back(r.messages);
    }
    // Under random switches among every policy (and one that refuses to
    // start), several seeds.
    const std::vector<std::string> switching = {
        "static", "dynamic:period_us=500",  "fair:tick_us=200",
        "steal",  "governor:period_us=500", "failing"};
    const uint64_t rounds = stress_count(4, 20), nswitch = stress_count(100, 1000);
    std::mt19937_64 rng(23);
    for (uint64_t round = 0; round < rounds; ++round) {
        SimConfig cfg;
        cfg.seed = 100 + round;
        StressSim sim(s.w, Topology::synthetic(kTopo16), make_policy("fair"), cfg);
        for (uint64_t i = 0; i < nswitch; ++i)
            sim.sim.schedule_switch(rng() % (80 * kMs),
                                    make_policy(switching[rng() % switching.size()]));
        SimResult r = sim.run();
        expect_messages_conserved(s, r, "switching round " + std::to_string(round));
    }
    // Deterministic: the same seed gives the same accounting.
    StressSim again(s.w, Topology::synthetic(kTopo16), balancer(policies[0]));
    SimResult r = again.run();
    EXPECT_EQ(r.messages.sent, first[0].sent);
    EXPECT_EQ(r.messages.delivered, first[0].delivered);
    EXPECT_EQ(r.messages.refused, first[0].refused);
    EXPECT_EQ(r.messages.returned, first[0].returned);
}

// Story 5: every CPU balances against every other at once, with pushes
// forced in the opposite direction of each pull; tasks of mixed affinity.
TEST(StressSim, Story5EveryCpuBalancesAgainstEveryOther) {
    uint64_t n = stress_count(400, 4000);
    WorkloadSpec w = spec({group("any", static_cast<int>(n), {run(200 * kUs), block(300 * kUs)}, 5),
                           group("pinned", 32, {run(kMs), block(kMs)}, 5)});
    w.groups[0].arrival = Arrival{Arrival::Kind::Poisson, 0, 50000};
    w.groups[1].affinity = CpuSet::parse("0-3,12");
    StressSim s(w, Topology::synthetic(kTopo16), std::make_unique<Crossfire>(20'000));
    SimResult r = s.run();
    expect_conserved(r, "crossfire");
    EXPECT_EQ(r.summary.spawned, n + 32);
    EXPECT_GT(s.sim.scheduler().migrations(), n);
    s.sim.scheduler().check_invariants();
}

// Conservation across all: many short tasks under many live switches, each
// completed exactly once (10^6 tasks under 10^3 switches in `make stress`).
TEST(StressSim, ConservationManyTasksManySwitches) {
    uint64_t n = stress_count(20'000, 1'000'000);
    uint64_t nswitch = stress_count(100, 1000);
    WorkloadSpec w = spec({group("tiny", static_cast<int>(n), {run(10 * kUs)}, 1),
                           group("parent", static_cast<int>(n / 100),
                                 {run(10 * kUs), spawn(2, 4, true), run(10 * kUs)}),
                           group("child", 0, {run(15 * kUs)})});
    // Spread the arrivals over about two simulated seconds: a third of the
    // 16 CPUs' capacity, so queues stay short and switches stay cheap.
    w.groups[0].arrival = Arrival{Arrival::Kind::Poisson, 0, static_cast<double>(n) / 2};
    w.groups[1].arrival = Arrival{Arrival::Kind::Poisson, 0, static_cast<double>(n) / 200};
    const std::vector<std::string> policies = {"static", "dynamic:period_us=2000",  "fair",
                                               "steal",  "governor:period_us=2000", "failing"};
    StressSim s(w, Topology::synthetic(kTopo16), make_policy("steal"));
    std::mt19937_64 rng(11);
    for (uint64_t i = 0; i < nswitch; ++i)
        s.sim.schedule_switch(rng() % 2'000'000'000,
                              make_policy(policies[rng() % policies.size()]));
    SimResult r = s.run();
    expect_conserved(r, "conservation");
    uint64_t total = n + n / 100 * 5;
    EXPECT_EQ(r.summary.spawned, total);
    EXPECT_EQ(r.summary.completed, total);
    s.sim.scheduler().check_invariants();
}

// Story 4 in the simulator: plug-ins loaded, switched to (one refuses to
// start, one has a hook that throws), unloaded while policies made from
// them are still scheduled or running, and reloaded, round after round:
// each run loses nothing, and every shared object is closed once the last
// policy made from it is gone.
TEST(StressSim, Story4PluginsLoadedFailingUnloadedReloaded) {
    const int rounds = static_cast<int>(stress_count(20, 200));
    WorkloadSpec w = spec({group("work", 64, {run(300 * kUs), block(200 * kUs)}, 10)});
    w.groups[0].behavior[0].duration = exp_ns(300 * kUs);
    std::mt19937_64 rng(17);
    for (int round = 0; round < rounds; ++round) {
        load_plugin(SCHEDKIT_PLUGIN_WRR);
        load_plugin(SCHEDKIT_PLUGIN_REFUSE_START);
        load_plugin(SCHEDKIT_PLUGIN_THROWING_HOOK);
        StressSim s(w, Topology::flat(8), make_policy(round % 2 == 0 ? "wrr" : "fair"));
        for (int k = 0; k < 20; ++k) {
            const char* p[] = {"wrr:slice_us=500", "refuse-start", "static", "fair",
                               "throwing-hook:after=200"};
            s.sim.schedule_switch(rng() % (20 * kMs), make_policy(p[rng() % 5]));
        }
        // Unloaded before the run: the policies made from them keep the
        // code mapped until they are freed.
        ASSERT_TRUE(unload_plugin("wrr"));
        ASSERT_TRUE(unload_plugin("refuse-start"));
        ASSERT_TRUE(unload_plugin("throwing-hook"));
        EXPECT_GT(plugin_libraries_open(), 0u);
        SimResult r = s.run();
        expect_conserved(r, "round " + std::to_string(round));
    }
    EXPECT_EQ(plugin_libraries_open(), 0u);
}
