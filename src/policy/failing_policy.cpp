// A test-only policy that refuses to start: it proves the switching
// protocol's rollback (the previous policy restarts, the error is reported).
#include "schedkit/policy_registry.h"
#include "schedkit/scheduler.h"

namespace schedkit {

namespace {

class FailingPolicy final : public Policy {
  public:
    std::string name() const override { return "failing"; }
    void start(Scheduler&, uint64_t) override {
        throw PolicyError("the 'failing' test policy refuses to start");
    }
    int select_cpu(Scheduler& sched, const Task& task, PlaceReason) override {
        (void)sched;
        return task.cpu >= 0 ? task.cpu : task.affinity.empty() ? 0 : task.affinity.first();
    }
};

}  // namespace

PolicyInfo failing_policy_info() {
    return PolicyInfo{"failing",
                      "test-only: refuses to start",
                      {},
                      [](const PolicyOptions&) { return std::make_unique<FailingPolicy>(); },
                      true};
}

}  // namespace schedkit
