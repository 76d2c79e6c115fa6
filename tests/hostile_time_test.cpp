// hostile_time_test.cpp: virtual time (issue 13 item 4). Durations near
// 2^64, huge distribution means, tiny arrival rates and far switch times
// once wrapped virtual time, tripped the event queue's invariant, hung, or
// exited 0 with a wrong makespan through an undefined double-to-uint64 cast.
// Now a duration is at most 2^53 ns, draws and arrivals saturate, and the
// time budget ends a run that would go past it.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "hostile_support.h"
#include "schedkit/budget.h"
#include "schedkit/error.h"
#include "schedkit/workload.h"

namespace schedkit {
namespace {

using test::expect_rejected;
using test::kWorkloads;
using test::run_cli;
using test::write_file;

std::string one_step(const std::string& step) {
    return "groups:\n  - name: a\n    behavior:\n      - " + step + "\n";
}

TEST(HostileTime, DurationsPast2To53AreRefusedWithThePlace) {
    for (const char* step :
         {"block: 7400000000000000000ns", "run: 18446744073709551615ns", "run: 9007199254740993ns",
          "run: {exp: 200000000s}", "run: {normal: [18446744073709551615ns, 1ms]}"}) {
        auto spec = write_file("far.yaml", one_step(step));
        expect_rejected("sim " + spec, "far.yaml:4:");
    }
    auto at = write_file("at.yaml",
                         "groups:\n  - name: a\n    arrival: {at: 18446744073709551615ns}\n"
                         "    behavior: [run: 1ms]\n");
    expect_rejected("sim " + at, "at.yaml:3:");
    expect_rejected("sim " + kWorkloads + "io.yaml --switch 18446744073709551615ns=fair",
                    "--switch");
    expect_rejected("sim " + kWorkloads + "io.yaml --until 18446744073709551615ns", "--until");
}

TEST(HostileTime, DrawsSaturateAtTheLargestDuration) {
    Rng rng(1);
    Duration normal{Duration::Kind::Normal, kMaxDurationNs, kMaxDurationNs};
    Duration exp{Duration::Kind::Exp, kMaxDurationNs, 0};
    for (int i = 0; i < 10000; ++i) {
        EXPECT_LE(normal.sample(rng), kMaxDurationNs);
        EXPECT_LE(exp.sample(rng), kMaxDurationNs);
    }
}

TEST(HostileTime, HugeMeansRunOrStopAtABudgetNeverAbort) {
    auto spec = write_file("huge.yaml", one_step("run: {normal: [9007199254740992ns, 1ms]}"));
    // To completion it would take ~10^10 tick events: the budget says so.
    expect_rejected("sim " + spec + " --max-events 100000", "--max-events");
    // Bounded in time, it is an ordinary run.
    auto r = run_cli("sim " + spec + " --until 50ms --json");
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(nlohmann::json::parse(r.out)["tasks"]["completed"], 0);
}

TEST(HostileTime, TinyArrivalRatesHitTheTimeBudgetNotAWrongMakespan) {
    for (const char* rate : {"1e-12", "1e-300", "4.9e-324"}) {
        auto spec = write_file("rate.yaml",
                               "groups:\n  - name: a\n    count: 3\n"
                               "    arrival: {rate: " +
                                   std::string(rate) + "}\n    behavior: [run: 1ms]\n");
        expect_rejected("sim " + spec, "--max-time");
    }
    // A rate whose arrivals fall within the budget runs, with a makespan
    // that matches its far arrivals (about 1e6 s each).
    auto slow = write_file("slow.yaml",
                           "groups:\n  - name: a\n    count: 2\n"
                           "    arrival: {rate: 1e-6}\n    behavior: [run: 1ms]\n");
    auto r = run_cli("sim " + slow + " --json");
    ASSERT_EQ(r.status, 0) << r.err;
    double makespan_s = nlohmann::json::parse(r.out)["makespan_us"].get<double>() / 1e6;
    EXPECT_GT(makespan_s, 1e3);
    EXPECT_LT(makespan_s, 1e8);
}

TEST(HostileTime, TimeBudgetFlagBoundsTheRun) {
    auto spec = write_file("long.yaml", one_step("run: 2s"));
    expect_rejected("sim " + spec + " --max-time 1s", "--max-time 2000000000ns");
    EXPECT_EQ(run_cli("sim " + spec + " --max-time 3s").status, 0);
    expect_rejected("sim " + spec + " --max-time 18446744073709551615ns", "--max-time");
}

}  // namespace
}  // namespace schedkit
