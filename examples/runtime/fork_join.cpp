// fork_join.cpp: a recursive fork-join sum over the runtime: each level
// spawns its left half as a new task and computes the right half inline,
// under the `fair` balancer (it spreads the spawned halves over the CPUs).
#include <fmt/format.h>

#include <cstdint>
#include <numeric>
#include <vector>

#include "schedkit/runtime.h"

using schedkit::Job;

// sum() adds v[lo, hi): below the grain it loops, above it forks.
Job<uint64_t> sum(const std::vector<uint32_t>& v, size_t lo, size_t hi) {
    constexpr size_t kGrain = 4096;
    if (hi - lo <= kGrain)
        co_return std::accumulate(v.begin() + static_cast<std::ptrdiff_t>(lo),
                                  v.begin() + static_cast<std::ptrdiff_t>(hi), uint64_t{0});
    size_t mid = lo + (hi - lo) / 2;
    auto left = schedkit::spawn(sum(v, lo, mid));  // a new task: may run on another CPU
    uint64_t right = co_await sum(v, mid, hi);     // inline: this task goes on
    co_return co_await left + right;
}

int main() {
    std::vector<uint32_t> v(1 << 20);
    std::iota(v.begin(), v.end(), 0u);
    uint64_t expected = std::accumulate(v.begin(), v.end(), uint64_t{0});

    schedkit::Runtime rt(schedkit::Runtime::Config{}.with_policy("fair"));
    uint64_t got = rt.block_on(sum(v, 0, v.size()));
    schedkit::StopReport r = rt.stop();
    schedkit::RuntimeStats s = rt.stats();
    fmt::print("sum {} (expected {}), {} tasks, {} migrations\n", got, expected, r.spawned,
               s.summary.migrations);
    return got == expected && r.completed == r.spawned ? 0 : 1;
}
