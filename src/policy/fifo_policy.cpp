// The `fifo` policy: one first-come-first-served queue served by every CPU,
// the M/M/c (or M/G/c) server of queueing theory, as a baseline for the
// per-CPU policies.
#include <cstdint>
#include <limits>

#include "schedkit/policy.h"
#include "schedkit/policy_registry.h"
#include "schedkit/scheduler.h"

namespace schedkit {

namespace {

// The shared queue is the run queue of the lowest CPU a task may use (CPU 0
// for tasks without an affinity): a task that finds no idle CPU waits there,
// and a CPU that runs out of work takes the task that has waited longest
// anywhere. Without affinities this is exactly one FIFO served by c CPUs.
class FifoPolicy final : public Policy {
  public:
    std::string name() const override { return "fifo"; }

    // No time slice: a task runs until it blocks or exits, as in FCFS
    // (quantum_us and --quantum do not apply).
    uint64_t time_slice_ns(const Task& /*task*/) const override { return kNoSlice; }

    // An idle CPU in the task's affinity if there is one (lowest id), else
    // the shared queue.
    int select_cpu(Scheduler& sched, const Task& task, PlaceReason /*why*/) override {
        // The core's idle set: nothing running or queued, nothing on its way.
        const CpuBits& idle = sched.idle_cpus();
        for (int c = idle.first(); c >= 0; c = idle.next(c + 1))
            if (task.allowed_on(c))
                return c;
        return task.affinity.empty() ? 0 : task.affinity.first();
    }

    // newidle() serves the shared queue: the CPU takes, from every queue,
    // the task that has been runnable longest and may run here. Only the
    // queues that hold tasks are read (the core's queued set).
    void newidle(Scheduler& sched, int cpu, uint64_t now_ns) override {
        int src = -1;
        TaskId id = 0;
        uint64_t since = std::numeric_limits<uint64_t>::max();
        const CpuBits& queued = sched.queued_cpus();
        for (int c = queued.first(); c >= 0; c = queued.next(c + 1)) {
            if (c == cpu)
                continue;
            const RunQueue& rq = sched.rq(c);
            std::lock_guard g(rq.lock);
            // Queues are FIFO: the first task allowed here is the oldest
            // that can come.
            for (const Task* t = rq.head; t != nullptr; t = t->rq_next) {
                if (!t->allowed_on(cpu))
                    continue;
                if (t->runnable_since_ns < since) {
                    since = t->runnable_since_ns;
                    src = c;
                    id = t->id;
                }
                break;
            }
        }
        if (src < 0)
            return;
        // By id, not pointer: the task may have been picked (or have
        // exited) since the lock above was dropped. From the head, where
        // it was: O(1) however long the shared queue is.
        if (Task* t = sched.detach_first(src, [id](const Task& x) { return x.id == id; }))
            sched.attach_tasks(cpu, {t}, src, now_ns);
    }

  private:
    static constexpr uint64_t kNoSlice = uint64_t{1} << 60;  // 36 years
};

}  // namespace

std::unique_ptr<Policy> make_fifo_policy() {
    return std::make_unique<FifoPolicy>();
}

PolicyInfo fifo_policy_info() {
    return PolicyInfo{"fifo",
                      "one first-come-first-served queue served by every CPU (M/M/c): an "
                      "arrival takes an idle CPU or waits; a CPU that frees takes the task "
                      "that waited longest; no time slice (quantum_us is ignored)",
                      {},
                      [](const PolicyOptions&) { return make_fifo_policy(); }};
}

}  // namespace schedkit
