// The scheduler core's operations and invariants on hand-built states.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "schedkit/policy_registry.h"
#include "schedkit/scheduler.h"

using namespace schedkit;

namespace {

Scheduler make_sched(int cpus, std::unique_ptr<Policy> p = make_static_policy()) {
    Topology topo = Topology::flat(cpus);
    DomainTree tree = DomainTree::build(topo);
    return Scheduler(std::move(topo), std::move(tree), std::move(p));
}

Task& add_task(std::deque<Task>& tasks, const char* name, const char* affinity = "") {
    Task& t = tasks.emplace_back();
    t.id = tasks.size();
    t.name = name;
    t.affinity = CpuSet::parse(affinity);
    return t;
}

// A policy that places every task on CPU 0 and counts its lifecycle calls.
class PinZero : public Policy {
  public:
    std::string name() const override { return "pin0"; }
    void start(Scheduler&, uint64_t) override { ++starts; }
    void stop(Scheduler&, uint64_t) override { ++stops; }
    int select_cpu(Scheduler&, const Task& t, PlaceReason) override {
        return t.allowed_on(0) ? 0 : t.affinity.first();
    }
    int starts = 0, stops = 0;
};

}  // namespace

TEST(Task, NiceToWeightIsLinuxTable) {
    EXPECT_EQ(nice_to_weight(0), 1024u);
    EXPECT_EQ(nice_to_weight(-20), 88761u);
    EXPECT_EQ(nice_to_weight(19), 15u);
    EXPECT_EQ(nice_to_weight(5), 335u);
    EXPECT_EQ(nice_to_weight(-100), 88761u);  // clamped
}

TEST(Task, PeltHalfLifeIs32ms) {
    Pelt p;
    p.update(32 * Pelt::kPeriodNs, true, true);
    EXPECT_NEAR(p.runnable_avg, 0.5, 1e-9);
    EXPECT_NEAR(p.load_avg(1024), 512, 1e-6);
    p.update(64 * Pelt::kPeriodNs, false, false);  // idle for a half-life halves it
    EXPECT_NEAR(p.runnable_avg, 0.25, 1e-9);
    EXPECT_NEAR(p.util_avg(), 256, 1e-6);
}

TEST(Core, SpawnPickRunsFifoAndConserves) {
    Scheduler s = make_sched(1);
    std::deque<Task> tasks;
    Task& a = add_task(tasks, "a");
    Task& b = add_task(tasks, "b");
    s.spawn(a, 0);
    s.spawn(b, 0);
    EXPECT_EQ(s.rq(0).nr_queued.load(), 2);
    Pick p = s.pick_next(0, 10);
    ASSERT_EQ(p.status, PickStatus::Task);
    EXPECT_EQ(p.task, &a);
    EXPECT_EQ(a.state, TaskState::Running);
    s.check_invariants();
    s.put_prev(0, 20);  // a goes behind b
    EXPECT_EQ(a.exec_ns, 10u);
    EXPECT_EQ(s.pick_next(0, 20).task, &b);
    s.exit(0, 30);
    EXPECT_EQ(s.pick_next(0, 30).task, &a);
    s.exit(0, 40);
    EXPECT_EQ(s.spawned(), 2u);
    EXPECT_EQ(s.exited(), 2u);
    EXPECT_EQ(s.pick_next(0, 40).status, PickStatus::Idle);  // more may arrive
    s.close_arrivals();
    EXPECT_EQ(s.pick_next(0, 40).status, PickStatus::Eof);
    EXPECT_EQ(s.rq(0).nr_switches, 3u);
    s.check_invariants();
}

TEST(Core, StaticRoundRobinsWithinAffinity) {
    Scheduler s = make_sched(4);
    std::deque<Task> tasks;
    for (int i = 0; i < 4; ++i)
        s.spawn(add_task(tasks, "t", "1-2"), 0);
    EXPECT_EQ(s.rq(1).nr_queued.load(), 2);
    EXPECT_EQ(s.rq(2).nr_queued.load(), 2);
    for (int i = 0; i < 4; ++i)
        s.spawn(add_task(tasks, "u"), 0);
    for (int c = 0; c < 4; ++c)
        EXPECT_GE(s.rq(c).nr_queued.load(), 1);
    EXPECT_EQ(tasks[0].original_cpu, tasks[0].home_cpu);
}

