// thread.cpp: lightweight threads: a fiber that drains a mailbox and runs
// pollers, blocking when neither has anything to do.
#include "schedkit/thread.h"

#include <algorithm>
#include <mutex>

#include "core/check.h"
#include "runtime/runtime_core.h"
#include "runtime/thread_fiber.h"

namespace schedkit {

namespace detail {

SendStatus ThreadFiber::post(LightThread::Message& fn, bool control) {
    bool wake_it = false;
    {
        std::lock_guard g(lock);
        if (closed)
            return SendStatus::Closed;
        mailbox.push_back(Mail{std::move(fn), control});
        if (waiter.linked && claim(*this, WakeReason::Signaled)) {
            waiter.linked = false;
            wake_it = true;
        }
    }
    if (wake_it)
        wake(*this);
    return SendStatus::Ok;
}

std::vector<LightThread::Message> ThreadFiber::close(CloseMode mode, bool* was_open) {
    std::vector<LightThread::Message> handed_back;
    bool wake_it = false;
    {
        std::lock_guard g(lock);
        if (was_open != nullptr)
            *was_open = !closed;
        if (closed)
            return handed_back;
        closed = true;
        if (mode == CloseMode::Cancel) {
            for (Mail& m : mailbox)
                if (!m.control)
                    handed_back.push_back(std::move(m.fn));
            mailbox.clear();
        }
        if (waiter.linked && claim(*this, WakeReason::Signaled)) {
            waiter.linked = false;
            wake_it = true;
        }
    }
    rt->messages_cancelled.fetch_add(handed_back.size(), std::memory_order_relaxed);
    if (wake_it)
        wake(*this);
    return handed_back;
}

void ThreadFiber::poke(uint64_t g) {
    bool wake_it = false;
    {
        std::lock_guard guard(lock);
        // A stale poke (the thread woke for mail since) finds another
        // generation or no waiter, and does nothing.
        if (waiter.linked && g == gen && claim(*this, WakeReason::Timeout)) {
            waiter.linked = false;
            wake_it = true;
        }
    }
    if (wake_it)
        wake(*this);
}

void ThreadFiber::account(bool worked, uint64_t ran_ns, uint64_t now) {
    if (win_start_ns == 0)
        win_start_ns = now - ran_ns;
    if (worked) {
        win_busy_ns += ran_ns;
        std::atomic_ref<uint64_t>(task().work_ns).fetch_add(ran_ns, std::memory_order_relaxed);
    }
    uint64_t span = now - win_start_ns;
    if (span < window_ns)
        return;
    // Busy % of wall time: time blocked or polling without result is idle.
    double pct =
        std::min(100.0, 100.0 * static_cast<double>(win_busy_ns) / static_cast<double>(span));
    busy_pct.store(pct, std::memory_order_relaxed);
    std::atomic_ref<double>(task().busy_pct).store(pct, std::memory_order_relaxed);
    win_start_ns = now;
    win_busy_ns = 0;
}

Outcome ThreadFiber::run() {
    uint64_t start = rt->now_ns();
    bool closing;
    {
        std::lock_guard g(lock);
        batch.swap(mailbox);
        closing = closed;
    }
    bool worked = false;
    for (Mail& m : batch) {
        try {
            m.fn();
        } catch (...) {
            // A failing message must not take the thread (and every message
            // queued behind it) down; it still counts as delivered.
        }
        if (!m.control) {
            worked = true;
            messages_run.fetch_add(1, std::memory_order_relaxed);
            rt->messages_delivered.fetch_add(1, std::memory_order_relaxed);
        }
    }
    batch.clear();
    uint64_t now = rt->now_ns();
    uint64_t next_due = UINT64_MAX;
    bool busy_polling = false;
    for (PollerEntry& p : pollers) {
        if (p.period_ns == 0 || now >= p.next_ns) {
            try {
                worked |= p.fn();
            } catch (...) {
                // Same rule as messages: the thread goes on.
            }
            p.next_ns = now + p.period_ns;
        }
        if (p.period_ns == 0)
            busy_polling = true;
        else
            next_due = std::min(next_due, p.next_ns);
    }
    uint64_t end = rt->now_ns();
    account(worked, end - start, end);
    if (closing) {
        std::lock_guard g(lock);
        return mailbox.empty() ? Outcome::Exit : Outcome::Yield;
    }
    if (worked || busy_polling)
        return Outcome::Yield;
    uint64_t g;
    {
        std::lock_guard guard(lock);
        if (!mailbox.empty() || closed)
            return Outcome::Yield;
        waiter.fiber = this;
        waiter.linked = true;
        g = ++gen;
        arm(*this, *this, waiter);
    }
    if (next_due != UINT64_MAX)
        current_worker()->timers.add_poke(this, g, next_due);
    return Outcome::Block;
}

}  // namespace detail

LightThread::LightThread(detail::ThreadFiber* fiber) : fiber_(fiber) {}

LightThread::~LightThread() {
    // Dropping the last handle closes the thread; its queued messages run.
    fiber_->close(CloseMode::Drain);
    fiber_->release();
}

const std::string& LightThread::name() const {
    return fiber_->task().name;
}

SendStatus LightThread::send(Message&& msg) {
    return fiber_->post(msg, false);
}

LightThread::PollerId LightThread::add_poller(Poller fn, std::chrono::nanoseconds period) {
    PollerId id = fiber_->next_poller_id.fetch_add(1, std::memory_order_relaxed);
    auto p = static_cast<uint64_t>(std::max<int64_t>(0, period.count()));
    detail::ThreadFiber* f = fiber_;
    Message add = [f, id, p, fn = std::move(fn)]() mutable {
        f->pollers.push_back({id, std::move(fn), p, 0});
    };
    return fiber_->post(add, true) == SendStatus::Ok ? id : 0;
}

bool LightThread::remove_poller(PollerId id) {
    detail::ThreadFiber* f = fiber_;
    Message remove = [f, id] {
        std::erase_if(f->pollers, [id](const auto& p) { return p.id == id; });
    };
    return fiber_->post(remove, true) == SendStatus::Ok;
}

std::vector<LightThread::Message> LightThread::close(CloseMode mode) {
    return fiber_->close(mode);
}

bool LightThread::closed() const {
    std::lock_guard g(fiber_->lock);
    return fiber_->closed;
}

Event& LightThread::exited() {
    return fiber_->exited;
}

double LightThread::busy_pct() const {
    return fiber_->busy_pct.load(std::memory_order_relaxed);
}

uint64_t LightThread::messages_run() const {
    return fiber_->messages_run.load(std::memory_order_relaxed);
}

int LightThread::cpu() const {
    return std::atomic_ref<int>(fiber_->task().cpu).load(std::memory_order_relaxed);
}

std::shared_ptr<LightThread> Runtime::create_thread(std::string name, CpuSet cpumask) {
    auto* f = new detail::ThreadFiber(core_->cfg.thread_window_ns);
    f->rt = core_.get();
    // References: the runtime's (released when it exits) and the handle's;
    // the registry takes its own in register_thread().
    f->add_ref();
    auto thread = std::shared_ptr<LightThread>(new LightThread(f));
    core_->submit(*f, SpawnOptions{std::move(name), std::move(cpumask), 0, -1}, true);
    core_->register_thread(f);
    return thread;
}

}  // namespace schedkit
