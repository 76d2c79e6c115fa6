// sim_steps.cpp: the simulator's tasks, their arrivals and the steps of
// their behavior (run, block, spawn, exit, send, close, wait, notify).
#include "sim/sim_impl.h"

#include <fmt/format.h>

#include "core/check.h"

namespace schedkit {

// new_task() makes task `id` of group `g` that draws from `stream`.
SimTask& Simulator::Impl::new_task(const GroupSpec& g, int group_index, int instance,
                                   uint64_t stream, uint64_t id) {
    SimTask& st = tasks.acquire();
    st.stream = stream;
    st.rng = Rng(stream);
    st.group = &g;
    st.repeat_left = g.repeat;
    st.task.id = id;
    st.task.name = task_name(g.name, instance);
    st.task.group = group_index;
    st.task.nice = g.nice;
    st.task.weight = g.weight;
    st.task.affinity = g.affinity;
    st.task.executor_data = &st;
    return st;
}

// Arrivals are drawn up front, group by group, so the random stream (and
// so the whole run) does not depend on event interleaving; only their
// times and order are kept (16 bytes each) until they arrive.
void Simulator::Impl::create_arrivals() {
    {
        std::vector<TaskArrival> drawn = draw_arrivals(spec, seed);
        if (drawn.size() > cfg.max_tasks)
            budget_exceeded(
                fmt::format("{}: the simulation created {} tasks", spec.path, cfg.max_tasks),
                "--max-tasks", cfg.max_tasks);
        group_first.assign(spec.groups.size() + 1, 0);
        for (const TaskArrival& a : drawn)
            ++group_first[static_cast<size_t>(a.group) + 1];
        for (size_t g = 1; g < group_first.size(); ++g)
            group_first[g] += group_first[g - 1];
        arrivals.reserve(drawn.size());
        for (uint32_t i = 0; i < drawn.size(); ++i) {
            const TaskArrival& a = drawn[i];
            sim::PendingArrival p{scaled(a.at_ns), i};
            if (spec.groups[static_cast<size_t>(a.group)].thread) {
                SimTask& st =
                    new_task(spec.groups[static_cast<size_t>(a.group)], a.group, a.index,
                             task_stream(seed, a.group, static_cast<uint64_t>(a.index)), i + 1);
                st.path_ns = p.at_ns;
                threads->add(st);
                if (p.at_ns == 0)
                    threads->start(st);  // there before any task runs, as in `schedkit run`
                p.slot = st.index;
            } else {
                threads->ordinary_added(1);
            }
            arrivals.push_back(p);
        }
        created = drawn.size();
        arrivals_left = drawn.size();
    }
    // Kept out of the event heap: arrivals are known up front, so a
    // sorted list keeps the heap at O(CPUs + blocked tasks) entries.
    std::stable_sort(arrivals.begin(), arrivals.end(),
                     [](const auto& a, const auto& b) { return a.at_ns < b.at_ns; });
    if (arrivals_left == 0)
        sched.close_arrivals();
}

// arrive() is the task of arrivals[pos], created now unless it was created
// up front (a thread).
SimTask& Simulator::Impl::arrive(uint32_t pos) {
    const sim::PendingArrival& a = arrivals[pos];
    if (a.slot != sim::PendingArrival::kNoSlot) {
        threads->start(tasks[a.slot]);  // a thread, from now on reached by sends (if not yet)
        return tasks[a.slot];
    }
    auto g =
        static_cast<size_t>(std::upper_bound(group_first.begin(), group_first.end(), a.ordinal) -
                            group_first.begin() - 1);
    uint32_t index = a.ordinal - group_first[g];
    SimTask& st = new_task(spec.groups[g], static_cast<int>(g), static_cast<int>(index),
                           task_stream(seed, static_cast<int>(g), index), a.ordinal + 1);
    st.path_ns = a.at_ns;
    return st;
}

// advance() runs a task's zero-time steps until it reaches a CPU burst
// (true), or blocks or exits (false: the CPU is free again).
bool Simulator::Impl::advance(int cpu, SimTask& st) {
    if (st.thread >= 0)
        return threads->advance(cpu, st);
    const auto& behavior = st.group->behavior;
    if (behavior.empty())
        return finish(cpu, st);  // nothing to do, however often repeated
    // Steps that take no time (a 0 ns run, a spawn, a send) all happen in
    // this one call: a `repeat` of 2^31 such steps would spin here for
    // minutes without an event. Each counts against --max-events.
    for (uint64_t steps = 1;; ++steps) {
        if (steps > cfg.max_events)
            budget_exceeded(fmt::format("{}: task {} of group '{}' took {} steps at {} ns without "
                                        "time passing",
                                        spec.path, st.index, st.group->name, steps - 1, now),
                            "--max-events", cfg.max_events);
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
                    if (created >= cfg.max_tasks)
                        budget_exceeded(
                            fmt::format("{}: the simulation created {} tasks", spec.path, created),
                            "--max-tasks", cfg.max_tasks);
                    SimTask& child = new_task(g, s.spawn_group, static_cast<int>(created),
                                              child_stream(st.stream, st.children++), created + 1);
                    ++created;
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
            case Step::Kind::Close:
                threads->close(s.spawn_group, s.spawn_count, s.cancel, cpu);
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
void Simulator::Impl::nudge_idle(int cpu) {
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
void Simulator::Impl::wake_idle_for_arrival(const Task& t) {
    int cpu = t.cpu;
    if (cpu < 0 || cpus[static_cast<size_t>(cpu)].current == nullptr)
        return;
    kick_nearest_idle(cpu);
}

// kick_nearest_idle() kicks the idle CPU (nothing running or queued, no
// kick pending) with the nearest id after `cpu`, around the machine, and
// says whether there was one. A walk of the core's idle set: a few word
// loads however many CPUs are busy.
bool Simulator::Impl::kick_nearest_idle(int cpu) {
    const CpuBits& idle = sched.idle_cpus();
    int n = sched.num_cpus();
    for (int lo : {cpu + 1, 0}) {
        int hi = lo == 0 ? cpu : n;
        for (int other = idle.next(lo, hi); other >= 0; other = idle.next(other + 1, hi)) {
            const CpuState& c = cpus[static_cast<size_t>(other)];
            if (c.current == nullptr && !c.resched_pending && !c.eof) {
                kick(other);
                return true;
            }
        }
    }
    return false;
}

bool Simulator::Impl::finish(int cpu, SimTask& st) {
    sched.exit(cpu, now);
    recorder.on_exit(st.task, now, st.demand_ns);
    last_exit_ns = now;
    ++exited_seen;
    critical_path_ns = std::max(critical_path_ns, st.path_ns);
    if (st.thread < 0) {
        threads->ordinary_exited(cpu);
        // Its slot is free from the next event on (callers still read the
        // task in this one); nothing else refers to an exited task: its
        // children that join it have ended, and no event names it.
        retired.push_back(st.index);
    }
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

}  // namespace schedkit
