// workload_dist_test.cpp: the richer service distributions (pareto,
// lognormal, empirical, bimodal) and arrivals (periodic, burst, MMPP,
// trace): their moments against the formulas, and spec errors with places.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "schedkit/error.h"
#include "schedkit/workload.h"

using namespace schedkit;

namespace {

constexpr uint64_t kUs = 1'000;
constexpr uint64_t kMs = 1'000'000;
const std::string kData = std::string(SCHEDKIT_TEST_DATA) + "/workloads/";

struct Moments {
    double mean = 0, sd = 0;
};

Moments moments(const std::vector<double>& xs) {
    Moments m;
    for (double x : xs)
        m.mean += x;
    m.mean /= static_cast<double>(xs.size());
    for (double x : xs)
        m.sd += (x - m.mean) * (x - m.mean);
    m.sd = std::sqrt(m.sd / static_cast<double>(xs.size() - 1));
    return m;
}

std::vector<double> draws(const Duration& d, int n, uint64_t seed = 2024) {
    Rng rng(seed);
    std::vector<double> out;
    for (int i = 0; i < n; ++i)
        out.push_back(static_cast<double>(d.sample(rng)));
    return out;
}

std::string error_of(const std::string& yaml, const std::string& path = "t.yaml") {
    try {
        parse_workload(yaml, path);
    } catch (const InputError& e) {
        return e.what();
    }
    return "<no error>";
}

// one_step() is the duration of a one-group spec whose only step is `run: <form>`.
Duration one_step(const std::string& form, const std::string& path = "t.yaml") {
    WorkloadSpec s = parse_workload("groups: [{name: a, behavior: [run: " + form + "]}]", path);
    return s.groups[0].behavior[0].duration;
}

Arrival arrival_of(const std::string& form, const std::string& path = "t.yaml",
                   int* count = nullptr) {
    WorkloadSpec s =
        parse_workload("groups: [{name: a, arrival: " + form + ", behavior: [run: 1ms]}]", path);
    if (count)
        *count = s.groups[0].count;
    return s.groups[0].arrival;
}

}  // namespace

