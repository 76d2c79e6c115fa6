// crossfire_policy.h: a test policy for story 5 in which every CPU balances
// against every other CPU at once: at each tick a CPU pulls a task from
// every other queue and asks every other CPU to push one back (active
// balance), so migrations cross in both directions between every pair all
// the time; an idle CPU pulls from every other queue. (Pushes only at ticks:
// pushing from newidle too makes tasks bounce forever in zero time, a
// livelock the simulator's watchdog test caught.) The core must never deadlock (it holds one
// run-queue lock at a time) and never lose or duplicate a task.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "schedkit/policy.h"
#include "schedkit/scheduler.h"

namespace schedkit::test {

class Crossfire final : public Policy {
  public:
    explicit Crossfire(uint64_t tick_ns = 50'000) : tick_ns_(tick_ns) {}
    std::string name() const override { return "crossfire"; }

    int select_cpu(Scheduler& sched, const Task& task, PlaceReason) override {
        int n = sched.num_cpus();
        int start = static_cast<int>(next_.fetch_add(1, std::memory_order_relaxed) % n);
        for (int i = 0; i < n; ++i) {
            int c = (start + i) % n;
            if (task.allowed_on(c))
                return c;
        }
        return start;  // unreachable: a task's affinity is never empty of CPUs
    }
    uint64_t tick_period_ns() const override { return tick_ns_; }
    void tick(Scheduler& sched, int cpu, uint64_t now) override { fire(sched, cpu, now, true); }
    void newidle(Scheduler& sched, int cpu, uint64_t now) override { fire(sched, cpu, now, false); }

  private:
    void fire(Scheduler& sched, int cpu, uint64_t now, bool push) {
        int n = sched.num_cpus();
        for (int o = 0; o < n; ++o) {
            if (o == cpu)
                continue;
            auto got = sched.detach_tasks(o, 1, [cpu](const Task& t) { return t.allowed_on(cpu); });
            sched.attach_tasks(cpu, got, o, now);
            // The other way round, carried out by `o` itself.
            if (push && sched.rq(o).push_to.load(std::memory_order_relaxed) < 0 &&
                sched.rq(o).nr_running.load(std::memory_order_relaxed) > 0)
                sched.request_push(o, cpu);
        }
    }

    uint64_t tick_ns_;
    std::atomic<uint64_t> next_{0};
};

}  // namespace schedkit::test
