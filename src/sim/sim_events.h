// sim_events.h: the simulator's named events (wait/notify steps): counting
// semaphores, as `schedkit run` implements them with the runtime's Semaphore.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

namespace schedkit::sim {

// EventTable holds one counting semaphore per WorkloadSpec::events entry.
// A notify hands its permit to the longest waiter, else keeps it; a wait
// takes a kept permit, else the task blocks in FIFO order. Each permit
// carries the critical path of its notifier, so a wait that takes it cannot
// finish earlier than that with unlimited CPUs. Not thread-safe (the
// simulator is single-threaded).
class EventTable {
  public:
    explicit EventTable(size_t events) : events_(events) {}

    // try_take() takes a kept permit of `event`; its path raises `path_ns`.
    bool try_take(int event, uint64_t& path_ns) {
        Event& e = events_[static_cast<size_t>(event)];
        if (e.permits == 0)
            return false;
        --e.permits;
        path_ns = std::max(path_ns, e.path_ns);
        return true;
    }
    // park() queues task `index` as a waiter of `event`.
    void park(int event, uint32_t index) {
        events_[static_cast<size_t>(event)].waiters.push_back(index);
    }
    // notify() returns the waiter to wake, or keeps a permit (nullopt).
    std::optional<uint32_t> notify(int event, uint64_t path_ns) {
        Event& e = events_[static_cast<size_t>(event)];
        if (e.waiters.empty()) {
            ++e.permits;
            e.path_ns = std::max(e.path_ns, path_ns);
            return std::nullopt;
        }
        uint32_t w = e.waiters.front();
        e.waiters.pop_front();
        return w;
    }
    // waiting() counts tasks blocked on any event (never woken at the end
    // of a run: they are reported unfinished, not lost).
    size_t waiting() const {
        size_t n = 0;
        for (const Event& e : events_)
            n += e.waiters.size();
        return n;
    }

  private:
    struct Event {
        uint64_t permits = 0;
        uint64_t path_ns = 0;
        std::deque<uint32_t> waiters;
    };
    std::vector<Event> events_;
};

}  // namespace schedkit::sim
