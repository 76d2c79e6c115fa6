#include "schedkit/report.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
using nlohmann::json;
using nlohmann::ordered_json;
using schedkit::Percentiles;
using schedkit::percentiles_us;
using schedkit::Recorder;
using schedkit::RunSummary;
using schedkit::Task;

namespace {

Task make_task(uint64_t id, const std::string& name, uint64_t arrival_ns = 0) {
    Task t;
    t.id = id;
    t.name = name;
    t.arrival_ns = arrival_ns;
    return t;
}

// A two-CPU run small enough to compute by hand (times in ns):
//   CPU 0: a runs [0, 4000), b runs [4000, 6000)                busy 6000
//   CPU 1: c runs [1000, 2000); d migrates 0 -> 1 at 2000 and
//          runs [2500, 4500)                                     busy 3000
//   e migrates 1 -> 0 at 5000 (the flow goes to a lower CPU).
// Waits 0, 1000, 4000, 2500; responses a 4000, c 1500, b 6000, d 3500.
struct Scenario {
    Task a = make_task(1, "a", 0);
    Task b = make_task(2, "b", 0);
    Task c = make_task(3, "c", 500);
    Task d = make_task(4, "d", 1000);
    Task e = make_task(5, "e \"quoted\"", 0);

    void feed(Recorder& r, bool cpu1_first = false) {
        auto cpu0 = [&] {
            r.on_queue_length(0, 1, 0);
            r.on_wait(a, 0);
            r.on_switch(0, nullptr, a, 0);
            r.on_run(0, a, 0, 4000);
            r.on_queue_length(0, 1, 100);  // unchanged: not a new counter sample
            r.on_exit(a, 4000);
            r.on_wait(b, 4000);
            r.on_switch(0, &a, b, 4000);
            r.on_queue_length(0, 0, 4000);
            r.on_run(0, b, 4000, 6000);
            r.on_exit(b, 6000);
        };
        auto cpu1 = [&] {
            r.on_wait(c, 1000);
            r.on_switch(1, nullptr, c, 1000);
            r.on_run(1, c, 1000, 2000);
            r.on_exit(c, 2000);
            r.on_migrate(d, 0, 1, 2000);
            r.on_queue_length(1, 2, 2000);
            r.on_wait(d, 2500);
            r.on_switch(1, &c, d, 2500);
            r.on_run(1, d, 2500, 4500);
            r.on_exit(d, 4500);
            r.on_migrate(e, 1, 0, 5000);
        };
        if (cpu1_first) {
            cpu1();
            cpu0();
        } else {
            cpu0();
            cpu1();
        }
    }
};

class TempDir : public ::testing::Test {
  protected:
    void SetUp() override {
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        dir_ = fs::temp_directory_path() /
               (std::string("report_test_") + info->name() + "_" + std::to_string(::getpid()));
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }
    fs::path dir_;
};

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// record_from_threads() starts one thread per CPU, as a runtime's workers
// record: thread `c` calls `record(c, t, i, at)` for its own task `t`, with
// i = 0 .. runs - 1 at times at = 10 * i ns. The caller joins the threads.
template <typename Record>
std::vector<std::thread> record_from_threads(int cpus, int runs, Record record) {
    std::vector<std::thread> threads;
    for (int c = 0; c < cpus; ++c) {
        threads.emplace_back([c, runs, record] {
            Task t = make_task(static_cast<uint64_t>(c), "t" + std::to_string(c));
            for (int i = 0; i < runs; ++i)
                record(c, t, i, static_cast<uint64_t>(i) * 10);
        });
    }
    return threads;
}

std::vector<std::string> keys_of(const ordered_json& j) {
    std::vector<std::string> keys;
    for (const auto& [k, v] : j.items())
        keys.push_back(k);
    return keys;
}

}  // namespace

