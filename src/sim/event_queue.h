// event_queue.h: the simulator's time-ordered event queue.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/check.h"

namespace schedkit::sim {

enum class EventKind : uint8_t { Arrive, Resched, SliceEnd, Wake, Tick, Switch };

// Event is 24 bytes so the queue stays cache-friendly at millions of events.
struct Event {
    uint64_t time_ns;
    uint64_t seq;     // insertion order: ties at one time run first-in first-out
    uint32_t target;  // task index, CPU or switch index
    uint16_t gen;     // SliceEnd: the CPU's slice generation when scheduled
    EventKind kind;
};

// EventQueue pops events by (time, insertion order), which is what makes a
// simulation deterministic: no two events ever compare equal.
//
// It is a radix heap with one byte per digit, which fits a simulator's clock:
// no event is ever scheduled before the last one popped (push checks it).
// An event sits in level L, slot s, where L is the highest byte in which its
// time differs from the last popped time (`last_ns_`) and s is its time's
// byte L: level 0 holds the events whose times differ from the clock in the
// low byte only, one exact time per slot. A pop takes the front of the lowest
// non-empty level-0 slot; when level 0 is empty, it moves the lowest
// non-empty slot of the lowest non-empty level down around that slot's
// earliest time, which becomes the clock. Moving that slot changes no other
// event's place, and an event only ever moves to a lower level, so each one
// is placed at most 8 times (64 with one bit per digit). A simulation's
// events are spread out in time, so the lowest slot mostly holds one event,
// which pop() takes where it is: it is never moved at all.
//
// Events live in a node pool and slots are singly-linked FIFO lists of
// nodes, so a move relinks a node instead of copying it, and the memory in
// use is the events in flight (freed nodes are reused first) rather than
// one growing array per slot.
//
// Ties: every slot keeps its events in insertion order. A push appends (its
// sequence number is the highest yet), and a slot is refilled from a higher
// level only while the lower levels are empty, in that slot's order; events
// of equal time always share a slot. So the events at one time come out in
// insertion order: exactly the order of a heap on (time, sequence).
class EventQueue {
  public:
    EventQueue() {
        head_.fill(kNone);
        tail_.fill(kNone);
    }

    // push() schedules an event; `time_ns` must not precede the last pop.
    void push(uint64_t time_ns, EventKind kind, uint32_t target, uint16_t gen = 0) {
        SCHEDKIT_CHECK(time_ns >= last_ns_, "event scheduled before the simulated clock");
        uint32_t n = allocate();
        nodes_[n].event = Event{time_ns, seq_++, target, gen, kind};
        append(slot_of(time_ns), n);
        ++size_;
        if (min_known_ && time_ns < nodes_[min_node_].event.time_ns)
            min_node_ = n;
    }
    bool empty() const { return size_ == 0; }
    size_t size() const { return size_; }
    // top_time() is the time of the next event; the queue must not be empty.
    // It moves nothing, so events may still be pushed for any time from the
    // last pop on (an executor merging another source, like arrivals, runs
    // those first).
    uint64_t top_time() { return peek().time_ns; }
    // peek() is the event pop() returns next unless an earlier one is pushed
    // first; the queue must not be empty. Like top_time(), it moves nothing.
    // The reference is valid until the next push or pop.
    const Event& peek() {
        size_t slot = lowest_slot();
        if (slot < kSlots)
            return nodes_[head_[slot]].event;
        if (!min_known_) {
            min_node_ = earliest(head_[slot]);
            min_known_ = true;
        }
        return nodes_[min_node_].event;
    }
    Event pop() {
        size_t slot = lowest_slot();
        // A lone event in the lowest slot is the earliest: it is popped where
        // it is (the clock moving to it changes no other event's slot, as in
        // refill()).
        if (slot >= kSlots && head_[slot] != tail_[slot])
            slot = refill(slot);
        uint32_t n = head_[slot];
        Node& node = nodes_[n];
        head_[slot] = node.next;
        if (node.next == kNone) {
            tail_[slot] = kNone;
            clear_bit(slot);
        }
        last_ns_ = node.event.time_ns;
        node.next = free_;
        free_ = n;
        --size_;
        min_known_ = false;
        return node.event;
    }

