// The `static` policy: tasks stay on (and return to) their original CPUs.
#include <algorithm>
#include <atomic>
#include <vector>

#include "policy/placement.h"
#include "schedkit/policy.h"
#include "schedkit/policy_registry.h"
#include "schedkit/scheduler.h"

namespace schedkit {

QueuePick Policy::pick(const RunQueue& rq) {
    return QueuePick{rq.head, false};
}

void Policy::steal_order(const Scheduler& sched, int cpu, std::vector<int>& out) const {
    out.clear();
    int n = sched.num_cpus();
    for (int d = 1; d < n; ++d)
        out.push_back((cpu + d) % n);
    // Nearest first: the lowest domain level two CPUs share (SMT siblings,
    // then the cache, the package, the node), ties in ring order.
    const DomainTree& tree = sched.domains();
    std::stable_sort(out.begin(), out.end(), [&](int a, int b) {
        return tree.lowest_common_level(cpu, a) < tree.lowest_common_level(cpu, b);
    });
}

namespace {

class StaticPolicy final : public Policy {
  public:
    std::string name() const override { return "static"; }

    // start() restores the contract after a switch from a policy that moved
    // things: queued tasks go back to their original CPUs now, running ones
    // at their next preemption, blocked ones when they wake.
    void start(Scheduler& sched, uint64_t now_ns) override {
        policy::move_to_targets(sched, now_ns,
                                [](const Task& t) { return task_original_cpu_hint(t); });
    }

    // Round-robin over the task's affinity at spawn; afterwards always the
    // original CPU (the first placement).
    int select_cpu(Scheduler& sched, const Task& task, PlaceReason why) override {
        if (why == PlaceReason::Wake && task.original_cpu >= 0 &&
            task.allowed_on(task.original_cpu))
            return task.original_cpu;
        return policy::round_robin_cpu(task, sched.num_cpus(), next_);
    }

  private:
    std::atomic<uint64_t> next_{0};
};

}  // namespace

std::unique_ptr<Policy> make_static_policy() {
    return std::make_unique<StaticPolicy>();
}

PolicyInfo static_policy_info() {
    return PolicyInfo{"static",
                      "round-robin placement at spawn within affinity, FIFO with a quantum, "
                      "never migrates; switching to it returns every task to its original CPU",
                      {},
                      [](const PolicyOptions&) { return make_static_policy(); }};
}

}  // namespace schedkit