TEST(Percentiles, NearestRank) {
    std::vector<uint64_t> hundred;
    for (uint64_t k = 100; k >= 1; --k)
        hundred.push_back(k * 1000);
    Percentiles p = percentiles_us(hundred);
    EXPECT_DOUBLE_EQ(p.p50, 50.0);
    EXPECT_DOUBLE_EQ(p.p90, 90.0);
    EXPECT_DOUBLE_EQ(p.p99, 99.0);
    EXPECT_DOUBLE_EQ(p.max, 100.0);

    // n = 3: p50 is rank ceil(1.5) = 2, p90 rank ceil(2.7) = 3.
    p = percentiles_us({5000, 1000, 3000});
    EXPECT_DOUBLE_EQ(p.p50, 3.0);
    EXPECT_DOUBLE_EQ(p.p90, 5.0);
    EXPECT_DOUBLE_EQ(p.p99, 5.0);
    EXPECT_DOUBLE_EQ(p.max, 5.0);

    // n = 200: p99 is rank 198, below the maximum.
    std::vector<uint64_t> two_hundred;
    for (uint64_t k = 1; k <= 200; ++k)
        two_hundred.push_back(k);
    p = percentiles_us(two_hundred);
    EXPECT_DOUBLE_EQ(p.p50, 0.1);
    EXPECT_DOUBLE_EQ(p.p99, 0.198);
    EXPECT_DOUBLE_EQ(p.max, 0.2);

    p = percentiles_us({7000});
    EXPECT_DOUBLE_EQ(p.p50, 7.0);
    EXPECT_DOUBLE_EQ(p.max, 7.0);
}

TEST(Percentiles, MeanAndCount) {
    Percentiles p = percentiles_us({5000, 1000, 3000, 2000});
    EXPECT_EQ(p.n, 4u);
    EXPECT_DOUBLE_EQ(p.mean, 2.75);
    // Large samples sum without overflow or rounding: the mean of 2^62 and
    // 2^62 + 2 ns is exact.
    p = percentiles_us({uint64_t{1} << 62, (uint64_t{1} << 62) + 2, (uint64_t{1} << 62) + 4});
    EXPECT_DOUBLE_EQ(p.mean, static_cast<double>((uint64_t{1} << 62) + 2) / 1000.0);
    Percentiles r = schedkit::percentiles_of({1.0, 4.0, 2.0, 3.0});
    EXPECT_EQ(r.n, 4u);
    EXPECT_DOUBLE_EQ(r.mean, 2.5);
    EXPECT_DOUBLE_EQ(r.p50, 2.0);
    EXPECT_DOUBLE_EQ(r.max, 4.0);
}

TEST(Recorder, GroupsSplitWaitsResponsesAndSlowdown) {
    Recorder r(1, false);
    r.set_group_names({"web", "batch"});
    auto task = [](uint64_t id, int group, uint64_t arrival) {
        Task t = make_task(id, "t" + std::to_string(id));
        t.group = group;
        t.arrival_ns = arrival;
        return t;
    };
    Task a = task(1, 0, 0), b = task(2, 0, 1000), c = task(3, 1, 0), d = task(4, -1, 0);
    r.on_wait(a, 0);
    r.on_wait(b, 2000);
    r.on_wait(c, 6000);
    r.on_wait(d, 9000);         // no group: in the totals only
    r.on_exit(a, 1000, 1000);   // response 1 us, demand 1 us: slowdown 1
    r.on_exit(b, 5000, 1000);   // response 4 us, demand 1 us: slowdown 4
    r.on_exit(c, 10000, 4000);  // response 10 us, demand 4 us: 2.5
    r.on_exit(d, 10000, 0);
    RunSummary s;
    r.summarize(s, 10000);
    EXPECT_EQ(s.wait_us.n, 4u);
    ASSERT_EQ(s.groups.size(), 2u);
    const schedkit::GroupSummary& web = s.groups[0];
    EXPECT_EQ(web.group, 0);
    EXPECT_EQ(web.name, "web");
    EXPECT_EQ(web.completed, 2u);
    EXPECT_EQ(web.wait_us.n, 2u);
    EXPECT_DOUBLE_EQ(web.wait_us.mean, 1.0);
    EXPECT_DOUBLE_EQ(web.response_us.mean, 2.5);
    EXPECT_DOUBLE_EQ(web.response_us.max, 4.0);
    EXPECT_DOUBLE_EQ(web.slowdown.mean, 2.5);
    EXPECT_DOUBLE_EQ(web.slowdown.max, 4.0);
    const schedkit::GroupSummary& batch = s.groups[1];
    EXPECT_EQ(batch.name, "batch");
    EXPECT_DOUBLE_EQ(batch.wait_us.mean, 6.0);
    EXPECT_DOUBLE_EQ(batch.slowdown.p50, 2.5);

    ordered_json j = ordered_json::parse(schedkit::summary_json(s));
    ASSERT_EQ(j["groups"].size(), 2u);
    EXPECT_EQ(keys_of(j["groups"][0]),
              (std::vector<std::string>{"group", "name", "completed", "wait_us", "response_us",
                                        "slowdown"}));
    EXPECT_EQ(j["groups"][1]["name"], "batch");
    EXPECT_DOUBLE_EQ(j["groups"][0]["slowdown"]["mean"].get<double>(), 2.5);
    std::string t = schedkit::summary_table(s);
    EXPECT_NE(t.find("web                     2     1.000 us"), std::string::npos) << t;
    EXPECT_NE(t.find("batch"), std::string::npos) << t;
}

