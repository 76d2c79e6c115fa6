// fast_task_test.cpp: a fast-path task's life (docs/runtime.md, "The fast
// path"): it has no core Task until it joins the core, and then gets one
// with its identity; a detached task ends without finish() and is freed by
// whoever holds the last reference; and a worker whose seat block_on()'s
// guest holds sleeps instead of spinning on the CPU the guest needs.
#include <gtest/gtest.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "runtime_support.h"
#include "schedkit/runtime.h"
#include "schedkit/sync.h"

namespace schedkit {
namespace {

using namespace std::chrono_literals;
using test::Watchdog;

class FastTask : public ::testing::TestWithParam<int> {};

std::string workers_name(const ::testing::TestParamInfo<int>& p) {
    return std::to_string(p.param) + "w";
}

INSTANTIATE_TEST_SUITE_P(Workers, FastTask, ::testing::Values(1, 2), workers_name);

// Tasks spawned on the fast path wait on an Event (not a join), so each
// joins the core then: the core's Task carries the id the JoinHandle
// reported at spawn and the CPU of the worker that spawned it.
TEST_P(FastTask, PromotedTasksKeepTheirIdentity) {
    Watchdog wd(60s);
    const int workers = GetParam();
    Runtime rt(test::test_config(workers, "steal"));
    constexpr int kKids = 20;
    Event go;
    std::atomic<int> waiting{0};
    std::set<TaskId> handle_ids, core_ids;
    bool spawner_cpus_valid = true;
    int sum = rt.block_on([&]() -> Job<int> {
        std::vector<JoinHandle<int>> kids;
        for (int i = 0; i < kKids; ++i) {
            kids.push_back(spawn([&, i]() -> Job<int> {
                waiting.fetch_add(1);
                co_await go.wait();
                co_return i;
            }));
            handle_ids.insert(kids.back().id());
        }
        // Every kid is a core task once it blocked: poll the core's live
        // list (yielding, so that the kids run here too).
        for (;;) {
            core_ids.clear();
            spawner_cpus_valid = true;
            rt.scheduler().for_each_task([&](Task& t) {
                if (handle_ids.count(t.id) != 0) {
                    core_ids.insert(t.id);
                    spawner_cpus_valid =
                        spawner_cpus_valid && t.spawner_cpu >= 0 && t.spawner_cpu < workers;
                }
            });
            if (waiting.load() == kKids && core_ids.size() == kKids)
                break;
            co_await yield();
        }
        go.set();
        int total = 0;
        for (auto& k : kids)
            total += co_await k;
        co_return total;
    }());
    EXPECT_EQ(sum, kKids * (kKids - 1) / 2);
    EXPECT_EQ(handle_ids.size(), static_cast<size_t>(kKids)) << "ids are unique";
    EXPECT_EQ(core_ids, handle_ids) << "the core's Tasks carry the handles' ids";
    EXPECT_TRUE(spawner_cpus_valid);
    EXPECT_EQ(handle_ids.count(0), 0u) << "0 is never a task id";
    StopReport r = rt.stop();
    EXPECT_EQ(r.completed, r.spawned);
    uint64_t promoted = 0;
    for (const WorkerStats& w : rt.stats().workers)
        promoted += w.fast_promoted;
    EXPECT_GE(promoted, static_cast<uint64_t>(kKids));
}

// The core's Task is not part of the fiber: a fast-path task that runs
// has none (so its fiber is a fraction of a Task's size, and a spawn
// touches none of it), and one that yields is given its own, allocated
// then, holding the id its handle reported.
TEST_P(FastTask, TheTaskIsAllocatedOnPromotionOnly) {
    Watchdog wd(60s);
    auto plain = [] {};
    static_assert(sizeof(detail::PlainFiber<void, decltype(plain)>) < sizeof(Task) / 2,
                  "a plain function's fiber carries no Task");
    Runtime rt(test::test_config(GetParam(), "steal"));
    bool before = true, after = false;
    TaskId core_id = 0, handle_id = 0;
    rt.block_on([&]() -> Job<void> {
        auto kid = spawn([&]() -> Job<void> {
            detail::Fiber& f = detail::current_fiber_checked("test");
            before = f.has_task;
            co_await yield();  // joins the core
            after = f.has_task;
            if (after)
                core_id = f.task().id;
        });
        handle_id = kid.id();
        co_await kid;
    }());
    EXPECT_FALSE(before) << "a fast-path task built a Task before it joined the core";
    EXPECT_TRUE(after) << "the yield did not promote the task";
    EXPECT_EQ(core_id, handle_id);
    StopReport r = rt.stop();
    EXPECT_EQ(r.completed, r.spawned);
}

Job<int> answer(int x) {
    co_return x;
}
Job<int> thrower() {
    throw std::runtime_error("boom");
    co_return 0;
}
Job<void> wait_on(Event& e) {
    co_await e.wait();
}
Job<int> count_one(std::atomic<int>& n) {
    n.fetch_add(1);
    co_return 1;
}

// A spawned Job ends every way a task can (a result, an exception,
// cancelled before it ran), joined or detached, and is counted once; an
// empty Job (moved from) is refused with std::invalid_argument, from a
// task and from a plain thread, instead of becoming a task with no code.
TEST_P(FastTask, SpawnedJobsEndEveryWayAndAnEmptyOneIsRefused) {
    Watchdog wd(60s);
    Runtime rt(test::test_config(GetParam(), "steal"));
    int got = rt.block_on([&]() -> Job<int> {
        int sum = co_await spawn(answer(40));
        try {
            co_await spawn(thrower());
            ADD_FAILURE() << "the task's exception was not rethrown";
        } catch (const std::runtime_error& e) {
            EXPECT_STREQ(e.what(), "boom");
        }
        // Cancelled before it ever runs (or while it waits, if a thief
        // started it first): it ends with Cancelled.
        Event never;
        auto doomed = spawn(wait_on(never));
        doomed.cancel();
        EXPECT_THROW(co_await doomed, Cancelled);
        Job<int> empty = answer(1);
        Job<int> taken = std::move(empty);
        EXPECT_THROW((void)spawn(std::move(empty)), std::invalid_argument);
        EXPECT_THROW((void)spawn(std::move(empty), SpawnOptions{}), std::invalid_argument);
        sum += co_await spawn(std::move(taken)) + 1;
        co_return sum;
    }());
    EXPECT_EQ(got, 42);
    Job<int> empty = answer(1);
    Job<int> taken = std::move(empty);
    EXPECT_THROW((void)rt.spawn(std::move(empty)), std::invalid_argument);
    EXPECT_THROW((void)rt.block_on(std::move(empty)), std::invalid_argument);
    EXPECT_EQ(rt.spawn(std::move(taken)).get(), 1);
    // Many more, detached and joined, across the workers.
    std::atomic<int> ran{0};
    rt.block_on([&]() -> Job<void> {
        std::vector<JoinHandle<int>> kids;
        for (int i = 0; i < 2000; ++i) {
            auto h = spawn(count_one(ran));
            if (i % 2 == 0)
                kids.push_back(std::move(h));
        }
        for (auto& k : kids)
            EXPECT_EQ(co_await k, 1);
    }());
    StopReport r = rt.stop();
    EXPECT_EQ(ran.load(), 2000);
    EXPECT_EQ(r.failed, 1u);
    EXPECT_EQ(r.cancelled, 1u);
    EXPECT_EQ(r.completed + r.failed + r.cancelled, r.spawned);
    EXPECT_EQ(r.spawned, 2000u + 7u) << "refused spawns are not tasks";
}

// Handles dropped or awaited by a plain thread while their tasks end on the
// workers: whichever side holds the last reference frees the fiber, a
// task whose handle is gone ends without publishing its result, and every
// task is counted once.
TEST_P(FastTask, HandlesDroppedWhileTasksEnd) {
    Watchdog wd(60s);
    Runtime rt(test::test_config(GetParam(), "steal"));
    constexpr int kTasks = 4000;
    std::atomic<int> ran{0};
    for (int round = 0; round < 5; ++round) {
        // The root spawns on the fast path and returns the handles while
        // most tasks are still queued on the deques.
        std::vector<JoinHandle<int>> handles =
            rt.block_on([&]() -> Job<std::vector<JoinHandle<int>>> {
                std::vector<JoinHandle<int>> hs;
                hs.reserve(kTasks);
                for (int i = 0; i < kTasks; ++i)
                    hs.push_back(spawn([&ran, i] {
                        ran.fetch_add(1, std::memory_order_relaxed);
                        return i;
                    }));
                co_return hs;
            }());
        ASSERT_EQ(handles.size(), static_cast<size_t>(kTasks));
        long long sum = 0, expected = 0;
        for (int i = 0; i < kTasks; ++i) {
            if (i % 2 == 0) {
                handles[static_cast<size_t>(i)].detach();
            } else {
                sum += handles[static_cast<size_t>(i)].get();
                expected += i;
            }
        }
        EXPECT_EQ(sum, expected);
    }
    StopReport r = rt.stop();
    EXPECT_EQ(ran.load(), 5 * kTasks);
    EXPECT_EQ(r.spawned, static_cast<uint64_t>(5 * kTasks + 5));
    EXPECT_EQ(r.completed, r.spawned);
}

// Joins racing their tasks' ends on two workers, a third of the joiners
// cancelled meanwhile by a plain thread (before they start, or in their
// join wait): every joiner either gets its child's result, or catches
// Cancelled, or never starts, and every task ends.
TEST(FastTaskJoin, JoinsAndCancelsRaceTheEnd) {
    Watchdog wd(120s);
    Runtime rt(test::test_config(2, "steal"));
    constexpr int kJoiners = 400;
    std::atomic<int> joined{0}, cancelled{0};
    rt.start();
    std::vector<JoinHandle<void>> joiners;
    for (int i = 0; i < kJoiners; ++i) {
        joiners.push_back(rt.spawn([&, i]() -> Job<void> {
            // A child that ends about when we join it (its spin varies).
            auto child = spawn([i] {
                volatile int x = 0;
                for (int k = 0; k < (i % 7) * 50; ++k)
                    x = x + k;
                return i;
            });
            try {
                int v = co_await child;
                EXPECT_EQ(v, i);
                joined.fetch_add(1);
            } catch (const Cancelled&) {
                cancelled.fetch_add(1);
            }
        }));
        if (i % 3 == 0)
            joiners.back().cancel();
    }
    int never_started = 0;  // cancelled before they ran: get() throws
    for (auto& j : joiners) {
        try {
            j.get();
        } catch (const Cancelled&) {
            ++never_started;
        }
    }
    EXPECT_EQ(joined.load() + cancelled.load() + never_started, kJoiners);
    StopReport r = rt.stop();
    EXPECT_EQ(r.completed + r.cancelled, r.spawned);
    EXPECT_EQ(r.failed, 0u);
}

double thread_cpu_s() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}
double process_cpu_s() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// block_on() with one worker: the calling thread runs everything in the
// worker's seat. The root joins the core (it waits on a WaitGroup), so the
// policy's tick is armed and comes due while the guest runs fast tasks;
// the worker's own thread must sleep through that (the guest does the
// CPU's work), not wake for the overdue tick again and again and spin
// against the guest. Regression: it used to burn as much CPU as the guest.
TEST(FastTaskGuest, WorkerThreadSleepsWhileTheGuestRuns) {
    Watchdog wd(60s);
    Runtime rt(test::test_config(1, "steal"));
    rt.start();
    // Let the worker's thread settle into its park first.
    ASSERT_TRUE(test::wait_until([&] { return rt.stats().workers[0].parked; }));
    double main0 = thread_cpu_s(), all0 = process_cpu_s();
    auto until = std::chrono::steady_clock::now() + 300ms;
    int rounds = 0;
    while (std::chrono::steady_clock::now() < until) {
        rt.block_on([]() -> Job<void> {
            WaitGroup wg(1000);
            for (int i = 0; i < 1000; ++i)
                spawn([&wg] { wg.done(); }).detach();
            co_await wg.wait();
        }());
        ++rounds;
    }
    double main_cpu = thread_cpu_s() - main0;
    double others_cpu = (process_cpu_s() - all0) - main_cpu;
    EXPECT_GT(rounds, 0);
    // The guest's thread did the work; the rest (the worker's thread, the
    // watchdog, gtest) stays well under it.
    EXPECT_LT(others_cpu, 0.25 * main_cpu + 0.01)
        << "main thread " << main_cpu << " s CPU, other threads " << others_cpu << " s";
    StopReport r = rt.stop();
    EXPECT_EQ(r.completed, r.spawned);
}

}  // namespace
}  // namespace schedkit
