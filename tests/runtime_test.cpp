// runtime_test.cpp: the real runtime with coroutine tasks, parameterised
// over 1, 2, 4 and 8 workers (oversubscribing a 2-CPU machine on purpose).
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <vector>

#include <unistd.h>

#include "runtime_support.h"
#include "schedkit/policy_registry.h"
#include "schedkit/runtime.h"
#include "schedkit/sync.h"

namespace schedkit {
namespace {

using namespace std::chrono_literals;
using test::Watchdog;

class RuntimeTest : public ::testing::TestWithParam<int> {
  protected:
    Runtime::Config config(std::string policy = "static") const {
        return test::test_config(GetParam(), std::move(policy));
    }
};

Job<int> add(int a, int b) {
    co_return a + b;
}

Job<int> fib(int n) {
    if (n < 2)
        co_return n;
    auto left = spawn(fib(n - 1));
    int right = co_await fib(n - 2);  // inline: same task
    co_return co_await left + right;
}

TEST_P(RuntimeTest, EveryTaskCompletesExactlyOnce) {
    Watchdog wd(60s);
    Runtime rt(config());
    rt.start();
    constexpr int kOuter = 200, kInner = 10;
    auto runs = std::make_unique<std::atomic<int>[]>(kOuter * (kInner + 1));
    std::vector<JoinHandle<void>> handles;
    for (int i = 0; i < kOuter; ++i) {
        // Half spawned from this thread (through an inbox), and each of
        // those spawns children from inside the runtime.
        handles.push_back(rt.spawn([&runs, i]() -> Job<void> {
            runs[i * (kInner + 1)].fetch_add(1);
            std::vector<JoinHandle<void>> kids;
            for (int k = 1; k <= kInner; ++k)
                kids.push_back(spawn([&runs, i, k]() -> Job<void> {
                    runs[i * (kInner + 1) + k].fetch_add(1);
                    co_await yield();
                }));
            for (auto& h : kids)
                co_await h;
        }));
    }
    for (auto& h : handles)
        h.get();
    for (int i = 0; i < kOuter * (kInner + 1); ++i)
        ASSERT_EQ(runs[i].load(), 1) << "task " << i;
    StopReport r = rt.stop();
    EXPECT_EQ(r.spawned, static_cast<uint64_t>(kOuter * (kInner + 1)));
    EXPECT_EQ(r.completed, r.spawned);
    EXPECT_EQ(r.cancelled + r.failed, 0u);
    EXPECT_TRUE(r.drained);
    RuntimeStats s = rt.stats();
    EXPECT_EQ(s.summary.spawned, r.spawned);
    EXPECT_EQ(s.summary.completed, r.spawned);
    EXPECT_EQ(s.summary.lost, 0u);
}

TEST_P(RuntimeTest, ResultsAndExceptionsReachTheAwaiter) {
    Watchdog wd(30s);
    Runtime rt(config());
    EXPECT_EQ(rt.block_on(add(2, 3)), 5);
    EXPECT_EQ(rt.block_on(fib(15)), 610);
    // A plain function is a task too.
    EXPECT_EQ(rt.spawn([] { return 7; }).get(), 7);
    auto thrower = []() -> Job<int> {
        co_await yield();
        throw std::runtime_error("boom");
    };
    EXPECT_THROW(rt.spawn(thrower).get(), std::runtime_error);
    // The exception reaches a task that awaits the handle.
    std::string seen = rt.block_on([&]() -> Job<std::string> {
        auto h = spawn(thrower());
        try {
            co_await h;
        } catch (const std::runtime_error& e) {
            co_return e.what();
        }
        co_return "no exception";
    }());
    EXPECT_EQ(seen, "boom");
    // Results are delivered once.
    auto h = rt.spawn(add(1, 1));
    EXPECT_EQ(h.get(), 2);
    EXPECT_THROW(h.get(), std::logic_error);
    StopReport r = rt.stop();
    EXPECT_EQ(r.failed, 2u);
    EXPECT_EQ(r.completed + r.failed, r.spawned);
}

TEST_P(RuntimeTest, SleepForBlocksTheTaskNotTheWorker) {
    Watchdog wd(30s);
    Runtime rt(config());
    rt.start();
    // More sleepers than workers, all sleeping at once: if a sleep held its
    // worker they would run one batch after another.
    constexpr int kSleepers = 16;
    std::atomic<int> asleep{0};
    Event all_asleep;
    std::vector<JoinHandle<uint64_t>> hs;
    for (int i = 0; i < kSleepers; ++i)
        hs.push_back(rt.spawn([&]() -> Job<uint64_t> {
            if (asleep.fetch_add(1) + 1 == kSleepers)
                all_asleep.set();
            uint64_t t0 = Runtime::current()->now_ns();
            co_await sleep_for(5ms);
            co_return Runtime::current()->now_ns() - t0;
        }));
    all_asleep.wait_blocking();
    for (auto& h : hs)
        EXPECT_GE(h.get(), 5'000'000u);
    EXPECT_EQ(rt.stop().completed, static_cast<uint64_t>(kSleepers));
}

TEST_P(RuntimeTest, StopWithWorkInFlightLosesNothing) {
    Watchdog wd(60s);
    Runtime rt(config());
    rt.start();
    auto never = std::make_shared<Event>();  // never set: its waiters are stuck
    std::atomic<int> started{0}, unwound{0};
    std::vector<JoinHandle<void>> hs;
    for (int i = 0; i < 12; ++i) {
        hs.push_back(rt.spawn([&, never, i]() -> Job<void> {
            started.fetch_add(1);
            try {
                if (i % 3 == 0)
                    co_await never->wait();
                else if (i % 3 == 1)
                    co_await sleep_for(1h);
                else
                    for (;;)
                        co_await yield();
            } catch (const Cancelled&) {
                unwound.fetch_add(1);
                throw;
            }
        }));
    }
    // Quick tasks that do finish.
    for (int i = 0; i < 20; ++i)
        rt.spawn([]() -> Job<void> { co_await yield(); }).detach();
    ASSERT_TRUE(test::wait_until([&] { return started.load() == 12; }));
    StopReport r = rt.stop(50ms);
    EXPECT_FALSE(r.drained);
    EXPECT_EQ(r.spawned, 32u);
    EXPECT_EQ(r.cancelled, 12u);
    EXPECT_EQ(r.completed, 20u);
    EXPECT_EQ(unwound.load(), 12);
    for (auto& h : hs)
        EXPECT_THROW(h.get(), Cancelled);
    // After stop, spawning from outside is refused.
    EXPECT_THROW(rt.spawn(add(1, 2)), std::logic_error);
}

TEST_P(RuntimeTest, CancelEndsAWaitWithCancelled) {
    Watchdog wd(30s);
    Runtime rt(config());
    rt.start();
    Event ev;
    std::atomic<bool> waiting{false};
    auto h = rt.spawn([&]() -> Job<int> {
        waiting = true;
        co_await ev.wait();
        co_return 1;
    });
    ASSERT_TRUE(test::wait_until([&] { return waiting.load(); }));
    h.cancel();
    EXPECT_THROW(h.get(), Cancelled);
    // A task cancelled before it ever ran never starts.
    std::atomic<bool> ran{false};
    Runtime idle(config());  // not started: the spawn waits in an inbox
    auto h2 = idle.spawn([&]() -> Job<void> {
        ran = true;
        co_return;
    });
    h2.cancel();
    idle.start();
    EXPECT_THROW(h2.get(), Cancelled);
    EXPECT_FALSE(ran.load());
    EXPECT_EQ(idle.stop().cancelled, 1u);
    EXPECT_EQ(rt.stop().cancelled, 1u);
}

TEST_P(RuntimeTest, LivePolicySwitchUnderLoad) {
    Watchdog wd(60s);
    Runtime rt(config());
    rt.start();
    std::vector<std::string> policies;
    for (const PolicyInfo& p : policy_registry())
        if (!p.hidden)
            policies.push_back(p.name);
    std::atomic<bool> stop_load{false};
    std::atomic<uint64_t> yields{0};
    std::vector<JoinHandle<void>> hs;
    for (int i = 0; i < 4 * GetParam(); ++i)
        hs.push_back(rt.spawn([&]() -> Job<void> {
            while (!stop_load.load()) {
                yields.fetch_add(1);
                co_await yield();
                if (yields.load() % 64 == 0)
                    co_await sleep_for(100us);
            }
        }));
    int switches = 0;
    for (int round = 0; round < 3; ++round)
        for (const std::string& p : policies) {
            uint64_t before = yields.load();
            SwitchResult r = rt.set_policy(p);
            ASSERT_TRUE(r.ok) << p << ": " << r.error;
            EXPECT_EQ(rt.policy_name(), p);
            ++switches;
            // Work keeps moving under the new policy.
            ASSERT_TRUE(test::wait_until([&] { return yields.load() > before + 100; }))
                << "no progress under " << p;
        }
    // A policy that refuses to start leaves the old one in charge.
    std::string before = rt.policy_name();
    SwitchResult bad = rt.set_policy("failing");
    EXPECT_FALSE(bad.ok);
    EXPECT_EQ(rt.policy_name(), before);
    EXPECT_THROW(rt.set_policy("no-such-policy"), InputError);
    stop_load = true;
    for (auto& h : hs)
        h.get();
    StopReport r = rt.stop();
    EXPECT_EQ(r.completed, r.spawned);
    EXPECT_EQ(rt.scheduler().policy_switches(), static_cast<uint64_t>(switches));
}

// The dynamic policy's balance reads every live task's state and run time
// from the main CPU while the other workers run, block and exit those tasks
// (through Scheduler::for_each_task and the task.h hint loads): under
// ThreadSanitizer this is the test that must stay clean.
TEST_P(RuntimeTest, DynamicBalancesWhileTasksChurn) {
    Watchdog wd(60s);
    Runtime rt(config("dynamic:period_us=200"));
    rt.start();
    std::atomic<bool> stop_load{false};
    std::vector<JoinHandle<void>> hs;
    for (int i = 0; i < 4 * GetParam(); ++i)
        hs.push_back(rt.spawn([&, i]() -> Job<void> {
            for (uint64_t n = 0; !stop_load.load(); ++n) {
                // Short-lived children: spawns and exits during balances.
                if (n % 8 == 0) {
                    co_await spawn([]() -> Job<void> { co_return; });
                }
                if ((n + static_cast<uint64_t>(i)) % 16 == 0)
                    co_await sleep_for(50us);
                else
                    co_await yield();
            }
        }));
    auto balances = [&] {
        auto j = nlohmann::json::parse(rt.stats().summary.policy_stats_json);
        return j.at("balances").get<uint64_t>();
    };
    ASSERT_TRUE(test::wait_until([&] { return balances() >= 20; }, 30s))
        << "dynamic balanced only " << balances() << " times";
    stop_load = true;
    for (auto& h : hs)
        h.get();
    StopReport r = rt.stop();
    EXPECT_EQ(r.completed, r.spawned);
}

// `co_await spawn(...)` awaits a temporary handle returned by a call whose
// options are not given: the result arrives once and nothing is freed twice
// (a defaulted SpawnOptions argument was destroyed twice under g++ 12).
TEST_P(RuntimeTest, AwaitingATemporaryHandle) {
    Watchdog wd(60s);
    Runtime rt(config());
    rt.start();
    auto sum = rt.block_on([]() -> Job<long> {
        long total = 0;
        for (int i = 0; i < 2000; ++i) {
            total += co_await spawn([i]() -> Job<long> {
                if (i % 3 == 0)
                    co_await yield();
                co_return i;
            });
            if (i % 100 == 0)
                co_await spawn([]() -> Job<void> { co_await sleep_for(10us); });
        }
        co_return total;
    }());
    EXPECT_EQ(sum, 1999L * 2000 / 2);
    StopReport r = rt.stop();
    EXPECT_EQ(r.completed, r.spawned);
}

TEST_P(RuntimeTest, IdleWorkersPark) {
    Watchdog wd(30s);
    Runtime rt(config());
    rt.start();
    rt.block_on(add(1, 2));
    // With nothing to do every worker parks on its futex (and stays parked:
    // no periodic wakeups without live tasks).
    ASSERT_TRUE(test::wait_until([&] {
        for (const WorkerStats& w : rt.stats().workers)
            if (!w.parked)
                return false;
        return true;
    }));
    // A spawn from outside wakes a parked worker.
    EXPECT_EQ(rt.block_on(add(2, 2)), 4);
}

TEST_P(RuntimeTest, StatsHaveTheSimulatorShape) {
    Watchdog wd(30s);
    Runtime rt(config().with_trace(true));
    rt.block_on(fib(10));
    rt.stop();
    RuntimeStats s = rt.stats();
    auto j = nlohmann::json::parse(s.json());
    for (const char* key : {"makespan_us", "events", "context_switches", "migrations",
                            "imbalance_ratio", "tasks", "wait_us", "response_us", "cpus"})
        EXPECT_TRUE(j.contains(key)) << key;
    EXPECT_EQ(j["tasks"]["lost"], 0);
    EXPECT_EQ(j["cpus"].size(), static_cast<size_t>(GetParam()));
    EXPECT_EQ(j["workers"].size(), static_cast<size_t>(GetParam()));
    EXPECT_EQ(j["policy"], "static");
    // One file per process: ctest runs the 1/2/4/8-worker instances at once.
    std::string path =
        ::testing::TempDir() + "/runtime_trace_" + std::to_string(::getpid()) + ".json";
    rt.write_trace(path, "test");
    std::ifstream f(path);
    auto trace = nlohmann::json::parse(f);
    EXPECT_FALSE(trace["traceEvents"].empty());
}

TEST_P(RuntimeTest, AffinityIsRespected) {
    Watchdog wd(30s);
    Runtime rt(config());
    rt.start();
    int last = GetParam() - 1;
    std::vector<JoinHandle<int>> hs;
    for (int i = 0; i < 20; ++i) {
        SpawnOptions o;
        o.affinity = CpuSet::single(last);
        hs.push_back(rt.spawn(
            []() -> Job<int> {
                co_await yield();
                co_return Runtime::current()->scheduler().num_cpus();
            },
            o));
    }
    for (auto& h : hs)
        h.get();
    for (const WorkerStats& w : rt.stats().workers) {
        if (w.cpu != last) {
            EXPECT_EQ(w.slices, 0u) << "cpu " << w.cpu;
        }
    }
    SpawnOptions bad;
    bad.affinity = CpuSet::single(GetParam());
    EXPECT_THROW(rt.spawn(add(1, 1), bad), std::invalid_argument);
}

// A wake from one worker of a task that belongs on another goes through
// the target's wake list and is queued there by the target itself
// (Worker::post_wake, drain_wakes): a ping-pong between tasks pinned to the
// first and the last CPU crosses every round, loses no wake, and each side
// counts the other's wakes as remote ones.
TEST_P(RuntimeTest, CrossCpuWakesGoThroughTheTargetsWakeList) {
    if (GetParam() < 2)
        GTEST_SKIP() << "needs two workers";
    Watchdog wd(60s);
    // No spin before the waits: every round that finds no permit blocks.
    Runtime rt(config().with_wait_spin_ns(0));
    rt.start();
    constexpr int kRounds = 2000;
    int last = GetParam() - 1;
    test::PingPong pp;
    pp.run(rt, kRounds, 0, last);
    EXPECT_EQ(pp.served.load(), kRounds);
    RuntimeStats st = rt.stats();
    uint64_t to_first = st.workers[0].remote_wakes;
    uint64_t to_last = st.workers[static_cast<size_t>(last)].remote_wakes;
    // A release before the waiter blocked is no wake at all, so not every
    // round wakes; most do, and only the two pinned workers receive any.
    EXPECT_GT(to_first, 0u);
    EXPECT_GT(to_last, 0u);
    EXPECT_LE(to_first, static_cast<uint64_t>(kRounds));
    EXPECT_LE(to_last, static_cast<uint64_t>(kRounds));
    for (const WorkerStats& w : st.workers) {
        if (w.cpu != 0 && w.cpu != last) {
            EXPECT_EQ(w.remote_wakes, 0u) << "cpu " << w.cpu;
        }
    }
    StopReport r = rt.stop();
    EXPECT_EQ(r.completed, 2u);
    EXPECT_EQ(r.spawned, 2u);
}

// Under steal a task's spawns queue on its own worker (that placement is
// asserted in Core.QueueJumpingIsLocalAndBoundedByTheQuantum) and idle
// workers steal them: fork-join still gets every result, and children of
// a spawner that keeps its CPU busy still run on more than one worker.
TEST_P(RuntimeTest, StealSpreadsLocalSpawnsToIdleWorkers) {
    Watchdog wd(60s);
    Runtime rt(config("steal"));
    EXPECT_EQ(rt.block_on(fib(18)), 2584);
    std::mutex mu;
    std::set<std::thread::id> ran_on;
    rt.block_on([&]() -> Job<void> {
        std::vector<JoinHandle<void>> kids;
        for (int k = 0; k < 400; ++k)
            kids.push_back(spawn([&]() -> Job<void> {
                auto until = std::chrono::steady_clock::now() + 50us;
                while (std::chrono::steady_clock::now() < until) {
                }
                std::lock_guard g(mu);
                ran_on.insert(std::this_thread::get_id());
                co_return;
            }));
        for (auto& h : kids)
            co_await h;
    }());
    if (GetParam() > 1) {
        EXPECT_GT(ran_on.size(), 1u);
    }
    StopReport r = rt.stop();
    EXPECT_EQ(r.completed, r.spawned);
}

// Spawns from every worker at once: the per-worker id blocks, tallies,
// live-task lists and frame pools must still give unique ids, count every
// task once and reuse memory safely across workers.
TEST_P(RuntimeTest, ConcurrentSpawnersGetUniqueIdsAndExactCounts) {
    Watchdog wd(60s);
    Runtime rt(config("steal"));
    rt.start();
    constexpr int kSpawners = 8, kEach = 500;
    std::mutex mu;
    std::set<TaskId> ids;
    std::atomic<int> ran{0};
    std::vector<JoinHandle<void>> spawners;
    for (int s = 0; s < kSpawners; ++s)
        spawners.push_back(rt.spawn([&]() -> Job<void> {
            std::vector<JoinHandle<void>> kids;
            for (int k = 0; k < kEach; ++k)
                kids.push_back(spawn([&ran]() -> Job<void> {
                    ran.fetch_add(1);
                    co_return;
                }));
            std::vector<TaskId> mine;
            for (auto& h : kids) {
                mine.push_back(h.id());
                co_await h;
            }
            std::lock_guard g(mu);
            ids.insert(mine.begin(), mine.end());
        }));
    std::vector<TaskId> outer;
    for (auto& h : spawners) {
        outer.push_back(h.id());
        h.get();
    }
    ids.insert(outer.begin(), outer.end());
    EXPECT_EQ(ran.load(), kSpawners * kEach);
    EXPECT_EQ(ids.size(), static_cast<size_t>(kSpawners * (kEach + 1)));
    StopReport r = rt.stop();
    EXPECT_EQ(r.spawned, static_cast<uint64_t>(kSpawners * (kEach + 1)));
    EXPECT_EQ(r.completed, r.spawned);
    // The core counts the tasks it saw; the fast path (steal's default)
    // counts the tasks that ended without it, per worker.
    RuntimeStats st = rt.stats();
    uint64_t fast = 0;
    for (const WorkerStats& w : st.workers)
        fast += w.fast_tasks;
    EXPECT_EQ(rt.scheduler().spawned() + fast, r.spawned);
    EXPECT_EQ(st.summary.spawned, r.spawned);
    EXPECT_EQ(st.summary.completed, r.spawned);
    EXPECT_EQ(rt.scheduler().alive(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Workers, RuntimeTest, ::testing::Values(1, 2, 4, 8),
                         [](const auto& p) { return std::to_string(p.param) + "w"; });

TEST(RuntimeConfig, BadConfigIsInputError) {
    EXPECT_THROW(Runtime(Runtime::Config{}.with_workers(-1)), InputError);
    EXPECT_THROW(Runtime(Runtime::Config{}.with_policy("nope")), InputError);
    EXPECT_THROW(Runtime(Runtime::Config{}.with_cpus(CpuSet::single(4095))), InputError);
    EXPECT_THROW(Runtime(Runtime::Config{}.with_workers(3).with_topology(Topology::flat(2))),
                 InputError);
}

TEST(RuntimeConfig, BlockingWaitsFromATaskAreALogicError) {
    Watchdog wd(30s);
    Runtime rt(test::test_config(2));
    rt.start();
    // get() or wait_blocking() on a worker would block the worker: refused.
    bool refused = rt.block_on([&]() -> Job<bool> {
        auto h = spawn(add(1, 1));
        bool threw = false;
        try {
            (void)h.get();
        } catch (const std::logic_error&) {
            threw = true;
        }
        co_return threw && (co_await h) == 2;
    }());
    EXPECT_TRUE(refused);
    EXPECT_THROW(rt.block_on([]() -> Job<void> {
        Event ev(true);
        ev.wait_blocking();
        co_return;
    }()),
                 std::logic_error);
    // Awaiting a primitive outside any runtime task is a usage bug too.
    Event ev;
    auto outside = [&]() -> Job<void> { co_await ev.wait(); };
    auto j = outside();
    auto h = j.handle();
    h.resume();  // runs until the await, which throws into the coroutine
    EXPECT_TRUE(h.done());
    EXPECT_THROW(h.promise().take(), std::logic_error);
}

TEST(RuntimeConfig, SpawnOutsideARuntimeTaskIsALogicErrorAndFreesTheTask) {
    // schedkit::spawn() from a plain thread: refused, and the task built for
    // it is freed unrun (the function with its captures is destroyed; ASan's
    // leak check in the suite's sanitizer pass sees the fiber).
    auto token = std::make_shared<int>(7);
    std::weak_ptr<int> seen = token;
    bool ran = false;
    EXPECT_THROW(spawn([t = std::move(token), &ran] { ran = *t == 7; }), std::logic_error);
    EXPECT_THROW(spawn(add(1, 2), SpawnOptions{}), std::logic_error);
    EXPECT_FALSE(ran);
    EXPECT_TRUE(seen.expired());
    // From a task the same call spawns onto that task's runtime, with and
    // without options.
    Runtime rt(test::test_config(2));
    EXPECT_EQ(rt.block_on([]() -> Job<int> {
        SpawnOptions opts;
        opts.name = "named";
        int a = co_await spawn(add(1, 2), std::move(opts));
        int b = co_await spawn([] { return 4; });
        co_return a + b;
    }()),
              7);
}

}  // namespace
}  // namespace schedkit