TEST(Recorder, UnnamedGroupsAndSwitchCostAsBusy) {
    Recorder r(1, false);
    Task t = make_task(1, "t");
    t.group = 2;
    r.on_wait(t, 0);
    r.add_busy(0, 500);
    r.on_run(0, t, 500, 1500);
    RunSummary s;
    r.summarize(s, 2000);
    ASSERT_EQ(s.groups.size(), 1u);
    EXPECT_EQ(s.groups[0].name, "group2");
    EXPECT_DOUBLE_EQ(s.cpus[0].busy_us, 1.5);
    EXPECT_DOUBLE_EQ(s.cpus[0].idle_us, 0.5);
}

TEST(Percentiles, EmptyIsZero) {
    Percentiles p = percentiles_us({});
    EXPECT_EQ(p.n, 0u);
    EXPECT_EQ(p.mean, 0);
    EXPECT_EQ(p.p50, 0);
    EXPECT_EQ(p.p90, 0);
    EXPECT_EQ(p.p99, 0);
    EXPECT_EQ(p.max, 0);
}

TEST(Recorder, RejectsNoCpus) {
    EXPECT_THROW(Recorder(0, false), std::invalid_argument);
}

TEST(Recorder, TwoCpusHandComputed) {
    Recorder r(2, false);
    Scenario sc;
    sc.feed(r);
    RunSummary s;
    r.summarize(s, 10000);

    EXPECT_DOUBLE_EQ(s.makespan_us, 10.0);
    ASSERT_EQ(s.cpus.size(), 2u);
    EXPECT_EQ(s.cpus[0].cpu, 0);
    EXPECT_DOUBLE_EQ(s.cpus[0].busy_us, 6.0);
    EXPECT_DOUBLE_EQ(s.cpus[0].idle_us, 4.0);
    EXPECT_EQ(s.cpus[0].context_switches, 2u);
    EXPECT_EQ(s.cpus[0].migrations_in, 1u);  // e
    EXPECT_EQ(s.cpus[1].cpu, 1);
    EXPECT_DOUBLE_EQ(s.cpus[1].busy_us, 3.0);
    EXPECT_DOUBLE_EQ(s.cpus[1].idle_us, 7.0);
    EXPECT_EQ(s.cpus[1].context_switches, 2u);
    EXPECT_EQ(s.cpus[1].migrations_in, 1u);  // d
    EXPECT_EQ(s.context_switches, 4u);
    EXPECT_EQ(s.migrations, 2u);
    EXPECT_DOUBLE_EQ(s.imbalance_ratio, 2.0);
    EXPECT_EQ(s.completed, 4u);

    // Waits sorted 0, 1000, 2500, 4000: p50 = rank 2, p90 = rank 4.
    EXPECT_DOUBLE_EQ(s.wait_us.p50, 1.0);
    EXPECT_DOUBLE_EQ(s.wait_us.p90, 4.0);
    EXPECT_DOUBLE_EQ(s.wait_us.p99, 4.0);
    EXPECT_DOUBLE_EQ(s.wait_us.max, 4.0);
    // Responses sorted 1500, 3500, 4000, 6000.
    EXPECT_DOUBLE_EQ(s.response_us.p50, 3.5);
    EXPECT_DOUBLE_EQ(s.response_us.p90, 6.0);
    EXPECT_DOUBLE_EQ(s.response_us.max, 6.0);
}

