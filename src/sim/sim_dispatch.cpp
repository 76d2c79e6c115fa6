// sim_dispatch.cpp: how the simulator runs tasks on its CPUs: picks, time
// slices, run segments, preemption and reschedules.
#include "sim/sim_impl.h"

namespace schedkit {

// kick() and the dispatch below follow the core's dispatch contract
// (Scheduler::must_yield, after_slice, service, kick_idle_for).
void Simulator::Impl::kick(int cpu) {
    CpuState& c = cpus[static_cast<size_t>(cpu)];
    if (c.resched_pending || (c.current != nullptr && !sched.must_yield(cpu)))
        return;
    c.resched_pending = true;
    events.push(now, EventKind::Resched, static_cast<uint32_t>(cpu));
}

// sync_sleep() closes or opens cpu's asleep interval after its sleeping
// flag or its current task changed.
void Simulator::Impl::sync_sleep(int cpu) {
    CpuState& c = cpus[static_cast<size_t>(cpu)];
    bool asleep = c.current == nullptr && sched.rq(cpu).sleeping.load(std::memory_order_relaxed);
    if (asleep == c.asleep)
        return;
    if (c.asleep && now > c.asleep_since_ns)
        c.sleeps.emplace_back(c.asleep_since_ns, now);
    c.asleep = asleep;
    c.asleep_since_ns = now;
}

uint64_t Simulator::Impl::migration_cost(int from, int to) const {
    int level = sched.domains().lowest_common_level(from, to);
    if (level < 0)
        return 0;
    auto kind = static_cast<size_t>(sched.domains().level(level).kind);
    return cfg.migration_cost_ns[kind];
}

// dispatch() picks and starts work on an empty CPU until something runs
// or the CPU has nothing to do.
void Simulator::Impl::dispatch(int cpu) {
    CpuState& c = cpus[static_cast<size_t>(cpu)];
    while (c.current == nullptr) {
        sched.service(cpu, now);
        Pick p = sched.pick_next(cpu, now);
        if (p.status == PickStatus::Eof)
            c.eof = true;
        if (p.status != PickStatus::Task)
            return;  // Idle/Wait: a kick wakes us
        SimTask& st = *static_cast<SimTask*>(p.task->executor_data);
        prefetch_next_pick(cpu);
        c.run_start = true;
        c.run_wait_ns = now > st.task.runnable_since_ns ? now - st.task.runnable_since_ns : 0;
        if (st.remaining_ns == 0 && !advance(cpu, st))
            continue;
        uint64_t start = now;
        if (st.task.id != c.last_task) {
            start += cfg.context_switch_ns;
            c.busy_ns += cfg.context_switch_ns;
            recorder.add_busy(cpu, cfg.context_switch_ns);
            c.busy_energy_j +=
                1e-9 * static_cast<double>(cfg.context_switch_ns) * cfg.power.busy_w(speed_pm(cpu));
        }
        if (st.last_cpu >= 0 && st.last_cpu != cpu)
            st.remaining_ns += migration_cost(st.last_cpu, cpu);
        st.last_cpu = cpu;
        c.last_task = st.task.id;
        c.current = &st;
        if (!c.tick_armed && nohz)
            arm_tick(cpu);
        sync_sleep(cpu);
        c.quantum_start_ns = now;
        c.seg_start_ns = start;
        schedule_slice_end(cpu, start);
    }
}

void Simulator::Impl::schedule_slice_end(int cpu, uint64_t from) {
    CpuState& c = cpus[static_cast<size_t>(cpu)];
    uint64_t quantum = sched.time_slice_ns(c.current->task);
    uint64_t used = from - c.quantum_start_ns;
    uint64_t left = used < quantum ? quantum - used : 0;
    // remaining_ns is work at full speed: at speed s it takes 1/s longer
    // (rounded up, so the burst is surely done when the slice ends).
    c.seg_speed_pm = speed_pm(cpu);
    uint64_t need = (c.current->remaining_ns * 1000 + c.seg_speed_pm - 1) / c.seg_speed_pm;
    uint64_t run = std::min(need, std::max<uint64_t>(left, 1));
    events.push(from + run, EventKind::SliceEnd, static_cast<uint32_t>(cpu), c.gen);
}

// stop_segment() accounts the run so far of the CPU's current task.
void Simulator::Impl::stop_segment(int cpu) {
    CpuState& c = cpus[static_cast<size_t>(cpu)];
    SimTask& st = *c.current;
    if (now > c.seg_start_ns) {
        uint64_t ran = now - c.seg_start_ns;
        uint64_t done = std::min(ran * c.seg_speed_pm / 1000, st.remaining_ns);
        st.remaining_ns -= done;
        done_work_ns += done;
        c.busy_ns += ran;
        c.busy_energy_j += 1e-9 * static_cast<double>(ran) * cfg.power.busy_w(c.seg_speed_pm);
        recorder.on_run(cpu, st.task, c.seg_start_ns, now);
    }
    seg_from_ns = c.seg_start_ns;
    c.seg_start_ns = now;
}

// report_segment() tells the listener how the segment stop_segment()
// just closed on `cpu` (of task `st`) ended; empty segments are not
// reported, as the recorder records none.
void Simulator::Impl::report_segment(int cpu, const SimTask& st, SegmentEnd why) {
    CpuState& c = cpus[static_cast<size_t>(cpu)];
    if (cfg.listener == nullptr || now <= seg_from_ns)
        return;
    cfg.listener->on_segment(
        SimSegment{cpu, &st.task, seg_from_ns, now, why, c.run_start, c.run_wait_ns});
    c.run_start = false;
    c.run_wait_ns = 0;
}

void Simulator::Impl::on_slice_end(int cpu) {
    CpuState& c = cpus[static_cast<size_t>(cpu)];
    SimTask& st = *c.current;
    stop_segment(cpu);
    if (st.remaining_ns == 0 && !advance(cpu, st)) {
        report_segment(cpu, st,
                       st.task.state == TaskState::Exited ? SegmentEnd::Exit : SegmentEnd::Block);
        c.current = nullptr;
        sync_sleep(cpu);
        dispatch(cpu);
        return;
    }
    uint64_t quantum = sched.time_slice_ns(st.task);
    if (now - c.quantum_start_ns >= quantum || sched.must_yield(cpu)) {
        if (sched.after_slice(cpu) == Scheduler::SliceAction::Preempt) {
            report_segment(cpu, st, SegmentEnd::Preempt);
            preempt(cpu);
            return;
        }
        c.quantum_start_ns = now;  // nobody waits: a fresh slice, no switch
    }
    report_segment(cpu, st, SegmentEnd::Continue);
    schedule_slice_end(cpu, now);
}

void Simulator::Impl::preempt(int cpu) {
    CpuState& c = cpus[static_cast<size_t>(cpu)];
    ++c.gen;
    sched.put_prev(cpu, now);
    c.current = nullptr;
    sync_sleep(cpu);
    dispatch(cpu);
}

void Simulator::Impl::on_resched(int cpu) {
    CpuState& c = cpus[static_cast<size_t>(cpu)];
    c.resched_pending = false;
    if (c.current == nullptr) {
        dispatch(cpu);
    } else if (sched.must_yield(cpu)) {
        // Active balance or rehome: the CPU stops its task at once.
        stop_segment(cpu);
        report_segment(cpu, *c.current, SegmentEnd::Preempt);
        preempt(cpu);
    }
}

}  // namespace schedkit
