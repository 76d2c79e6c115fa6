// stress_runtime_test.cpp: the five failure stories (DESIGN section 1) as
// stress tests in the real runtime (4 workers on whatever CPUs the machine
// has), each under a watchdog that fails the test and prints every worker's
// state when progress stops for 10 s. Reduced counts under `make test`, the
// issue's counts under `make stress` (SCHEDKIT_STRESS=full).
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "crossfire_policy.h"
#include "runtime_support.h"
#include "schedkit/error.h"
#include "schedkit/plugin_loader.h"
#include "schedkit/runtime.h"
#include "schedkit/sync.h"
#include "schedkit/thread.h"
#include "stress_support.h"

namespace schedkit {
namespace {

using namespace std::chrono_literals;
using test::ProgressWatchdog;
using test::stress_count;

constexpr int kWorkers = 4;

// watch() is the runtime watchdog: `progress` is the test's own counter.
std::unique_ptr<ProgressWatchdog> watch(Runtime& rt, std::atomic<uint64_t>& progress) {
    return std::make_unique<ProgressWatchdog>(
        [&progress] { return progress.load(); },
        [&rt] { return test::dump_scheduler(rt.scheduler()); });
}

const std::vector<std::string> kSwitchable = {
    "static", "dynamic:period_us=500",  "fair:tick_us=200",
    "steal",  "governor:period_us=500", "failing"};

// Story 1: tasks block (timers, a contended mutex) and wake at random while
// every worker balances, under each balancing policy: a queue holding only
// blocked tasks is idle, never an error; every task completes.
TEST(StressRuntime, Story1RandomBlockWakeWhileEveryCpuBalances) {
    const int ntasks = static_cast<int>(stress_count(48, 400));
    const int iters = static_cast<int>(stress_count(40, 400));
    for (const char* p : {"fair:tick_us=100", "steal:idle_steal_us=50", "dynamic:period_us=500",
                          "governor:period_us=500"}) {
        Runtime rt(test::test_config(kWorkers, p));
        std::atomic<uint64_t> progress{0};
        auto wd = watch(rt, progress);
        rt.start();
        Mutex mu;
        std::vector<JoinHandle<void>> hs;
        for (int i = 0; i < ntasks; ++i)
            hs.push_back(rt.spawn([&, i]() -> Job<void> {
                std::minstd_rand rng(static_cast<uint32_t>(i) + 1);
                for (int k = 0; k < iters; ++k) {
                    switch (rng() % 4) {
                        case 0:
                            co_await sleep_for(std::chrono::microseconds(rng() % 200));
                            break;
                        case 1: {
                            auto g = co_await mu.scoped();
                            co_await yield();  // others queue up on the mutex
                            break;
                        }
                        case 2:
                            co_await yield();
                            break;
                        default:
                            break;  // run on
                    }
                    progress.fetch_add(1, std::memory_order_relaxed);
                }
            }));
        for (auto& h : hs)
            h.get();
        StopReport r = rt.stop();
        EXPECT_EQ(progress.load(), static_cast<uint64_t>(ntasks) * iters) << p;
        EXPECT_EQ(r.completed, r.spawned) << p;
        EXPECT_EQ(r.spawned, static_cast<uint64_t>(ntasks)) << p;
    }
}

// Story 2: thousands of random switches (every policy and one that refuses
// to start) from a plain thread and from inside tasks, while tasks churn
// and lightweight threads poll without ever blocking: refused starts leave
// the old policy in charge, nothing is lost, every thread keeps running.
TEST(StressRuntime, Story2ThousandsOfRandomSwitches) {
    Runtime rt(test::test_config(kWorkers, "fair"));
    std::atomic<uint64_t> progress{0};
    auto wd = watch(rt, progress);
    rt.start();
    std::vector<std::shared_ptr<LightThread>> threads;
    std::vector<std::unique_ptr<std::atomic<uint64_t>>> polls;
    for (int i = 0; i < 6; ++i) {
        threads.push_back(rt.create_thread("poller" + std::to_string(i)));
        polls.push_back(std::make_unique<std::atomic<uint64_t>>(0));
        auto* n = polls.back().get();
        threads.back()->add_poller(
            [n, &progress] {
                n->fetch_add(1, std::memory_order_relaxed);
                progress.fetch_add(1, std::memory_order_relaxed);
                return true;  // always busy: the thread never blocks
            },
            0ns);
    }
    std::atomic<bool> done{false};
    std::atomic<uint64_t> ok{0}, refused{0};
    std::vector<JoinHandle<void>> hs;
    for (int i = 0; i < 8; ++i)
        hs.push_back(rt.spawn([&, i]() -> Job<void> {
            std::minstd_rand rng(static_cast<uint32_t>(i) + 100);
            while (!done.load()) {
                progress.fetch_add(1, std::memory_order_relaxed);
                if (rng() % 8 == 0)
                    co_await sleep_for(std::chrono::microseconds(rng() % 100));
                else
                    co_await yield();
                // set_policy() from inside a task, now and then.
                if (i == 0 && rng() % 64 == 0)
                    (rt.set_policy(kSwitchable[rng() % kSwitchable.size()]).ok ? ok : refused)
                        .fetch_add(1);
            }
        }));
    const uint64_t nswitch = stress_count(1000, 5000);
    std::mt19937_64 rng(3);
    for (uint64_t i = 0; i < nswitch; ++i) {
        const std::string& p = kSwitchable[rng() % kSwitchable.size()];
        SwitchResult r = rt.set_policy(p);
        (r.ok ? ok : refused).fetch_add(1);
        if (p == "failing") {
            EXPECT_FALSE(r.ok);
        } else {
            ASSERT_TRUE(r.ok) << p << ": " << r.error;
        }
        if (!r.ok) {
            EXPECT_NE(r.error.find("refuses to start"), std::string::npos) << r.error;
        }
    }
    // Every thread still runs after the storm.
    std::vector<uint64_t> before;
    for (auto& n : polls)
        before.push_back(n->load());
    for (size_t i = 0; i < polls.size(); ++i)
        EXPECT_TRUE(test::wait_until([&] { return polls[i]->load() > before[i] + 10; }))
            << "thread " << i << " stopped polling";
    done = true;
    for (auto& h : hs)
        h.get();
    for (auto& t : threads)
        t->close(CloseMode::Drain);
    StopReport r = rt.stop();
    EXPECT_EQ(r.completed, r.spawned);
    EXPECT_EQ(r.spawned, 8u);
    EXPECT_EQ(rt.scheduler().policy_switches(), ok.load());
    EXPECT_GE(ok.load() + refused.load(), nswitch);
}

// Story 2, second half: after a switch to static every never-blocking
// thread is back on its original CPU (failed about one run in three before
// the #10 fix; 200 rounds under `make stress`).
TEST(StressRuntime, Story2ThreadsBackOnOriginalCpuAfterStatic) {
    Runtime rt(test::test_config(kWorkers, "static"));
    std::atomic<uint64_t> progress{0};
    auto wd = watch(rt, progress);
    rt.start();
    // Half the threads do work at every poll, half never do: dynamic
    // gathers the idle ones on its main CPU and spreads the busy ones.
    std::vector<std::shared_ptr<LightThread>> threads;
    for (int i = 0; i < 6; ++i) {
        threads.push_back(rt.create_thread("poller" + std::to_string(i)));
        threads.back()->add_poller(
            [&progress, busy = i % 2 == 0] {
                progress.fetch_add(1, std::memory_order_relaxed);
                return busy;
            },
            0ns);
    }
    // away() counts threads off their original CPU (hint loads: the
    // threads keep running on other workers meanwhile).
    auto away = [&] {
        int n = 0;
        rt.scheduler().for_each_task([&](const Task& t) {
            if (t.is_thread && task_cpu_hint(t) != task_original_cpu_hint(t))
                ++n;
        });
        return n;
    };
    const int rounds = static_cast<int>(stress_count(5, 200));
    int moved_rounds = 0;
    for (int round = 0; round < rounds; ++round) {
        ASSERT_TRUE(rt.set_policy("dynamic:period_us=200").ok);
        moved_rounds += test::wait_until([&] { return away() > 0; }, 200ms) ? 1 : 0;
        ASSERT_TRUE(rt.set_policy("static").ok);
        ASSERT_TRUE(test::wait_until([&] { return away() == 0; }))
            << "round " << round << ": " << away() << " threads off their original CPU";
    }
    EXPECT_GT(moved_rounds, 0) << "dynamic never moved a thread: the test proves nothing";
    for (auto& t : threads)
        t->close(CloseMode::Drain);
    rt.stop();
}

// Story 3: lightweight threads created, sent to and closed (drain or
// cancel) concurrently from many plain threads and from tasks: every
// message is delivered or returned to its sender (refused at send, or
// handed back by a cancelling close), exactly once.
namespace story3 {

thread_local bool returning = false;  // set while a returned message is run

struct Ledger {
    explicit Ledger(size_t n)
        : delivered(std::make_unique<std::atomic<uint8_t>[]>(n)),
          returned(std::make_unique<std::atomic<uint8_t>[]>(n)) {}
    LightThread::Message message(size_t id) {
        return [this, id] {
            (returning ? returned : delivered)[id].fetch_add(1, std::memory_order_relaxed);
        };
    }
    // give_back() runs returned messages as "returned".
    void give_back(std::vector<LightThread::Message>& msgs) {
        returning = true;
        for (auto& m : msgs)
            m();
        returning = false;
    }
    std::unique_ptr<std::atomic<uint8_t>[]> delivered, returned;
};

}  // namespace story3

TEST(StressRuntime, Story3ConcurrentCreateSendCloseLosesNothing) {
    Runtime rt(test::test_config(kWorkers, "fair:tick_us=200"));
    std::atomic<uint64_t> progress{0};
    auto wd = watch(rt, progress);
    rt.start();
    constexpr int kSlots = 8, kSenders = 3;
    const size_t per_sender = stress_count(4000, 40000);
    const size_t total = per_sender * (kSenders + 1);  // plain threads + one task
    story3::Ledger ledger(total);
    std::mutex slots_mu;  // guards slots (the test's own registry)
    std::vector<std::shared_ptr<LightThread>> slots(kSlots);
    for (auto& s : slots)
        s = rt.create_thread("mailbox");
    auto pick = [&](size_t r) {
        std::lock_guard g(slots_mu);
        return slots[r % kSlots];
    };
    auto close_one = [&](const std::shared_ptr<LightThread>& t, bool cancel) {
        auto back = t->close(cancel ? CloseMode::Cancel : CloseMode::Drain);
        ledger.give_back(back);
    };
    // Senders start with the closers and pause every few sends so that
    // closes land in the middle of the sends on any machine.
    std::atomic<int> closes{0};
    auto gate = [&] {
        while (closes.load() == 0)
            std::this_thread::yield();
    };
    auto send_all = [&](size_t first, uint32_t seed) {
        gate();
        std::minstd_rand rng(seed);
        for (size_t id = first; id < first + per_sender; ++id) {
            if (id % 16 == 0)
                std::this_thread::yield();
            auto msg = ledger.message(id);
            if (pick(rng())->send(std::move(msg)) == SendStatus::Closed) {
                std::vector<LightThread::Message> back;
                back.push_back(std::move(msg));  // not taken: still ours
                ledger.give_back(back);
            }
            progress.fetch_add(1, std::memory_order_relaxed);
        }
    };
    std::atomic<int> senders_left{kSenders + 1};
    std::vector<std::thread> actors;
    for (int s = 0; s < kSenders; ++s)
        actors.emplace_back([&, s] {
            send_all(static_cast<size_t>(s) * per_sender, static_cast<uint32_t>(s) + 1);
            senders_left.fetch_sub(1);
        });
    auto task_sender = rt.spawn([&]() -> Job<void> {
        while (closes.load() == 0)
            co_await yield();
        std::minstd_rand rng(99);
        for (size_t id = kSenders * per_sender; id < total; ++id) {
            auto msg = ledger.message(id);
            if (pick(rng())->send(std::move(msg)) == SendStatus::Closed) {
                std::vector<LightThread::Message> back;
                back.push_back(std::move(msg));
                ledger.give_back(back);
            }
            if (id % 64 == 0)
                co_await yield();
        }
        senders_left.fetch_sub(1);
    });
    // Creators replace threads (closing the old one), closers close live
    // ones in place; both race with the sends and with each other.
    for (int a = 0; a < 2; ++a)
        actors.emplace_back([&, a] {
            std::minstd_rand rng(static_cast<uint32_t>(a) + 50);
            while (senders_left.load() > 0) {
                size_t slot = rng() % kSlots;
                std::shared_ptr<LightThread> old;
                if (a == 0) {
                    auto fresh = rt.create_thread("mailbox");
                    std::lock_guard g(slots_mu);
                    old = std::exchange(slots[slot], fresh);
                } else {
                    old = pick(slot);
                }
                close_one(old, rng() % 2 == 0);
                closes.fetch_add(1);
                progress.fetch_add(1, std::memory_order_relaxed);
                std::this_thread::yield();
            }
        });
    for (auto& t : actors)
        t.join();
    task_sender.get();
    for (auto& s : slots)
        close_one(s, false);
    for (auto& s : slots)
        s->exited().wait_blocking();
    rt.stop();
    size_t bad = 0, delivered = 0;
    for (size_t id = 0; id < total; ++id) {
        int d = ledger.delivered[id].load(), r = ledger.returned[id].load();
        delivered += static_cast<size_t>(d);
        if (d + r != 1 && bad++ < 10)
            ADD_FAILURE() << "message " << id << ": delivered " << d << ", returned " << r;
    }
    EXPECT_EQ(bad, 0u);
    // The race really happened: some messages ran, some came back. How many
    // of each depends on the machine's timing (under TSan on a loaded CI
    // machine about a tenth were delivered), so only both sides are required.
    EXPECT_GT(delivered, 0u);
    EXPECT_LT(delivered, total);
}

// Story 5: every worker balances (fair, short tick) while plain threads
// force cross migrations between every pair of CPUs (detach from one queue,
// attach to another, push requests the other way): the core holds one
// run-queue lock at a time, so nothing deadlocks, and nothing is lost.
// The tasks stay alive (yielding) after their rounds until a mover has
// moved one, so the moves race the balancer however the host schedules
// the movers' threads (on a loaded CI machine a short run could end before
// they ever ran).
TEST(StressRuntime, Story5EveryCpuBalancesAgainstEveryOther) {
    Runtime rt(test::test_config(kWorkers, "fair:tick_us=100"));
    std::atomic<uint64_t> progress{0}, waits{0};
    ProgressWatchdog wd([&] { return progress.load() + waits.load(); },
                        [&rt] { return test::dump_scheduler(rt.scheduler()); });
    rt.start();
    std::atomic<bool> done{false};
    std::atomic<uint64_t> forced{0};
    Scheduler& sched = rt.scheduler();
    std::vector<std::thread> movers;
    for (int m = 0; m < 3; ++m)
        movers.emplace_back([&, m] {
            std::minstd_rand rng(static_cast<uint32_t>(m) + 7);
            while (!done.load()) {
                int src = static_cast<int>(rng() % kWorkers);
                int dst = static_cast<int>(rng() % kWorkers);
                if (src == dst)
                    continue;
                auto got = sched.detach_tasks(src, 2, [](const Task&) { return true; });
                sched.attach_tasks(dst, got, src, rt.now_ns());
                forced.fetch_add(got.size(), std::memory_order_relaxed);
                sched.request_push(dst, src);
                std::this_thread::yield();
            }
        });
    const int ntasks = static_cast<int>(stress_count(64, 512));
    const int iters = static_cast<int>(stress_count(100, 1000));
    std::vector<JoinHandle<void>> hs;
    for (int i = 0; i < ntasks; ++i)
        hs.push_back(rt.spawn([&, i]() -> Job<void> {
            for (int k = 0; k < iters; ++k) {
                progress.fetch_add(1, std::memory_order_relaxed);
                if ((k + i) % 16 == 0)
                    co_await sleep_for(50us);
                else
                    co_await yield();
            }
            while (forced.load(std::memory_order_relaxed) == 0) {
                waits.fetch_add(1, std::memory_order_relaxed);
                co_await sleep_for(100us);
            }
        }));
    for (auto& h : hs)
        h.get();
    done = true;
    for (auto& t : movers)
        t.join();
    StopReport r = rt.stop();
    EXPECT_EQ(progress.load(), static_cast<uint64_t>(ntasks) * iters);
    EXPECT_EQ(r.completed, r.spawned);
    EXPECT_GT(forced.load(), 0u);
}

// Story 5 with the crossfire policy (tests/stress/crossfire_policy.h) as
// the runtime's own policy: at every tick each worker pulls a task from
// every other queue and asks every other worker to push one back.
TEST(StressRuntime, Story5CrossfireEveryWorkerPullsFromEveryOther) {
    Runtime rt(test::test_config(kWorkers).with_policy_factory(
        [] { return std::make_unique<test::Crossfire>(100'000); }));
    std::atomic<uint64_t> progress{0};
    auto wd = watch(rt, progress);
    rt.start();
    EXPECT_EQ(rt.policy_name(), "crossfire");
    const int ntasks = static_cast<int>(stress_count(64, 512));
    const int iters = static_cast<int>(stress_count(100, 1000));
    std::vector<JoinHandle<void>> hs;
    for (int i = 0; i < ntasks; ++i)
        hs.push_back(rt.spawn([&, i]() -> Job<void> {
            for (int k = 0; k < iters; ++k) {
                progress.fetch_add(1, std::memory_order_relaxed);
                if ((k + i) % 16 == 0)
                    co_await sleep_for(50us);
                else
                    co_await yield();
            }
        }));
    for (auto& h : hs)
        h.get();
    StopReport r = rt.stop();
    EXPECT_EQ(progress.load(), static_cast<uint64_t>(ntasks) * iters);
    EXPECT_EQ(r.completed, r.spawned);
}

// Conservation across all: many tasks (10^6 under `make stress`), spawned
// from plain threads and from tasks, under many live switches (10^3) paced
// through the run: each completes exactly once.
TEST(StressRuntime, ConservationManyTasksManySwitches) {
    const size_t n = stress_count(20'000, 1'000'000);
    const uint64_t nswitch = stress_count(100, 1000);
    Runtime rt(test::test_config(kWorkers, "steal").with_record(false));
    std::atomic<uint64_t> progress{0};
    auto wd = watch(rt, progress);
    rt.start();
    auto runs = std::make_unique<std::atomic<uint8_t>[]>(n);
    auto body = [&](size_t id) {
        runs[id].fetch_add(1, std::memory_order_relaxed);
        progress.fetch_add(1, std::memory_order_relaxed);
    };
    // Half from two plain threads, half from parent tasks of 100 children.
    const size_t half = n / 2;
    std::vector<std::thread> spawners;
    for (int s = 0; s < 2; ++s)
        spawners.emplace_back([&, s] {
            for (size_t id = static_cast<size_t>(s); id < half; id += 2)
                (void)rt.spawn([&body, id] { body(id); });
        });
    std::vector<JoinHandle<void>> parents;
    for (size_t first = half; first < n; first += 100)
        parents.push_back(rt.spawn([&, first]() -> Job<void> {
            std::vector<JoinHandle<void>> kids;
            for (size_t id = first; id < std::min(n, first + 100); ++id)
                kids.push_back(spawn([&body, id]() -> Job<void> {
                    body(id);
                    co_return;
                }));
            for (auto& k : kids)
                co_await k;
        }));
    std::mt19937_64 rng(5);
    uint64_t ok = 0;
    for (uint64_t i = 0; i < nswitch; ++i) {
        // Pace the switches through the run.
        test::wait_until([&] { return progress.load() >= i * n / nswitch; }, 10s);
        ok += rt.set_policy(kSwitchable[rng() % kSwitchable.size()]).ok ? 1 : 0;
    }
    for (auto& t : spawners)
        t.join();
    for (auto& p : parents)
        p.get();
    StopReport r = rt.stop();
    size_t bad = 0;
    for (size_t id = 0; id < n; ++id)
        if (runs[id].load() != 1 && bad++ < 10)
            ADD_FAILURE() << "task " << id << " ran " << int(runs[id].load()) << " times";
    EXPECT_EQ(bad, 0u);
    EXPECT_EQ(r.completed, r.spawned);
    EXPECT_EQ(r.spawned, n + parents.size());
    EXPECT_EQ(r.cancelled + r.failed, 0u);
    EXPECT_EQ(rt.scheduler().policy_switches(), ok);
}

// Story 4: plug-ins loaded, started, refusing to start, isolated by a
// throwing hook (and the previous policy put back by a worker), unloaded and reloaded by one thread
// while tasks spawn tasks and call set_policy() from inside (sometimes naming a plug-in that was
// just unloaded) and another thread switches too: no hang, nothing lost,
// and once the runtime is gone (its retired policies freed after their
// grace periods) every shared object is closed. Under ASan a call into an
// unmapped plug-in would be caught.
TEST(StressRuntime, Story4PluginsLoadedFailingUnloadedReloadedUnderLoad) {
    const uint64_t rounds = stress_count(60, 1000);
    {
        Runtime rt(test::test_config(kWorkers, "fair"));
        std::atomic<uint64_t> progress{0};
        auto wd = watch(rt, progress);
        rt.start();
        rt.load_plugin(SCHEDKIT_PLUGIN_WRR);
        const std::vector<std::string> in_task = {"static", "fair", "wrr:slice_us=300", "steal"};
        std::atomic<bool> done{false};
        // quiet: no other switches while a restore is awaited (a switch
        // already under way may still replace the failed policy first).
        std::atomic<bool> quiet{false};
        std::atomic<uint64_t> from_tasks{0}, unloaded_seen{0};
        // Tasks that spawn children and switch policies from inside.
        std::vector<JoinHandle<void>> hs;
        for (int i = 0; i < 6; ++i)
            hs.push_back(rt.spawn([&, i]() -> Job<void> {
                std::minstd_rand rng(static_cast<uint32_t>(i) + 1);
                while (!done.load()) {
                    std::vector<JoinHandle<void>> kids;
                    for (int k = 0; k < 4; ++k)
                        kids.push_back(spawn([&]() -> Job<void> {
                            progress.fetch_add(1, std::memory_order_relaxed);
                            co_await yield();
                        }));
                    if (rng() % 4 == 0 && !quiet.load()) {
                        try {
                            rt.set_policy(in_task[rng() % in_task.size()]);
                            from_tasks.fetch_add(1);
                        } catch (const InputError&) {
                            unloaded_seen.fetch_add(1);  // wrr was unloaded just now
                        }
                    }
                    for (auto& k : kids)
                        co_await k;
                }
            }));
        std::thread switcher([&] {
            std::minstd_rand rng(77);
            while (!done.load()) {
                try {
                    if (!quiet.load())
                        rt.set_policy(rng() % 2 == 0 ? "fair" : "wrr");
                } catch (const InputError&) {
                    unloaded_seen.fetch_add(1);
                }
                std::this_thread::sleep_for(200us);
            }
        });
        // restores() counts the switches that put a policy back after a
        // failure (a substring count: the log grows to thousands of entries).
        auto restores = [&rt] {
            const std::string log = rt.stats().summary.extra_json;  // no JSON parse
            size_t n = 0;
            for (size_t at = log.find("\"restored\":"); at != std::string::npos;
                 at = log.find("\"restored\":", at + 1))
                ++n;
            return n;
        };
        std::minstd_rand rng(5);
        for (uint64_t r = 0; r < rounds; ++r) {
            rt.load_plugin(SCHEDKIT_PLUGIN_WRR);
            rt.load_plugin(SCHEDKIT_PLUGIN_REFUSE_START);
            try {
                rt.set_policy("wrr");
            } catch (const InputError&) {
                // unloaded by a racing round? not here: only this thread unloads
                ADD_FAILURE() << "wrr unknown right after loading it";
            }
            SwitchResult refused = rt.set_policy("refuse-start");
            EXPECT_FALSE(refused.ok);
            if (r % 10 == 0) {
                // The hook throws after 5 calls: the plug-in isolates itself
                // and a worker puts the previous policy back while tasks
                // spawn. Once in the round, with the other switches paused,
                // the restore is required; in the other rounds it races them.
                rt.load_plugin(SCHEDKIT_PLUGIN_THROWING_HOOK);
                bool require = r % 20 == 0;
                quiet = require;
                size_t before = restores();
                for (int k = 0; k < (require ? 20 : 1) && restores() == before; ++k) {
                    EXPECT_TRUE(rt.set_policy("throwing-hook:after=5").ok);
                    test::wait_until([&] { return rt.policy_name() != "throwing-hook"; }, 2s);
                }
                if (require) {
                    EXPECT_GT(restores(), before) << "no restore after a throwing hook";
                }
                quiet = false;
                rt.unload_plugin("throwing-hook");
            }
            // Unload while a policy made from it may be the active one.
            rt.unload_plugin("wrr");
            rt.unload_plugin("refuse-start");
            progress.fetch_add(1, std::memory_order_relaxed);
            if (rng() % 2 == 0)
                std::this_thread::sleep_for(std::chrono::microseconds(rng() % 500));
        }
        done = true;
        switcher.join();
        for (auto& h : hs)
            h.get();
        StopReport rep = rt.stop();
        EXPECT_EQ(rep.completed, rep.spawned);
        EXPECT_EQ(rep.cancelled + rep.failed, 0u);
        EXPECT_GT(from_tasks.load(), 0u);
        unload_plugin("wrr");
    }  // ~Runtime: the last retired policies are freed after their grace periods
    EXPECT_EQ(plugin_libraries_open(), 0u);
}

}  // namespace
}  // namespace schedkit
