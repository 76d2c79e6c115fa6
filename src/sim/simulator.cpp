// The discrete-event simulator: virtual time driving the real scheduler core.
#include "schedkit/sim.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/check.h"
#include "schedkit/governor.h"
#include "sim/event_queue.h"
#include "sim/expected_work.h"
#include "sim/sim_events.h"
#include "sim/sim_state.h"
#include "sim/sim_stats.h"
#include "sim/sim_threads.h"

namespace schedkit {

using sim::EventKind;

using sim::CpuState;
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
    std::vector<std::pair<uint64_t, uint32_t>> arrivals;  // (time, task index), sorted
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

    Impl(const WorkloadSpec& s, Topology topo, std::unique_ptr<Policy> policy, SimConfig c)
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
    void apply_costs(const CostSpec& c) {
        if (c.switch_ns)
            cfg.context_switch_ns = *c.switch_ns;
        for (size_t k = 0; k < c.migration_ns.size(); ++k)
            if (c.migration_ns[k])
                cfg.migration_cost_ns[k] = *c.migration_ns[k];
    }

    // The scheduler outlives the members declared after it, yet its
    // destructor stops the policy, which may still call back (dynamic wakes
    // the CPUs it put to sleep): detach first.
    ~Impl() override {
        sched.set_executor(nullptr);
        sched.set_observer(nullptr);
    }

    // new_task() makes a task of group `g` that draws from `stream`.
    SimTask& new_task(const GroupSpec& g, int group_index, int instance, uint64_t stream) {
        if (tasks.size() >= cfg.max_tasks)
            budget_exceeded(
                fmt::format("{}: the simulation created {} tasks", spec.path, tasks.size()),
                "--max-tasks", cfg.max_tasks);
        SimTask& st = tasks.emplace_back();
        st.stream = stream;
        st.rng = Rng(stream);
        st.index = static_cast<uint32_t>(tasks.size() - 1);
        st.group = &g;
        st.repeat_left = g.repeat;
        st.task.id = tasks.size();
        st.task.name = task_name(g.name, instance);
        st.task.group = group_index;
        st.task.nice = g.nice;
        st.task.weight = g.weight;
        st.task.affinity = g.affinity;
        st.task.executor_data = &st;
        return st;
    }

    // Arrivals are drawn up front, group by group, so the random stream (and
    // so the whole run) does not depend on event interleaving.
    void create_arrivals() {
        for (const TaskArrival& a : draw_arrivals(spec, seed)) {
            SimTask& st = new_task(spec.groups[static_cast<size_t>(a.group)], a.group, a.index,
                                   task_stream(seed, a.group, static_cast<uint64_t>(a.index)));
            st.path_ns = scaled(a.at_ns);
            if (st.group->thread)
                threads->add(st);
            else
                threads->ordinary_added(1);
            arrivals.emplace_back(st.path_ns, st.index);
            ++arrivals_left;
        }
        // Kept out of the event heap: arrivals are known up front, so a
        // sorted list keeps the heap at O(CPUs + blocked tasks) entries.
        std::stable_sort(arrivals.begin(), arrivals.end(),
                         [](const auto& a, const auto& b) { return a.first < b.first; });
        if (arrivals_left == 0)
            sched.close_arrivals();
    }

    // scaled() applies SimConfig::scale (rounded as `schedkit run` rounds).
    uint64_t scaled(uint64_t ns) const {
        if (cfg.scale == 1.0)
            return ns;
        // Saturating at 2^53 ns, the longest duration (budget.h), like a draw.
        double v =
            std::min(static_cast<double>(ns) * cfg.scale, static_cast<double>(kMaxDurationNs));
        return static_cast<uint64_t>(std::llround(v));
    }

    // kick() and the dispatch below follow the core's dispatch contract
    // (Scheduler::must_yield, after_slice, service, kick_idle_for).
    void kick(int cpu) override {
        CpuState& c = cpus[static_cast<size_t>(cpu)];
        if (c.resched_pending || (c.current != nullptr && !sched.must_yield(cpu)))
            return;
        c.resched_pending = true;
        events.push(now, EventKind::Resched, static_cast<uint32_t>(cpu));
    }

    void on_sleep(int cpu, bool) override { sync_sleep(cpu); }

    // sync_sleep() closes or opens cpu's asleep interval after its sleeping
    // flag or its current task changed.
    void sync_sleep(int cpu) {
        CpuState& c = cpus[static_cast<size_t>(cpu)];
        bool asleep =
            c.current == nullptr && sched.rq(cpu).sleeping.load(std::memory_order_relaxed);
        if (asleep == c.asleep)
            return;
        if (c.asleep && now > c.asleep_since_ns)
            c.sleeps.emplace_back(c.asleep_since_ns, now);
        c.asleep = asleep;
        c.asleep_since_ns = now;
    }

