// runtime_bench.cpp: the runtime's costs next to their baselines, in one
// binary so that every ratio comes from the same run: oneTBB for task
// spawning and fork-join (and Boost.Fiber, when installed, for fork-join),
// a raw atomic ping-pong between two pinned threads
// for cross-CPU wakeups, and getrusage for CPU burnt while idle.
#include <benchmark/benchmark.h>
#ifdef SCHEDKIT_BENCH_BOOST_FIBER
#include <boost/fiber/algo/work_stealing.hpp>
#include <boost/fiber/all.hpp>
#endif
#include <pthread.h>
#include <sys/resource.h>
#include <tbb/task_arena.h>
#include <tbb/task_group.h>

#include <atomic>
#include <cstdint>
#include <thread>

#include "schedkit/runtime.h"
#include "schedkit/sync.h"

namespace {

using schedkit::Job;
using schedkit::Runtime;

int all_cpus() {
    return static_cast<int>(std::thread::hardware_concurrency());
}
int workers_arg(const benchmark::State& state) {
    return state.range(0) == 0 ? all_cpus() : static_cast<int>(state.range(0));
}
// Benchmarks measure scheduling, not the report: recording is off.
Runtime::Config bench_config(int workers) {
    return Runtime::Config{}.with_workers(workers).with_record(false);
}

// ---- spawn and complete empty tasks -------------------------------------

constexpr int kSpawnBatch = 10'000;

// Under `steal`, the policy meant for fork-join (oneTBB steals too): a
// task's spawns stay on its CPU, idle CPUs steal them. BM_SpawnStatic runs
// the same loop under `static`, whose spawns go round-robin over the CPUs.
void spawn_loop(benchmark::State& state, const char* policy) {
    Runtime rt(bench_config(workers_arg(state)).with_policy(policy));
    rt.start();
    for (auto _ : state) {
        rt.block_on([]() -> Job<void> {
            schedkit::WaitGroup wg(kSpawnBatch);
            for (int i = 0; i < kSpawnBatch; ++i)
                schedkit::spawn([&wg] { wg.done(); }).detach();
            co_await wg.wait();
        }());
    }
    state.SetItemsProcessed(state.iterations() * kSpawnBatch);
}
void BM_Spawn_schedkit(benchmark::State& state) {
    spawn_loop(state, "steal");
}
BENCHMARK(BM_Spawn_schedkit)->Arg(1)->Arg(0)->UseRealTime();
void BM_SpawnStatic_schedkit(benchmark::State& state) {
    spawn_loop(state, "static");
}
BENCHMARK(BM_SpawnStatic_schedkit)->Arg(1)->Arg(0)->UseRealTime();

void BM_Spawn_tbb(benchmark::State& state) {
    tbb::task_arena arena(workers_arg(state));
    for (auto _ : state) {
        arena.execute([] {
            tbb::task_group tg;
            for (int i = 0; i < kSpawnBatch; ++i)
                tg.run([] {});
            tg.wait();
        });
    }
    state.SetItemsProcessed(state.iterations() * kSpawnBatch);
}
BENCHMARK(BM_Spawn_tbb)->Arg(1)->Arg(0)->UseRealTime();

// ---- fork-join fib(30) ---------------------------------------------------

constexpr int kFib = 30;

Job<uint64_t> fib(int n) {
    if (n < 2)
        co_return static_cast<uint64_t>(n);
    auto left = schedkit::spawn(fib(n - 1));
    uint64_t right = co_await fib(n - 2);
    co_return co_await left + right;
}

uint64_t tbb_fib(int n) {
    if (n < 2)
        return static_cast<uint64_t>(n);
    uint64_t left = 0;
    tbb::task_group tg;
    tg.run([&] { left = tbb_fib(n - 1); });
    uint64_t right = tbb_fib(n - 2);
    tg.wait();
    return left + right;
}

void BM_Fib_schedkit(benchmark::State& state) {
    Runtime rt(bench_config(workers_arg(state)).with_policy("steal"));
    rt.start();
    for (auto _ : state)
        benchmark::DoNotOptimize(rt.block_on(fib(kFib)));
}
BENCHMARK(BM_Fib_schedkit)->Arg(0)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Fib_tbb(benchmark::State& state) {
    tbb::task_arena arena(workers_arg(state));
    for (auto _ : state)
        arena.execute([] { benchmark::DoNotOptimize(tbb_fib(kFib)); });
}
BENCHMARK(BM_Fib_tbb)->Arg(0)->Unit(benchmark::kMillisecond)->UseRealTime();

// ---- skynet: a 10-ary tree of 1,000,000 leaf tasks summing their ids ------

Job<uint64_t> skynet(uint64_t num, uint64_t size) {
    if (size == 1)
        co_return num;
    std::vector<schedkit::JoinHandle<uint64_t>> kids;
    kids.reserve(10);
    uint64_t step = size / 10;
    for (uint64_t i = 0; i < 10; ++i)
        kids.push_back(schedkit::spawn(skynet(num + i * step, step)));
    uint64_t sum = 0;
    for (auto& k : kids)
        sum += co_await k;
    co_return sum;
}

uint64_t tbb_skynet(uint64_t num, uint64_t size) {
    if (size == 1)
        return num;
    uint64_t sums[10] = {};
    uint64_t step = size / 10;
    tbb::task_group tg;
    for (uint64_t i = 0; i < 10; ++i)
        tg.run([&sums, i, num, step] { sums[i] = tbb_skynet(num + i * step, step); });
    tg.wait();
    uint64_t sum = 0;
    for (uint64_t s : sums)
        sum += s;
    return sum;
}

constexpr uint64_t kSkynet = 1'000'000;
constexpr uint64_t kSkynetSum = kSkynet * (kSkynet - 1) / 2;

void BM_Skynet_schedkit(benchmark::State& state) {
    Runtime rt(bench_config(workers_arg(state)).with_policy("steal"));
    rt.start();
    for (auto _ : state)
        if (rt.block_on(skynet(0, kSkynet)) != kSkynetSum)
            state.SkipWithError("wrong skynet sum");
}
BENCHMARK(BM_Skynet_schedkit)->Arg(0)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Skynet_tbb(benchmark::State& state) {
    tbb::task_arena arena(workers_arg(state));
    for (auto _ : state)
        arena.execute([&] {
            if (tbb_skynet(0, kSkynet) != kSkynetSum)
                state.SkipWithError("wrong skynet sum");
        });
}
BENCHMARK(BM_Skynet_tbb)->Arg(0)->Unit(benchmark::kMillisecond)->UseRealTime();

// ---- Boost.Fiber: a second peer for fork-join -----------------------------
//
// Boost.Fiber's work-stealing scheduler on all CPUs: the benchmark's thread
// plus one helper per other CPU, each a fiber scheduler; helpers sleep when
// idle (suspend = true). The scheduler is per process and per thread, so it is
// set up once, on first use, and the helpers live until the process exits.
#ifdef SCHEDKIT_BENCH_BOOST_FIBER
void boost_fiber_setup() {
    static bool ready = [] {
        auto n = static_cast<uint32_t>(all_cpus());
        for (uint32_t i = 1; i < n; ++i)
            std::thread([n] {
                boost::fibers::use_scheduling_algorithm<boost::fibers::algo::work_stealing>(n,
                                                                                            true);
                // Park this thread's main fiber forever; the scheduler runs
                // stolen fibers meanwhile.
                boost::fibers::mutex mu;
                boost::fibers::condition_variable cv;
                std::unique_lock lk(mu);
                cv.wait(lk, [] { return false; });
            }).detach();
        boost::fibers::use_scheduling_algorithm<boost::fibers::algo::work_stealing>(n, true);
        return true;
    }();
    (void)ready;
}

uint64_t bf_fib(int n) {
    if (n < 2)
        return static_cast<uint64_t>(n);
    auto left = boost::fibers::async(bf_fib, n - 1);
    uint64_t right = bf_fib(n - 2);
    return left.get() + right;
}

void BM_Fib_boostfiber(benchmark::State& state) {
    boost_fiber_setup();
    for (auto _ : state)
        benchmark::DoNotOptimize(bf_fib(kFib));
}
BENCHMARK(BM_Fib_boostfiber)->Unit(benchmark::kMillisecond)->UseRealTime();

uint64_t bf_skynet(uint64_t num, uint64_t size) {
    if (size == 1)
        return num;
    boost::fibers::future<uint64_t> kids[10];
    uint64_t step = size / 10;
    for (uint64_t i = 0; i < 10; ++i)
        kids[i] = boost::fibers::async(bf_skynet, num + i * step, step);
    uint64_t sum = 0;
    for (auto& k : kids)
        sum += k.get();
    return sum;
}

void BM_Skynet_boostfiber(benchmark::State& state) {
    boost_fiber_setup();
    for (auto _ : state)
        if (bf_skynet(0, kSkynet) != kSkynetSum)
            state.SkipWithError("wrong skynet sum");
}
BENCHMARK(BM_Skynet_boostfiber)->Unit(benchmark::kMillisecond)->UseRealTime();
#endif

// ---- yield ---------------------------------------------------------------

constexpr int kYields = 100'000;

void BM_Yield_schedkit(benchmark::State& state) {
    Runtime rt(bench_config(1));
    rt.start();
    for (auto _ : state)
        rt.block_on([]() -> Job<void> {
            for (int i = 0; i < kYields; ++i)
                co_await schedkit::yield();
        }());
    state.SetItemsProcessed(state.iterations() * kYields);
}
BENCHMARK(BM_Yield_schedkit)->UseRealTime();

// Two tasks on one worker: every yield is a real switch through the queue.
void BM_YieldSwitch_schedkit(benchmark::State& state) {
    Runtime rt(bench_config(1));
    rt.start();
    for (auto _ : state) {
        auto other = rt.spawn([]() -> Job<void> {
            for (int i = 0; i < kYields / 2; ++i)
                co_await schedkit::yield();
        });
        rt.block_on([]() -> Job<void> {
            for (int i = 0; i < kYields / 2; ++i)
                co_await schedkit::yield();
        }());
        other.get();
    }
    state.SetItemsProcessed(state.iterations() * kYields);
}
BENCHMARK(BM_YieldSwitch_schedkit)->UseRealTime();

// ---- cross-CPU ping-pong -------------------------------------------------

constexpr int kRounds = 20'000;

// Cross-CPU ping-pong: two tasks pinned to CPUs 0 and 1 hand a permit back
// and forth. BM_PingPong_schedkit/1 runs with the defaults (Config{}: a task
// spins up to wait_spin_ns = 20 us before it waits, so the answer is usually
// taken without blocking); /0 turns the spin off, so every round blocks and
// wakes through the scheduler (the remote wake).
void BM_PingPong_schedkit(benchmark::State& state) {
    if (all_cpus() < 2) {
        state.SkipWithError("needs two CPUs");
        return;
    }
    Runtime::Config cfg = bench_config(2);
    if (state.range(0) == 0)
        cfg.wait_spin_ns = 0;
    Runtime rt(cfg);
    rt.start();
    for (auto _ : state) {
        schedkit::Semaphore ping(0), pong(0);
        schedkit::SpawnOptions on1;
        on1.affinity = schedkit::CpuSet::single(1);
        auto b = rt.spawn(
            [&]() -> Job<void> {
                for (int i = 0; i < kRounds; ++i) {
                    co_await ping.acquire();
                    pong.release();
                }
            },
            on1);
        schedkit::SpawnOptions on0;
        on0.affinity = schedkit::CpuSet::single(0);
        rt.spawn(
              [&]() -> Job<void> {
                  for (int i = 0; i < kRounds; ++i) {
                      ping.release();
                      co_await pong.acquire();
                  }
              },
              on0)
            .get();
        b.get();
    }
    state.SetItemsProcessed(state.iterations() * kRounds);  // round trips
}
BENCHMARK(BM_PingPong_schedkit)->Arg(0)->Arg(1)->UseRealTime();

void pin_to(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

// The hardware floor: two threads pinned to CPUs 0 and 1 flipping an atomic.
void BM_PingPong_atomic(benchmark::State& state) {
    if (all_cpus() < 2) {
        state.SkipWithError("needs two CPUs");
        return;
    }
    for (auto _ : state) {
        alignas(64) std::atomic<int> turn{0};
        std::thread b([&] {
            pin_to(1);
            for (int i = 0; i < kRounds; ++i) {
                while (turn.load(std::memory_order_acquire) != 1) {
                }
                turn.store(0, std::memory_order_release);
            }
        });
        std::thread a([&] {
            pin_to(0);
            for (int i = 0; i < kRounds; ++i) {
                turn.store(1, std::memory_order_release);
                while (turn.load(std::memory_order_acquire) != 0) {
                }
            }
        });
        a.join();
        b.join();
    }
    state.SetItemsProcessed(state.iterations() * kRounds);
}
BENCHMARK(BM_PingPong_atomic)->UseRealTime();

// The floor of any hand-off between two primitives (the ping-pong's two
// semaphores): two pinned threads, each writing its own flag (a round
// number) and polling the other's. Two lines move per round trip where
// BM_PingPong_atomic moves one line back and forth. Both poll as that one
// does, without a pause.
void BM_PingPong_atomic_two_lines(benchmark::State& state) {
    if (all_cpus() < 2) {
        state.SkipWithError("needs two CPUs");
        return;
    }
    for (auto _ : state) {
        alignas(64) std::atomic<int> ping{0};
        alignas(64) std::atomic<int> pong{0};
        std::thread b([&] {
            pin_to(1);
            for (int i = 1; i <= kRounds; ++i) {
                while (ping.load(std::memory_order_acquire) != i) {
                }
                pong.store(i, std::memory_order_release);
            }
        });
        std::thread a([&] {
            pin_to(0);
            for (int i = 1; i <= kRounds; ++i) {
                ping.store(i, std::memory_order_release);
                while (pong.load(std::memory_order_acquire) != i) {
                }
            }
        });
        a.join();
        b.join();
    }
    state.SetItemsProcessed(state.iterations() * kRounds);
}
BENCHMARK(BM_PingPong_atomic_two_lines)->UseRealTime();

// ---- CPU burnt by an idle runtime ----------------------------------------

double process_cpu_s() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

void BM_IdleCpu_schedkit(benchmark::State& state) {
    Runtime rt(bench_config(0));
    rt.start();
    rt.block_on([]() -> Job<void> { co_return; }());  // every worker has run once
    for (auto _ : state) {
        double before = process_cpu_s();
        auto t0 = std::chrono::steady_clock::now();
        std::this_thread::sleep_for(std::chrono::seconds(1));
        double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        state.counters["cpu_pct_of_one_cpu"] = 100.0 * (process_cpu_s() - before) / wall;
    }
}
BENCHMARK(BM_IdleCpu_schedkit)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
