// work_deque.h: a Chase-Lev work-stealing deque of pointers.
//
// Chase and Lev, "Dynamic Circular Work-Stealing Deque" (SPAA 2005), with the
// memory-order analysis of Le, Pop, Cohen and Zappa Nardelli, "Correct and
// Efficient Work-Stealing for Weak Memory Models" (PPoPP 2013). One owner
// thread pushes and pops at the bottom (LIFO: depth-first, warm caches); any
// thread steals from the top (FIFO: the oldest, usually largest, work).
//
// Where that paper uses a fence next to a relaxed access, this uses a
// seq_cst (or release/acquire) access instead, which costs the same on x86
// (the pop's store to `bottom_` is the one locked instruction of the owner's
// path) and is something ThreadSanitizer understands (it does not model
// stand-alone fences).
//
// The array grows by doubling when full; a thief may still be reading an old
// array, so old arrays are kept until the deque is destroyed (the total is
// less than the final array's size).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace schedkit::detail {

template <typename T>
class WorkDeque {
    static_assert(std::is_pointer_v<T>, "WorkDeque holds pointers (null means empty)");

  public:
    explicit WorkDeque(int log2_capacity = 8) : array_(new Array(int64_t{1} << log2_capacity)) {}
    ~WorkDeque() { delete array_.load(std::memory_order_relaxed); }
    WorkDeque(const WorkDeque&) = delete;
    WorkDeque& operator=(const WorkDeque&) = delete;

    // push() adds `x` at the bottom. Owner only.
    void push(T x) {
        int64_t b = bottom_.load(std::memory_order_relaxed);
        Array* a = array_.load(std::memory_order_relaxed);
        // The capacity check uses the owner's copy of `top_`: top only
        // grows, so the copy errs on the full side, and the shared line
        // (which thieves write) is read only when the copy says full.
        if (b - top_seen_ > a->mask) {
            top_seen_ = top_.load(std::memory_order_acquire);
            if (b - top_seen_ > a->mask)
                a = grow(a, top_seen_, b);
        }
        a->put(b, x);
        // Release: a thief that sees the new bottom sees the slot and all
        // the owner wrote to *x before.
        bottom_.store(b + 1, std::memory_order_release);
    }

    // pop() takes the newest entry, or null when empty. Owner only.
    T pop() {
        int64_t b = bottom_.load(std::memory_order_relaxed) - 1;
        Array* a = array_.load(std::memory_order_relaxed);
        // seq_cst store then seq_cst load: either a thief sees the smaller
        // bottom, or we see its larger top (the Dekker handshake).
        bottom_.store(b, std::memory_order_seq_cst);
        int64_t t = top_.load(std::memory_order_seq_cst);
        if (t > b) {  // empty
            bottom_.store(b + 1, std::memory_order_relaxed);
            return nullptr;
        }
        T x = a->get(b);
        if (t == b) {
            // The last entry: race the thieves for it.
            if (!top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst,
                                              std::memory_order_relaxed))
                x = nullptr;
            bottom_.store(b + 1, std::memory_order_relaxed);
        }
        return x;
    }

    // steal() takes the oldest entry, or null when the deque is empty or
    // another thread took that entry first (retry if it matters). Any thread.
    T steal() {
        int64_t t = top_.load(std::memory_order_seq_cst);
        int64_t b = bottom_.load(std::memory_order_seq_cst);
        if (t >= b)
            return nullptr;
        Array* a = array_.load(std::memory_order_acquire);
        T x = a->get(t);
        if (!top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst,
                                          std::memory_order_relaxed))
            return nullptr;
        return x;
    }

    // steal_half() takes the oldest entry and moves up to `max_extra` more
    // (at most half of what is there) onto `into`, the calling thread's own
    // deque: a thief that finds many waiting takes a batch at once instead
    // of coming back for each (Go and Tokio steal half). One steal() per
    // entry: a single CAS over several entries is not safe here, since the
    // owner pops without a CAS while more than one entry is left. Returns
    // the oldest entry (to run now) and the number moved in `moved`.
    T steal_half(WorkDeque& into, int max_extra, int& moved) {
        moved = 0;
        T first = steal();
        if (first == nullptr)
            return nullptr;
        int64_t extra = size_hint() / 2;
        if (extra > max_extra)
            extra = max_extra;
        for (; moved < extra; ++moved) {
            T x = steal();
            if (x == nullptr)
                break;
            into.push(x);
        }
        return first;
    }

    // size_hint() is the number of entries at some recent moment (any
    // thread; exact only for the owner between its own operations).
    int64_t size_hint() const noexcept {
        int64_t b = bottom_.load(std::memory_order_relaxed);
        int64_t t = top_.load(std::memory_order_relaxed);
        return b > t ? b - t : 0;
    }
    bool empty_hint() const noexcept { return size_hint() == 0; }

  private:
    struct Array {
        explicit Array(int64_t capacity)
            : mask(capacity - 1), slots(new std::atomic<T>[static_cast<size_t>(capacity)]) {}
        const int64_t mask;
        std::unique_ptr<std::atomic<T>[]> slots;
        // Relaxed: ordering comes from bottom_ and top_.
        T get(int64_t i) const noexcept {
            return slots[static_cast<size_t>(i & mask)].load(std::memory_order_relaxed);
        }
        void put(int64_t i, T x) noexcept {
            slots[static_cast<size_t>(i & mask)].store(x, std::memory_order_relaxed);
        }
    };

    Array* grow(Array* old, int64_t t, int64_t b) {
        auto* a = new Array((old->mask + 1) * 2);
        for (int64_t i = t; i < b; ++i)
            a->put(i, old->get(i));
        retired_.emplace_back(old);  // a thief may still read it
        array_.store(a, std::memory_order_release);
        return a;
    }

    alignas(64) std::atomic<int64_t> top_{0};     // thieves' end
    alignas(64) std::atomic<int64_t> bottom_{0};  // the owner's end
    std::atomic<Array*> array_;
    int64_t top_seen_ = 0;                         // owner only: top_ at some earlier moment
    std::vector<std::unique_ptr<Array>> retired_;  // owner only
};

}  // namespace schedkit::detail
