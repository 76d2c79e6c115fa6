// dispatch_parity_test.cpp: the core's dispatch contract (Scheduler::
// must_yield, after_slice, service, kick_idle_for, the quantum override and
// the switch's clearing of pending requests) gives the same behaviour under
// both executors. Every scenario runs one workload spec in the simulator and
// on the real runtime (TEST_P over {simulator, runtime}) with the same
// policy objects, and asserts what a user would see in the run summary.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "runtime_support.h"
#include "schedkit/policy_registry.h"
#include "schedkit/runtime.h"
#include "schedkit/runtime_workload.h"
#include "schedkit/sim.h"
#include "sim_support.h"

namespace schedkit {
namespace {

using namespace std::chrono_literals;
using test::kMs;

enum class Exec { Simulator, Runtime };

using Factory = std::function<std::unique_ptr<Policy>()>;

struct Switch {
    uint64_t at_ns;
    std::string policy;
};

// run_spec() runs `spec` on a flat 2-CPU machine under the policy `make`
// builds, with `quantum_ns`, in the chosen executor, and returns its summary.
RunSummary run_spec(Exec exec, const WorkloadSpec& spec, const Factory& make, uint64_t quantum_ns,
                    const std::vector<Switch>& switches = {}) {
    Topology topo = Topology::flat(2);
    if (exec == Exec::Simulator) {
        SimConfig c;
        c.quantum_ns = quantum_ns;
        Simulator sim(spec, topo, make(), c);
        for (const Switch& s : switches)
            sim.schedule_switch(s.at_ns, make_policy(s.policy));
        SimResult r = sim.run();
        EXPECT_TRUE(r.completed);
        return r.summary;
    }
    RealRunConfig c;
    c.runtime = Runtime::Config{}
                    .with_workers(2)
                    .with_topology(topo)
                    .with_policy_factory(make)
                    .with_quantum_ns(quantum_ns)
                    .with_bind(false)
                    .with_idle_spin_ns(20'000);
    for (const Switch& s : switches)
        c.switches.emplace_back(s.at_ns, s.policy);
    RealRunResult r = run_workload(spec, c);
    EXPECT_TRUE(r.completed);
    return r.summary;
}

CpuSet cpus_of(std::initializer_list<int> list) {
    CpuSet s;
    for (int c : list)
        s.set(c);
    return s;
}

// Counters a test policy shares with its test (policies are built per run).
struct Seen {
    std::atomic<int> pushes_moved{0};
    std::atomic<int> rehomed{0};
};

// PushPolicy places everything on CPU 0; CPU 1's tick asks CPU 0 for an
// active push once CPU 0 has a task waiting.
class PushPolicy final : public Policy {
  public:
    explicit PushPolicy(std::shared_ptr<Seen> seen) : seen_(std::move(seen)) {}
    std::string name() const override { return "test-push"; }
    int select_cpu(Scheduler&, const Task&, PlaceReason) override { return 0; }
    uint64_t tick_period_ns() const override { return 500'000; }
    void tick(Scheduler& sched, int cpu, uint64_t) override {
        if (cpu == 1 && !requested_.load() &&
            sched.rq(0).nr_queued.load(std::memory_order_relaxed) > 0 && !requested_.exchange(true))
            sched.request_push(0, 1);
    }
    void on_active_balance(int src, int dst, bool moved) override {
        if (src == 0 && dst == 1 && moved)
            seen_->pushes_moved.fetch_add(1);
    }

  private:
    std::shared_ptr<Seen> seen_;
    std::atomic<bool> requested_{false};
};

// RehomePolicy spawns on CPU 0 and, from CPU 0's tick, flags the running
// task to be re-placed; re-placing (select_cpu(Wake)) sends it to CPU 1.
class RehomePolicy final : public Policy {
  public:
    explicit RehomePolicy(std::shared_ptr<Seen> seen) : seen_(std::move(seen)) {}
    std::string name() const override { return "test-rehome"; }
    int select_cpu(Scheduler&, const Task&, PlaceReason why) override {
        return why == PlaceReason::Spawn ? 0 : 1;
    }
    uint64_t tick_period_ns() const override { return 1'000'000; }
    void tick(Scheduler& sched, int cpu, uint64_t) override {
        if (cpu == 0 && !flagged_.load() &&
            sched.rehome_current(0, [](const Task&) { return true; })) {
            flagged_.store(true);
            seen_->rehomed.fetch_add(1);
        }
    }

  private:
    std::shared_ptr<Seen> seen_;
    std::atomic<bool> flagged_{false};
};

// GatherPolicy places spawns round-robin, then CPU 0's tick keeps pulling
// whatever runs on CPU 1 over to CPU 0 (rehome), as `dynamic` gathers idle
// threads on its main CPU.
class GatherPolicy final : public Policy {
  public:
    std::string name() const override { return "test-gather"; }
    int select_cpu(Scheduler&, const Task&, PlaceReason why) override {
        if (why == PlaceReason::Wake)
            return 0;
        return static_cast<int>(next_.fetch_add(1) % 2);
    }
    uint64_t tick_period_ns() const override { return 1'000'000; }
    void tick(Scheduler& sched, int cpu, uint64_t) override {
        if (cpu == 0)
            sched.rehome_current(1, [](const Task&) { return true; });
    }

  private:
    std::atomic<uint64_t> next_{0};
};

class DispatchParity : public ::testing::TestWithParam<Exec> {
  protected:
    test::Watchdog wd_{120s};
};

std::string exec_name(const ::testing::TestParamInfo<Exec>& info) {
    return info.param == Exec::Simulator ? "simulator" : "runtime";
}

INSTANTIATE_TEST_SUITE_P(Executors, DispatchParity,
                         ::testing::Values(Exec::Simulator, Exec::Runtime), exec_name);

Factory by_name(const std::string& name) {
    return [name] { return make_policy(name); };
}

// Two CPU-bound tasks sharing CPU 0 take turns at every quantum; a lone
// task is never switched out (a fresh slice, no switch).
TEST_P(DispatchParity, PreemptsAtTheQuantumOnlyWhenOthersWait) {
    auto pinned = test::group("pinned", 2, {test::run(6 * kMs)});
    pinned.affinity = cpus_of({0});
    RunSummary shared = run_spec(GetParam(), test::spec({pinned}), by_name("static"), kMs);
    EXPECT_EQ(shared.completed, 2u);
    // Without preemption each task would run once: 2 switches. The
    // simulator takes 12 turns; the runtime's slices are wall time, and a
    // worker thread preempted by a loaded host (6 seen under TSan in CI's
    // stages) uses up a task's 6 ms in fewer of them.
    uint64_t turns = GetParam() == Exec::Simulator ? 8u : 4u;
    EXPECT_GE(shared.cpus[0].context_switches, turns) << "tasks did not take turns";
    EXPECT_EQ(shared.cpus[1].context_switches, 0u);

    auto alone = test::group("alone", 1, {test::run(6 * kMs)});
    alone.affinity = cpus_of({0});
    RunSummary lone = run_spec(GetParam(), test::spec({alone}), by_name("static"), kMs);
    EXPECT_EQ(lone.completed, 1u);
    EXPECT_EQ(lone.context_switches, 1u) << "a lone task was switched out and back";
}

// An active push requested by the policy is carried out by the source CPU:
// its running task yields, and one task moves to the target.
TEST_P(DispatchParity, CarriesOutAnActivePush) {
    auto seen = std::make_shared<Seen>();
    auto work = test::group("work", 3, {test::run(6 * kMs)});
    RunSummary s = run_spec(
        GetParam(), test::spec({work}), [seen] { return std::make_unique<PushPolicy>(seen); }, kMs);
    EXPECT_EQ(s.completed, 3u);
    EXPECT_EQ(seen->pushes_moved.load(), 1);
    EXPECT_GE(s.migrations, 1u);
    EXPECT_GT(s.cpus[1].busy_us, 1000.0) << "nothing ran on the push's target";
}

// A running task the policy flags to re-place moves at its next slice end,
// even when nothing else waits on its CPU (the runtime used to let it run on).
TEST_P(DispatchParity, RehomesARunningTaskThatNothingPreempts) {
    auto seen = std::make_shared<Seen>();
    auto solo = test::group("solo", 1, {test::run(10 * kMs)});
    RunSummary s = run_spec(
        GetParam(), test::spec({solo}), [seen] { return std::make_unique<RehomePolicy>(seen); },
        kMs);
    EXPECT_EQ(s.completed, 1u);
    EXPECT_EQ(seen->rehomed.load(), 1);
    EXPECT_EQ(s.migrations, 1u);
    EXPECT_GT(s.cpus[1].busy_us, 2000.0) << "the flagged task stayed on CPU 0";
}

// A task that spawns children its policy keeps local (steal) wakes the idle
// CPU, which takes some of them. The children run 10 ms each: in the runtime
// the idle worker's thread must get a CPU from Linux within their 80 ms (a
// 3 ms child once left it no time at load 6).
TEST_P(DispatchParity, LocalSpawnsWakeAnIdleCpuToSteal) {
    auto root = test::group("root", 1, {test::spawn(1, 8, true)});
    auto leaf = test::group("leaf", 0, {test::run(10 * kMs)});
    RunSummary s = run_spec(GetParam(), test::spec({root, leaf}), by_name("steal"), 3 * kMs);
    EXPECT_EQ(s.completed, 9u);
    EXPECT_GE(s.cpus[1].busy_us, 2500.0) << "the idle CPU took no child";
    EXPECT_GE(s.migrations, 1u);
}

// Tasks gathered on CPU 0 by one policy go back to their original CPUs when
// `static` takes over, and the old policy's pending re-place requests die
// with it.
TEST_P(DispatchParity, SwitchToStaticReturnsTasksToTheirOriginalCpus) {
    // Long enough phases that a loaded machine still ticks the gathering
    // policy (1 ms period) before the switch at 50 ms.
    auto work = test::group("work", 2, {test::run(120 * kMs)});
    RunSummary s =
        run_spec(GetParam(), test::spec({work}), [] { return std::make_unique<GatherPolicy>(); },
                 kMs, {{50 * kMs, "static"}});
    EXPECT_EQ(s.completed, 2u);
    EXPECT_GE(s.migrations, 2u) << "gathered and returned: at least two moves";
    // Gathered, CPU 1 would run only until the first tick (about 1 ms);
    // returned, it runs its task's remaining ~95 ms.
    EXPECT_GT(s.cpus[1].busy_us, 40'000.0) << "the task never went back to CPU 1";
}

// The switch drops the old policy's requests: a pending push and a
// rehome flag on a running task (executor-independent, on the core).
TEST(DispatchContract, SwitchClearsPendingPushAndRehome) {
    Topology topo = Topology::flat(2);
    Scheduler sched(topo, DomainTree::build(topo), make_policy("static"));
    std::vector<Task> tasks(3);
    for (auto& t : tasks) {
        t.affinity = cpus_of({0});
        sched.spawn(t, 0);
    }
    ASSERT_EQ(sched.pick_next(0, 0).status, PickStatus::Task);
    sched.request_push(0, 1);
    ASSERT_TRUE(sched.rehome_current(0, [](const Task&) { return true; }));
    EXPECT_TRUE(sched.must_yield(0));
    EXPECT_EQ(sched.after_slice(0), Scheduler::SliceAction::Preempt);
    ASSERT_TRUE(sched.switch_policy(make_policy("fair"), 1).ok);
    EXPECT_EQ(sched.rq(0).push_to.load(), -1);
    EXPECT_FALSE(sched.must_yield(0));
    EXPECT_FALSE(sched.service(0, 2)) << "a dropped push was carried out";
    // Still others waiting: the quantum's preemption is unaffected.
    EXPECT_EQ(sched.after_slice(0), Scheduler::SliceAction::Preempt);
}

// The quantum override is held by the core and applied to every policy it
// publishes, not written into policies by executors.
TEST(DispatchContract, QuantumOverrideOutlivesPolicySwitches) {
    Topology topo = Topology::flat(2);
    Scheduler sched(topo, DomainTree::build(topo), make_policy("static"));
    sched.set_quantum_ns(123'000);
    Task t;
    EXPECT_EQ(sched.time_slice_ns(t), 123'000u);
    ASSERT_TRUE(sched.switch_policy(make_policy("fair:quantum_us=5000"), 1).ok);
    EXPECT_EQ(sched.time_slice_ns(t), 123'000u);
    sched.set_quantum_ns(0);
    ASSERT_TRUE(sched.switch_policy(make_policy("fair:quantum_us=5000"), 2).ok);
    EXPECT_EQ(sched.time_slice_ns(t), 5'000'000u);
}

// A lone task with no request pending continues; one with others queued or
// a push pending is preempted.
TEST(DispatchContract, AfterSliceContinuesOnlyALoneUnflaggedTask) {
    Topology topo = Topology::flat(2);
    Scheduler sched(topo, DomainTree::build(topo), make_policy("static"));
    Task a;
    a.affinity = cpus_of({0, 1});
    sched.spawn(a, 0);  // static's round-robin: CPU 0 first
    ASSERT_EQ(sched.pick_next(0, 0).status, PickStatus::Task);
    EXPECT_EQ(sched.after_slice(0), Scheduler::SliceAction::Continue);
    sched.request_push(0, 1);
    EXPECT_EQ(sched.after_slice(0), Scheduler::SliceAction::Preempt);
    sched.put_prev(0, 1);
    EXPECT_TRUE(sched.service(0, 1)) << "the push did not move the task";
    EXPECT_EQ(sched.rq(1).nr_queued.load(), 1);
}

}  // namespace
}  // namespace schedkit