TEST(Recorder, SummarizeLeavesCallerFieldsAndDerivesLost) {
    Recorder r(2, false);
    Scenario sc;
    sc.feed(r);

    RunSummary s;
    s.workload = "w";
    s.events = 17;
    s.lost = 9;  // spawned unknown (0): lost is the caller's business
    r.summarize(s, 10000);
    EXPECT_EQ(s.workload, "w");
    EXPECT_EQ(s.events, 17u);
    EXPECT_EQ(s.spawned, 0u);
    EXPECT_EQ(s.lost, 9u);

    RunSummary t;
    t.spawned = 6;
    r.summarize(t, 10000);
    EXPECT_EQ(t.spawned, 6u);
    EXPECT_EQ(t.completed, 4u);
    EXPECT_EQ(t.lost, 2u);
}

TEST(Recorder, ImbalanceIgnoresCpusThatNeverRan) {
    Task t = make_task(1, "t");
    auto ratio = [&](const std::vector<uint64_t>& busy_ns) {
        Recorder r(static_cast<int>(busy_ns.size()), false);
        for (size_t c = 0; c < busy_ns.size(); ++c)
            r.on_run(static_cast<int>(c), t, 0, busy_ns[c]);
        RunSummary s;
        r.summarize(s, 100000);
        return s.imbalance_ratio;
    };
    EXPECT_DOUBLE_EQ(ratio({6000, 0, 3000}), 2.0);
    EXPECT_DOUBLE_EQ(ratio({0, 0, 0}), 1.0);
    EXPECT_DOUBLE_EQ(ratio({0, 5000, 0}), 1.0);
    EXPECT_DOUBLE_EQ(ratio({3000, 4000}), 1.333);  // rounded to 3 decimals
    EXPECT_DOUBLE_EQ(ratio({5000}), 1.0);
}

TEST(Recorder, IdleNeverWrapsBelowZero) {
    Recorder r(1, false);
    Task t = make_task(1, "t");
    r.on_run(0, t, 0, 5000);
    RunSummary s;
    r.summarize(s, 3000);  // end before the last slice ends
    EXPECT_DOUBLE_EQ(s.cpus[0].busy_us, 5.0);
    EXPECT_DOUBLE_EQ(s.cpus[0].idle_us, 0.0);
}

TEST(Recorder, ConcurrentCallbacksAreCounted) {
    constexpr int kCpus = 4, kRuns = 5000;
    Recorder r(kCpus, true);
    auto threads =
        record_from_threads(kCpus, kRuns, [&r](int c, const Task& t, int i, uint64_t at) {
            r.on_switch(c, nullptr, t, at);
            r.on_wait(t, 1);
            r.on_run(c, t, at, at + 10);
            r.on_migrate(t, c, (c + 1) % kCpus, at);
            r.on_queue_length(c, i % 3, at);
            r.on_exit(t, at);
        });
    for (auto& th : threads)
        th.join();
    RunSummary s;
    r.summarize(s, kRuns * 10);
    EXPECT_EQ(s.context_switches, uint64_t{kCpus} * kRuns);
    EXPECT_EQ(s.migrations, uint64_t{kCpus} * kRuns);
    EXPECT_EQ(s.completed, uint64_t{kCpus} * kRuns);
    for (const auto& c : s.cpus) {
        EXPECT_DOUBLE_EQ(c.busy_us, kRuns * 10 / 1000.0);
        EXPECT_EQ(c.migrations_in, uint64_t{kRuns});
    }
}

