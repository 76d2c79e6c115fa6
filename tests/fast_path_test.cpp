// fast_path_test.cpp: the runtime's fast path (docs/runtime.md, "The fast
// path"): fork-join runs on the per-worker deques and ends there, a task
// that sleeps or yields joins the core, a join wait stays off the core and
// is still cancellable, and every task is accounted for.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include "runtime_support.h"
#include "schedkit/runtime.h"
#include "schedkit/sync.h"

namespace schedkit {
namespace {

using namespace std::chrono_literals;
using test::Watchdog;

Job<uint64_t> fib(int n) {
    if (n < 2)
        co_return static_cast<uint64_t>(n);
    auto left = spawn(fib(n - 1));
    uint64_t right = co_await fib(n - 2);
    co_return co_await left + right;
}

struct FastCounts {
    uint64_t tasks = 0, steals = 0, promoted = 0;
};
FastCounts fast_counts(const Runtime& rt) {
    FastCounts c;
    for (const WorkerStats& w : rt.stats().workers) {
        c.tasks += w.fast_tasks;
        c.steals += w.fast_steals;
        c.promoted += w.fast_promoted;
    }
    return c;
}

class FastPath : public ::testing::TestWithParam<int> {};

std::string workers_name(const ::testing::TestParamInfo<int>& p) {
    return std::to_string(p.param) + "w";
}

INSTANTIATE_TEST_SUITE_P(Workers, FastPath, ::testing::Values(1, 2, 4), workers_name);

// fib(18): 8,361 tasks, every one spawned from a task with default options.
TEST_P(FastPath, ForkJoinRunsOnTheDequesAndEndsThere) {
    Watchdog wd(60s);
    Runtime rt(test::test_config(GetParam(), "steal"));
    EXPECT_EQ(rt.block_on(fib(18)), 2584u);
    StopReport r = rt.stop();
    EXPECT_EQ(r.completed, r.spawned);
    FastCounts c = fast_counts(rt);
    // Every fib task is a fast task, but maybe the root: block_on() runs it
    // on the fast path when its thread found an idle worker's seat, else
    // it goes through the core. None sleeps or yields, so none joins it.
    uint64_t root_in_core = rt.scheduler().spawned();
    EXPECT_LE(root_in_core, 1u) << "at most the root went through the core";
    EXPECT_EQ(c.tasks, r.spawned - root_in_core);
    EXPECT_EQ(c.promoted, 0u);
    RuntimeStats s = rt.stats();
    EXPECT_EQ(s.summary.spawned, r.spawned);
    EXPECT_EQ(s.summary.completed, r.spawned);
}

// A fast task that sleeps or yields joins the core then, and still ends.
TEST_P(FastPath, SleepingOrYieldingTasksJoinTheCore) {
    Watchdog wd(60s);
    Runtime rt(test::test_config(GetParam(), "steal"));
    int sum = rt.block_on([]() -> Job<int> {
        auto a = spawn([]() -> Job<int> {
            co_await sleep_for(1ms);
            co_return 1;
        });
        auto b = spawn([]() -> Job<int> {
            co_await yield();
            co_return 2;
        });
        auto c = spawn([]() -> Job<int> { co_return 3; });
        co_return co_await a + co_await b + co_await c;
    }());
    EXPECT_EQ(sum, 6);
    StopReport r = rt.stop();
    EXPECT_EQ(r.spawned, 4u);
    EXPECT_EQ(r.completed, 4u);
    FastCounts c = fast_counts(rt);
    EXPECT_EQ(c.promoted, 2u) << "the sleeper and the yielder join the core";
    // The third child ends on the fast path; the root too when block_on()
    // ran it there (its thread took an idle worker's seat), else the core
    // saw it: every task is counted once, by one of the two.
    EXPECT_GE(c.tasks, 1u);
    EXPECT_LE(c.tasks, 2u);
    EXPECT_EQ(rt.scheduler().spawned() + c.tasks, r.spawned);
    EXPECT_EQ(rt.scheduler().alive(), 0u);
}

// A plain function (not a Job) is a task called directly, without a
// coroutine frame: its value, its exception and a cancel before it ran
// reach whoever joins it, and each end is counted once.
TEST_P(FastPath, PlainFunctionsReturnThrowAndCancel) {
    Watchdog wd(60s);
    Runtime rt(test::test_config(GetParam(), "steal"));
    std::atomic<int> ran{0};
    int got = rt.block_on([&]() -> Job<int> {
        auto value = spawn([&] {
            ran.fetch_add(1);
            return 40;
        });
        auto unit = spawn([&] { ran.fetch_add(1); });
        auto thrower = spawn([]() -> int { throw std::runtime_error("plain boom"); });
        int sum = co_await value;
        co_await unit;
        try {
            sum += co_await thrower;
        } catch (const std::runtime_error& e) {
            if (std::string(e.what()) == "plain boom")
                sum += 2;
        }
        co_return sum;
    }());
    EXPECT_EQ(got, 42);
    EXPECT_EQ(ran.load(), 2);
    StopReport r = rt.stop();
    EXPECT_EQ(r.spawned, 4u);
    EXPECT_EQ(r.failed, 1u);
    EXPECT_EQ(r.completed, 3u);
    // Cancelled before it ever ran (one worker, busy with the spawner until
    // the cancel): it never runs, and get() says so.
    Runtime one(test::test_config(1, "steal"));
    auto never = one.block_on([&]() -> Job<JoinHandle<void>> {
        auto h = spawn([&] { ran.fetch_add(100); });
        h.cancel();
        co_return std::move(h);
    }());
    EXPECT_THROW(never.get(), Cancelled);
    StopReport r1 = one.stop();
    EXPECT_EQ(ran.load(), 2);
    EXPECT_EQ(r1.cancelled, 1u);
    EXPECT_EQ(r1.completed, 1u);
}

// block_on() from a plain thread takes an idle worker's seat and runs the
// root (and the tasks it spawns) on the calling thread: no hand-over. The
// worker's own thread gets its seat back afterwards and runs what is left.
TEST_P(FastPath, BlockOnRunsTheRootOnTheCallingThread) {
    Watchdog wd(60s);
    Runtime rt(test::test_config(GetParam(), "steal"));
    rt.start();
    std::this_thread::sleep_for(20ms);  // every worker idle, its seat free
    auto caller = std::this_thread::get_id();
    std::thread::id root_ran_on;
    EXPECT_EQ(rt.block_on([&]() -> Job<uint64_t> {
        root_ran_on = std::this_thread::get_id();
        co_return co_await fib(15);
    }()),
              610u);
    EXPECT_EQ(root_ran_on, caller);
    // A detached task left behind runs on a worker's thread, and a sleep a
    // guest's task started (on that worker's timers) still fires.
    Event left;
    rt.block_on([&]() -> Job<void> {
        spawn([&]() -> Job<void> {
            co_await sleep_for(2ms);
            left.set();
        }).detach();
        co_return;
    }());
    left.wait_blocking();
    StopReport r = rt.stop();
    EXPECT_EQ(r.completed, r.spawned);
}

// With bound workers (their CPU is their identity) or a policy without the
// fast path, block_on() hands the root to a worker as before.
TEST(FastPathPolicy, BlockOnHandsOverWhenBoundOrNotFast) {
    Watchdog wd(60s);
    for (const char* policy : {"steal:fast_path=false", "static"}) {
        Runtime rt(test::test_config(1, policy));
        rt.start();
        std::this_thread::sleep_for(5ms);
        auto caller = std::this_thread::get_id();
        std::thread::id ran_on = caller;
        rt.block_on([&]() -> Job<void> {
            ran_on = std::this_thread::get_id();
            co_return;
        }());
        EXPECT_NE(ran_on, caller) << policy;
    }
    Runtime bound(test::test_config(1, "steal").with_bind(true));
    bound.start();
    std::this_thread::sleep_for(5ms);
    std::thread::id ran_on = std::this_thread::get_id();
    bound.block_on([&]() -> Job<void> {
        ran_on = std::this_thread::get_id();
        co_return;
    }());
    EXPECT_NE(ran_on, std::this_thread::get_id());
}

// A fast task waiting on a join is off the core, yet cancel() from a plain
// thread still ends its wait (through a worker's inbox), and the task it
// joined goes on to finish.
TEST_P(FastPath, AJoinWaitOffTheCoreIsCancellable) {
    Watchdog wd(60s);
    Runtime rt(test::test_config(GetParam(), "steal"));
    rt.start();
    Event release;
    std::atomic<bool> parent_waiting{false};
    std::optional<JoinHandle<int>> parent;
    std::atomic<bool> parent_ready{false};
    auto root = rt.spawn([&]() -> Job<int> {
        parent.emplace(spawn([&]() -> Job<int> {
            auto child = spawn([&]() -> Job<int> {
                co_await release.wait();  // a primitive: joins the core
                co_return 7;
            });
            parent_waiting.store(true);
            co_return co_await child;  // a join: stays off the core
        }));
        parent_ready.store(true);
        co_return 0;
    });
    EXPECT_EQ(root.get(), 0);
    ASSERT_TRUE(test::wait_until([&] { return parent_ready.load() && parent_waiting.load(); }));
    parent->cancel();
    EXPECT_THROW(parent->get(), Cancelled);
    release.set();
    StopReport r = rt.stop();
    EXPECT_EQ(r.spawned, 3u);
    EXPECT_EQ(r.cancelled, 1u);
    EXPECT_EQ(r.completed, 2u);
}

// The policy's opt-in decides: steal:fast_path=false sends every spawn
// through the core; a switch away from steal mid-run loses nothing.
TEST(FastPathPolicy, OffWhenThePolicyDoesNotOptIn) {
    Watchdog wd(60s);
    Runtime rt(test::test_config(2, "steal:fast_path=false"));
    EXPECT_EQ(rt.block_on(fib(12)), 144u);
    StopReport r = rt.stop();
    EXPECT_EQ(fast_counts(rt).tasks, 0u);
    EXPECT_EQ(rt.scheduler().spawned(), r.spawned);
}

TEST(FastPathPolicy, SwitchingPoliciesMidForkJoinLosesNothing) {
    Watchdog wd(60s);
    Runtime rt(test::test_config(2, "steal"));
    rt.start();
    auto h = rt.spawn(fib(20));
    EXPECT_TRUE(rt.set_policy("fair").ok);
    EXPECT_TRUE(rt.set_policy("steal").ok);
    EXPECT_EQ(h.get(), 6765u);
    StopReport r = rt.stop();
    EXPECT_EQ(r.completed, r.spawned);
    EXPECT_EQ(rt.scheduler().alive(), 0u);
}

}  // namespace
}  // namespace schedkit
