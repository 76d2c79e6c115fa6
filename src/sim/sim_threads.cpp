// sim_threads.cpp: lightweight threads in the simulator (sim_threads.h).
#include "sim/sim_threads.h"

#include <algorithm>
#include <atomic>

namespace schedkit::sim {

ThreadDriver::ThreadDriver(const WorkloadSpec& spec, ThreadHost& host)
    : spec_(spec), host_(host), by_group_(spec.groups.size()), next_rr_(spec.groups.size()) {}

void ThreadDriver::add(SimTask& st) {
    Thread t;
    t.task = st.index;
    for (const Poller& p : st.group->pollers)
        t.next_poll_ns.push_back(host_.host_now() + host_.host_scaled(p.every_ns));
    st.thread = static_cast<int32_t>(threads_.size());
    // Policies treat threads as the runtime marks them (dynamic balances
    // them by the work they do, static returns them home).
    st.task.is_thread = true;
    by_group_[static_cast<size_t>(st.task.group)].push_back(t.task);
    threads_.push_back(std::move(t));
}

void ThreadDriver::ordinary_exited(int cpu) {
    if (ordinary_ > 0 && --ordinary_ == 0)
        maybe_close(cpu);
}

// maybe_close() closes every thread once no ordinary task is left and no
// message is queued or running: nothing can send another one.
void ThreadDriver::maybe_close(int cpu) {
    if (ordinary_ != 0)
        return;
    for (const Thread& t : threads_)
        if (t.pending > 0 || t.in_message || t.closing)
            return;
    for (Thread& t : threads_) {
        t.closing = true;
        if (t.idle) {
            t.idle = false;
            ++t.timer_gen;
            host_.host_wake(host_.host_task(t.task), cpu);
        }
    }
}

// count_work() counts a message's or poll's burst as work: in the run's
// lower bound, and in Task::work_ns, which thread-style policies balance by
// (the runtime adds it as the burst runs; here it is added when it starts).
void ThreadDriver::count_work(SimTask& st) {
    host_.host_work(st.remaining_ns);
    std::atomic_ref<uint64_t>(st.task.work_ns)
        .fetch_add(st.remaining_ns, std::memory_order_relaxed);
}

bool ThreadDriver::advance(int cpu, SimTask& st) {
    Thread& t = threads_[static_cast<size_t>(st.thread)];
    const std::vector<Step>& behavior = st.group->behavior;
    const std::vector<Poller>& pollers = st.group->pollers;
    for (;;) {
        if (t.in_message) {
            if (t.step == behavior.size()) {
                t.in_message = false;
                ++messages_run_;
                maybe_close(cpu);
                continue;
            }
            const Step& s = behavior[t.step++];
            if (s.kind == Step::Kind::Run) {
                st.remaining_ns = host_.host_scaled(s.duration.sample(host_.host_rng(st)));
                count_work(st);
                if (st.remaining_ns > 0)
                    return true;
            } else if (s.kind == Step::Kind::Send) {
                send(s.spawn_group, s.spawn_count, cpu);
            }
            continue;
        }
        // A due poll first (pollers in spec order), then the mailbox.
        const uint64_t now = host_.host_now();
        bool polled = false;
        for (size_t i = 0; i < pollers.size() && !polled; ++i) {
            if (t.next_poll_ns[i] > now)
                continue;
            // A poll late by more than a period skips the missed ones.
            uint64_t every = std::max<uint64_t>(host_.host_scaled(pollers[i].every_ns), 1);
            t.next_poll_ns[i] = std::max(t.next_poll_ns[i] + every, now + 1);
            ++polls_;
            st.remaining_ns = host_.host_scaled(pollers[i].run.sample(host_.host_rng(st)));
            count_work(st);
            polled = st.remaining_ns > 0;
        }
        if (polled)
            return true;
        if (t.pending > 0) {
            --t.pending;
            t.in_message = true;
            t.step = 0;
            continue;
        }
        if (t.closing)
            return host_.host_finish(cpu, st);
        // Nothing to do: sleep until a message comes or the next poll.
        t.idle = true;
        ++t.timer_gen;
        host_.host_block(cpu);
        if (!t.next_poll_ns.empty())
            host_.host_timer(*std::min_element(t.next_poll_ns.begin(), t.next_poll_ns.end()),
                             t.task, t.timer_gen);
        maybe_close(cpu);
        return false;
    }
}

void ThreadDriver::send(int group, int count, int cpu) {
    const std::vector<uint32_t>& targets = by_group_[static_cast<size_t>(group)];
    if (targets.empty())
        return;  // the parser makes this impossible (thread groups have count >= 1)
    for (int i = 0; i < count; ++i) {
        uint64_t& rr = next_rr_[static_cast<size_t>(group)];
        SimTask& st = host_.host_task(targets[rr++ % targets.size()]);
        Thread& t = threads_[static_cast<size_t>(st.thread)];
        ++t.pending;
        if (t.idle) {
            t.idle = false;
            ++t.timer_gen;
            host_.host_wake(st, cpu);
        }
    }
}

bool ThreadDriver::timer_fired(SimTask& st, uint16_t gen) {
    Thread& t = threads_[static_cast<size_t>(st.thread)];
    if (!t.idle || gen != t.timer_gen)
        return false;
    t.idle = false;
    return true;
}

}  // namespace schedkit::sim
