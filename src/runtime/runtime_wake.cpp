// runtime_wake.cpp: RuntimeCore's wake paths (the RunState protocol, the
// fast path's join wakes, the core's wake placed here and queued there) and
// what happens when a task or thread ends.
#include "core/check.h"
#include "runtime/runtime_core.h"
#include "runtime/thread_fiber.h"

namespace schedkit::detail {

void wake(Fiber& f) {
    f.rt->wake_fiber(f);
}

void RuntimeCore::wake_fiber(Fiber& f) {
    RunState s = f.run_state.load(std::memory_order_acquire);
    for (;;) {
        if (s == RunState::Running) {
            // Still on its worker, which has not called block() yet: the
            // worker sees WakePending and re-queues it itself.
            if (f.run_state.compare_exchange_weak(s, RunState::WakePending,
                                                  std::memory_order_acq_rel))
                return;
        } else if (s == RunState::Blocked) {
            if (f.run_state.compare_exchange_weak(s, RunState::Queued, std::memory_order_acq_rel)) {
                core_wake(f);
                return;
            }
        } else {
            SCHEDKIT_CHECK(false, "wake of a fiber that is not waiting (double wake)");
        }
    }
}

void RuntimeCore::fast_wake(Fiber& f) {
    if (Worker* here = worker_here()) {
        here->deque.push(&f);
        if (parked_workers.load(std::memory_order_relaxed) > 0)
            wake_one_parked(*here);
        return;
    }
    size_t n = workers.size();
    workers[next_worker_.fetch_add(1, std::memory_order_relaxed) % n]->post(
        InboxItem{InboxItem::Kind::FastWake, &f});
}

void RuntimeCore::core_wake(Fiber& f) {
    // Never seen by the core (a fast-path task in a join wait): no core
    // wake. The RunState CAS that let us here orders this read after the
    // worker's promotion (make_task()), if there was one.
    if (!f.has_task) {
        fast_wake(f);
        return;
    }
    if (Worker* here = worker_here()) {
        // Placed here, queued there: a wake onto another CPU goes to that
        // CPU's worker, which queues it on its own run queue (post_wake).
        RcuRead r;
        uint64_t now = now_ns();
        int cpu = sched.wake_place(f.task(), now);
        if (cpu == here->cpu)
            sched.wake_enqueue(f.task(), cpu, now, here->cpu);
        else
            workers[static_cast<size_t>(cpu)]->post_wake(f, here->cpu);
        return;
    }
    // Not a worker: the core (and policy code) runs on a registered RCU
    // reader, so hand the wake to the worker the task last ran on.
    Worker& w = *workers[static_cast<size_t>(f.task().cpu)];
    w.post(InboxItem{InboxItem::Kind::Wake, &f});
}

void RuntimeCore::on_exit(Worker& w, Fiber& f, bool is_thread) {
    if (is_thread) {
        {
            std::lock_guard g(threads_mu_);
            auto* t = static_cast<ThreadFiber*>(&f);
            if (threads_.erase(t) != 0)
                t->release();
        }
        if (live_threads_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            // Taking the mutex orders this with a stop() that checked the
            // count and is about to wait: it cannot miss the notification.
            std::lock_guard g(idle_mu_);
            idle_cv_.notify_all();
        }
        return;
    }
    auto& jf = static_cast<JoinableFiber&>(f);
    std::atomic<uint64_t>& tally = jf.ended_by_cancel()  ? w.tasks_cancelled
                                   : jf.ended_by_error() ? w.tasks_failed
                                                         : w.tasks_completed;
    // seq_cst pairs with stop(): it sets stop_waiting_, then sums the
    // tallies; either it sees this end, or we see it waiting and notify
    // (under the mutex, so a stop() about to wait cannot miss it).
    tally.fetch_add(1, std::memory_order_seq_cst);
    if (stop_waiting_.load(std::memory_order_seq_cst)) {
        std::lock_guard g(idle_mu_);
        idle_cv_.notify_all();
    }
}

void RuntimeCore::on_fast_exit(Worker& w, Fiber& f) {
    auto& jf = static_cast<JoinableFiber&>(f);
    bool error = jf.ended_by_error();
    std::atomic<uint64_t>& tally = !error                 ? w.tasks_completed
                                   : jf.ended_by_cancel() ? w.tasks_cancelled
                                                          : w.tasks_failed;
    // Single writer: no locked instruction. stop() polls the tallies, so a
    // notification it misses costs it at most one poll interval.
    tally.store(tally.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    if (stop_waiting_.load(std::memory_order_relaxed)) {
        std::lock_guard g(idle_mu_);
        idle_cv_.notify_all();
    }
}

void RuntimeCore::wake_one_parked(const Worker& from) noexcept {
    for (const auto& w : workers) {
        // `poked` is set by the first kick and cleared when the worker
        // starts waiting again: one wake per parking, not one per spawn.
        if (w.get() != &from && w->parked.load(std::memory_order_relaxed) &&
            !w->poked.load(std::memory_order_relaxed) &&
            !sched.rq(w->cpu).sleeping.load(std::memory_order_relaxed)) {
            w->kick();
            return;
        }
    }
}

}  // namespace schedkit::detail
