// thread_test.cpp: lightweight threads: mailbox order, pollers and busy %,
// close with drain or cancel, and DESIGN story 3 (close racing with sends).
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "runtime_support.h"
#include "schedkit/runtime.h"
#include "schedkit/thread.h"

namespace schedkit {
namespace {

using namespace std::chrono_literals;
using test::Watchdog;

class ThreadTest : public ::testing::TestWithParam<int> {
  protected:
    Runtime::Config config() const {
        return test::test_config(GetParam()).with_idle_spin_ns(5'000);
    }
};

TEST_P(ThreadTest, MailboxIsFifoPerSender) {
    Watchdog wd(60s);
    Runtime rt(config());
    rt.start();
    auto th = rt.create_thread("sink");
    // Only the thread touches `seen`: messages run one at a time on it.
    std::map<int, std::vector<int>> seen;
    constexpr int kTaskSenders = 4, kThreadSenders = 2, kEach = 300;
    std::vector<JoinHandle<void>> tasks;
    for (int s = 0; s < kTaskSenders; ++s)
        tasks.push_back(rt.spawn([&, s]() -> Job<void> {
            for (int i = 0; i < kEach; ++i) {
                EXPECT_EQ(th->send([&seen, s, i] { seen[s].push_back(i); }), SendStatus::Ok);
                if (i % 16 == 0)
                    co_await yield();  // may resume on another worker: order must hold
            }
        }));
    std::vector<std::thread> senders;
    for (int s = kTaskSenders; s < kTaskSenders + kThreadSenders; ++s)
        senders.emplace_back([&, s] {
            for (int i = 0; i < kEach; ++i)
                EXPECT_EQ(th->send([&seen, s, i] { seen[s].push_back(i); }), SendStatus::Ok);
        });
    for (auto& t : tasks)
        t.get();
    for (auto& t : senders)
        t.join();
    th->close(CloseMode::Drain);
    th->exited().wait_blocking();
    ASSERT_EQ(seen.size(), static_cast<size_t>(kTaskSenders + kThreadSenders));
    for (auto& [s, v] : seen) {
        ASSERT_EQ(v.size(), static_cast<size_t>(kEach)) << "sender " << s;
        for (int i = 0; i < kEach; ++i)
            ASSERT_EQ(v[static_cast<size_t>(i)], i) << "sender " << s;
    }
    EXPECT_EQ(th->messages_run(), static_cast<uint64_t>((kTaskSenders + kThreadSenders) * kEach));
    StopReport r = rt.stop();
    EXPECT_EQ(r.messages_delivered, th->messages_run());
}

TEST_P(ThreadTest, CloseDrainsThenRefusesSends) {
    Watchdog wd(30s);
    Runtime rt(config());
    rt.start();
    auto th = rt.create_thread("drainer");
    std::atomic<int> ran{0};
    for (int i = 0; i < 100; ++i)
        ASSERT_EQ(th->send([&] { ran.fetch_add(1); }), SendStatus::Ok);
    th->close(CloseMode::Drain);
    LightThread::Message late = [&] { ran.fetch_add(1000); };
    EXPECT_EQ(th->send(std::move(late)), SendStatus::Closed);
    EXPECT_TRUE(static_cast<bool>(late));  // not taken: the sender still owns it
    th->exited().wait_blocking();
    EXPECT_EQ(ran.load(), 100);
    EXPECT_TRUE(th->closed());
    EXPECT_EQ(th->add_poller([] { return false; }, 1ms), 0u);
    EXPECT_TRUE(th->close().empty());  // idempotent
}

TEST_P(ThreadTest, CloseWithCancelHandsQueuedMessagesBack) {
    Watchdog wd(30s);
    Runtime rt(config());
    rt.start();
    auto th = rt.create_thread("canceller");
    std::atomic<bool> running{false}, release{false};
    std::atomic<int> ran{0};
    // The first message holds the thread so the next ones stay queued.
    ASSERT_EQ(th->send([&] {
        running = true;
        while (!release.load())
            std::this_thread::yield();
        ran.fetch_add(1);
    }),
              SendStatus::Ok);
    ASSERT_TRUE(test::wait_until([&] { return running.load(); }));
    for (int i = 0; i < 10; ++i)
        ASSERT_EQ(th->send([&] { ran.fetch_add(1); }), SendStatus::Ok);
    auto back = th->close(CloseMode::Cancel);
    release = true;
    th->exited().wait_blocking();
    EXPECT_EQ(back.size(), 10u);
    EXPECT_EQ(ran.load(), 1);
    for (auto& m : back)
        m();  // the closer may still run (or drop) what it got back
    EXPECT_EQ(ran.load(), 11);
    EXPECT_EQ(rt.stop().messages_cancelled, 10u);
}

TEST_P(ThreadTest, PollersRunAndBusyPercentFollowsWork) {
    Watchdog wd(30s);
    Runtime rt(config().with_idle_spin_ns(0));
    rt.start();
    auto busy = rt.create_thread("busy");
    auto idle = rt.create_thread("idle");
    std::atomic<int> busy_calls{0}, idle_calls{0};
    // A busy poller works ~200 us per call; an idle one never has work.
    busy->add_poller(
        [&] {
            busy_calls.fetch_add(1);
            auto until = std::chrono::steady_clock::now() + 200us;
            while (std::chrono::steady_clock::now() < until) {
            }
            return true;
        },
        0ns);
    idle->add_poller(
        [&] {
            idle_calls.fetch_add(1);
            return false;
        },
        1ms);
    // The default window is 100 ms; wait for two windows' worth of reports.
    ASSERT_TRUE(test::wait_until([&] { return busy->busy_pct() > 50.0; }, 5s))
        << "busy thread reported " << busy->busy_pct() << "%";
    ASSERT_TRUE(test::wait_until([&] { return idle_calls.load() > 150; }, 5s));
    EXPECT_LT(idle->busy_pct(), 5.0);
    // The idle thread blocks between calls: its poller is due every 1 ms,
    // not run in a loop.
    EXPECT_LT(idle_calls.load(), 5000);
    // stats() lists the threads with their busy %.
    int listed = 0;
    for (const WorkerStats& w : rt.stats().workers)
        listed += static_cast<int>(w.threads.size());
    EXPECT_EQ(listed, 2);
    StopReport r = rt.stop();
    EXPECT_EQ(r.threads_closed, 2u);
}

TEST_P(ThreadTest, Story3CloseRacingWithSendsNeverLosesOrReusesMessages) {
    Watchdog wd(120s);
    Runtime rt(config());
    rt.start();
    std::atomic<uint64_t> sent_ok{0}, delivered{0}, handed_back{0}, refused{0};
    for (int round = 0; round < 20; ++round) {
        auto th = rt.create_thread("victim" + std::to_string(round));
        std::atomic<bool> go{false};
        std::vector<std::thread> senders;
        for (int s = 0; s < 3; ++s)
            senders.emplace_back([&] {
                while (!go.load())
                    std::this_thread::yield();
                for (int i = 0; i < 200; ++i) {
                    if (th->send([&] { delivered.fetch_add(1); }) == SendStatus::Ok)
                        sent_ok.fetch_add(1);
                    else
                        refused.fetch_add(1);
                }
            });
        // Senders from tasks too, racing with the close below.
        auto task = rt.spawn([&]() -> Job<void> {
            for (int i = 0; i < 200; ++i) {
                if (th->send([&] { delivered.fetch_add(1); }) == SendStatus::Ok)
                    sent_ok.fetch_add(1);
                else
                    refused.fetch_add(1);
                if (i % 32 == 0)
                    co_await yield();
            }
        });
        go = true;
        CloseMode mode = round % 2 == 0 ? CloseMode::Drain : CloseMode::Cancel;
        auto back = th->close(mode);
        handed_back.fetch_add(back.size());
        for (auto& t : senders)
            t.join();
        task.get();
        th->exited().wait_blocking();
        th.reset();  // the last handle goes while nothing runs on it
    }
    // Every accepted message was delivered or handed back; none twice.
    EXPECT_EQ(sent_ok.load(), delivered.load() + handed_back.load());
    EXPECT_EQ(sent_ok.load() + refused.load(), 20u * 800u);
    rt.stop();
}

TEST_P(ThreadTest, ThreadsHonourTheirCpuMask) {
    Watchdog wd(30s);
    Runtime rt(config());
    rt.start();
    int last = GetParam() - 1;
    auto th = rt.create_thread("pinned", CpuSet::single(last));
    std::atomic<int> wrong{0}, ran{0};
    for (int i = 0; i < 50; ++i)
        th->send([&] {
            if (th->cpu() != last)
                wrong.fetch_add(1);
            ran.fetch_add(1);
        });
    ASSERT_TRUE(test::wait_until([&] { return ran.load() == 50; }));
    EXPECT_EQ(wrong.load(), 0);
    EXPECT_THROW(rt.create_thread("nowhere", CpuSet::single(GetParam())), std::invalid_argument);
}

INSTANTIATE_TEST_SUITE_P(Workers, ThreadTest, ::testing::Values(1, 2, 4, 8),
                         [](const auto& p) { return std::to_string(p.param) + "w"; });

}  // namespace
}  // namespace schedkit