TEST(SummaryJson, KeysInOrderAndValues) {
    Recorder r(2, false);
    Scenario sc;
    sc.feed(r);
    RunSummary s;
    s.workload = "demo";
    s.topology = "synthetic:2";
    s.policy = "static";
    s.seed = 42;
    s.events = 100;
    s.events_per_s = 12345.678;
    s.wall_s = 0.1234567;
    s.spawned = 5;
    r.summarize(s, 10000);
    s.policy_stats_json = R"({"balance_passes":3})";
    s.extra_json = R"({"unfinished":0,"policy_switches":[]})";

    ordered_json j = ordered_json::parse(schedkit::summary_json(s));
    EXPECT_EQ(keys_of(j), (std::vector<std::string>{"workload",
                                                    "topology",
                                                    "policy",
                                                    "seed",
                                                    "makespan_us",
                                                    "events",
                                                    "events_per_s",
                                                    "wall_s",
                                                    "context_switches",
                                                    "migrations",
                                                    "imbalance_ratio",
                                                    "tasks",
                                                    "wait_us",
                                                    "response_us",
                                                    "groups",
                                                    "cpus",
                                                    "cdf",
                                                    "policy_stats",
                                                    "unfinished",
                                                    "policy_switches"}));
    EXPECT_EQ(keys_of(j["tasks"]), (std::vector<std::string>{"spawned", "completed", "lost"}));
    EXPECT_EQ(keys_of(j["wait_us"]),
              (std::vector<std::string>{"n", "mean", "p50", "p90", "p99", "max"}));
    EXPECT_EQ(keys_of(j["response_us"]),
              (std::vector<std::string>{"n", "mean", "p50", "p90", "p99", "max"}));
    EXPECT_EQ(j["wait_us"]["n"], 4);
    EXPECT_DOUBLE_EQ(j["wait_us"]["mean"].get<double>(), 1.875);  // (0 + 1 + 2.5 + 4) / 4
    ASSERT_EQ(j["cpus"].size(), 2u);
    EXPECT_EQ(keys_of(j["cpus"][0]),
              (std::vector<std::string>{"cpu", "busy_us", "idle_us", "context_switches",
                                        "migrations_in"}));

    EXPECT_EQ(j["workload"], "demo");
    EXPECT_EQ(j["seed"], 42);
    EXPECT_TRUE(j["makespan_us"].is_number());
    EXPECT_DOUBLE_EQ(j["makespan_us"].get<double>(), 10.0);
    EXPECT_EQ(j["events"], 100);
    EXPECT_DOUBLE_EQ(j["events_per_s"].get<double>(), 12346.0);
    EXPECT_DOUBLE_EQ(j["wall_s"].get<double>(), 0.123457);
    EXPECT_EQ(j["context_switches"], 4);
    EXPECT_EQ(j["migrations"], 2);
    EXPECT_DOUBLE_EQ(j["imbalance_ratio"].get<double>(), 2.0);
    EXPECT_EQ(j["tasks"]["spawned"], 5);
    EXPECT_EQ(j["tasks"]["completed"], 4);
    EXPECT_EQ(j["tasks"]["lost"], 1);
    EXPECT_DOUBLE_EQ(j["wait_us"]["p50"].get<double>(), 1.0);
    EXPECT_DOUBLE_EQ(j["response_us"]["p50"].get<double>(), 3.5);
    EXPECT_EQ(j["cpus"][1]["cpu"], 1);
    EXPECT_DOUBLE_EQ(j["cpus"][1]["idle_us"].get<double>(), 7.0);
    EXPECT_EQ(j["cpus"][1]["migrations_in"], 1);
    EXPECT_EQ(j["policy_stats"]["balance_passes"], 3);
    EXPECT_EQ(j["unfinished"], 0);
    EXPECT_TRUE(j["policy_switches"].is_array());
}

TEST(SummaryJson, OptionalPartsAbsentWhenEmpty) {
    RunSummary s;
    ordered_json j = ordered_json::parse(schedkit::summary_json(s));
    EXPECT_EQ(keys_of(j).back(), "cpus");
    EXPECT_FALSE(j.contains("policy_stats"));
    EXPECT_TRUE(j["cpus"].is_array());
    EXPECT_EQ(j["wait_us"]["max"], 0);
}

TEST(SummaryJson, RoundsAwayFloatingNoise) {
    RunSummary s;
    s.makespan_us = 1.23456;
    s.imbalance_ratio = 4.0 / 3.0;
    s.cpus.push_back({0, 0.1 + 0.2, 0.7, 0, 0});
    std::string text = schedkit::summary_json(s);
    EXPECT_NE(text.find("\"makespan_us\": 1.235"), std::string::npos) << text;
    EXPECT_NE(text.find("\"imbalance_ratio\": 1.333,"), std::string::npos) << text;
    EXPECT_NE(text.find("\"busy_us\": 0.3,"), std::string::npos) << text;
}

TEST(SummaryJson, BadEmbeddedJsonThrows) {
    RunSummary s;
    s.policy_stats_json = "{not json";
    EXPECT_THROW(schedkit::summary_json(s), std::runtime_error);
    s.policy_stats_json = "";
    s.extra_json = "[1,2]";
    EXPECT_THROW(schedkit::summary_json(s), std::runtime_error);
    s.extra_json = R"({"seed":7})";  // would overwrite a statistic
    EXPECT_THROW(schedkit::summary_json(s), std::runtime_error);
}

