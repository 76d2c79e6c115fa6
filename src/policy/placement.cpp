#include "policy/placement.h"

#include <algorithm>
#include <climits>
#include <map>
#include <vector>

namespace schedkit::policy {

int round_robin_cpu(const Task& task, int num_cpus, std::atomic<uint64_t>& next) {
    uint64_t k = next.fetch_add(1, std::memory_order_relaxed);
    if (task.affinity.empty())
        return static_cast<int>(k % static_cast<uint64_t>(num_cpus));
    int want = static_cast<int>(k % static_cast<uint64_t>(task.affinity.count()));
    int c = task.affinity.first();
    for (int i = 0; i < want; ++i)
        c = task.affinity.next(c);
    return c;
}

int move_to_targets(Scheduler& sched, uint64_t now_ns,
                    const std::function<int(const Task&)>& target) {
    int moved = 0;
    for (int cpu = 0; cpu < sched.num_cpus(); ++cpu) {
        auto wants_out = [&](const Task& t) {
            int dst = target(t);
            return dst >= 0 && dst != cpu && dst < sched.num_cpus() && t.allowed_on(dst);
        };
        // Detached under cpu's lock only, attached under each target's lock
        // only: never two queue locks at once (DESIGN story 5). The running
        // task is flagged under the same hold of the lock, so a context
        // switch cannot hide a task from both the detach and the flag.
        std::vector<Task*> out = sched.detach_or_rehome(cpu, wants_out);
        // detach_tasks() walks from the tail; restore queue order.
        std::reverse(out.begin(), out.end());
        // An ordered map: the attach order (and so the run) is deterministic.
        std::map<int, std::vector<Task*>> by_target;
        for (Task* t : out)
            by_target[target(*t)].push_back(t);
        for (auto& [dst, tasks] : by_target)
            sched.attach_tasks(dst, tasks, cpu, now_ns);
        moved += static_cast<int>(out.size());
    }
    return moved;
}

}  // namespace schedkit::policy
