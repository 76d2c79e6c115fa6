// runtime_dynamic_test.cpp: the `dynamic` policy on the real runtime moves
// lightweight threads by the busy % their pollers and messages report, not
// by the CPU time they burn: a thread that busy-polls without finding work
// is idle and goes to the main CPU; threads that do work spread out.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <vector>

#include "runtime_support.h"
#include "schedkit/runtime.h"
#include "schedkit/thread.h"

namespace schedkit {
namespace {

using namespace std::chrono_literals;
using test::Watchdog;

// A short period and window so the test sees several re-placements quickly.
Runtime::Config dynamic_config() {
    Runtime::Config c = test::test_config(2, "dynamic:period_us=40000,main_cpu=0");
    c.thread_window_ns = 20'000'000;
    c.bind = false;
    return c;
}

// spin_for() burns `d` of wall time: the work a poller reports as done.
void spin_for(std::chrono::microseconds d) {
    auto end = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < end) {
    }
}

TEST(RuntimeDynamic, IdlePollingThreadsGatherOnTheMainCpuAndTheOtherSleeps) {
    Watchdog wd(60s);
    Runtime rt(dynamic_config());
    rt.start();
    // Two threads that poll all the time (period 0) and never find work:
    // they burn CPU time, but they are idle by the storage-framework rule.
    std::vector<std::shared_ptr<LightThread>> threads;
    for (int i = 0; i < 2; ++i) {
        threads.push_back(rt.create_thread("idle-poller-" + std::to_string(i)));
        threads.back()->add_poller([] { return false; }, 0ns);
    }
    // Round-robin creation puts one on each CPU; the policy must bring the
    // second to CPU 0 and put CPU 1 to sleep.
    bool gathered = test::wait_until(
        [&] {
            RuntimeStats s = rt.stats();
            return threads[0]->cpu() == 0 && threads[1]->cpu() == 0 && s.workers[1].sleeping;
        },
        20s);
    EXPECT_TRUE(gathered) << "threads on CPUs " << threads[0]->cpu() << ", " << threads[1]->cpu()
                          << "; busy % " << threads[0]->busy_pct() << ", "
                          << threads[1]->busy_pct();
    EXPECT_LT(threads[0]->busy_pct(), 20.0);
    EXPECT_LT(threads[1]->busy_pct(), 20.0);
    for (auto& th : threads) {
        th->close(CloseMode::Drain);
        th->exited().wait_blocking();
    }
    rt.stop();
}

TEST(RuntimeDynamic, ThreadsThatStartWorkingSpreadAgain) {
    Watchdog wd(60s);
    Runtime rt(dynamic_config());
    rt.start();
    // Idle first, so the policy gathers both threads on CPU 0; then every
    // poll does 200 us of work. Sharing CPU 0 each is about 50% busy and the
    // CPU 100%, over core_limit: one of them must move to CPU 1, which wakes.
    std::atomic<bool> work{false};
    std::vector<std::shared_ptr<LightThread>> threads;
    for (int i = 0; i < 2; ++i) {
        threads.push_back(rt.create_thread("worker-" + std::to_string(i)));
        threads.back()->add_poller(
            [&] {
                if (!work.load(std::memory_order_relaxed))
                    return false;
                spin_for(200us);
                return true;
            },
            0ns);
    }
    ASSERT_TRUE(test::wait_until(
        [&] {
            return threads[0]->cpu() == 0 && threads[1]->cpu() == 0 &&
                   rt.stats().workers[1].sleeping;
        },
        20s))
        << "idle threads were not gathered on CPU 0";
    work.store(true);
    bool spread = test::wait_until(
        [&] { return threads[0]->cpu() != threads[1]->cpu() && !rt.stats().workers[1].sleeping; },
        20s);
    EXPECT_TRUE(spread) << "both threads on CPU " << threads[0]->cpu() << "; busy % "
                        << threads[0]->busy_pct() << ", " << threads[1]->busy_pct();
    // Working threads read as busy. Busy % is over the last period, and a
    // loaded machine (or a sanitizer) can stretch one: allow a few periods.
    auto busy_sum = [&] { return threads[0]->busy_pct() + threads[1]->busy_pct(); };
    EXPECT_TRUE(test::wait_until([&] { return busy_sum() >= 20.0; }, 10s))
        << "working threads read " << busy_sum() << "% busy in total";
    for (auto& th : threads) {
        th->close(CloseMode::Drain);
        th->exited().wait_blocking();
    }
    rt.stop();
}

}  // namespace
}  // namespace schedkit
