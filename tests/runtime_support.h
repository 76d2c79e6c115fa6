// runtime_support.h: helpers for runtime tests: a watchdog and waiting on a
// condition with a deadline (never sleeping to "let things settle").
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "schedkit/runtime.h"
#include "schedkit/sync.h"

namespace schedkit::test {

// Watchdog aborts the process (with the test's name) if it is still alive
// after `limit`: a deadlocked runtime test must fail, not hang CI.
class Watchdog {
  public:
    explicit Watchdog(std::chrono::seconds limit) {
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        name_ = info != nullptr ? std::string(info->test_suite_name()) + "." + info->name() : "?";
        thread_ = std::thread([this, limit] {
            std::unique_lock lk(mu_);
            if (!cv_.wait_for(lk, limit, [this] { return done_; })) {
                std::fprintf(stderr, "watchdog: %s still running after %llds: deadlock?\n",
                             name_.c_str(), static_cast<long long>(limit.count()));
                std::abort();
            }
        });
    }
    ~Watchdog() {
        {
            std::lock_guard g(mu_);
            done_ = true;
        }
        cv_.notify_all();
        thread_.join();
    }
    Watchdog(const Watchdog&) = delete;
    Watchdog& operator=(const Watchdog&) = delete;

  private:
    std::mutex mu_;
    std::condition_variable cv_;
    bool done_ = false;
    std::string name_;
    std::thread thread_;
};

// wait_until() polls `cond` until it holds or `limit` passes; returns
// whether it held. For conditions no primitive signals (worker parked, a
// counter reached), with a deadline instead of a fixed sleep.
inline bool wait_until(const std::function<bool()>& cond,
                       std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!cond()) {
        if (std::chrono::steady_clock::now() > deadline)
            return false;
        std::this_thread::yield();
    }
    return true;
}

// blocked_tasks() is whether exactly `n` tasks are alive and every one of
// them is blocked (suspended in a wait it has queued on; the core marks a
// task blocked only after its wait list holds it). A task handed in by a
// plain thread counts from the moment its worker spawns it, so this is not
// true before each of the `n` has run to its wait. Per-CPU counters summed
// while tasks move cannot say this: a sum can miss a task in transit.
inline bool blocked_tasks(Runtime& rt, size_t n) {
    size_t live = 0, blocked = 0;
    rt.scheduler().for_each_task([&](const Task& t) {
        ++live;
        blocked += task_state_hint(t) == TaskState::Blocked ? 1 : 0;
    });
    return live == n && blocked == n;
}

// test_config() is a runtime of `workers` workers for tests: unbound when
// oversubscribing, short idle spin so 8 workers share 2 CPUs politely.
inline Runtime::Config test_config(int workers, std::string policy = "static") {
    return Runtime::Config{}
        .with_workers(workers)
        .with_policy(std::move(policy))
        .with_idle_spin_ns(20'000);
}

// PingPong is two tasks handing permits back and forth `rounds` times, one
// pinned to CPU `a` (it releases `ping` and waits on `pong`), the other to
// CPU `b` (the reverse), run to completion. `served` counts the rounds
// the second one completed; the permits are left for the caller to check.
struct PingPong {
    Semaphore ping{0}, pong{0};
    std::atomic<int> served{0};

    void run(Runtime& rt, int rounds, int a, int b) {
        SpawnOptions on_a, on_b;
        on_a.affinity = CpuSet::single(a);
        on_b.affinity = CpuSet::single(b);
        auto answerer = rt.spawn(
            [this, rounds]() -> Job<void> {
                for (int i = 0; i < rounds; ++i) {
                    co_await ping.acquire();
                    served.fetch_add(1, std::memory_order_relaxed);
                    pong.release();
                }
            },
            on_b);
        rt.spawn(
              [this, rounds]() -> Job<void> {
                  for (int i = 0; i < rounds; ++i) {
                      ping.release();
                      co_await pong.acquire();
                  }
              },
              on_a)
            .get();
        answerer.get();
    }
};

}  // namespace schedkit::test
