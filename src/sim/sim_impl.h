// sim_impl.h: the simulator's state and the declarations of its parts:
// simulator.cpp (construction, the event loop, ticks and policy switches),
// sim_steps.cpp (tasks, arrivals and the steps of a task's behavior),
// sim_dispatch.cpp (picking, slices, preemption) and sim_result.cpp (the
// run's summary). Private to src/sim.
#pragma once

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "schedkit/budget.h"
#include "schedkit/governor.h"
#include "schedkit/rng.h"
#include "schedkit/scheduler.h"
#include "schedkit/sim.h"
#include "sim/event_queue.h"
#include "sim/sim_events.h"
#include "sim/sim_state.h"
#include "sim/sim_threads.h"

namespace schedkit {

using sim::CpuState;
using sim::EventKind;
using sim::PendingSwitch;
using sim::SimTask;
using sim::task_name;
using sim::TaskTable;

struct Simulator::Impl final : ExecutorHooks, sim::ThreadHost {
    const WorkloadSpec& spec;
    SimConfig cfg;
    Scheduler sched;
    SingleThreadRecorder recorder;
    sim::EventQueue events;
    TaskTable tasks;
    std::vector<CpuState> cpus;
    std::vector<PendingSwitch> switches;
    std::string switch_log;  // JSON array items
    uint64_t seed;           // the run's: every random stream derives from it
    Rng rng;                 // the lightweight threads' draws (sim_threads.cpp)
    uint64_t now = 0;
    uint64_t last_exit_ns = 0;
    uint64_t arrivals_left = 0;
    std::vector<sim::PendingArrival> arrivals;  // sorted by time (stable)
    std::vector<uint32_t> group_first;  // ordinal of each group's first arrival, then the total
    // Tasks created so far, counting every arrival from the start as the
    // table once did: task ids, spawned tasks' instance numbers and
    // --max-tasks follow it.
    uint64_t created = 0;
    std::vector<uint32_t> retired;  // slots of tasks exited during this event
    size_t next_arrival = 0;
    uint64_t processed = 0;
    uint64_t exited_seen = 0;
    uint64_t work_ns = 0;           // sampled run bursts
    uint64_t critical_path_ns = 0;  // latest task end with unlimited CPUs
    uint64_t done_work_ns = 0;      // run so far, for progress
    double expected_work_ns = 0;    // sim::expected_work_ns(spec), for progress
    uint64_t next_progress = 0;     // `processed` at the next progress call
    bool interrupted = false;       // cfg.stop ended the run
    sim::EventTable sim_events;     // wait/notify steps

    Impl(const WorkloadSpec& s, Topology topo, std::unique_ptr<Policy> policy, SimConfig c);

    void apply_costs(const CostSpec& c);

    // The scheduler outlives the members declared after it, yet its
    // destructor stops the policy, which may still call back (dynamic wakes
    // the CPUs it put to sleep): detach first.
    ~Impl() override {
        sched.set_executor(nullptr);
        sched.set_observer(nullptr);
    }

    SimTask& new_task(const GroupSpec& g, int group_index, int instance, uint64_t stream,
                      uint64_t id);
    SimTask& arrive(uint32_t pos);

    void create_arrivals();

    // scaled() applies SimConfig::scale (rounded as `schedkit run` rounds).
    uint64_t scaled(uint64_t ns) const {
        if (cfg.scale == 1.0)
            return ns;
        // Saturating at 2^53 ns, the longest duration (budget.h), like a draw.
        double v =
            std::min(static_cast<double>(ns) * cfg.scale, static_cast<double>(kMaxDurationNs));
        return static_cast<uint64_t>(std::llround(v));
    }

    void kick(int cpu) override;

    void on_sleep(int cpu, bool) override { sync_sleep(cpu); }

    void sync_sleep(int cpu);

    uint64_t migration_cost(int from, int to) const;

    bool advance(int cpu, SimTask& st);

    void nudge_idle(int cpu);

    void wake_idle_for_arrival(const Task& t);

    bool finish(int cpu, SimTask& st);

    void dispatch(int cpu);

    uint32_t speed_pm(int cpu) const {
        return freq_speed_pm(sched.rq(cpu).freq_level.load(std::memory_order_relaxed));
    }

    void schedule_slice_end(int cpu, uint64_t from);

    void stop_segment(int cpu);

    uint64_t seg_from_ns = 0;  // start of the segment stop_segment() just closed
    void report_segment(int cpu, const SimTask& st, SegmentEnd why);

    void on_slice_end(int cpu);

    void preempt(int cpu);

    void on_resched(int cpu);

    // sim::ThreadHost, for the lightweight threads (sim_threads.cpp).
    std::unique_ptr<sim::ThreadDriver> threads;
    uint64_t host_now() const override { return now; }
    Rng& host_rng(SimTask& /*st*/) override { return rng; }
    uint64_t host_scaled(uint64_t ns) const override { return scaled(ns); }
    SimTask& host_task(uint32_t index) override { return tasks[index]; }
    void host_block(int cpu) override { sched.block(cpu, now); }
    void host_wake(SimTask& st, int cpu) override { sched.wake(st.task, now, cpu); }
    void host_timer(uint64_t at_ns, uint32_t index, uint16_t gen) override {
        events.push(at_ns, EventKind::Wake, index, gen);
    }
    void host_work(uint64_t ns) override { work_ns += ns; }
    bool host_finish(int cpu, SimTask& st) override { return finish(cpu, st); }

    bool work_remains() const { return arrivals_left > 0 || sched.alive() > 0; }

    void start_ticks();
    void arm_tick(int cpu);
    bool cpu_busy(int cpu) const {
        return cpus[static_cast<size_t>(cpu)].current != nullptr ||
               sched.rq(cpu).nr_queued.load(std::memory_order_relaxed) > 0;
    }
    bool kick_nearest_idle(int cpu);
    uint16_t tick_epoch = 0;    // ticks of a replaced policy die out
    uint64_t tick_base_ns = 0;  // ticks fall on tick_base_ns + k * period
    bool nohz = false;          // the policy's idle CPUs take no ticks

    void on_tick(int cpu, uint16_t epoch);

    void on_switch(uint32_t index);
    void on_policy_failure();

    SimResult run();

    bool poll_stop();

    void prefetch_next();
    void prefetch_next_pick(int cpu);
    static void prefetch(const void* p) {
        if (p == nullptr)
            return;
        const char* bytes = static_cast<const char*>(p);
        for (size_t off = 0; off < sizeof(SimTask); off += 64)
            __builtin_prefetch(bytes + off);
    }

    void wake(SimTask& st);

    SimResult finish_run(bool stopped, double wall_s);
};

}  // namespace schedkit
