// The `static` policy: tasks stay where they were first placed.
#include <atomic>

#include "schedkit/policy.h"
#include "schedkit/policy_registry.h"
#include "schedkit/scheduler.h"

namespace schedkit {

QueuePick Policy::pick(const RunQueue& rq) {
    return QueuePick{rq.head, false};
}

namespace {

class StaticPolicy final : public Policy {
  public:
    std::string name() const override { return "static"; }

    // Round-robin over the machine at spawn, skipping CPUs outside the
    // task's affinity; a woken task returns to its home CPU.
    int select_cpu(Scheduler& sched, const Task& task, PlaceReason why) override {
        if (why == PlaceReason::Wake && task.home_cpu >= 0 && task.allowed_on(task.home_cpu))
            return task.home_cpu;
        // The k-th allowed CPU, k advancing per spawn: round-robin within
        // the task's own affinity, not the machine's.
        uint64_t k = next_.fetch_add(1, std::memory_order_relaxed);
        if (task.affinity.empty())
            return static_cast<int>(k % static_cast<uint64_t>(sched.num_cpus()));
        int want = static_cast<int>(k % static_cast<uint64_t>(task.affinity.count()));
        int c = task.affinity.first();
        for (int i = 0; i < want; ++i)
            c = task.affinity.next(c);
        return c;
    }

  private:
    std::atomic<uint64_t> next_{0};
};

}  // namespace

std::unique_ptr<Policy> make_static_policy() {
    return std::make_unique<StaticPolicy>();
}

}  // namespace schedkit

namespace schedkit {

PolicyInfo static_policy_info() {
    return PolicyInfo{"static",
                      "round-robin placement at spawn within affinity, FIFO with a quantum, "
                      "never migrates; threads stay on their original CPUs",
                      {},
                      [](const PolicyOptions&) { return make_static_policy(); }};
}

}  // namespace schedkit