  private:
    static constexpr int kLevels = 8;      // one per byte of a 64-bit time
    static constexpr size_t kSlots = 256;  // per level
    static constexpr size_t kWords = kLevels * kSlots / 64;
    static_assert(kWords <= 32, "words_ has a bit per word of bits_");
    static constexpr uint32_t kNone = UINT32_MAX;

    struct Node {
        Event event;
        uint32_t next;  // the next node of its slot or of the free list
    };

    // slot_of() is the slot index (level * 256 + byte) of an event at
    // `time_ns` relative to the clock. Slot indexes grow with time: the
    // lowest non-empty slot holds the earliest events.
    size_t slot_of(uint64_t time_ns) const {
        // `| 1`: a time equal to the clock is level 0 like one differing in bit 0.
        auto level = static_cast<unsigned>(std::bit_width((time_ns ^ last_ns_) | 1) - 1) / 8;
        auto byte = static_cast<size_t>((time_ns >> (8 * level)) & 0xff);
        return level * kSlots + byte;
    }
    uint32_t allocate() {
        if (free_ != kNone) {
            uint32_t n = free_;
            free_ = nodes_[n].next;
            return n;
        }
        nodes_.emplace_back();
        return static_cast<uint32_t>(nodes_.size() - 1);
    }
    void append(size_t slot, uint32_t n) {
        nodes_[n].next = kNone;
        if (tail_[slot] == kNone) {
            head_[slot] = n;
            bits_[slot / 64] |= uint64_t{1} << (slot % 64);
            words_ |= 1u << (slot / 64);
        } else {
            nodes_[tail_[slot]].next = n;
        }
        tail_[slot] = n;
    }
    void clear_bit(size_t slot) {
        if ((bits_[slot / 64] &= ~(uint64_t{1} << (slot % 64))) == 0)
            words_ &= ~(1u << (slot / 64));
    }
    // lowest_slot() is the first non-empty slot: a level-0 one while level 0
    // has events, else the one refill() moves down next.
    size_t lowest_slot() const {
        SCHEDKIT_CHECK(words_ != 0, "pop from an empty event queue");
        auto w = static_cast<size_t>(std::countr_zero(words_));
        return w * 64 + static_cast<size_t>(std::countr_zero(bits_[w]));
    }
    // earliest() is the first node of a slot's list with its earliest time.
    uint32_t earliest(uint32_t n) const {
        uint32_t best = n;
        for (n = nodes_[n].next; n != kNone; n = nodes_[n].next)
            best = nodes_[n].event.time_ns < nodes_[best].event.time_ns ? n : best;
        return best;
    }

    // refill() moves the lowest non-empty slot down once level 0 ran dry:
    // its earliest time becomes the clock, so those events land in level 0
    // and the rest in levels below this one. Returns the level-0 slot of the
    // earliest time.
    size_t refill(size_t slot) {
        uint32_t n = head_[slot];
        last_ns_ = nodes_[min_known_ ? min_node_ : earliest(n)].event.time_ns;
        head_[slot] = kNone;
        tail_[slot] = kNone;
        clear_bit(slot);
        while (n != kNone) {
            uint32_t next = nodes_[n].next;
            append(slot_of(nodes_[n].event.time_ns), n);
            n = next;
        }
        return static_cast<size_t>(last_ns_ & 0xff);
    }

    std::vector<Node> nodes_;
    uint32_t free_ = kNone;  // head of the list of free nodes
    std::array<uint32_t, kLevels * kSlots> head_;
    std::array<uint32_t, kLevels * kSlots> tail_;
    std::array<uint64_t, kWords> bits_{};  // bit s % 64 of word s / 64: slot s has events
    uint32_t words_ = 0;                   // bit w: bits_[w] is not zero
    uint64_t last_ns_ = 0;                 // the clock: slots are relative to it
    // peek()'s answer while level 0 is empty: the lowest slot's earliest
    // node, kept up by pushes, forgotten at a pop.
    uint32_t min_node_ = 0;
    bool min_known_ = false;
    uint64_t seq_ = 0;
    size_t size_ = 0;
};

}  // namespace schedkit::sim