TEST(SummaryJson, SameRecordingSameBytes) {
    auto render = [](bool cpu1_first) {
        Recorder r(2, false);
        Scenario sc;
        sc.feed(r, cpu1_first);
        RunSummary s;
        s.workload = "demo";
        r.summarize(s, 10000);
        return schedkit::summary_json(s);
    };
    EXPECT_EQ(render(false), render(false));
    // Per-CPU statistics do not depend on how CPUs' events interleave.
    EXPECT_EQ(render(false), render(true));
}

TEST(SummaryTable, HeaderAndOneRowPerCpu) {
    Recorder r(2, false);
    Scenario sc;
    sc.feed(r);
    RunSummary s;
    s.workload = "demo";
    s.policy = "static";
    s.spawned = 4;
    r.summarize(s, 10000);
    std::string t = schedkit::summary_table(s);
    EXPECT_NE(t.find("workload    demo\n"), std::string::npos) << t;
    EXPECT_NE(t.find("policy      static\n"), std::string::npos) << t;
    EXPECT_NE(t.find("makespan    10.000 us\n"), std::string::npos) << t;
    EXPECT_NE(t.find("imbalance   2.000"), std::string::npos) << t;
    EXPECT_NE(t.find("tasks       4 spawned, 4 completed, 0 lost\n"), std::string::npos) << t;
    EXPECT_NE(t.find("wait        mean 1.875 us, p50 1.000 us, p90 4.000 us, p99 4.000 us, max "
                     "4.000 us\n"),
              std::string::npos)
        << t;
    // cpu, busy ms, idle ms, busy %, switches, migrations in.
    EXPECT_NE(t.find("    0        0.006        0.004    60.0          2         1\n"),
              std::string::npos)
        << t;
    EXPECT_NE(t.find("    1        0.003        0.007    30.0          2         1\n"),
              std::string::npos)
        << t;
}

TEST(SummaryTable, ManyCpusAreCompressed) {
    auto table_for = [](int cpus) {
        Recorder r(cpus, false);
        Task t = make_task(1, "t");
        for (int c = 0; c < cpus; ++c)
            r.on_run(c, t, 0, static_cast<uint64_t>(c + 1) * 1000);
        RunSummary s;
        r.summarize(s, 100000);
        return schedkit::summary_table(s);
    };
    std::string small = table_for(64);
    EXPECT_NE(small.find("\n   63 "), std::string::npos) << small;
    EXPECT_EQ(small.find("\n mean "), std::string::npos) << small;

    std::string big = table_for(65);
    EXPECT_NE(big.find("65 CPUs: per-column min / mean / max"), std::string::npos) << big;
    EXPECT_EQ(big.find("\n    0 "), std::string::npos) << big;
    // Busy is 1..65 us: min 0.001 ms, mean 0.033 ms, max 0.065 ms.
    EXPECT_NE(big.find("\n  min        0.001 "), std::string::npos) << big;
    EXPECT_NE(big.find("\n mean        0.033 "), std::string::npos) << big;
    EXPECT_NE(big.find("\n  max        0.065 "), std::string::npos) << big;
}

using Trace = TempDir;

