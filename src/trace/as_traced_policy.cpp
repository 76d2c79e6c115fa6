// The as-traced policy: every traced burst on its traced CPU, in the order
// the trace ran them there. The baseline a replay is compared with.
#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "schedkit/error.h"
#include "schedkit/runqueue.h"
#include "schedkit/scheduler.h"
#include "schedkit/trace_replay.h"

namespace schedkit {

namespace {

// AsTracedPolicy relies on the spec trace_to_spec() builds with
// split_bursts: each traced burst of a group's one task begins with one
// placement (its spawn, or the wake after the block that ends the burst
// before), so the k-th select_cpu() of a task is its burst k. pick() runs a
// CPU's bursts in traced start order and holds the CPU (Wait) until the
// next one is queued there; with no preemption (an endless time slice) and
// no balancing, nothing else moves a task.
class AsTracedPolicy final : public Policy {
  public:
    AsTracedPolicy(std::vector<std::vector<int>> burst_cpus,
                   std::vector<std::vector<std::pair<int, uint32_t>>> cpu_order)
        : burst_cpus_(std::move(burst_cpus)),
          cpu_order_(std::move(cpu_order)),
          next_burst_(burst_cpus_.size(), 0),
          current_burst_(burst_cpus_.size(), 0),
          order_pos_(cpu_order_.size(), 0) {
        quantum_ns = std::numeric_limits<uint64_t>::max() / 4;
    }

    std::string name() const override { return "as-traced"; }

    int select_cpu(Scheduler& sched, const Task& task, PlaceReason) override {
        auto g = static_cast<size_t>(task.group);
        const std::vector<int>& cpus = burst_cpus_[g];
        uint32_t k = next_burst_[g]++;
        current_burst_[g] = k;
        int cpu = cpus.empty() ? 0 : cpus[std::min<size_t>(k, cpus.size() - 1)];
        return std::min(cpu, sched.num_cpus() - 1);
    }

    QueuePick pick(const RunQueue& rq) override {
        auto cpu = static_cast<size_t>(rq.cpu);
        if (cpu < cpu_order_.size()) {
            size_t& pos = order_pos_[cpu];
            const auto& order = cpu_order_[cpu];
            if (pos < order.size()) {
                auto [group, burst] = order[pos];
                for (Task* t = rq.head; t != nullptr; t = t->rq_next) {
                    if (t->group == group && current_burst_[static_cast<size_t>(group)] == burst) {
                        ++pos;
                        return QueuePick{t, false};
                    }
                }
                return QueuePick{nullptr, true};  // hold the CPU for the traced next burst
            }
        }
        return QueuePick{rq.head, false};
    }

  private:
    std::vector<std::vector<int>> burst_cpus_;                      // group -> burst -> CPU
    std::vector<std::vector<std::pair<int, uint32_t>>> cpu_order_;  // CPU -> (group, burst)
    std::vector<uint32_t> next_burst_;                              // group -> next placement
    std::vector<uint32_t> current_burst_;                           // group -> burst placed
    std::vector<size_t> order_pos_;                                 // CPU -> next in order
};

}  // namespace

std::unique_ptr<Policy> make_as_traced_policy(const Trace& trace, const ImportedTrace& imported,
                                              int num_cpus) {
    if (num_cpus < trace.num_cpus)
        throw InputError(
            fmt::format("--policy as-traced: {} ran on {} CPUs but the topology has {}; expected a "
                        "topology with at least {} CPUs",
                        trace.name, trace.num_cpus, num_cpus, trace.num_cpus));
    size_t n = imported.thread_of_group.size();
    std::vector<std::vector<int>> burst_cpus(n);
    struct Entry {
        uint64_t start_ns;
        int group;
        uint32_t burst;
    };
    std::vector<std::vector<Entry>> per_cpu(static_cast<size_t>(trace.num_cpus));
    for (size_t g = 0; g < n; ++g) {
        const TraceThread& t = trace.threads[imported.thread_of_group[g]];
        for (size_t k = 0; k < t.bursts.size(); ++k) {
            const TraceBurst& b = t.bursts[k];
            burst_cpus[g].push_back(b.cpu);
            per_cpu[static_cast<size_t>(b.cpu)].push_back(
                {b.start_ns, static_cast<int>(g), static_cast<uint32_t>(k)});
        }
    }
    std::vector<std::vector<std::pair<int, uint32_t>>> order(per_cpu.size());
    for (size_t c = 0; c < per_cpu.size(); ++c) {
        std::stable_sort(per_cpu[c].begin(), per_cpu[c].end(),
                         [](const Entry& a, const Entry& b) { return a.start_ns < b.start_ns; });
        for (const Entry& e : per_cpu[c])
            order[c].emplace_back(e.group, e.burst);
    }
    return std::make_unique<AsTracedPolicy>(std::move(burst_cpus), std::move(order));
}

}  // namespace schedkit
