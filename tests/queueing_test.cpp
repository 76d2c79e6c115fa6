// The simulator against queueing theory: M/M/c under `fifo` is the Erlang-C
// queue, whose mean wait has a closed form nobody on the project wrote.
#include <gtest/gtest.h>

#include <cmath>

#include "schedkit/policy_registry.h"
#include "schedkit/sim.h"
#include "sim_support.h"

using namespace schedkit;
using namespace schedkit::test;

namespace {

// erlang_c_wait_s() is the mean time an M/M/c customer waits before service
// with arrival rate `lambda` and service rate `mu` per server:
// C(c, a) / (c mu - lambda), a = lambda / mu, where C is the Erlang C
// probability of waiting.
double erlang_c_wait_s(int c, double lambda, double mu) {
    double a = lambda / mu;
    double term = 1.0;  // a^k / k!
    double sum = 0.0;
    for (int k = 0; k < c; ++k) {
        sum += term;
        term *= a / (k + 1);
    }
    // term is now a^c / c!
    double tail = term * c / (c - a);
    double p_wait = tail / (sum + tail);
    return p_wait / (c * mu - lambda);
}

// Mean wait of `tasks` Poisson arrivals with exponential 1 ms service on c
// CPUs at utilisation rho, under fifo, with no switch or migration costs.
double simulated_wait_us(int c, double rho, int tasks, uint64_t seed) {
    GroupSpec g;
    g.name = "job";
    g.count = tasks;
    g.arrival.kind = Arrival::Kind::Poisson;
    g.arrival.rate_per_s = rho * c * 1000.0;
    Step s;
    s.kind = Step::Kind::Run;
    s.duration = Duration{Duration::Kind::Exp, 1'000'000, 0};
    g.behavior = {s};
    WorkloadSpec w = spec({g}, seed);
    SimConfig cfg;
    cfg.context_switch_ns = 0;
    cfg.migration_cost_ns.fill(0);
    SimResult r = Simulator(w, Topology::flat(c), make_policy("fifo"), cfg).run();
    EXPECT_TRUE(r.completed);
    EXPECT_EQ(r.summary.completed, static_cast<uint64_t>(tasks));
    // FCFS without a time slice: one wait per task.
    EXPECT_EQ(r.summary.wait_us.n, static_cast<uint64_t>(tasks));
    return r.summary.wait_us.mean;
}

}  // namespace

TEST(Queueing, ErlangCFormulaKnownValues) {
    // M/M/1: W_q = rho / (mu - lambda).
    EXPECT_NEAR(erlang_c_wait_s(1, 800, 1000), 0.8 / 200, 1e-12);
    // M/M/2 at a = 1: C = 1/3, W_q = (1/3) / (2 - 1) per unit service rate.
    EXPECT_NEAR(erlang_c_wait_s(2, 1, 1), 1.0 / 3.0, 1e-12);
}

TEST(Queueing, FifoMatchesErlangCAtRho08) {
    constexpr double kRho = 0.8;
    for (int c : {1, 8, 32}) {
        SCOPED_TRACE(c);
        double sum = 0;
        constexpr int kSeeds = 4;
        for (uint64_t seed = 1; seed <= kSeeds; ++seed)
            sum += simulated_wait_us(c, kRho, 100'000, seed);
        double simulated = sum / kSeeds;
        double expected = erlang_c_wait_s(c, kRho * c * 1000.0, 1000.0) * 1e6;
        RecordProperty("c" + std::to_string(c) + "_ratio", std::to_string(simulated / expected));
        std::printf("M/M/%d rho %.1f: simulated mean wait %.2f us, Erlang C %.2f us, ratio %.3f\n",
                    c, kRho, simulated, expected, simulated / expected);
        EXPECT_NEAR(simulated / expected, 1.0, 0.05);
    }
}

TEST(Queueing, StealTakesAnArrivalQueuedOnABusyCpuAtOnce) {
    // Two CPUs; steal hands arrivals round-robin: long -> CPU 0, short ->
    // CPU 1 (idle again from 100 us), late -> CPU 0, busy with long. CPU 1
    // is kicked and steals late at once instead of at its next retry.
    GroupSpec late = group("late", 1, {run(1 * kMs)});
    late.arrival.at_ns = 1 * kMs;
    WorkloadSpec w =
        spec({group("long", 1, {run(10 * kMs)}), group("short", 1, {run(100 * kUs)}), late});
    SimConfig cfg;
    cfg.context_switch_ns = 0;
    cfg.migration_cost_ns.fill(0);
    SimResult r = Simulator(w, Topology::flat(2), make_policy("steal"), cfg).run();
    ASSERT_TRUE(r.completed);
    ASSERT_EQ(r.summary.groups.size(), 3u);
    EXPECT_EQ(r.summary.groups[2].name, "late");
    EXPECT_DOUBLE_EQ(r.summary.groups[2].wait_us.max, 0.0);
    EXPECT_DOUBLE_EQ(r.summary.groups[2].response_us.max, 1'000.0);
    EXPECT_EQ(r.summary.migrations, 1u);
}
