// placement.h: placement helpers shared by the policies (internal).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>

#include "schedkit/scheduler.h"

namespace schedkit::policy {

// round_robin_cpu() is the k-th CPU of the task's affinity (every CPU when
// empty), k advancing per call: round-robin within the task's own affinity,
// not the machine's.
int round_robin_cpu(const Task& task, int num_cpus, std::atomic<uint64_t>& next);

// home_of() / set_home() access Task::home_cpu, which policies update from
// other CPUs while the task runs, hence atomically.
inline int home_of(const Task& t) {
    return std::atomic_ref<int>(const_cast<int&>(t.home_cpu)).load(std::memory_order_relaxed);
}
inline void set_home(Task& t, int cpu) {
    std::atomic_ref<int>(t.home_cpu).store(cpu, std::memory_order_relaxed);
}

// move_to_targets() sends every task to the CPU `target(task)` names (-1:
// leave it): queued tasks are detached and attached there now, in their
// queue order; a running task is flagged to be re-placed at its next
// preemption (the policy's select_cpu(Wake) must then return the target);
// blocked tasks are placed again when they wake. `target` runs under a
// run-queue lock: it must not block or call into the Scheduler. A target
// outside a task's affinity leaves the task where it is. Returns how many
// queued tasks moved.
int move_to_targets(Scheduler& sched, uint64_t now_ns,
                    const std::function<int(const Task&)>& target);

}  // namespace schedkit::policy