// Spawns and wakes from the CPU itself jump the queue under a policy that
// asks for it (steal: depth-first fork-join); wakes from elsewhere do not,
// and once jumpers have run back to back for a quantum everything queues
// at the tail until a tail task has run (nothing starves).
TEST(Core, QueueJumpingIsLocalAndBoundedByTheQuantum) {
    auto policy = make_policy("steal");
    uint64_t q = policy->quantum_ns;
    Scheduler s = make_sched(2, std::move(policy));
    std::deque<Task> tasks;
    Task& root = add_task(tasks, "root");
    s.spawn(root, 0);  // from outside: round-robin, at the tail
    int cpu = root.cpu;
    ASSERT_EQ(s.pick_next(cpu, 0).task, &root);
    Task& a = add_task(tasks, "a");
    Task& b = add_task(tasks, "b");
    a.spawner_cpu = b.spawner_cpu = cpu;
    s.spawn(a, 1);
    s.spawn(b, 2);
    EXPECT_EQ(a.cpu, cpu);          // kept local
    EXPECT_EQ(s.rq(cpu).head, &b);  // LIFO: the newest runs next
    s.block(cpu, 3);                // root waits for its children
    EXPECT_EQ(s.pick_next(cpu, 3).task, &b);
    s.wake(root, 4, 1 - cpu);  // woken from the other CPU: the tail
    EXPECT_EQ(s.rq(cpu).tail, &root);
    s.exit(cpu, 5);
    EXPECT_EQ(s.pick_next(cpu, 5).task, &a);
    // a runs past the quantum since the last tail task (root) started:
    // its own spawn now waits at the tail, behind root.
    Task& c = add_task(tasks, "c");
    c.spawner_cpu = cpu;
    s.spawn(c, q + 1);
    EXPECT_EQ(s.rq(cpu).head, &root);
    EXPECT_EQ(s.rq(cpu).tail, &c);
    s.exit(cpu, q + 2);
    EXPECT_EQ(s.pick_next(cpu, q + 2).task, &root);  // a tail task ran: jumping resumes
    Task& d = add_task(tasks, "d");
    d.spawner_cpu = cpu;
    s.spawn(d, q + 3);
    EXPECT_EQ(s.rq(cpu).head, &d);
    s.check_invariants();
}

// The runtime's remote wake runs wake() in two halves, on two threads:
// placement on the waker, queueing on the chosen CPU. Between them the task
// is still Blocked and counted on its last CPU; together they leave exactly
// the state wake() leaves (the simulator calls wake()).
TEST(Core, WakeInTwoHalvesIsWake) {
    auto run = [](bool halves) {
        Scheduler s = make_sched(2, make_policy("steal"));
        std::deque<Task> tasks;
        Task& a = add_task(tasks, "a");
        Task& b = add_task(tasks, "b");
        s.spawn(a, 0);
        int cpu = a.cpu;
        b.spawner_cpu = cpu;
        s.spawn(b, 1);
        EXPECT_EQ(s.pick_next(cpu, 1).task, &b);  // LIFO: b first
        s.block(cpu, 2);
        EXPECT_EQ(s.pick_next(cpu, 2).task, &a);
        if (halves) {
            int to = s.wake_place(b, 3);
            EXPECT_EQ(to, cpu);  // steal: back where it last ran
            EXPECT_EQ(b.state, TaskState::Blocked);
            EXPECT_EQ(s.rq(cpu).nr_blocked.load(), 1);
            EXPECT_EQ(s.rq(cpu).nr_queued.load(), 0);
            s.wake_enqueue(b, to, 3, 1 - cpu);
        } else {
            s.wake(b, 3, 1 - cpu);
        }
        EXPECT_EQ(b.state, TaskState::Runnable);
        EXPECT_EQ(b.cpu, cpu);
        EXPECT_EQ(s.rq(cpu).nr_blocked.load(), 0);
        EXPECT_EQ(s.rq(cpu).tail, &b);  // woken from the other CPU: the tail
        EXPECT_FALSE(s.idle_cpus().test(cpu));
        EXPECT_TRUE(s.queued_cpus().test(cpu));
        EXPECT_TRUE(s.overloaded_cpus().test(cpu));
        EXPECT_EQ(s.overloaded_cpus().count(), 1);
        EXPECT_EQ(s.idle_cpus().count(), 1);  // the other CPU
        s.check_invariants();
        return b.pelt.runnable_avg;
    };
    EXPECT_EQ(run(true), run(false));
}

// Story 1: a queue holding only blocked tasks is idle, not an error, and
// balancing from it finds nothing to pull and simply stops.
TEST(Core, AllBlockedQueueIsIdleNotAnError) {
    Scheduler s = make_sched(2, std::make_unique<PinZero>());
    std::deque<Task> tasks;
    Task& a = add_task(tasks, "a");
    Task& b = add_task(tasks, "b");
    s.spawn(a, 0);
    s.spawn(b, 0);
    s.pick_next(0, 0);
    s.block(0, 5);
    s.pick_next(0, 5);
    s.block(0, 7);
    EXPECT_EQ(s.rq(0).nr_blocked.load(), 2);
    Pick p = s.pick_next(0, 8);
    EXPECT_EQ(p.status, PickStatus::Idle);
    EXPECT_EQ(p.task, nullptr);
    auto pulled = s.detach_tasks(0, 32, [](const Task&) { return true; });
    EXPECT_TRUE(pulled.empty());
    EXPECT_FALSE(s.migrate(a, 1, 8));  // blocked: not movable
    s.close_arrivals();
    EXPECT_EQ(s.pick_next(0, 8).status, PickStatus::Idle);  // still alive: never Eof
    s.wake(a, 9);
    EXPECT_EQ(s.rq(0).nr_blocked.load(), 1);
    EXPECT_EQ(s.pick_next(0, 9).task, &a);
    s.check_invariants();
}