    uint64_t migration_cost(int from, int to) const {
        int level = sched.domains().lowest_common_level(from, to);
        if (level < 0)
            return 0;
        auto kind = static_cast<size_t>(sched.domains().level(level).kind);
        return cfg.migration_cost_ns[kind];
    }

    // advance() runs a task's zero-time steps until it reaches a CPU burst
    // (true), or blocks or exits (false: the CPU is free again).
    bool advance(int cpu, SimTask& st) {
        if (st.thread >= 0)
            return threads->advance(cpu, st);
        const auto& behavior = st.group->behavior;
        if (behavior.empty())
            return finish(cpu, st);  // nothing to do, however often repeated
        for (;;) {
            if (st.step == behavior.size()) {
                st.step = 0;
                if (--st.repeat_left <= 0)
                    return finish(cpu, st);
            }
            const Step& s = behavior[st.step++];
            switch (s.kind) {
                case Step::Kind::Run:
                    st.remaining_ns = scaled(s.duration.sample(st.rng));
                    // Saturating: thousands of CPUs near --max-time could
                    // sum past 2^64 (each step is at most 2^53 ns).
                    if (__builtin_add_overflow(work_ns, st.remaining_ns, &work_ns))
                        work_ns = UINT64_MAX;
                    st.demand_ns += st.remaining_ns;
                    st.path_ns += st.remaining_ns;
                    if (st.remaining_ns > 0)
                        return true;
                    break;
                case Step::Kind::Block: {
                    uint64_t d = scaled(s.duration.sample(st.rng));
                    st.path_ns += d;
                    sched.block(cpu, now);
                    events.push(now + d, EventKind::Wake, st.index);
                    return false;
                }
                case Step::Kind::Spawn: {
                    const GroupSpec& g = spec.groups[static_cast<size_t>(s.spawn_group)];
                    threads->ordinary_added(static_cast<uint64_t>(s.spawn_count));
                    for (int i = 0; i < s.spawn_count; ++i) {
                        SimTask& child = new_task(g, s.spawn_group, static_cast<int>(tasks.size()),
                                                  child_stream(st.stream, st.children++));
                        child.path_ns = st.path_ns;
                        child.task.spawner_cpu = cpu;  // as the runtime sets it
                        if (s.join) {
                            child.parent = &st;
                            ++st.pending_children;
                        }
                        sched.spawn(child.task, now);
                    }
                    nudge_idle(cpu);
                    if (s.join && st.pending_children > 0) {
                        st.waiting_join = true;
                        sched.block(cpu, now);
                        return false;
                    }
                    break;
                }
                case Step::Kind::Exit:
                    return finish(cpu, st);
                case Step::Kind::Send:
                    threads->send(s.spawn_group, s.spawn_count, cpu);
                    break;
                case Step::Kind::Wait:
                    if (sim_events.try_take(s.event, st.path_ns))
                        break;
                    sched.block(cpu, now);
                    sim_events.park(s.event, st.index);
                    return false;
                case Step::Kind::Notify:
                    if (auto w = sim_events.notify(s.event, st.path_ns)) {
                        SimTask& woken = tasks[*w];
                        woken.path_ns = std::max(woken.path_ns, st.path_ns);
                        sched.wake(woken.task, now, cpu);
                    }
                    break;
            }
        }
    }

    // nudge_idle() follows a spawn step that left work waiting on `cpu`
    // (a policy that keeps spawns local, as steal does): it kicks up to as
    // many idle CPUs as tasks wait there, nearest ids first, so their idle
    // pull can take some; the runtime wakes a parked worker the same way
    // (Go's wakep()). Without a kick an idle CPU would only look again at
    // its next periodic pull.
    void nudge_idle(int cpu) {
        sched.kick_idle_for(cpu, [this](int other) {
            const CpuState& c = cpus[static_cast<size_t>(other)];
            if (c.resched_pending || c.eof)
                return false;
            kick(other);
            return true;
        });
    }

    // wake_idle_for_arrival() kicks one idle CPU when an arrival was queued
    // on a busy one, so a policy whose idle CPUs pull (steal, fair) takes
    // it now instead of at its next periodic pull; the runtime's arrivals
    // wake a parked worker the same way.
    void wake_idle_for_arrival(const Task& t) {
        int cpu = t.cpu;
        if (cpu < 0 || cpus[static_cast<size_t>(cpu)].current == nullptr)
            return;
        int n = sched.num_cpus();
        for (int d = 1; d < n; ++d) {
            int other = (cpu + d) % n;
            const CpuState& c = cpus[static_cast<size_t>(other)];
            if (c.current == nullptr && !c.resched_pending && !c.eof &&
                sched.rq(other).nr_queued.load(std::memory_order_relaxed) == 0) {
                kick(other);
                return;
            }
        }
    }

