// event_queue.h: the simulator's time-ordered event queue.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>

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
// It is a radix heap, which fits a simulator's clock: no event is ever
// scheduled before the last one popped (push checks it). Bucket 0 holds the
// events at exactly the last popped time; bucket k > 0 those whose time
// first differs from it in bit k-1. A push is an XOR and a bit count; a pop
// takes bucket 0's front, and when bucket 0 is empty, moves the lowest
// non-empty bucket down around its earliest time. An event only ever moves
// to a lower bucket, so each costs O(1) amortised per bit of time range,
// against ~log2(n) hard-to-predict comparisons in a binary heap.
//
// Ties: every bucket keeps its events in insertion order. A push appends
// (its sequence number is the highest yet), and a bucket is refilled from a
// higher one only while empty, in that one's order; events of equal time
// always share a bucket. So bucket 0, the events at one time, comes out in
// insertion order: exactly the order of a heap on (time, sequence).
class EventQueue {
  public:
    // push() schedules an event; `time_ns` must not precede the last pop.
    void push(uint64_t time_ns, EventKind kind, uint32_t target, uint16_t gen = 0) {
        SCHEDKIT_CHECK(time_ns >= last_ns_, "event scheduled before the simulated clock");
        size_t b = place(Event{time_ns, seq_++, target, gen, kind});
        ++size_;
        if (min_known_ && time_ns < min_ns_)
            remember_min(b, buckets_[b].size() - 1);
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
    const Event& peek() {
        if (head_ != buckets_[0].size())
            return buckets_[0][head_];
        if (!min_known_) {
            size_t b = lowest_bucket();
            remember_min(b, earliest(buckets_[b]));
        }
        return buckets_[min_bucket_][min_index_];
    }
    Event pop() {
        if (head_ == buckets_[0].size())
            refill();
        Event e = buckets_[0][head_];
        if (++head_ == buckets_[0].size()) {
            buckets_[0].clear();
            head_ = 0;
        }
        --size_;
        min_known_ = false;
        return e;
    }

  private:
    static constexpr size_t kBuckets = 65;  // 0, and one per bit of a 64-bit time

    // Bucket is a growable array whose append inlines to a store and a
    // compare (std::vector's push_back did not inline here, and appends are
    // the queue's inner loop). Keeps its capacity when cleared.
    class Bucket {
      public:
        void push_back(const Event& e) {
            if (size_ == cap_)
                grow();
            data_[size_++] = e;
        }
        size_t size() const { return size_; }
        const Event& operator[](size_t i) const { return data_[i]; }
        const Event* begin() const { return data_.get(); }
        const Event* end() const { return data_.get() + size_; }
        void clear() { size_ = 0; }

      private:
        [[gnu::noinline]] void grow() {
            cap_ = std::max<size_t>(64, cap_ * 2);
            auto bigger = std::make_unique_for_overwrite<Event[]>(cap_);
            std::copy(begin(), end(), bigger.get());
            data_ = std::move(bigger);
        }
        std::unique_ptr<Event[]> data_;
        size_t size_ = 0;
        size_t cap_ = 0;
    };

    size_t bucket_of(uint64_t time_ns) const {
        return static_cast<size_t>(std::bit_width(time_ns ^ last_ns_));
    }
    size_t lowest_bucket() const {
        SCHEDKIT_CHECK(nonempty_ != 0, "pop from an empty event queue");
        return static_cast<size_t>(std::countr_zero(nonempty_)) + 1;
    }
    // earliest() is the index of a bucket's first event of its earliest time.
    static size_t earliest(const Bucket& bucket) {
        size_t best = 0;
        for (size_t i = 1; i < bucket.size(); ++i)
            best = bucket[i].time_ns < bucket[best].time_ns ? i : best;
        return best;
    }
    void remember_min(size_t bucket, size_t index) {
        min_bucket_ = bucket;
        min_index_ = index;
        min_ns_ = buckets_[bucket][index].time_ns;
        min_known_ = true;
    }
    // Inlined: it is the inner loop of refill().
    [[gnu::always_inline]] size_t place(const Event& e) {
        size_t b = bucket_of(e.time_ns);
        buckets_[b].push_back(e);
        if (b != 0)
            nonempty_ |= uint64_t{1} << (b - 1);
        return b;
    }

    // refill() moves the lowest non-empty bucket down once bucket 0 ran dry:
    // its earliest time becomes the clock, so those events land in bucket 0
    // and the rest in buckets below this one.
    void refill() {
        size_t b = lowest_bucket();
        Bucket& from = buckets_[b];
        last_ns_ = min_known_ ? min_ns_ : from[earliest(from)].time_ns;
        nonempty_ &= ~(uint64_t{1} << (b - 1));
        for (const Event& e : from)
            place(e);
        from.clear();
    }

    std::array<Bucket, kBuckets> buckets_;
    size_t head_ = 0;        // bucket 0's events before head_ were popped
    uint64_t nonempty_ = 0;  // bit k-1: bucket k > 0 holds events
    uint64_t last_ns_ = 0;   // the time bucket indexes are relative to
    // peek()'s answer while bucket 0 is empty: where the lowest bucket's
    // earliest event is, kept up by pushes, forgotten at a pop.
    size_t min_bucket_ = 0;
    size_t min_index_ = 0;
    uint64_t min_ns_ = 0;
    bool min_known_ = false;
    uint64_t seq_ = 0;
    size_t size_ = 0;
};

}  // namespace schedkit::sim