TEST(Distribution, ParetoMomentsAndTail) {
    Duration d = one_step("{pareto: {min: 1ms, shape: 3}}");
    ASSERT_EQ(d.kind, Duration::Kind::Pareto);
    EXPECT_DOUBLE_EQ(d.mean_ns(), 1.5e6);  // alpha * min / (alpha - 1)
    auto xs = draws(d, 400'000);
    Moments m = moments(xs);
    EXPECT_NEAR(m.mean, 1.5e6, 1.5e6 * 0.01);
    // Variance alpha min^2 / ((alpha-1)^2 (alpha-2)) = 0.75 ms^2.
    EXPECT_NEAR(m.sd, std::sqrt(0.75) * 1e6, std::sqrt(0.75) * 1e6 * 0.05);
    EXPECT_GE(*std::min_element(xs.begin(), xs.end()), 1e6);
    // The tail: P(X > x) = (min / x)^alpha.
    for (double x : {2e6, 4e6}) {
        double above = static_cast<double>(
            std::count_if(xs.begin(), xs.end(), [x](double v) { return v > x; }));
        double want = std::pow(1e6 / x, 3);
        EXPECT_NEAR(above / static_cast<double>(xs.size()), want, want * 0.05) << x;
    }
}

TEST(Distribution, CappedParetoMeanAllowsHeavyShape) {
    // Shape 1.2 has a finite mean only because of the cap.
    Duration d = one_step("{pareto: {min: 100us, shape: 1.2, max: 50ms}}");
    double want = 1e5 + 1e5 * (1 - std::pow(1e5 / 5e7, 0.2)) / 0.2;
    EXPECT_NEAR(d.mean_ns(), want, 1);
    auto xs = draws(d, 400'000);
    EXPECT_LE(*std::max_element(xs.begin(), xs.end()), 50e6);
    EXPECT_NEAR(moments(xs).mean, want, want * 0.02);
    Duration one = Duration::pareto(kMs, 1.0, 10 * kMs);
    EXPECT_NEAR(one.mean_ns(), 1e6 + 1e6 * std::log(10.0), 1);
    EXPECT_NEAR(moments(draws(one, 400'000)).mean, one.mean_ns(), one.mean_ns() * 0.01);
}

TEST(Distribution, LognormalHasTheGivenMeanAndDeviation) {
    Duration d = one_step("{lognormal: [2ms, 3ms]}");
    ASSERT_EQ(d.kind, Duration::Kind::Lognormal);
    EXPECT_DOUBLE_EQ(d.mean_ns(), 2e6);
    Moments m = moments(draws(d, 400'000));
    EXPECT_NEAR(m.mean, 2e6, 2e6 * 0.02);
    EXPECT_NEAR(m.sd, 3e6, 3e6 * 0.06);  // heavy right tail: the sd converges slowly
    Moments narrow = moments(draws(one_step("{lognormal: [1ms, 100us]}"), 200'000));
    EXPECT_NEAR(narrow.mean, 1e6, 1e6 * 0.005);
    EXPECT_NEAR(narrow.sd, 1e5, 1e5 * 0.02);
}

TEST(Distribution, EmpiricalDrawsEachValueEquallyOften) {
    for (Duration d : {one_step("{empirical: [1ms, 2ms, 7ms]}"),
                       one_step("{empirical: {file: samples.txt}}", kData + "spec.yaml")}) {
        ASSERT_EQ(d.kind, Duration::Kind::Empirical);
        ASSERT_EQ(*d.samples, (std::vector<uint64_t>{1 * kMs, 2 * kMs, 7 * kMs}));
        EXPECT_DOUBLE_EQ(d.mean_ns(), 10e6 / 3);
        std::map<double, int> seen;
        const int n = 300'000;
        for (double x : draws(d, n))
            ++seen[x];
        ASSERT_EQ(seen.size(), 3u);
        for (auto [value, times] : seen)
            EXPECT_NEAR(times / double(n), 1.0 / 3, 0.005) << value;
    }
}

TEST(Distribution, BimodalPicksHighWithItsProbability) {
    Duration d = one_step("{bimodal: {low: 1ms, high: 20ms, p_high: 0.1}}");
    ASSERT_EQ(d.kind, Duration::Kind::Bimodal);
    EXPECT_DOUBLE_EQ(d.mean_ns(), 0.9e6 + 2e6);
    auto xs = draws(d, 300'000);
    double high = static_cast<double>(std::count(xs.begin(), xs.end(), 20e6));
    EXPECT_EQ(high + static_cast<double>(std::count(xs.begin(), xs.end(), 1e6)),
              static_cast<double>(xs.size()));
    EXPECT_NEAR(high / static_cast<double>(xs.size()), 0.1, 0.003);
    EXPECT_NEAR(moments(xs).mean, 2.9e6, 2.9e6 * 0.02);
}

TEST(Distribution, SameSeedSameDraws) {
    for (const char* form :
         {"{pareto: {min: 1ms, shape: 2}}", "{lognormal: [1ms, 1ms]}", "{empirical: [1ms, 2ms]}",
          "{bimodal: {low: 1ms, high: 2ms, p_high: 0.5}}"})
        EXPECT_EQ(draws(one_step(form), 100, 7), draws(one_step(form), 100, 7)) << form;
}

TEST(ArrivalForms, PeriodicWithJitter) {
    Arrival exact = arrival_of("{period: 10ms, start: 5ms}");
    EXPECT_EQ(exact.kind, Arrival::Kind::Periodic);
    Rng rng(1);
    EXPECT_EQ(draw_arrival_times(exact, 3, rng),
              (std::vector<uint64_t>{5 * kMs, 15 * kMs, 25 * kMs}));
    Arrival jittered = arrival_of("{period: 10ms, jitter: 2ms}");
    EXPECT_DOUBLE_EQ(jittered.mean_rate_per_s(), 100);
    const int n = 100'000;
    auto times = draw_arrival_times(jittered, n, rng);
    double offsets = 0;
    for (int i = 0; i < n; ++i) {
        uint64_t nominal = static_cast<uint64_t>(i) * 10 * kMs;
        ASSERT_GE(times[static_cast<size_t>(i)], nominal);
        ASSERT_LE(times[static_cast<size_t>(i)], nominal + 2 * kMs);
        offsets += static_cast<double>(times[static_cast<size_t>(i)] - nominal);
    }
    EXPECT_NEAR(offsets / n, 1e6, 1e6 * 0.01);  // uniform jitter: mean half of it
}

TEST(ArrivalForms, OnOffBurstsArriveOnlyWhileOn) {
    Arrival a = arrival_of("{rate: 10000, on: 2ms, off: 18ms}");
    ASSERT_EQ(a.kind, Arrival::Kind::Burst);
    EXPECT_DOUBLE_EQ(a.mean_rate_per_s(), 1000);
    Rng rng(3);
    const int n = 100'000;
    auto times = draw_arrival_times(a, n, rng);
    ASSERT_EQ(times.size(), static_cast<size_t>(n));
    for (uint64_t t : times)
        ASSERT_LT(t % (20 * kMs), 2 * kMs) << t;
    EXPECT_TRUE(std::is_sorted(times.begin(), times.end()));
    double rate = n / (static_cast<double>(times.back()) / 1e9);
    EXPECT_NEAR(rate, 1000, 1000 * 0.02);
}

TEST(ArrivalForms, MmppRateAndBurstiness) {
    Arrival a = arrival_of("{rates: [100, 5000], dwell: [20ms, 2ms]}");
    ASSERT_EQ(a.kind, Arrival::Kind::Mmpp);
    double want = (100 * 20.0 + 5000 * 2.0) / 22.0;
    EXPECT_NEAR(a.mean_rate_per_s(), want, 1e-9);
    Rng rng(5);
    const int n = 200'000;
    auto times = draw_arrival_times(a, n, rng);
    EXPECT_TRUE(std::is_sorted(times.begin(), times.end()));
    double rate = n / (static_cast<double>(times.back()) / 1e9);
    EXPECT_NEAR(rate, want, want * 0.05);
    // Counts in 10 ms windows: Poisson would give variance = mean; an MMPP
    // is overdispersed.
    std::vector<double> counts(static_cast<size_t>(times.back() / (10 * kMs)) + 1);
    for (uint64_t t : times)
        counts[t / (10 * kMs)] += 1;
    Moments m = moments(counts);
    EXPECT_GT(m.sd * m.sd / m.mean, 3.0);
}

TEST(ArrivalForms, TraceTimesFromAFile) {
    int count = 0;
    Arrival a = arrival_of("{trace: arrivals.txt, start: 1ms}", kData + "spec.yaml", &count);
    ASSERT_EQ(a.kind, Arrival::Kind::Trace);
    EXPECT_EQ(count, 4);  // one task per timestamp
    Rng rng(1);
    EXPECT_EQ(draw_arrival_times(a, count, rng),
              (std::vector<uint64_t>{1 * kMs, 2500 * kUs, 2500 * kUs, 5 * kMs}));
    // A count takes the first timestamps; the trace draws nothing.
    WorkloadSpec s = parse_workload(
        "groups: [{name: a, count: 2, arrival: {trace: arrivals.txt}, behavior: [run: 1ms]}]",
        kData + "spec.yaml");
    EXPECT_EQ(s.groups[0].count, 2);
    auto starts = draw_arrivals(s, 9);
    ASSERT_EQ(starts.size(), 2u);
    EXPECT_EQ(starts[1].at_ns, 1500 * kUs);  // no start: from 0
}

TEST(ArrivalForms, PoissonDrawsAreUnchanged) {
    // The refactoring into draw_arrival_times() kept the exact arithmetic.
    Arrival a(Arrival::Kind::Poisson, 10 * kMs, 200);
    Rng rng(11), raw(11);
    auto times = draw_arrival_times(a, 50, rng);
    double t = 10e6;
    for (uint64_t got : times) {
        double u = static_cast<double>(raw() >> 11) * 0x1.0p-53;
        t += -std::log1p(-u) / 200.0 * 1e9;
        EXPECT_EQ(got, static_cast<uint64_t>(t));
    }
}

struct FormError {
    const char* name;
    const char* yaml;
    const char* where;  // "t.yaml:L:C" or a data file's place
    const char* fragment;
};

class FormErrors : public ::testing::TestWithParam<FormError> {};

TEST_P(FormErrors, NamePlaceAndExpectation) {
    const FormError& c = GetParam();
    std::string msg = error_of(c.yaml, kData + "t.yaml");
    std::string where = c.where;
    if (where.rfind("t.yaml", 0) == 0 || where.find(".txt") != std::string::npos)
        where = kData + where;
    EXPECT_EQ(msg.rfind(where + ": ", 0), 0u) << msg;
    EXPECT_NE(msg.find(c.fragment), std::string::npos) << msg;
    EXPECT_NE(msg.find("; expected "), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
}

#define G "groups:\n  - name: a\n"
#define B "    behavior: [run: 1ms]\n"

INSTANTIATE_TEST_SUITE_P(
    Cases, FormErrors,
    ::testing::Values(
        FormError{"ParetoNoShape", G "    behavior: [run: {pareto: {min: 1ms}}]\n", "t.yaml:3:30",
                  "pareto has no 'shape'"},
        FormError{"ParetoShapeOne", G "    behavior: [run: {pareto: {min: 1ms, shape: 1}}]\n",
                  "t.yaml:3:48", "shape 1 is out of range"},
        FormError{"ParetoMinZero", G "    behavior: [run: {pareto: {min: 0ms, shape: 2}}]\n",
                  "t.yaml:3:36", "pareto min is 0"},
        FormError{"ParetoCapBelowMin",
                  G "    behavior: [run: {pareto: {min: 2ms, shape: 2, max: 1ms}}]\n",
                  "t.yaml:3:56", "max is below its min"},
        FormError{"LognormalZeroMean", G "    behavior: [run: {lognormal: [0ms, 1ms]}]\n",
                  "t.yaml:3:34", "lognormal mean is 0"},
        FormError{"LognormalArity", G "    behavior: [run: {lognormal: [1ms]}]\n", "t.yaml:3:33",
                  "'lognormal' is a list of 1"},
        FormError{"EmpiricalEmpty", G "    behavior: [run: {empirical: []}]\n", "t.yaml:3:33",
                  "'empirical' is an empty list"},
        FormError{"EmpiricalBadValue", G "    behavior: [run: {empirical: [1ms, 2]}]\n",
                  "t.yaml:3:39", "'2' has no unit"},
        FormError{"EmpiricalMissingFile", G "    behavior: [run: {empirical: {file: nope.txt}}]\n",
                  "t.yaml:3:40", "cannot open samples file"},
        FormError{"EmpiricalFileBadLine",
                  G "    behavior: [run: {empirical: {file: badunit.txt}}]\n", "badunit.txt:2:1",
                  "unknown unit ' ms'"},
        FormError{"BimodalNoP", G "    behavior: [run: {bimodal: {low: 1ms, high: 2ms}}]\n",
                  "t.yaml:3:31", "bimodal has no 'p_high'"},
        FormError{"BimodalP",
                  G "    behavior: [run: {bimodal: {low: 1ms, high: 2ms, p_high: 1.5}}]\n",
                  "t.yaml:3:61", "p_high 1.5 is out of range"},
        FormError{"UnknownDistribution", G "    behavior: [run: {zipf: 1ms}]\n", "t.yaml:3:22",
                  "unknown key 'zipf' in a distribution"},
        FormError{"PeriodZero", G "    arrival: {period: 0ms}\n" B, "t.yaml:3:23", "period is 0"},
        FormError{"JitterAlone", G "    arrival: {jitter: 1ms}\n" B, "t.yaml:3:15",
                  "'jitter' without 'period'"},
        FormError{"JitterWithRate", G "    arrival: {rate: 5, jitter: 1ms}\n" B, "t.yaml:3:24",
                  "'jitter' does not go with 'rate'"},
        FormError{"PeriodAndRate", G "    arrival: {period: 1ms, rate: 5}\n" B, "t.yaml:3:28",
                  "arrival mixes 'period' with 'rate'"},
        FormError{"OnWithoutOff", G "    arrival: {rate: 5, on: 1ms}\n" B, "t.yaml:3:24",
                  "'on' without 'off'"},
        FormError{"OnZero", G "    arrival: {rate: 5, on: 0ms, off: 1ms}\n" B, "t.yaml:3:28",
                  "'on' periods have length 0"},
        FormError{"MmppOneState", G "    arrival: {rates: [5], dwell: [1ms]}\n" B, "t.yaml:3:22",
                  "'rates' has 1 state"},
        FormError{"MmppNoDwell", G "    arrival: {rates: [5, 6]}\n" B, "t.yaml:3:15",
                  "'rates' without 'dwell'"},
        FormError{"MmppDwellLength", G "    arrival: {rates: [5, 6], dwell: [1ms]}\n" B,
                  "t.yaml:3:37", "'dwell' has 1 values for 2 rates"},
        FormError{"MmppAllZero", G "    arrival: {rates: [0, 0], dwell: [1ms, 1ms]}\n" B,
                  "t.yaml:3:22", "every rate is 0"},
        FormError{"MmppNegativeRate", G "    arrival: {rates: [5, -1], dwell: [1ms, 1ms]}\n" B,
                  "t.yaml:3:26", "rate -1 is out of range"},
        FormError{"BurstTooShort", G "    arrival: {rate: 1, on: 1us, off: 1us}\n" B, "t.yaml:3:28",
                  "on periods of 1000 ns hold only"},
        FormError{"MmppTooShort", G "    arrival: {rates: [1, 0], dwell: [1us, 1us]}\n" B,
                  "t.yaml:3:37", "one cycle through the states expects only"},
        FormError{"TraceMissing", G "    arrival: {trace: gone.txt}\n" B, "t.yaml:3:22",
                  "cannot open trace file"},
        FormError{"TraceUnsorted", G "    arrival: {trace: unsorted.txt}\n" B, "unsorted.txt:3:1",
                  "is before the one on the line above"},
        FormError{"TraceCountTooBig", G "    count: 9\n    arrival: {trace: arrivals.txt}\n" B,
                  "t.yaml:3:12", "count 9 is more than the 4 timestamps"},
        FormError{"EmptyArrival", G "    arrival: {}\n" B, "t.yaml:3:14", "arrival has none of"}),
    [](const ::testing::TestParamInfo<FormError>& p) { return std::string(p.param.name); });

#undef G
#undef B
