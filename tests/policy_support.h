// policy_support.h: hand-built scheduler states for policy and balancer tests.
#pragma once

#include <deque>
#include <memory>
#include <string>

#include "schedkit/scheduler.h"

namespace schedkit::test {

// PinHome places every task on its preset home_cpu, so a test decides
// exactly which queue holds what before it hands the state to a policy.
class PinHome final : public Policy {
  public:
    std::string name() const override { return "pin-home"; }
    int select_cpu(Scheduler&, const Task& t, PlaceReason) override { return t.home_cpu; }
};

// HandBuilt is a scheduler on `topo` under PinHome plus the tasks it owns.
struct HandBuilt {
    explicit HandBuilt(Topology topo) {
        DomainTree tree = DomainTree::build(topo);
        sched = std::make_unique<Scheduler>(std::move(topo), std::move(tree),
                                            std::make_unique<PinHome>());
    }

    // put() queues a new task on `cpu` ("" affinity: every CPU).
    Task& put(int cpu, const std::string& affinity = "", uint64_t now_ns = 0) {
        Task& t = tasks.emplace_back();
        t.id = tasks.size();
        t.name = "t" + std::to_string(t.id);
        t.affinity = CpuSet::parse(affinity);
        t.home_cpu = cpu;
        sched->spawn(t, now_ns);
        return t;
    }
    // run() makes the head of cpu's queue run there.
    Task* run(int cpu, uint64_t now_ns = 0) { return sched->pick_next(cpu, now_ns).task; }

    // use() switches to `p` (its start() sees the state built so far) and
    // returns it, still owned by the scheduler.
    template <typename P>
    P* use(std::unique_ptr<P> p, uint64_t now_ns = 0) {
        P* raw = p.get();
        SwitchResult r = sched->switch_policy(std::move(p), now_ns);
        if (!r.ok)
            return nullptr;
        return raw;
    }

    Scheduler& s() { return *sched; }

    std::unique_ptr<Scheduler> sched;
    std::deque<Task> tasks;
};

}  // namespace schedkit::test