    bool finish(int cpu, SimTask& st) {
        sched.exit(cpu, now);
        recorder.on_exit(st.task, now, st.demand_ns);
        last_exit_ns = now;
        ++exited_seen;
        critical_path_ns = std::max(critical_path_ns, st.path_ns);
        if (st.thread < 0)
            threads->ordinary_exited(cpu);
        if (SimTask* p = st.parent; p != nullptr) {
            p->join_path_ns = std::max(p->join_path_ns, st.path_ns);
            if (--p->pending_children == 0 && p->waiting_join) {
                p->waiting_join = false;
                p->path_ns = std::max(p->path_ns, p->join_path_ns);
                sched.wake(p->task, now, cpu);  // woken by its last child, here
            }
        }
        return false;
    }

    // dispatch() picks and starts work on an empty CPU until something runs
    // or the CPU has nothing to do.
    void dispatch(int cpu) {
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
                c.busy_energy_j += 1e-9 * static_cast<double>(cfg.context_switch_ns) *
                                   cfg.power.busy_w(speed_pm(cpu));
            }
            if (st.last_cpu >= 0 && st.last_cpu != cpu)
                st.remaining_ns += migration_cost(st.last_cpu, cpu);
            st.last_cpu = cpu;
            c.last_task = st.task.id;
            c.current = &st;
            sync_sleep(cpu);
            c.quantum_start_ns = now;
            c.seg_start_ns = start;
            schedule_slice_end(cpu, start);
        }
    }

    uint32_t speed_pm(int cpu) const {
        return freq_speed_pm(sched.rq(cpu).freq_level.load(std::memory_order_relaxed));
    }

    void schedule_slice_end(int cpu, uint64_t from) {
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
    void stop_segment(int cpu) {
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
    uint64_t seg_from_ns = 0;
    void report_segment(int cpu, const SimTask& st, SegmentEnd why) {
        CpuState& c = cpus[static_cast<size_t>(cpu)];
        if (cfg.listener == nullptr || now <= seg_from_ns)
            return;
        cfg.listener->on_segment(
            SimSegment{cpu, &st.task, seg_from_ns, now, why, c.run_start, c.run_wait_ns});
        c.run_start = false;
        c.run_wait_ns = 0;
    }

    void on_slice_end(int cpu) {
        CpuState& c = cpus[static_cast<size_t>(cpu)];
        SimTask& st = *c.current;
        stop_segment(cpu);
        if (st.remaining_ns == 0 && !advance(cpu, st)) {
            report_segment(
                cpu, st, st.task.state == TaskState::Exited ? SegmentEnd::Exit : SegmentEnd::Block);
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

    void preempt(int cpu) {
        CpuState& c = cpus[static_cast<size_t>(cpu)];
        ++c.gen;
        sched.put_prev(cpu, now);
        c.current = nullptr;
        sync_sleep(cpu);
        dispatch(cpu);
    }

    void on_resched(int cpu) {
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

    void start_ticks() {
        uint64_t period = sched.policy().tick_period_ns();
        if (period == 0)
            return;
        for (int cpu = 0; cpu < sched.num_cpus(); ++cpu)
            events.push(now + period, EventKind::Tick, static_cast<uint32_t>(cpu), tick_epoch);
    }
    uint16_t tick_epoch = 0;  // ticks of a replaced policy die out

    void on_tick(int cpu, uint16_t epoch) {
        if (epoch != tick_epoch || !work_remains())
            return;
        sched.tick(cpu, now);
        uint64_t period = sched.policy().tick_period_ns();
        if (period != 0)
            events.push(now + period, EventKind::Tick, static_cast<uint32_t>(cpu), epoch);
    }

    void on_switch(uint32_t index) {
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

    SimResult run() {
        auto wall_start = std::chrono::steady_clock::now();
        for (uint32_t i = 0; i < switches.size(); ++i)
            events.push(switches[i].at_ns, EventKind::Switch, i);
        start_ticks();
        bool stopped = false;
        for (;;) {
            // Polled every 4096 events: a relaxed load costs nothing there.
            if ((processed & 4095) == 0 && poll_stop()) {
                stopped = interrupted = true;
                break;
            }
            // An arrival goes before heap events at the same time, as if it had
            // been queued first (it was known first).
            sim::Event e;
            if (next_arrival < arrivals.size() &&
                (events.empty() || arrivals[next_arrival].first <= events.top_time())) {
                auto [t, index] = arrivals[next_arrival++];
                e = sim::Event{t, 0, index, 0, EventKind::Arrive};
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
                budget_exceeded(fmt::format("{}: the simulation handled {} events by {} ns",
                                            spec.path, processed, now),
                                "--max-events", cfg.max_events);
            if (e.time_ns > cfg.max_time_ns)
                budget_exceeded(fmt::format("{}: the simulation reached virtual time {}ns",
                                            spec.path, e.time_ns),
                                "--max-time", cfg.max_time_ns, "ns");
            now = e.time_ns;
            ++processed;
            prefetch_next();
            switch (e.kind) {
                case EventKind::Arrive:
                    sched.spawn(tasks[e.target].task, now);
                    wake_idle_for_arrival(tasks[e.target].task);
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
                    if (tasks[e.target].thread >= 0 &&
                        !threads->timer_fired(tasks[e.target], e.gen))
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
    bool poll_stop() {
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
    void prefetch_next() {
        if (next_arrival < arrivals.size())
            prefetch(&tasks[arrivals[next_arrival].second]);
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
    void prefetch_next_pick(int cpu) {
        const Task* head = sched.rq(cpu).head;
        if (head == nullptr)
            return;
        prefetch(head);
        if (head->rq_next != nullptr)
            __builtin_prefetch(&head->rq_next->rq_prev);
    }
    static void prefetch(const void* p) {
        if (p == nullptr)
            return;
        const char* bytes = static_cast<const char*>(p);
        for (size_t off = 0; off < sizeof(SimTask); off += 64)
            __builtin_prefetch(bytes + off);
    }

    void wake(SimTask& st) {
        if (st.task.state == TaskState::Blocked && !st.waiting_join)
            sched.wake(st.task, now);
    }

    SimResult finish_run(bool stopped, double wall_s) {
        if (!stopped)
            sched.check_invariants();
        SimResult r;
        RunSummary& s = r.summary;
        uint64_t end = stopped ? now : last_exit_ns;
        s.workload = spec.name;
        s.topology = sched.topology().source();
        s.policy = sched.policy().name();
        s.seed = cfg.seed.value_or(spec.seed);
        s.events = processed;
        s.wall_s = wall_s;
        s.events_per_s = wall_s > 0 ? static_cast<double>(processed) / wall_s : 0;
        recorder.summarize(s, end);
        uint64_t not_exited = 0;
        for (size_t i = 0; i < tasks.size(); ++i)
            if (tasks[i].task.state != TaskState::Exited && tasks[i].task.state != TaskState::New)
                ++not_exited;
        s.spawned = sched.spawned();
        s.completed = exited_seen;
        r.unfinished = not_exited;
        s.lost = s.spawned - s.completed - not_exited;
        r.completed = !stopped && not_exited == 0;
        r.interrupted = interrupted;
        s.policy_stats_json = sched.policy().stats_json();
        sim::EnergyAccount energy = sim::account_energy(cpus, cfg.power, now, end, s.cpus);
        r.energy_j = energy.energy_j;
        r.sleep_us = static_cast<double>(energy.sleep_ns) / 1e3;
        r.work_us = static_cast<double>(work_ns) / 1e3;
        r.critical_path_us = static_cast<double>(critical_path_ns) / 1e3;
        r.lower_bound_us =
            std::max(r.work_us / static_cast<double>(sched.num_cpus()), r.critical_path_us);
        std::string cpu_sleep;
        for (size_t i = 0; i < energy.cpu_sleep_us.size(); ++i)
            cpu_sleep += fmt::format("{}{:.3f}", i == 0 ? "" : ",", energy.cpu_sleep_us[i]);
        s.extra_json = fmt::format(
            R"({{"unfinished":{},"policy_switches":[{}],"energy_j":{:.6f},"sleep_us":{:.3f},)"
            R"("cpu_sleep_us":[{}],"work_us":{:.3f},"critical_path_us":{:.3f},)"
            R"("lower_bound_us":{:.3f},"interrupted":{}}})",
            not_exited, switch_log, r.energy_j, r.sleep_us, cpu_sleep, r.work_us,
            r.critical_path_us, r.lower_bound_us, interrupted);
        return r;
    }
};

Simulator::Simulator(const WorkloadSpec& spec, Topology topo, std::unique_ptr<Policy> policy,
                     SimConfig config)
    : impl_(std::make_unique<Impl>(spec, std::move(topo), std::move(policy), config)) {}

Simulator::~Simulator() = default;

void Simulator::schedule_switch(uint64_t at_ns, std::unique_ptr<Policy> next) {
    impl_->switches.push_back(PendingSwitch{at_ns, std::move(next)});
}

SimResult Simulator::run() {
    return impl_->run();
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
