// sim_threads.h: lightweight threads in the simulator (`thread: true` spec
// groups): a mailbox of pending messages, periodic pollers, creation at the
// group's arrivals, close steps (drain or cancel), the rule that the
// threads still open close once every other task has exited and every
// mailbox is empty (as `schedkit run` closes its LightThreads with Drain),
// and the accounting of every message sent (sim.h MessageCounts).
#pragma once

#include <cstdint>
#include <vector>

#include "schedkit/sim.h"
#include "schedkit/workload.h"
#include "sim/sim_state.h"

namespace schedkit::sim {

// ThreadHost is what the thread driver needs from the simulator.
class ThreadHost {
  public:
    virtual uint64_t host_now() const = 0;
    // host_rng() is the random stream `st` draws from (a task's own stream
    // once tasks have one; the run's single stream before).
    virtual Rng& host_rng(SimTask& st) = 0;
    virtual uint64_t host_scaled(uint64_t ns) const = 0;
    virtual SimTask& host_task(uint32_t index) = 0;
    // host_block() blocks the task running on `cpu`.
    virtual void host_block(int cpu) = 0;
    // host_wake() wakes a blocked task, woken by whatever runs on `cpu`
    // (-1: a timer).
    virtual void host_wake(SimTask& st, int cpu) = 0;
    // host_timer() wakes task `index` at `at_ns` unless `gen` is stale then.
    virtual void host_timer(uint64_t at_ns, uint32_t index, uint16_t gen) = 0;
    // host_work() counts CPU work asked for (the lower bound's numerator).
    virtual void host_work(uint64_t ns) = 0;
    // host_finish() ends the task running on `cpu`; returns false.
    virtual bool host_finish(int cpu, SimTask& st) = 0;

  protected:
    ~ThreadHost() = default;
};

// check_messages() is the message invariant of the run's invariant checker:
// every message sent is delivered, refused, returned or still pending, and
// none is pending when the run completed. Aborts (SCHEDKIT_CHECK) otherwise.
void check_messages(const MessageCounts& c, bool completed);

// ThreadDriver runs the threads of one simulation. Single-threaded.
class ThreadDriver {
  public:
    ThreadDriver(const WorkloadSpec& spec, ThreadHost& host);

    // add() makes `st` (a task of a thread group, made up front) a thread;
    // start() starts it at its arrival: from then on sends reach it (round
    // robin over its group's started threads) and its pollers run. A thread
    // arriving at time 0 is started when it is added, before any task runs.
    // A second start() does nothing.
    void add(SimTask& st);
    void start(SimTask& st);
    // ordinary_added() counts tasks that are not threads (arrivals and
    // spawns); ordinary_exited() counts one down and, at zero, lets the
    // open threads close once every thread has started and every mailbox
    // is empty.
    void ordinary_added(uint64_t n) { ordinary_ += n; }
    void ordinary_exited(int cpu);

    // advance() is SimTask advance() for a thread: its next CPU burst
    // (true), or it blocks until a message or a poll, or exits (false).
    bool advance(int cpu, SimTask& st);
    // send() queues `count` messages to `group`'s threads, round robin,
    // waking an idle receiver (woken by `cpu`). A message whose thread is
    // closed or closing, or sent before the group has a thread, is refused.
    void send(int group, int count, int cpu);
    // close() closes `count` of `group`'s threads, oldest open first (past
    // the last started one it closes nothing): they refuse later sends,
    // run their queued messages (drain) or hand them back (cancel), and
    // exit, woken by `cpu` if idle.
    void close(int group, int count, bool cancel, int cpu);
    // timer_fired() says whether a thread's poll timer of generation `gen`
    // is still current (then the thread is woken by it).
    bool timer_fired(SimTask& st, uint16_t gen);

    uint64_t messages_run() const { return counts_.delivered; }
    uint64_t polls() const { return polls_; }
    // counts() is the message accounting so far (pending: queued or running).
    MessageCounts counts() const;
    bool any() const { return !threads_.empty(); }

  private:
    struct Thread {
        uint32_t task = 0;
        uint64_t pending = 0;  // messages queued
        bool in_message = false;
        size_t step = 0;  // next step of the message's behavior
        std::vector<uint64_t> next_poll_ns;
        uint16_t timer_gen = 0;
        bool idle = false;  // blocked until a message or a poll
        bool closing = false;
        bool started = false;
    };

    void maybe_close(int cpu);
    void close_thread(Thread& t, bool cancel, int cpu);
    void count_work(SimTask& st);

    const WorkloadSpec& spec_;
    ThreadHost& host_;
    std::vector<Thread> threads_;
    std::vector<std::vector<uint32_t>> by_group_;  // started threads per group (thread indexes)
    std::vector<uint64_t> next_rr_;                // round robin per group
    std::vector<uint64_t> next_close_;             // close steps: next in creation order
    uint64_t ordinary_ = 0;
    uint64_t unstarted_ = 0;    // threads added, not yet arrived
    bool final_close_ = false;  // the closing of every open thread at the end began
    MessageCounts counts_;      // pending and threads filled in by counts()
    uint64_t polls_ = 0;
};

}  // namespace schedkit::sim
