// The discrete-event simulator: virtual time driving the real scheduler core.
// This file: construction, the event loop, ticks and policy switches.
#include "sim/sim_impl.h"

#include <fmt/format.h>

#include <chrono>
#include <new>

#include "sim/expected_work.h"

namespace schedkit {

Simulator::Impl::Impl(const WorkloadSpec& s, Topology topo, std::unique_ptr<Policy> policy,
                      SimConfig c)
    : spec(s),
      cfg(c),
      sched(topo, DomainTree::build(topo), std::move(policy)),
      recorder(topo.num_cpus(), c.keep_trace),
      cpus(static_cast<size_t>(topo.num_cpus())),
      seed(c.seed.value_or(s.seed)),
      rng(stream_seed(seed, kThreadStream, 0)),
      sim_events(s.events.size()) {
    apply_costs(spec.costs);
    sched.set_executor(this);
    threads = std::make_unique<sim::ThreadDriver>(spec, *this);
    sched.set_observer(&recorder);
    recorder.keep_task_stats(c.keep_task_stats);
    recorder.set_warmup_ns(c.warmup_ns);
    std::vector<std::string> names;
    for (const GroupSpec& g : spec.groups)
        names.push_back(g.name);
    recorder.set_group_names(std::move(names));
    sched.set_quantum_ns(cfg.quantum_ns);
    create_arrivals();
    if (cfg.progress)
        expected_work_ns = sim::expected_work_ns(spec);
}

// apply_costs() lets a spec's `costs:` section replace the config's.
void Simulator::Impl::apply_costs(const CostSpec& c) {
    if (c.switch_ns)
        cfg.context_switch_ns = *c.switch_ns;
    for (size_t k = 0; k < c.migration_ns.size(); ++k)
        if (c.migration_ns[k])
            cfg.migration_cost_ns[k] = *c.migration_ns[k];
}

// start_ticks() starts the active policy's ticks on every CPU, or under
// NOHZ (Policy::tick_when_idle() false) on the busy ones: an idle CPU's
// tick starts when it next runs a task (arm_tick from dispatch).
void Simulator::Impl::start_ticks() {
    tick_base_ns = now;
    nohz = !sched.policy().tick_when_idle();
    for (int cpu = 0; cpu < sched.num_cpus(); ++cpu) {
        cpus[static_cast<size_t>(cpu)].tick_armed = false;
        if (!nohz || cpu_busy(cpu))
            arm_tick(cpu);
    }
}

// arm_tick() schedules cpu's next tick on the policy's grid (tick_base_ns
// + k * period), so a tick restarted after an idle spell falls where it
// would have fallen had it never stopped.
void Simulator::Impl::arm_tick(int cpu) {
    uint64_t period = sched.policy().tick_period_ns();
    if (period == 0)
        return;
    uint64_t at = tick_base_ns + ((now - tick_base_ns) / period + 1) * period;
    events.push(at, EventKind::Tick, static_cast<uint32_t>(cpu), tick_epoch);
    cpus[static_cast<size_t>(cpu)].tick_armed = true;
}

void Simulator::Impl::on_tick(int cpu, uint16_t epoch) {
    if (epoch != tick_epoch)
        return;
    CpuState& c = cpus[static_cast<size_t>(cpu)];
    if (!work_remains() || (nohz && !cpu_busy(cpu))) {
        c.tick_armed = false;  // NOHZ: stopped until the CPU runs a task
        return;
    }
    sched.tick(cpu, now);
    // The nohz idle-balance kick: tasks wait here while a CPU idles.
    if (nohz && sched.rq(cpu).nr_queued.load(std::memory_order_relaxed) > 0 && c.current != nullptr)
        kick_nearest_idle(cpu);
    uint64_t period = sched.policy().tick_period_ns();
    if (period != 0)
        events.push(now + period, EventKind::Tick, static_cast<uint32_t>(cpu), epoch);
    else
        c.tick_armed = false;
}

void Simulator::Impl::on_switch(uint32_t index) {
    PendingSwitch& ps = switches[index];
    std::string to = ps.next->name();
    std::string from = sched.policy().name();
    SwitchResult r = sched.switch_policy(std::move(ps.next), now);
    if (!switch_log.empty())
        switch_log += ",";
    switch_log += fmt::format(R"({{"at_us":{:.3f},"from":"{}","to":"{}","ok":{}{}}})",
                              static_cast<double>(now) / 1e3, from, to, r.ok ? "true" : "false",
                              r.ok ? "" : fmt::format(R"(,"error":"{}")", r.error));
    if (r.ok) {
        ++tick_epoch;
        start_ticks();
    }
}

// on_policy_failure() puts the previous policy back after the active one
// failed (an isolated plug-in) and logs it as a switch with `restored`.
void Simulator::Impl::on_policy_failure() {
    std::optional<PolicyRestore> r = sched.restore_failed_policy(now);
    if (!r)
        return;
    if (!switch_log.empty())
        switch_log += ",";
    switch_log += restore_log_entry(*r, now);
    if (r->result.ok) {
        ++tick_epoch;
        start_ticks();
    }
}

SimResult Simulator::Impl::run() {
    auto wall_start = std::chrono::steady_clock::now();
    for (uint32_t i = 0; i < switches.size(); ++i)
        events.push(switches[i].at_ns, EventKind::Switch, i);
    start_ticks();
    bool stopped = false;
    for (;;) {
        // Slots of tasks that exited during the last event are free now.
        for (uint32_t slot : retired)
            tasks.release(slot);
        retired.clear();
        // Polled every 4096 events: a relaxed load costs nothing there.
        if ((processed & 4095) == 0 && poll_stop()) {
            stopped = interrupted = true;
            break;
        }
        // An arrival goes before heap events at the same time, as if it had
        // been queued first (it was known first).
        sim::Event e;
        if (next_arrival < arrivals.size() &&
            (events.empty() || arrivals[next_arrival].at_ns <= events.top_time())) {
            e = sim::Event{arrivals[next_arrival].at_ns, 0, static_cast<uint32_t>(next_arrival), 0,
                           EventKind::Arrive};
            ++next_arrival;
        } else if (!events.empty()) {
            e = events.pop();
        } else {
            break;
        }
        if (cfg.until_ns != 0 && e.time_ns > cfg.until_ns) {
            stopped = true;
            now = cfg.until_ns != 0 ? std::max(now, std::min(e.time_ns, cfg.until_ns)) : now;
            break;
        }
        if (processed >= cfg.max_events)
            budget_exceeded(fmt::format("{}: the simulation handled {} events by {} ns", spec.path,
                                        processed, now),
                            "--max-events", cfg.max_events);
        if (e.time_ns > cfg.max_time_ns)
            budget_exceeded(
                fmt::format("{}: the simulation reached virtual time {}ns", spec.path, e.time_ns),
                "--max-time", cfg.max_time_ns, "ns");
        now = e.time_ns;
        ++processed;
        prefetch_next();
        switch (e.kind) {
            case EventKind::Arrive: {
                SimTask& st = arrive(e.target);
                sched.spawn(st.task, now);
                wake_idle_for_arrival(st.task);
            }
                if (--arrivals_left == 0)
                    sched.close_arrivals();
                break;
            case EventKind::Resched:
                on_resched(static_cast<int>(e.target));
                break;
            case EventKind::SliceEnd:
                if (e.gen == cpus[e.target].gen && cpus[e.target].current != nullptr)
                    on_slice_end(static_cast<int>(e.target));
                break;
            case EventKind::Wake:
                if (tasks[e.target].thread >= 0 && !threads->timer_fired(tasks[e.target], e.gen))
                    break;  // a poll timer the thread no longer waits for
                wake(tasks[e.target]);
                break;
            case EventKind::Tick:
                on_tick(static_cast<int>(e.target), e.gen);
                break;
            case EventKind::Switch:
                on_switch(e.target);
                break;
        }
        if (sched.restore_pending())
            on_policy_failure();
    }
    if (stopped)
        for (int cpu = 0; cpu < sched.num_cpus(); ++cpu)
            if (cpus[static_cast<size_t>(cpu)].current != nullptr) {
                stop_segment(cpu);
                report_segment(cpu, *cpus[static_cast<size_t>(cpu)].current, SegmentEnd::Stop);
            }
    double wall_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    return finish_run(stopped, wall_s);
}

// poll_stop() reports progress when due and says whether cfg.stop is set.
bool Simulator::Impl::poll_stop() {
    if (cfg.progress && processed >= next_progress) {
        next_progress = processed + std::max<uint64_t>(cfg.progress_every, 1);
        SimProgress p{processed, now, 0};
        if (cfg.until_ns != 0)
            p.fraction = static_cast<double>(now) / static_cast<double>(cfg.until_ns);
        else if (expected_work_ns > 0)
            p.fraction = static_cast<double>(done_work_ns) / expected_work_ns;
        p.fraction = std::clamp(p.fraction, 0.0, 0.999);
        cfg.progress(p);
    }
    return cfg.stop != nullptr && cfg.stop->load(std::memory_order_relaxed);
}

// prefetch_next() asks for the memory the next event will touch while
// this one is handled: with many tasks, a woken or picked task's lines
// are cold, and these misses were the largest cost of a run. Only a
// hint: a wrong guess (an event pushed meanwhile) costs a few loads.
void Simulator::Impl::prefetch_next() {
    if (events.empty())
        return;
    const sim::Event& next = events.peek();
    if (next.kind == EventKind::Wake) {
        prefetch(&tasks[next.target]);
    } else if (next.kind == EventKind::SliceEnd) {
        // The CPU's task may stop, and the queue's head is then picked.
        prefetch(cpus[next.target].current);
        prefetch(sched.rq(static_cast<int>(next.target)).head);
    }
}

// prefetch_next_pick() warms, right after a pick, what this CPU's next
// pick touches: the new queue head (its link line is in cache, the
// dequeue just wrote it) and the link line of the task behind it, which
// that dequeue will write. Some hundred events pass before then, so the
// lines wait in L2 rather than being fetched while the core waits.
void Simulator::Impl::prefetch_next_pick(int cpu) {
    const Task* head = sched.rq(cpu).head;
    if (head == nullptr)
        return;
    prefetch(head);
    if (head->rq_next != nullptr)
        __builtin_prefetch(&head->rq_next->rq_prev);
}

void Simulator::Impl::wake(SimTask& st) {
    if (st.task.state == TaskState::Blocked && !st.waiting_join)
        sched.wake(st.task, now);
}

// Out of memory is an input too big for the machine: a BudgetError (one
// line, exit 2 in the CLI) naming how far the simulation got, never an
// abort. The failed allocation was a large one and is unwound by then, so
// formatting the message has memory to spare.
Simulator::Simulator(const WorkloadSpec& spec, Topology topo, std::unique_ptr<Policy> policy,
                     SimConfig config) {
    try {
        impl_ = std::make_unique<Impl>(spec, std::move(topo), std::move(policy), config);
    } catch (const std::bad_alloc&) {
        throw BudgetError(fmt::format(
            "{}: out of memory while drawing the spec's arrivals (about 40 bytes each while "
            "they are drawn, 16 until they arrive; docs/limits.md)",
            spec.path));
    }
}

Simulator::~Simulator() = default;

void Simulator::schedule_switch(uint64_t at_ns, std::unique_ptr<Policy> next) {
    impl_->switches.push_back(PendingSwitch{at_ns, std::move(next)});
}

SimResult Simulator::run() {
    try {
        return impl_->run();
    } catch (const std::bad_alloc&) {
        throw BudgetError(fmt::format(
            "{}: out of memory at virtual time {} ns after {} events, with {} tasks alive (each "
            "costs about {} bytes while alive; each wait and response keeps an 8-byte sample "
            "for the percentiles; docs/limits.md)",
            impl_->spec.path, impl_->now, impl_->processed, impl_->sched.alive(), sizeof(SimTask)));
    }
}
Scheduler& Simulator::scheduler() {
    return impl_->sched;
}
const Recorder& Simulator::recorder() const {
    return impl_->recorder;
}
void Simulator::clear_listener() {
    impl_->cfg.listener = nullptr;
}

const char* segment_end_name(SegmentEnd e) {
    switch (e) {
        case SegmentEnd::Block:
            return "block";
        case SegmentEnd::Exit:
            return "exit";
        case SegmentEnd::Preempt:
            return "preempt";
        case SegmentEnd::Continue:
            return "continue";
        case SegmentEnd::Stop:
            return "stop";
    }
    return "?";
}

}  // namespace schedkit
