// cpuset.h: a dynamic set of CPU ids with Linux list syntax.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace schedkit {

// kMaxCpuId is the largest CPU number schedkit reads anywhere (a CPU list,
// an OS index in a synthetic topology's "indexes=" attribute): one above it
// is certainly a typo, and refusing it keeps a stray "0-4000000000" from
// allocating gigabytes of bitmap.
inline constexpr int kMaxCpuId = 1 << 20;

// CpuSet is a dynamically sized bitset of CPU ids. It parses and prints the
// Linux list syntax used by /sys and taskset ("0-3,8,10-11") and supports set
// algebra. A CpuSet is a value type; it is not thread-safe to mutate one from
// two threads.
class CpuSet {
  public:
    CpuSet() = default;

    // parse() reads Linux list syntax. `what` names the input in errors
    // (e.g. "--cpus"). Throws InputError naming the column on bad text.
    static CpuSet parse(std::string_view text, std::string_view what = "cpu list");
    // range() is the set {first, ..., last}.
    static CpuSet range(int first, int last);
    // first_n() is the set {0, ..., n-1}.
    static CpuSet first_n(int n) { return n > 0 ? range(0, n - 1) : CpuSet{}; }
    static CpuSet single(int cpu);

    void set(int cpu);
    void reset(int cpu);
    bool test(int cpu) const;
    void clear() { words_.clear(); }

    // count() is the number of CPUs in the set.
    int count() const;
    bool empty() const;
    // first() is the lowest CPU, or -1 when empty.
    int first() const;
    // next() is the lowest CPU above `cpu`, or -1.
    int next(int cpu) const;
    // last() is the highest CPU, or -1 when empty.
    int last() const;

    bool intersects(const CpuSet& other) const;
    bool is_subset_of(const CpuSet& other) const;

    CpuSet& operator|=(const CpuSet& o);
    CpuSet& operator&=(const CpuSet& o);
    CpuSet& operator-=(const CpuSet& o);  // difference
    friend CpuSet operator|(CpuSet a, const CpuSet& b) { return a |= b; }
    friend CpuSet operator&(CpuSet a, const CpuSet& b) { return a &= b; }
    friend CpuSet operator-(CpuSet a, const CpuSet& b) { return a -= b; }
    friend bool operator==(const CpuSet& a, const CpuSet& b);
    // operator< is a total order (not inclusion), for maps keyed by set.
    friend bool operator<(const CpuSet& a, const CpuSet& b);

    // to_string() prints list syntax with maximal ranges ("0-3,8"); "" if empty.
    std::string to_string() const;
    std::vector<int> to_vector() const;

    // for_each() calls fn(cpu) for each CPU in ascending order.
    template <typename Fn>
    void for_each(Fn&& fn) const {
        for (int c = first(); c >= 0; c = next(c))
            fn(c);
    }

  private:
    void trim();
    std::vector<uint64_t> words_;  // no trailing zero words
};

}  // namespace schedkit
