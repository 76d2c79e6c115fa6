// thread_fiber.h: a lightweight thread's fiber (see thread.cpp).
#pragma once

#include <atomic>
#include <vector>

#include "schedkit/thread.h"

namespace schedkit::detail {

// ThreadFiber is a lightweight thread's fiber. The mailbox (with `closed`,
// the blocked-for-mail waiter and its generation) is guarded by `lock`:
// send, close and the thread's drain are serialised by it (DESIGN story
// 3). Everything under "thread-owned" is touched only by the thread's own
// runs, which never overlap.
struct ThreadFiber final : Fiber, WaitSource {
    struct Mail {
        LightThread::Message fn;
        bool control = false;  // poller (un)registration: not a user message
    };
    struct PollerEntry {
        LightThread::PollerId id;
        LightThread::Poller fn;
        uint64_t period_ns;
        uint64_t next_ns;
    };

    explicit ThreadFiber(uint64_t window) : window_ns(window) {}

    Outcome run() override;
    void finish() override { exited.set(); }
    void poke(uint64_t g) override;
    void unlink(Waiter& w) noexcept override {
        std::lock_guard guard(lock);
        w.linked = false;
    }

    // post() queues `fn` unless the mailbox is closed, in which case `fn`
    // is left untouched for the caller.
    SendStatus post(LightThread::Message& fn, bool control);
    // close() closes the mailbox; `was_open` (optional) says whether this
    // call closed it.
    std::vector<LightThread::Message> close(CloseMode mode, bool* was_open = nullptr);
    // account() adds one run to the busy/idle window and publishes busy %
    // when the window is complete.
    void account(bool worked, uint64_t ran_ns, uint64_t now);

    SpinLock lock;
    std::vector<Mail> mailbox;  // guarded by lock
    bool closed = false;        // guarded by lock
    Waiter waiter;              // guarded by lock: linked while blocked for mail
    uint64_t gen = 0;           // guarded by lock: blocking episodes, for pokes

    // Thread-owned.
    std::vector<Mail> batch;
    std::vector<PollerEntry> pollers;
    const uint64_t window_ns;
    uint64_t win_start_ns = 0;
    uint64_t win_busy_ns = 0;

    Event exited;
    std::atomic<uint64_t> messages_run{0};
    std::atomic<uint64_t> next_poller_id{1};
    std::atomic<double> busy_pct{0};
};

}  // namespace schedkit::detail
