// thread.h: lightweight threads (storage-framework style): long-lived tasks
// with a mailbox and pollers, balanced by their measured busy %.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "schedkit/sync.h"

namespace schedkit {

namespace detail {
struct ThreadFiber;
}

// SendStatus is the outcome of LightThread::send().
enum class SendStatus : uint8_t {
    Ok,      // queued; it will run on the thread
    Closed,  // the thread is closed; the message was not taken
};

// CloseMode says what close() does with messages still queued.
enum class CloseMode : uint8_t {
    Drain,   // the thread runs them, then exits
    Cancel,  // they are handed back to the closer, not run
};

// LightThread is a long-lived task with a mailbox and pollers, created by
// Runtime::create_thread(). Each run it executes the messages queued so far
// (in the order they were sent: FIFO per sender and, since the mailbox is
// one queue, in the order sends completed) and its due pollers, and counts
// the run busy if any message ran or any poller said it did work; its busy
// % over Runtime::Config::thread_window_ns is what the `dynamic` policy
// balances by. With nothing to do it blocks until a message arrives or its
// next poller is due.
//
// Closing follows DESIGN story 3: the mailbox's send, drain and close are
// serialised by its lock, a send to a closed thread returns Closed without
// taking the message, and messages queued at close are delivered (Drain)
// or handed back (Cancel). A LightThread stays valid while any shared_ptr
// to it exists, whatever the thread's state. All members are thread-safe.
class LightThread {
  public:
    using Message = std::function<void()>;
    // A Poller returns whether it did work.
    using Poller = std::function<bool()>;
    using PollerId = uint64_t;

    ~LightThread();
    LightThread(const LightThread&) = delete;
    LightThread& operator=(const LightThread&) = delete;

    const std::string& name() const;

    // send() queues `msg` to run on the thread. On Closed the message is not
    // moved from: the sender still owns it.
    SendStatus send(Message&& msg);

    // add_poller() registers `fn` to run every `period` (0: every run of the
    // thread, i.e. busy polling). Returns 0 when the thread is closed.
    PollerId add_poller(Poller fn, std::chrono::nanoseconds period);
    // remove_poller() unregisters a poller (takes effect on the thread's
    // next run). Returns false when the thread is closed.
    bool remove_poller(PollerId id);

    // close() stops the thread accepting messages. Drain: queued messages
    // run, then the thread exits. Cancel: queued messages that have not
    // started are returned. Idempotent (a second close returns nothing).
    std::vector<Message> close(CloseMode mode = CloseMode::Drain);
    bool closed() const;

    // exited() is set once the thread has exited (after close()): await it
    // from a task or wait_blocking() from a plain thread.
    Event& exited();

    // busy_pct() is the busy % over the last complete window.
    double busy_pct() const;
    // messages_run() counts messages the thread has executed.
    uint64_t messages_run() const;
    // cpu() is the CPU it is on or last ran on.
    int cpu() const;

    // Used by Runtime::create_thread().
    explicit LightThread(detail::ThreadFiber* fiber);

  private:
    detail::ThreadFiber* fiber_;  // holds one reference
};

}  // namespace schedkit