TEST_F(Trace, ChromeTraceEventsForPerfetto) {
    Recorder r(2, true);
    Scenario sc;
    sc.feed(r);
    // A slice recorded out of time order must still be written in order.
    Task late = make_task(6, "late");
    r.on_run(0, late, 7000, 8000);
    r.on_run(0, late, 6500, 7000);

    fs::path path = dir_ / "run.trace.json";
    r.write_trace(path.string(), "demo \"run\"");
    EXPECT_FALSE(fs::exists(path.string() + ".tmp"));
    std::string text = read_file(path);
    json j = json::parse(text);

    EXPECT_EQ(j["displayTimeUnit"], "ns");
    EXPECT_EQ(j["otherData"]["title"], "demo \"run\"");
    const json& ev = j["traceEvents"];
    ASSERT_TRUE(ev.is_array());

    std::map<int, std::string> thread_names;  // tid -> name
    std::map<int, int> sort_index;            // tid -> index
    int process_names = 0;
    for (const json& e : ev) {
        if (e["ph"] != "M")
            continue;
        if (e["name"] == "process_name") {
            ++process_names;
            EXPECT_EQ(e["args"]["name"], "demo \"run\"");
        } else if (e["name"] == "thread_name") {
            EXPECT_TRUE(thread_names.emplace(e["tid"], e["args"]["name"]).second);
        } else if (e["name"] == "thread_sort_index") {
            sort_index[e["tid"]] = e["args"]["sort_index"];
        }
    }
    EXPECT_EQ(process_names, 1);
    ASSERT_EQ(thread_names.size(), 2u);
    std::map<std::string, int> tid_of;  // "CPU n" -> tid
    for (const auto& [tid, name] : thread_names)
        tid_of[name] = tid;
    ASSERT_TRUE(tid_of.count("CPU 0") && tid_of.count("CPU 1"));
    EXPECT_EQ(sort_index[tid_of["CPU 0"]], 0);
    EXPECT_EQ(sort_index[tid_of["CPU 1"]], 1);

    // One run slice per on_run, on its CPU's track, with exact ts/dur.
    int runs = 0;
    bool saw_d = false;
    double last_ts = -1;
    for (const json& e : ev) {
        if (e["ph"] == "M")
            continue;
        EXPECT_GE(e["ts"].get<double>(), last_ts) << e.dump();
        last_ts = e["ts"].get<double>();
        if (e["ph"] != "X" || e["cat"] != "run")
            continue;
        ++runs;
        if (e["name"] == "d") {
            saw_d = true;
            EXPECT_EQ(e["tid"], tid_of["CPU 1"]);
            EXPECT_DOUBLE_EQ(e["ts"].get<double>(), 2.5);
            EXPECT_DOUBLE_EQ(e["dur"].get<double>(), 2.0);
            EXPECT_EQ(e["args"]["task"], 4);
        }
    }
    EXPECT_EQ(runs, 6);
    EXPECT_TRUE(saw_d);
    // ns precision written as exact decimals, not binary floating point.
    EXPECT_NE(
        text.find(R"("name":"d","cat":"run","ph":"X","pid":1,"tid":2,"ts":2.500,"dur":2.000)"),
        std::string::npos);

    // Flows: per id one start on the source track, then one finish (bound
    // to the enclosing slice) on the destination track, each right after a
    // 1 ns marker slice on the same track that it binds to.
    struct Expected {
        std::string marker;
        int from, to;
        double ts;
    };
    std::map<uint64_t, Expected> expected = {{1, {"migrate d", 0, 1, 2.0}},
                                             {2, {"migrate e \"quoted\"", 1, 0, 5.0}}};
    std::map<uint64_t, std::vector<size_t>> seen;  // id -> indexes of s, f
    for (size_t i = 1; i < ev.size(); ++i) {
        const json& e = ev[i];
        if (e["ph"] != "s" && e["ph"] != "f")
            continue;
        auto id = e["id"].get<uint64_t>();
        ASSERT_TRUE(expected.count(id)) << e.dump();
        const Expected& x = expected[id];
        std::vector<size_t>& at = seen[id];
        EXPECT_EQ(e["ph"], at.empty() ? "s" : "f") << "flow " << id << " out of order";
        at.push_back(i);
        EXPECT_EQ(e["cat"], "migration");
        EXPECT_EQ(e["tid"], tid_of[fmt::format("CPU {}", e["ph"] == "s" ? x.from : x.to)]);
        EXPECT_DOUBLE_EQ(e["ts"].get<double>(), x.ts);
        if (e["ph"] == "f") {
            EXPECT_EQ(e["bp"], "e");
        }
        const json& marker = ev[i - 1];
        EXPECT_EQ(marker["ph"], "X");
        EXPECT_EQ(marker["name"], x.marker);
        EXPECT_EQ(marker["tid"], e["tid"]);
        EXPECT_EQ(marker["ts"], e["ts"]);
        EXPECT_DOUBLE_EQ(marker["dur"].get<double>(), 0.001);
    }
    EXPECT_EQ(seen[1].size(), 2u);
    EXPECT_EQ(seen[2].size(), 2u);
    EXPECT_EQ(seen.size(), 2u);

    // Run-queue counters: changes only.
    std::map<std::string, std::vector<int>> counters;
    for (const json& e : ev)
        if (e["ph"] == "C")
            counters[e["name"]].push_back(e["args"]["len"]);
    EXPECT_EQ(counters["runqueue CPU 0"], (std::vector<int>{1, 0}));
    EXPECT_EQ(counters["runqueue CPU 1"], (std::vector<int>{2}));
}