TEST(Core, MigrateRespectsStateAndAffinity) {
    Scheduler s = make_sched(3, std::make_unique<PinZero>());
    std::deque<Task> tasks;
    Task& pinned = add_task(tasks, "pinned", "0-1");
    Task& free = add_task(tasks, "free");
    Task& running = add_task(tasks, "running");
    s.spawn(running, 0);
    s.pick_next(0, 0);
    s.spawn(pinned, 0);
    s.spawn(free, 0);
    EXPECT_FALSE(s.migrate(pinned, 2, 1));   // outside affinity
    EXPECT_FALSE(s.migrate(running, 1, 1));  // running: only a push moves it
    EXPECT_TRUE(s.migrate(pinned, 1, 1));
    EXPECT_TRUE(s.migrate(free, 2, 1));
    EXPECT_FALSE(s.migrate(free, 2, 1));  // already there
    EXPECT_EQ(s.migrations(), 2u);
    EXPECT_EQ(s.rq(1).migrations_in, 1u);
    EXPECT_EQ(s.rq(0).migrations_out.load(), 2u);
    EXPECT_EQ(pinned.nr_migrations, 1u);
    s.check_invariants();
}

TEST(Core, DetachTakesFromTailUpToMax) {
    Scheduler s = make_sched(2, std::make_unique<PinZero>());
    std::deque<Task> tasks;
    for (int i = 0; i < 5; ++i)
        s.spawn(add_task(tasks, "t"), 0);
    auto moved = s.detach_tasks(0, 2, [](const Task& t) { return t.id != 5; });
    ASSERT_EQ(moved.size(), 2u);
    EXPECT_EQ(moved[0]->id, 4u);  // task 5 refused, so 4 then 3
    EXPECT_EQ(moved[1]->id, 3u);
    s.attach_tasks(1, moved, 0, 1);
    EXPECT_EQ(s.rq(1).nr_queued.load(), 2);
    EXPECT_EQ(s.rq(0).nr_queued.load(), 3);
    s.check_invariants();
}

TEST(Core, ActiveBalancePushesThePreemptedTask) {
    Scheduler s = make_sched(2, std::make_unique<PinZero>());
    std::deque<Task> tasks;
    Task& a = add_task(tasks, "a");
    s.spawn(a, 0);
    s.pick_next(0, 0);
    s.request_push(0, 1);
    s.put_prev(0, 5);                     // the source CPU stops its task...
    EXPECT_TRUE(s.active_balance(0, 5));  // ...and moves it
    EXPECT_EQ(a.cpu, 1);
    EXPECT_EQ(s.rq(0).push_to.load(), -1);
    EXPECT_FALSE(s.active_balance(0, 6));  // nothing pending
    s.check_invariants();
}

TEST(Core, FailedPolicyStartRollsBack) {
    auto first = std::make_unique<PinZero>();
    PinZero* old = first.get();
    Scheduler s = make_sched(2, std::move(first));
    EXPECT_EQ(old->starts, 1);
    SwitchResult r = s.switch_policy(make_policy("failing"), 10);
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.error.find("refuses to start"), std::string::npos);
    EXPECT_EQ(s.policy().name(), "pin0");
    EXPECT_EQ(old->stops, 1);
    EXPECT_EQ(old->starts, 2);  // restarted after the refusal
    EXPECT_EQ(s.policy_switches(), 0u);
}

TEST(Core, SwitchRetiresOldPolicyAfterPublishing) {
    Scheduler s = make_sched(2, std::make_unique<PinZero>());
    std::string retired_name, active_at_retire;
    s.set_retire([&](Policy* p) {
        retired_name = p->name();
        active_at_retire = s.policy().name();
        delete p;
    });
    std::deque<Task> tasks;
    Task& a = add_task(tasks, "a");
    s.spawn(a, 0);
    SwitchResult r = s.switch_policy(make_policy("static"), 5);
    EXPECT_TRUE(r.ok);
    // The replaced policy is kept (stopped) to be put back should the new
    // one fail (policy_restore.cpp); the next switch retires it.
    EXPECT_EQ(retired_name, "");
    EXPECT_EQ(a.state, TaskState::Runnable);  // tasks untouched
    r = s.switch_policy(make_policy("fair"), 6);
    EXPECT_TRUE(r.ok);
    EXPECT_EQ(retired_name, "pin0");
    EXPECT_EQ(active_at_retire, "fair");  // published before the old one is freed
    s.check_invariants();
}

