// cpu_bits.h: lock-free bitmaps of CPUs by run-queue state (idle,
// overloaded, ...), kept by the scheduler core as queues change, so policies
// and executors find an idle or an overloaded CPU in a few word loads
// instead of reading every CPU's counters.
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdint>
#include <memory>

namespace schedkit {

// CpuBits is a fixed-size set of CPU ids whose bits are set and cleared
// with relaxed atomic read-modify-writes: the writer of a CPU's bit holds
// that CPU's queue lock, readers take no lock and read a hint (as they read
// RunQueue::nr_running). count() is exact once writers are quiet (always in
// the simulator, which is single-threaded). A flip writes the one word and
// nothing else: in the runtime the sets change at every idle/busy
// transition, and every shared line written moves between CPUs (so there
// is no counter beside the words; count() and any() read the words).
class CpuBits {
  public:
    CpuBits() = default;
    explicit CpuBits(int num_cpus) { resize(num_cpus); }

    void resize(int num_cpus) {
        n_ = num_cpus;
        words_ = static_cast<size_t>((num_cpus + 63) / 64);
        bits_ = std::make_unique<std::atomic<uint64_t>[]>(words_);
    }
    int size() const { return n_; }

    void set(int cpu) { bits_[word(cpu)].fetch_or(mask(cpu), std::memory_order_relaxed); }
    void clear(int cpu) { bits_[word(cpu)].fetch_and(~mask(cpu), std::memory_order_relaxed); }
    bool test(int cpu) const {
        return (bits_[word(cpu)].load(std::memory_order_relaxed) & mask(cpu)) != 0;
    }
    // count() is how many bits are set; any() says whether one is. Both
    // read the words (one per 64 CPUs).
    int count() const {
        int n = 0;
        for (size_t w = 0; w < words_; ++w)
            n += std::popcount(bits_[w].load(std::memory_order_relaxed));
        return n;
    }
    bool any() const {
        for (size_t w = 0; w < words_; ++w)
            if (bits_[w].load(std::memory_order_relaxed) != 0)
                return true;
        return false;
    }

    // next() is the first set CPU id in [from, end), or -1.
    int next(int from, int end) const {
        if (from < 0)
            from = 0;
        if (end > n_)
            end = n_;
        while (from < end) {
            size_t w = word(from);
            uint64_t v = bits_[w].load(std::memory_order_relaxed) & (~uint64_t{0} << (from % 64));
            if (v != 0) {
                int c = static_cast<int>(w * 64) + std::countr_zero(v);
                return c < end ? c : -1;
            }
            from = static_cast<int>((w + 1) * 64);
        }
        return -1;
    }
    int next(int from) const { return next(from, n_); }
    // all() says whether every id in [lo, hi) is set.
    bool all(int lo, int hi) const {
        while (lo < hi) {
            size_t w = word(lo);
            int end = std::min(hi, static_cast<int>((w + 1) * 64));
            uint64_t want = (end - lo == 64 ? ~uint64_t{0} : ((uint64_t{1} << (end - lo)) - 1))
                            << (lo % 64);
            if ((bits_[w].load(std::memory_order_relaxed) & want) != want)
                return false;
            lo = end;
        }
        return true;
    }
    int first() const { return next(0, n_); }
    // next_wrap() is the first set CPU id in [lo, hi) at or after `from`
    // (lo <= from < hi), wrapping around to lo: the nearest ids first, as a
    // scan of (from + d) % span would find them.
    int next_wrap(int from, int lo, int hi) const {
        int c = next(from, hi);
        return c >= 0 ? c : next(lo, from);
    }

  private:
    static size_t word(int cpu) { return static_cast<size_t>(cpu) / 64; }
    static uint64_t mask(int cpu) { return uint64_t{1} << (static_cast<unsigned>(cpu) % 64); }

    int n_ = 0;
    size_t words_ = 0;
    std::unique_ptr<std::atomic<uint64_t>[]> bits_;
};

}  // namespace schedkit
