// stress_support.h: counts, a progress watchdog and state dumps for the
// stress tests of the five failure stories (docs/stress.md).
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "schedkit/policy.h"
#include "schedkit/scheduler.h"

namespace schedkit::test {

// stress_full() is true under `make stress` (SCHEDKIT_STRESS=full): the
// counts the issue asks for. `make test` runs reduced counts.
inline bool stress_full() {
    const char* e = std::getenv("SCHEDKIT_STRESS");
    return e != nullptr && std::string(e) == "full";
}
inline uint64_t stress_count(uint64_t reduced, uint64_t full) {
    return stress_full() ? full : reduced;
}

// dump_scheduler() describes every CPU of `s` from what can be read without
// waiting on anything: the queue's atomic summaries, and its current task
// when its lock can be taken at once (a lock held for the whole stall is
// itself the diagnosis).
inline std::string dump_scheduler(const Scheduler& s) {
    std::string out = fmt::format("  spawned={} exited={} migrations={} switches={}\n", s.spawned(),
                                  s.exited(), s.migrations(), s.policy_switches());
    for (int c = 0; c < s.num_cpus(); ++c) {
        const RunQueue& rq = s.rq(c);
        std::string cur = "lock busy";
        if (rq.lock.try_lock()) {
            cur = rq.current != nullptr ? fmt::format("task {}", rq.current->id) : "idle";
            rq.lock.unlock();
        }
        out += fmt::format(
            "  cpu {}: current={} queued={} running={} blocked={} push_to={} balancing={} "
            "sleeping={} busy_ms={:.1f}\n",
            c, cur, rq.nr_queued.load(), rq.nr_running.load(), rq.nr_blocked.load(),
            rq.push_to.load(), rq.balancing.load(), rq.sleeping.load(),
            static_cast<double>(rq.busy_ns.load()) / 1e6);
    }
    return out;
}

// ProgressWatchdog fails the test when `progress()` stops changing for
// `stall` (10 s by default): it prints the test's name, what `dump()` says
// about every worker, and aborts, so a deadlock fails CI with a diagnosis
// instead of hanging it. Both callbacks run on the watchdog's thread and must
// read only what is safe to read concurrently (atomics, try-locks).
class ProgressWatchdog {
  public:
    ProgressWatchdog(std::function<uint64_t()> progress, std::function<std::string()> dump,
                     std::chrono::milliseconds stall = std::chrono::seconds(10))
        : progress_(std::move(progress)), dump_(std::move(dump)) {
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        name_ = info != nullptr ? std::string(info->test_suite_name()) + "." + info->name() : "?";
        thread_ = std::thread([this, stall] { watch(stall); });
    }
    ~ProgressWatchdog() {
        {
            std::lock_guard g(mu_);
            done_ = true;
        }
        cv_.notify_all();
        thread_.join();
    }
    ProgressWatchdog(const ProgressWatchdog&) = delete;
    ProgressWatchdog& operator=(const ProgressWatchdog&) = delete;

  private:
    void watch(std::chrono::milliseconds stall) {
        using Clock = std::chrono::steady_clock;
        uint64_t last = progress_();
        auto since = Clock::now();
        std::unique_lock lk(mu_);
        while (!cv_.wait_for(lk, std::chrono::milliseconds(200), [this] { return done_; })) {
            uint64_t now = progress_();
            if (now != last) {
                last = now;
                since = Clock::now();
                continue;
            }
            if (Clock::now() - since < stall)
                continue;
            std::fprintf(stderr, "watchdog: %s made no progress for %lld ms (at %llu): stuck\n%s",
                         name_.c_str(), static_cast<long long>(stall.count()),
                         static_cast<unsigned long long>(now), dump_().c_str());
            std::fflush(stderr);
            std::abort();
        }
    }

    std::function<uint64_t()> progress_;
    std::function<std::string()> dump_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool done_ = false;
    std::string name_;
    std::thread thread_;
};

// sched_progress() is a progress signal that only real work moves: tasks
// ended plus CPU time accounted on every CPU. A livelock (tasks bouncing
// between CPUs in zero time, say) does not move it.
inline uint64_t sched_progress(const Scheduler& s) {
    uint64_t p = s.exited();
    for (int c = 0; c < s.num_cpus(); ++c)
        p += s.rq(c).busy_ns.load(std::memory_order_relaxed);
    return p;
}

}  // namespace schedkit::test
