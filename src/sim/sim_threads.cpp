// sim_threads.cpp: lightweight threads in the simulator (sim_threads.h).
#include "sim/sim_threads.h"

#include <algorithm>
#include <atomic>

#include "core/check.h"

namespace schedkit::sim {

void check_messages(const MessageCounts& c, bool completed) {
    SCHEDKIT_CHECK(c.consistent(completed),
                   "a message to a lightweight thread was lost or doubled: sent != delivered + "
                   "refused + returned + pending, or pending at the end of a completed run");
}

ThreadDriver::ThreadDriver(const WorkloadSpec& spec, ThreadHost& host)
    : spec_(spec),
      host_(host),
      by_group_(spec.groups.size()),
      next_rr_(spec.groups.size()),
      next_close_(spec.groups.size()) {}

void ThreadDriver::add(SimTask& st) {
    Thread t;
    t.task = st.index;
    st.thread = static_cast<int32_t>(threads_.size());
    // Policies treat threads as the runtime marks them (dynamic balances
    // them by the work they do, static returns them home).
    st.task.is_thread = true;
    threads_.push_back(std::move(t));
    ++unstarted_;
}

void ThreadDriver::start(SimTask& st) {
    Thread& t = threads_[static_cast<size_t>(st.thread)];
    if (t.started)
        return;
    t.started = true;
    for (const Poller& p : st.group->pollers)
        t.next_poll_ns.push_back(host_.host_now() + host_.host_scaled(p.every_ns));
    by_group_[static_cast<size_t>(st.task.group)].push_back(static_cast<uint32_t>(st.thread));
    --unstarted_;
}

void ThreadDriver::ordinary_exited(int cpu) {
    if (ordinary_ > 0 && --ordinary_ == 0)
        maybe_close(cpu);
}

// maybe_close() closes every thread still open (drain) once no ordinary
// task is left, every thread has started, and no message is queued or
// running: nothing can send another one.
void ThreadDriver::maybe_close(int cpu) {
    if (ordinary_ != 0 || unstarted_ != 0 || final_close_)
        return;
    for (const Thread& t : threads_)
        if (t.pending > 0 || t.in_message)
            return;
    final_close_ = true;
    for (Thread& t : threads_)
        if (!t.closing)
            close_thread(t, false, cpu);
}

void ThreadDriver::close_thread(Thread& t, bool cancel, int cpu) {
    t.closing = true;
    if (cancel) {
        counts_.returned += t.pending;
        t.pending = 0;
    }
    if (t.idle) {
        t.idle = false;
        ++t.timer_gen;
        host_.host_wake(host_.host_task(t.task), cpu);
    }
}

void ThreadDriver::close(int group, int count, bool cancel, int cpu) {
    const std::vector<uint32_t>& started = by_group_[static_cast<size_t>(group)];
    uint64_t& next = next_close_[static_cast<size_t>(group)];
    for (int i = 0; i < count && next < started.size(); ++i) {
        Thread& t = threads_[started[next++]];
        if (t.closing)
            continue;  // closed at the end already (a close step cannot run then)
        ++counts_.closed;
        close_thread(t, cancel, cpu);
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
                ++counts_.delivered;
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
            } else if (s.kind == Step::Kind::Close) {
                close(s.spawn_group, s.spawn_count, s.cancel, cpu);
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
    counts_.sent += static_cast<uint64_t>(count);
    if (targets.empty()) {
        counts_.refused += static_cast<uint64_t>(count);  // no thread started yet
        return;
    }
    for (int i = 0; i < count; ++i) {
        uint64_t& rr = next_rr_[static_cast<size_t>(group)];
        Thread& t = threads_[targets[rr++ % targets.size()]];
        if (t.closing) {
            ++counts_.refused;
            continue;
        }
        ++t.pending;
        if (t.idle) {
            t.idle = false;
            ++t.timer_gen;
            host_.host_wake(host_.host_task(t.task), cpu);
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

MessageCounts ThreadDriver::counts() const {
    MessageCounts c = counts_;
    c.threads = threads_.size() - unstarted_;
    c.pending = 0;
    for (const Thread& t : threads_)
        c.pending += t.pending + (t.in_message ? 1 : 0);
    return c;
}

}  // namespace schedkit::sim
