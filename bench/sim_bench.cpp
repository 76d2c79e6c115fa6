// Simulator throughput: events per second of wall time, and how the cost
// per event grows with tasks and CPUs.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "schedkit/policy_registry.h"
#include "schedkit/sim.h"
#include "sim_support.h"

using namespace schedkit;
using namespace schedkit::test;

namespace {

// A mixed workload: each task runs an exponential burst (mean 2 ms), blocks
// (mean 1 ms) and runs again, three times; arrivals spread over 100 ms.
WorkloadSpec mixed(int tasks) {
    GroupSpec g = group("w", tasks, {run(0), block(0), run(0)}, 3);
    g.behavior[0].duration = Duration{Duration::Kind::Exp, 2 * kMs, 0};
    g.behavior[1].duration = Duration{Duration::Kind::Exp, kMs, 0};
    g.behavior[2].duration = Duration{Duration::Kind::Uniform, 100 * kUs, 500 * kUs};
    g.arrival = Arrival{Arrival::Kind::Poisson, 0, static_cast<double>(tasks) * 10.0};
    return spec({g}, 7);
}

// A topology with `cpus` CPUs: packages of 2 LLCs of 8 SMT-2 cores.
Topology machine(int cpus) {
    if (cpus <= 32)
        return Topology::synthetic(fmt::format("pack:1 l3:1 core:{} pu:2", cpus / 2));
    return Topology::synthetic(fmt::format("pack:{} l3:2 core:8 pu:2", cpus / 32));
}

void run_sim(benchmark::State& state, const char* policy) {
    int cpus = static_cast<int>(state.range(0));
    int tasks = static_cast<int>(state.range(1));
    WorkloadSpec w = mixed(tasks);
    Topology topo = machine(cpus);
    uint64_t events = 0;
    for (auto _ : state) {
        Simulator sim(w, topo, make_policy(policy));
        SimResult r = sim.run();
        if (!r.completed || r.summary.lost != 0)
            state.SkipWithError("simulation did not complete");
        events += r.summary.events;
    }
    state.counters["events"] = benchmark::Counter(static_cast<double>(events) / state.iterations());
    state.counters["events_per_s"] =
        benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
    state.counters["ns_per_event"] = benchmark::Counter(
        static_cast<double>(events), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_SimStatic(benchmark::State& state) {
    run_sim(state, "static");
}

// Scale/<policy>: the cost per event as CPUs grow, per policy (issue #11's
// aim: flat from 16 to 1,024 CPUs). Run them together so the ratios against
// static at 16 CPUs come from one session.
void BM_Scale(benchmark::State& state, const char* policy) {
    run_sim(state, policy);
}

// scale_points() is BM_Scale's grid: 10,000 tasks on 16, 256 and 1,024 CPUs,
// one run each.
void scale_points(benchmark::internal::Benchmark* b) {
    for (int64_t cpus : {16, 256, 1024})
        b->Args({cpus, 10'000});
    b->Unit(benchmark::kMillisecond)->Iterations(1);
}

}  // namespace

// The headline: 256 CPUs, 100,000 tasks. Then growth with tasks (at 256
// CPUs) and with CPUs (at 10,000 tasks).
BENCHMARK(BM_SimStatic)
    ->Args({256, 100'000})
    ->Args({256, 1'000})
    ->Args({256, 10'000})
    ->Args({16, 10'000})
    ->Args({64, 10'000})
    ->Args({1024, 10'000})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

BENCHMARK_CAPTURE(BM_Scale, static, "static")->Apply(scale_points);
BENCHMARK_CAPTURE(BM_Scale, fifo, "fifo")->Apply(scale_points);
BENCHMARK_CAPTURE(BM_Scale, fair, "fair")->Apply(scale_points);
BENCHMARK_CAPTURE(BM_Scale, steal, "steal")->Apply(scale_points);

BENCHMARK_MAIN();