// A policy that reports failure (policy_failed) is replaced by the one it
// replaced; the failed one is retired, and a report from a policy no longer
// active changes nothing.
TEST(Core, RestorePutsThePreviousPolicyBack) {
    auto first = std::make_unique<PinZero>();
    PinZero* pin = first.get();
    Scheduler s = make_sched(2, std::move(first));
    std::vector<std::string> retired;
    s.set_retire([&](Policy* p) {
        retired.push_back(p->name());
        delete p;
    });
    EXPECT_FALSE(s.restore_failed_policy(1).has_value());  // nothing failed
    ASSERT_TRUE(s.switch_policy(make_policy("static"), 2).ok);
    s.policy_failed(*pin, "stale report");  // pin0 is no longer active: ignored
    EXPECT_FALSE(s.restore_pending());
    s.policy_failed(s.policy(), "static broke");
    EXPECT_TRUE(s.restore_pending());
    std::optional<PolicyRestore> r = s.restore_failed_policy(3);
    ASSERT_TRUE(r.has_value());
    EXPECT_FALSE(s.restore_pending());
    EXPECT_EQ(r->from, "static");
    EXPECT_EQ(r->to, "pin0");
    EXPECT_EQ(r->why, "static broke");
    EXPECT_TRUE(r->result.ok) << r->result.error;
    EXPECT_EQ(s.policy().name(), "pin0");
    EXPECT_EQ(pin->starts, 2);  // started again, not a new one
    EXPECT_EQ(retired, std::vector<std::string>{"static"});
    // Nothing is kept to put back now: a second failure leaves pin0 active.
    s.policy_failed(s.policy(), "pin0 broke");
    r = s.restore_failed_policy(4);
    ASSERT_TRUE(r.has_value());
    EXPECT_FALSE(r->result.ok);
    EXPECT_NE(r->result.error.find("no previous policy"), std::string::npos);
    EXPECT_EQ(s.policy().name(), "pin0");
    s.check_invariants();
}

// A refused start hands the refused policy to the retire hook (a runtime
// frees it after a grace period: a restore's policy was active before).
TEST(Core, RefusedPolicyGoesThroughTheRetireHook) {
    Scheduler s = make_sched(2, std::make_unique<PinZero>());
    std::vector<std::string> retired;
    s.set_retire([&](Policy* p) {
        retired.push_back(p->name());
        delete p;
    });
    EXPECT_FALSE(s.switch_policy(make_policy("failing"), 1).ok);
    EXPECT_EQ(retired, std::vector<std::string>{"failing"});
    EXPECT_EQ(s.policy().name(), "pin0");
}

// Story 5: two CPUs balancing towards each other at the same time never
// deadlock, because a migration holds one run-queue lock at a time.
TEST(Core, OpposingBalancersDoNotDeadlock) {
    Scheduler s = make_sched(2, std::make_unique<PinZero>());
    std::deque<Task> tasks;
    for (int i = 0; i < 64; ++i)
        s.spawn(add_task(tasks, "t"), 0);
    for (int i = 0; i < 32; ++i)
        s.migrate(tasks[static_cast<size_t>(i)], 1, 0);
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> moves{0};
    auto balancer = [&](int from, int to) {
        while (!stop.load()) {
            auto moved = s.detach_tasks(from, 4, [](const Task&) { return true; });
            s.attach_tasks(to, moved, from, 0);
            moves += moved.size();
            for (Task& t : tasks)
                s.migrate(t, to, 0);
        }
    };
    std::thread t1(balancer, 0, 1), t2(balancer, 1, 0);
    // A deadlock shows as no move at all for a while, not as a slow machine: run to 4000
    // moves (or 60 s under a sanitizer on a loaded host) and fail on a 10 s stall.
    using Clock = std::chrono::steady_clock;
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    uint64_t last = 0;
    auto last_change = Clock::now();
    bool stalled = false;
    while (moves.load() < 4000 && Clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        if (uint64_t m = moves.load(); m != last) {
            last = m;
            last_change = Clock::now();
        } else if (Clock::now() - last_change > std::chrono::seconds(10)) {
            stalled = true;
            break;
        }
    }
    stop = true;
    t1.join();
    t2.join();
    EXPECT_FALSE(stalled) << "no move for 10 s after " << moves.load() << " moves";
    EXPECT_GE(moves.load(), 1000u) << "balancers barely moved";
    s.check_invariants();
    EXPECT_EQ(s.rq(0).nr_queued.load() + s.rq(1).nr_queued.load(), 64);
}
