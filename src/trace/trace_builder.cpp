// TraceBuilder: scheduler events in time order -> per-thread bursts.
#include <algorithm>

#include "trace/sched_event.h"

namespace schedkit::trace {

TraceBuilder::State& TraceBuilder::thread(int pid, std::string_view comm, bool comm_is_event,
                                          uint64_t ts) {
    auto [it, fresh] = states_.try_emplace(pid);
    State& s = it->second;
    if (fresh) {
        s.index = out_.threads.size();
        TraceThread& t = out_.threads.emplace_back();
        t.tid = pid;
        t.first_ns = ts;
        s.ready_ns = ts;
    }
    TraceThread& t = out_.threads[s.index];
    // An event's own comm field is the name at that moment; a line's prefix
    // may come from a later comm cache, so it only names a thread no event did.
    if (!comm.empty() && (comm_is_event || (!s.comm_from_event && t.comm.empty()))) {
        t.comm = std::string(comm);
        s.comm_from_event |= comm_is_event;
    }
    return s;
}

void TraceBuilder::start_burst(State& s, int pid, int cpu, uint64_t ts) {
    if (s.running)
        end_burst(s, ts, BurstEnd::Preempt);  // events were lost: it left its CPU unseen
    if (cpu_current_.size() <= static_cast<size_t>(cpu))
        cpu_current_.resize(static_cast<size_t>(cpu) + 1, -1);
    int& cur = cpu_current_[static_cast<size_t>(cpu)];
    if (cur >= 0 && cur != pid) {
        auto it = states_.find(cur);
        if (it != states_.end() && it->second.running && it->second.cpu == cpu)
            end_burst(it->second, ts, BurstEnd::Preempt);
    }
    cur = pid;
    s.running = true;
    s.cpu = cpu;
    s.start_ns = ts;
}

void TraceBuilder::end_burst(State& s, uint64_t ts, BurstEnd how) {
    TraceThread& t = out_.threads[s.index];
    TraceBurst b;
    b.cpu = s.cpu;
    b.start_ns = s.start_ns;
    b.end_ns = std::max(ts, s.start_ns);  // merged per-CPU buffers may be a little out of order
    b.end = how;
    b.ready_ns = std::min(s.ready_ns, s.start_ns);
    b.waker_tid = s.waker_tid;
    b.waker_cpu = s.waker_cpu;
    t.bursts.push_back(b);
    if (static_cast<size_t>(s.cpu) < cpu_current_.size() &&
        cpu_current_[static_cast<size_t>(s.cpu)] == t.tid)
        cpu_current_[static_cast<size_t>(s.cpu)] = -1;
    s.running = false;
    s.woken = false;
    s.waker_tid = -1;
    s.waker_cpu = -1;
    // A preempted thread is ready at once; a blocked one when a wake-up
    // says so, else (none traced) when it runs again.
    s.ready_ns = how == BurstEnd::Preempt ? b.end_ns : UINT64_MAX;
}

// saw_running() handles a line's prefix: the task running on `cpu` (pid 0:
// idle). When the trace has not shown it switched in (it started before the
// trace, or the switch was lost), its burst starts here, at that event;
// a thread the CPU was running as far as we knew left it unseen: into idle
// it blocked, to another thread it was preempted.
void TraceBuilder::saw_running(int pid, std::string_view comm, int cpu, uint64_t ts) {
    if (pid < 0)
        return;  // not known (perf's -1)
    if (pid == 0) {
        if (static_cast<size_t>(cpu) < cpu_current_.size()) {
            int cur = cpu_current_[static_cast<size_t>(cpu)];
            auto it = cur > 0 ? states_.find(cur) : states_.end();
            if (it != states_.end() && it->second.running && it->second.cpu == cpu)
                end_burst(it->second, ts, BurstEnd::Block);
            cpu_current_[static_cast<size_t>(cpu)] = -1;
        }
        return;
    }
    State& s = thread(pid, comm, false, ts);
    if (!s.running || s.cpu != cpu)
        start_burst(s, pid, cpu, ts);
}

void TraceBuilder::woken(int pid, std::string_view comm, const SchedEvent& e) {
    if (pid <= 0)
        return;
    State& s = thread(pid, comm, true, e.ts_ns);
    if (s.running || s.woken)
        return;  // sched_waking then sched_wakeup: the first one counts
    s.woken = true;
    s.ready_ns = e.ts_ns;
    s.waker_tid = e.cur_pid > 0 && e.cur_pid != pid ? e.cur_pid : -1;
    s.waker_cpu = s.waker_tid >= 0 ? e.cpu : -1;
}

void TraceBuilder::add(const SchedEvent& e) {
    if (out_.events == 0)
        out_.start_ns = e.ts_ns;
    ++out_.events;
    out_.start_ns = std::min(out_.start_ns, e.ts_ns);
    out_.end_ns = std::max(out_.end_ns, e.ts_ns);
    out_.num_cpus = std::max(out_.num_cpus, e.cpu + 1);
    saw_running(e.cur_pid, e.cur_comm, e.cpu, e.ts_ns);
    switch (e.kind) {
        case EventKind::Switch: {
            if (e.prev_pid > 0) {
                State& prev = thread(e.prev_pid, e.prev_comm, true, e.ts_ns);
                if (!prev.running || prev.cpu != e.cpu)  // the prefix did not name it
                    start_burst(prev, e.prev_pid, e.cpu, e.ts_ns);
                {
                    const TraceThread& t = out_.threads[prev.index];
                    BurstEnd how = t.exited          ? BurstEnd::Exit
                                   : e.prev_runnable ? BurstEnd::Preempt
                                                     : BurstEnd::Block;
                    end_burst(prev, e.ts_ns, how);
                }
            }
            if (e.next_pid > 0) {
                State& next = thread(e.next_pid, e.next_comm, true, e.ts_ns);
                start_burst(next, e.next_pid, e.cpu, e.ts_ns);
            } else if (static_cast<size_t>(e.cpu) < cpu_current_.size()) {
                cpu_current_[static_cast<size_t>(e.cpu)] = -1;
            }
            break;
        }
        case EventKind::Wakeup:
        case EventKind::Waking:
        case EventKind::WakeupNew:
            woken(e.pid, e.comm, e);
            break;
        case EventKind::Fork: {
            if (e.pid > 0)
                thread(e.pid, e.comm, true, e.ts_ns);
            if (e.child_pid > 0) {
                State& c = thread(e.child_pid, e.child_comm, true, e.ts_ns);
                TraceThread& t = out_.threads[c.index];
                if (t.bursts.empty() && !c.running) {
                    t.parent_tid = e.pid > 0 ? e.pid : -1;
                    t.first_ns = e.ts_ns;
                    c.ready_ns = e.ts_ns;
                }
            }
            break;
        }
        case EventKind::Exit:
            if (e.pid > 0) {
                State& s = thread(e.pid, e.comm, true, e.ts_ns);
                TraceThread& t = out_.threads[s.index];
                t.exited = true;
                t.exit_ns = e.ts_ns;
            }
            break;
        case EventKind::Migrate:
            if (e.pid > 0)
                ++out_.threads[thread(e.pid, e.comm, true, e.ts_ns).index].migrate_events;
            break;
    }
}

void TraceBuilder::finish() {
    for (auto& [pid, s] : states_)
        if (s.running)
            end_burst(s, out_.end_ns,
                      out_.threads[s.index].exited ? BurstEnd::Exit : BurstEnd::TraceEnd);
    // A thread that never ran (only woken, forked or named) has nothing to
    // replay; a parent reference to a dropped thread is cleared.
    std::vector<TraceThread> kept;
    kept.reserve(out_.threads.size());
    for (TraceThread& t : out_.threads)
        if (!t.bursts.empty())
            kept.push_back(std::move(t));
    out_.threads = std::move(kept);
    for (TraceThread& t : out_.threads)
        if (t.parent_tid >= 0 && out_.find(t.parent_tid) == nullptr)
            t.parent_tid = -1;
    states_.clear();
}

}  // namespace schedkit::trace