TEST_F(Trace, SameRecordingSameBytes) {
    auto write = [&](const std::string& name, bool cpu1_first) {
        Recorder r(2, true);
        Scenario sc;
        sc.feed(r, cpu1_first);
        fs::path p = dir_ / name;
        r.write_trace(p.string(), "demo");
        return read_file(p);
    };
    std::string first = write("a.json", false);
    EXPECT_FALSE(first.empty());
    EXPECT_EQ(first, write("b.json", false));
    // Events are sorted, so CPUs' events interleaving differently (as worker
    // threads do) gives the same file.
    EXPECT_EQ(first, write("c.json", true));
}

TEST_F(Trace, WithoutKeepTraceHasTracksButNoEvents) {
    Recorder r(3, false);
    Scenario sc;
    sc.feed(r);
    fs::path p = dir_ / "t.json";
    r.write_trace(p.string(), "t");
    json j = json::parse(read_file(p));
    int names = 0;
    for (const json& e : j["traceEvents"]) {
        EXPECT_EQ(e["ph"], "M");
        names += e["name"] == "thread_name";
    }
    EXPECT_EQ(names, 3);
}

TEST_F(Trace, UnwritablePathThrowsAndLeavesNoFile) {
    Recorder r(2, true);
    Scenario sc;
    sc.feed(r);

    fs::path missing = dir_ / "no-such-dir" / "t.json";
    EXPECT_THROW(r.write_trace(missing.string(), "t"), std::runtime_error);
    EXPECT_FALSE(fs::exists(missing));
    EXPECT_FALSE(fs::exists(missing.string() + ".tmp"));

    // Creating the temporary works but the rename over a directory fails:
    // the temporary must be gone afterwards.
    fs::path is_dir = dir_ / "a-directory";
    fs::create_directories(is_dir);
    EXPECT_THROW(r.write_trace(is_dir.string(), "t"), std::runtime_error);
    EXPECT_TRUE(fs::is_directory(is_dir));
    EXPECT_FALSE(fs::exists(is_dir.string() + ".tmp"));
}

TEST_F(Trace, WrittenWhileRecordingAndAfter) {
    constexpr int kCpus = 4, kRuns = 2000;
    Recorder r(kCpus, true);
    auto threads = record_from_threads(kCpus, kRuns, [&r](int c, const Task& t, int, uint64_t at) {
        r.on_run(c, t, at, at + 10);
        r.on_migrate(t, c, (c + 1) % kCpus, at);
    });
    // A trace written mid-run holds some prefix of each CPU's records.
    fs::path during = dir_ / "during.json";
    r.write_trace(during.string(), "during");
    for (auto& th : threads)
        th.join();
    EXPECT_TRUE(json::parse(read_file(during))["traceEvents"].is_array());

    fs::path after = dir_ / "after.json";
    r.write_trace(after.string(), "after");
    int runs = 0, flow_starts = 0;
    json trace = json::parse(read_file(after));  // not a temporary: the loop borrows it
    for (const json& e : trace["traceEvents"]) {
        runs += e["ph"] == "X" && e["cat"] == "run";
        flow_starts += e["ph"] == "s";
    }
    EXPECT_EQ(runs, kCpus * kRuns);
    EXPECT_EQ(flow_starts, kCpus * kRuns);
}

// The bounded CDF sample: nearest-rank samples at k = min(n, 200) even
// shares, exact against a sorted copy, ending at the max.
TEST(Report, CdfIsNearestRankQuantilesOfTheRawSamples) {
    std::vector<uint64_t> ns;
    for (uint64_t i = 1000; i >= 1; --i)
        ns.push_back(i * 1000);  // 1..1000 us, reversed
    Percentiles p = percentiles_us(ns);
    ASSERT_EQ(p.cdf.size(), schedkit::kCdfPoints);
    for (size_t i = 0; i < p.cdf.size(); ++i)
        EXPECT_DOUBLE_EQ(p.cdf[i], static_cast<double>(5 * (i + 1)))
            << i;  // rank ceil((i+1)*1000/200)
    EXPECT_DOUBLE_EQ(p.cdf.back(), p.max);
    Percentiles few = percentiles_us({3000, 1000, 2000});
    EXPECT_EQ(few.cdf, (std::vector<double>{1, 2, 3}));
    EXPECT_TRUE(percentiles_us({}).cdf.empty());
    Recorder r(1, false);
    RunSummary s;
    r.summarize(s, 0);
    EXPECT_FALSE(ordered_json::parse(schedkit::summary_json(s)).contains("cdf"));
}
