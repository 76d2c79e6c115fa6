// scheduler_switch.cpp: switching the policy while work runs, and the
// invariant checks tests and the stress suite call (split from scheduler.cpp).
#include <algorithm>

#include "core/check.h"
#include "schedkit/scheduler.h"

namespace schedkit {

SwitchResult Scheduler::switch_policy(std::unique_ptr<Policy> next, uint64_t now_ns) {
    SCHEDKIT_CHECK(next != nullptr, "switch to a null policy");
    // Quiesce: no balance pass may run while one policy stops and another
    // starts. Balancers are short and never wait on a switch, so this spin
    // ends; it is not an RCU synchronize and never waits on itself.
    balancing_paused_.store(true, std::memory_order_seq_cst);
    for (int c = 0; c < num_cpus(); ++c)
        while (rq(c).balancing.load(std::memory_order_seq_cst) != 0)
            std::this_thread::yield();
    Policy* old = policy_.load(std::memory_order_acquire);
    old->stop(*this, now_ns);
    // The old policy's pending requests were its decisions: a push it asked
    // for or a task it flagged to move must not be carried out under the
    // new one (which makes its own in start()).
    for (int c = 0; c < num_cpus(); ++c) {
        RunQueue& r = rq(c);
        r.push_to.store(-1, std::memory_order_release);
        std::lock_guard g(r.lock);
        if (r.current != nullptr)
            std::atomic_ref<bool>(r.current->rehome).store(false, std::memory_order_release);
    }
    if (quantum_override_ns_ != 0)
        next->quantum_ns = quantum_override_ns_;
    SwitchResult result;
    try {
        next->start(*this, now_ns);
    } catch (const PolicyError& e) {
        // Refused: `old` goes on. `next` goes through the retire hook, not
        // freed at once: a restore's `next` was active before, and a reader
        // (a runtime worker) may still hold it until a grace period passes.
        old->start(*this, now_ns);
        retire_(next.release());
        balancing_paused_.store(false, std::memory_order_release);
        return SwitchResult{false, e.what()};
    }
    Policy* now_active = next.release();
    bool old_failed;
    {
        // Under failed_mu_ with the publish: a failure reported by `old`
        // from here on is ignored (it is no longer active).
        std::lock_guard g(failed_mu_);
        old_failed = failed_ == old;
        failed_ = nullptr;
        failed_why_.clear();
        restore_pending_.store(false, std::memory_order_relaxed);
        policy_.store(now_active, std::memory_order_release);
    }
    // Hand each queue's ordering to the new policy (or back to list order)
    // under that queue's lock, so no enqueue, dequeue or pick sees half of
    // it; until then the old policy, not yet retired, keeps ordering it.
    Policy* order = now_active->orders_queues() ? now_active : nullptr;
    for (int c = 0; c < num_cpus(); ++c) {
        RunQueue& r = rq(c);
        std::lock_guard g(r.lock);
        if (r.order == nullptr && order == nullptr)
            continue;
        r.order = order;
        r.need_resched.store(false, std::memory_order_relaxed);
        // The ordering fields belong to the queue's order: a hand-over
        // starts them afresh (only queued tasks can be in an index).
        for (Task* t = r.head; t != nullptr; t = t->rq_next)
            t->ord_linked = false;
        if (order != nullptr)
            order->take_queue(r, now_ns);
    }
    // Keep `old` to be put back should the new policy fail (unless `old` is
    // the failure); the one kept before goes now.
    Policy* gone = old;
    if (!old_failed)
        std::swap(gone, previous_);
    if (gone != nullptr)
        retire_(gone);
    switches_.fetch_add(1, std::memory_order_relaxed);
    balancing_paused_.store(false, std::memory_order_release);
    // Kick idle CPUs that have queued work (the new policy may have moved
    // some there). `current` is guarded by the queue's lock: read it under
    // that lock, one queue at a time, and kick with no lock held.
    for (int c = 0; executor_ != nullptr && c < num_cpus(); ++c) {
        bool idle_with_work;
        {
            const RunQueue& r = rq(c);
            std::lock_guard g(r.lock);
            idle_with_work = r.current == nullptr && !r.empty();
        }
        if (idle_with_work)
            executor_->kick(c);
    }
    return result;
}

void Scheduler::check_invariants() const {
    uint64_t on_cpus = 0, queued = 0, blocked = 0;
    for (const auto& rqp : rqs_) {
        const RunQueue& rq = *rqp;
        std::lock_guard g(rq.lock);
        int n = 0;
        uint64_t w = 0;
        for (const Task* t = rq.head; t != nullptr; t = t->rq_next) {
            SCHEDKIT_CHECK(t->state == TaskState::Runnable, "non-runnable task on a queue");
            SCHEDKIT_CHECK(t->cpu == rq.cpu, "task on a queue it does not name");
            SCHEDKIT_CHECK(t->allowed_on(rq.cpu), "task queued outside its affinity");
            SCHEDKIT_CHECK(t != rq.current, "task both queued and running");
            ++n;
            w += t->weight;
        }
        if (rq.current != nullptr) {
            SCHEDKIT_CHECK(rq.current->state == TaskState::Running, "current task not running");
            SCHEDKIT_CHECK(rq.current->allowed_on(rq.cpu), "task running outside its affinity");
            w += rq.current->weight;
            ++on_cpus;
        }
        SCHEDKIT_CHECK(n == rq.nr_queued.load(), "queue length out of step");
        SCHEDKIT_CHECK(n + (rq.current != nullptr) == rq.nr_running.load(),
                       "nr_running out of step");
        SCHEDKIT_CHECK(w == rq.weight_sum, "queue weight out of step");
        bool running = rq.current != nullptr;
        SCHEDKIT_CHECK(idle_.test(rq.cpu) == (n == 0 && !running) &&
                           no_current_.test(rq.cpu) == !running &&
                           queued_.test(rq.cpu) == (n > 0) &&
                           overloaded_.test(rq.cpu) == (n + (running ? 1 : 0) >= 2),
                       "CPU sets out of step with the queue");
        queued += static_cast<uint64_t>(n);
        blocked += static_cast<uint64_t>(rq.nr_blocked.load());
    }
    SCHEDKIT_CHECK(on_cpus + queued + blocked <= alive(), "more tasks scheduled than alive");
}

}  // namespace schedkit
