// event_queue.h: the simulator's time-ordered event queue.
#pragma once

#include <cstdint>
#include <queue>
#include <vector>

namespace schedkit::sim {

enum class EventKind : uint8_t { Arrive, Resched, SliceEnd, Wake, Tick, Switch };

// Event is 24 bytes so the heap stays cache-friendly at millions of events.
struct Event {
    uint64_t time_ns;
    uint64_t seq;     // insertion order: ties at one time run first-in first-out
    uint32_t target;  // task index, CPU or switch index
    uint16_t gen;     // SliceEnd: the CPU's slice generation when scheduled
    EventKind kind;
};

// EventQueue pops events by (time, insertion order), which is what makes a
// simulation deterministic: no two events ever compare equal.
class EventQueue {
  public:
    void push(uint64_t time_ns, EventKind kind, uint32_t target, uint16_t gen = 0) {
        heap_.push(Event{time_ns, seq_++, target, gen, kind});
    }
    bool empty() const { return heap_.empty(); }
    Event pop() {
        Event e = heap_.top();
        heap_.pop();
        return e;
    }
    size_t size() const { return heap_.size(); }
    uint64_t top_time() const { return heap_.top().time_ns; }

  private:
    struct Later {
        bool operator()(const Event& a, const Event& b) const {
            return a.time_ns != b.time_ns ? a.time_ns > b.time_ns : a.seq > b.seq;
        }
    };
    std::priority_queue<Event, std::vector<Event>, Later> heap_;
    uint64_t seq_ = 0;
};

}  // namespace schedkit::sim
