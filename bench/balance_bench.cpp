// The cost of the balancers on a 1,024-CPU synthetic machine, against the
// floor every balancer that looks at the whole machine pays: one read of
// each run queue's summary.
//
//   build/bin/balance_bench
//
// Ratios matter, not absolute times: BM_FloorScanAllQueues is the baseline
// measured in the same run (docs/PERFORMANCE.md).
#include <benchmark/benchmark.h>

#include "policy/fair/fair_policy.h"
#include "policy_support.h"
#include "schedkit/policy_registry.h"

using namespace schedkit;
using schedkit::test::HandBuilt;

namespace {

constexpr const char* kTopo1024 = "pack:4 l3:4 core:32 pu:2";

// A machine where every CPU runs one task and queues one more: balanced at
// every level, so a pass walks all of them and moves nothing.
std::unique_ptr<HandBuilt> busy_machine(int extra_on_last = 0) {
    auto h = std::make_unique<HandBuilt>(Topology::synthetic(kTopo1024));
    int n = h->s().num_cpus();
    for (int c = 0; c < n; ++c) {
        h->put(c);
        h->put(c);
        h->run(c);
    }
    for (int i = 0; i < extra_on_last; ++i)
        h->put(n - 1);
    return h;
}

void BM_FloorScanAllQueues(benchmark::State& state) {
    auto h = busy_machine();
    Scheduler& s = h->s();
    for (auto _ : state) {
        uint64_t sum = 0;
        for (int c = 0; c < s.num_cpus(); ++c)
            sum += s.rq(c).load_weight.load(std::memory_order_relaxed) +
                   static_cast<uint64_t>(s.rq(c).nr_running.load(std::memory_order_relaxed));
        benchmark::DoNotOptimize(sum);
    }
    state.counters["cpus"] = s.num_cpus();
}
BENCHMARK(BM_FloorScanAllQueues);

// One full periodic pass of CPU 0: every domain level from SMT to the whole
// machine, each finding its busiest group (balanced: nothing moves).
void BM_FairFullPassBalanced(benchmark::State& state) {
    auto h = busy_machine();
    auto* f = h->use(std::make_unique<fair::FairPolicy>());
    int levels = f->topology().num_levels();
    uint64_t now = 1'000'000'000;
    for (auto _ : state) {
        int moved = 0;
        for (int l = 0; l < levels; ++l)
            moved += f->load_balance(h->s(), 0, l, fair::IdleType::Busy, now);
        benchmark::DoNotOptimize(moved);
        now += 1000;
    }
    state.counters["levels"] = levels;
}
BENCHMARK(BM_FairFullPassBalanced)->Unit(benchmark::kMicrosecond);

// A full pass that finds the far package overloaded and pulls across the
// machine (the pulled tasks are sent back untimed).
void BM_FairFullPassPulling(benchmark::State& state) {
    auto h = busy_machine(256);
    Scheduler& s = h->s();
    auto* f = h->use(std::make_unique<fair::FairPolicy>(fair::FairConfig{0, 32, 1'000'000}));
    int levels = f->topology().num_levels();
    int last = s.num_cpus() - 1;
    uint64_t now = 1'000'000'000;
    int64_t pulled = 0;
    for (auto _ : state) {
        int moved = 0;
        for (int l = 0; l < levels; ++l)
            moved += f->load_balance(s, 0, l, fair::IdleType::Busy, now);
        state.PauseTiming();
        pulled += moved;
        auto back =
            s.detach_tasks(0, s.rq(0).nr_queued.load() - 1, [](const Task&) { return true; });
        s.attach_tasks(last, back, 0, now);
        now += 1000;
        state.ResumeTiming();
    }
    state.counters["pulled_per_pass"] =
        benchmark::Counter(static_cast<double>(pulled), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_FairFullPassPulling)->Unit(benchmark::kMicrosecond);

// steal's newidle on an idle CPU of a machine with nothing to steal: the
// worst case, every victim of every level tried once.
void BM_StealNewidleNothingToSteal(benchmark::State& state) {
    auto h = std::make_unique<HandBuilt>(Topology::synthetic(kTopo1024));
    for (int c = 1; c < h->s().num_cpus(); ++c) {
        h->put(c);
        h->run(c);
    }
    Policy* p = h->use(make_policy("steal"));
    for (auto _ : state)
        p->newidle(h->s(), 0, 1000);
}
BENCHMARK(BM_StealNewidleNothingToSteal)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
