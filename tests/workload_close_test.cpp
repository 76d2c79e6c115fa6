// workload_close_test.cpp: threads created during the run (thread groups
// with an arrival) and closed during it (close steps, drain or cancel), and
// the accounting of every message: sent == delivered + refused + returned
// (+ pending when the run is cut). Parsing, errors, the simulator, the
// invariant checker, the CLI's summary and JSON, and `schedkit run`.
#include <gtest/gtest.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_runner.h"
#include "schedkit/error.h"
#include "schedkit/policy_registry.h"
#include "schedkit/report.h"
#include "schedkit/sim.h"
#include "schedkit/workload.h"
#include "schedkit/workload_writer.h"
#include "sim/sim_threads.h"
#include "spec_support.h"

namespace schedkit {
namespace {

using test::error_of;
using test::expect_spec_errors;

constexpr uint64_t kMs = 1'000'000;

SimResult simulate(const std::string& yaml, const std::string& policy = "fair",
                   SimConfig cfg = {}) {
    WorkloadSpec spec = parse_workload(yaml, "t.yaml");
    return Simulator(spec, Topology::flat(2), make_policy(policy), cfg).run();
}

std::string write_temp(const std::string& name, const std::string& text) {
    std::string path = ::testing::TempDir() + "/" + name;
    std::FILE* f = std::fopen(path.c_str(), "w");
    EXPECT_NE(f, nullptr);
    std::fputs(text.c_str(), f);
    std::fclose(f);
    return path;
}

TEST(CloseSpec, ParsesAndWritesBack) {
    WorkloadSpec s = parse_workload(R"(groups:
  - name: a
    behavior:
      - close: {group: t, mode: cancel, count: 2}
      - close: {group: t}
  - name: t
    thread: true
    count: 3
    arrival: {rate: 1000}
    behavior: [run: 10us, close: {group: t, mode: drain}]
)",
                                    "t.yaml");
    const Step& c = s.groups[0].behavior[0];
    EXPECT_EQ(c.kind, Step::Kind::Close);
    EXPECT_EQ(c.spawn_group, 1);
    EXPECT_EQ(c.spawn_count, 2);
    EXPECT_TRUE(c.cancel);
    EXPECT_FALSE(s.groups[0].behavior[1].cancel);  // drain by default
    EXPECT_EQ(s.groups[0].behavior[1].spawn_count, 1);
    EXPECT_EQ(s.groups[1].arrival.kind, Arrival::Kind::Poisson);
    EXPECT_EQ(s.groups[1].behavior[1].kind, Step::Kind::Close);
    std::string yaml = format_workload_yaml(s);
    EXPECT_NE(yaml.find("close: {group: t, mode: cancel, count: 2}"), std::string::npos) << yaml;
    WorkloadSpec back = parse_workload(yaml, "back.yaml");
    EXPECT_TRUE(back.groups[0].behavior[0].cancel);
    EXPECT_EQ(back.groups[1].arrival.kind, Arrival::Kind::Poisson);
}

TEST(CloseSpec, ErrorsNamePlace) {
    expect_spec_errors({
        {"groups:\n  - name: a\n    behavior: [close: {group: a}]\n", "3:31",
         "close of group 'a', which is not a thread group"},
        {"groups:\n  - name: a\n    behavior: [close: {group: zz}]\n", "3:31",
         "close of undefined group 'zz'"},
        {"groups:\n  - name: a\n    behavior: [close: {mode: drain}]\n", "3:23",
         "close step has no 'group'"},
        {"groups:\n  - name: a\n    behavior: [close: {group: t, mode: kill}]\n"
         "  - name: t\n    thread: true\n    behavior: [run: 1ms]\n",
         "3:40", "unknown close mode 'kill'"},
        {"groups:\n  - name: a\n    behavior: [close: {group: t, count: 0}]\n"
         "  - name: t\n    thread: true\n    behavior: [run: 1ms]\n",
         "3:41", "an integer >= 1"},
        {"groups:\n  - name: a\n    behavior: [close: t]\n", "3:23", "'close' is a scalar"},
        {"groups:\n  - name: a\n    behavior: [close: {group: t, at: 1ms}]\n"
         "  - name: t\n    thread: true\n    behavior: [run: 1ms]\n",
         "3:34", "unknown key 'at' in a close step"},
    });
}

// One sender, one thread of 1 ms messages: 5 sent at 1 ms, then the close.
std::string one_thread(const std::string& close_then) {
    return R"(groups:
  - name: sender
    behavior:
      - run: 1ms
      - send: {group: t, count: 5}
)" + close_then +
           R"(
  - name: t
    thread: true
    behavior: [run: 1ms]
)";
}

TEST(CloseSim, DrainRunsQueuedMessagesAndRefusesLaterSends) {
    SimResult r =
        simulate(one_thread("      - close: {group: t, mode: drain}\n"
                            "      - send: {group: t, count: 2}"));
    ASSERT_TRUE(r.completed);
    EXPECT_EQ(r.messages.sent, 7u);
    EXPECT_EQ(r.messages.delivered, 5u);
    EXPECT_EQ(r.messages.refused, 2u);
    EXPECT_EQ(r.messages.returned, 0u);
    EXPECT_EQ(r.messages.pending, 0u);
    EXPECT_EQ(r.messages.closed, 1u);
    EXPECT_EQ(r.summary.completed, 2u);
    EXPECT_DOUBLE_EQ(r.work_us, 6'000);  // 1 ms of sender, 5 messages of 1 ms
    EXPECT_GE(r.summary.makespan_us, 6'000);
}

TEST(CloseSim, CancelHandsQueuedMessagesBack) {
    SimResult r = simulate(one_thread("      - close: {group: t, mode: cancel}"));
    ASSERT_TRUE(r.completed);
    EXPECT_EQ(r.messages.sent, 5u);
    EXPECT_EQ(r.messages.delivered, 0u);
    EXPECT_EQ(r.messages.returned, 5u);
    EXPECT_EQ(r.summary.completed, 2u);
    EXPECT_LT(r.summary.makespan_us, 1'100);  // the thread exited at once
}

TEST(CloseSim, CancelLetsTheRunningMessageFinish) {
    // The thread starts the first message at 1 ms; the cancel at 1.5 ms
    // returns the 4 still queued, the running one is delivered.
    SimResult r = simulate(R"(groups:
  - name: sender
    behavior:
      - run: 1ms
      - send: {group: t, count: 5}
  - name: closer
    behavior:
      - block: 1500us
      - close: {group: t, mode: cancel}
  - name: t
    thread: true
    behavior: [run: 1ms]
)");
    ASSERT_TRUE(r.completed);
    EXPECT_EQ(r.messages.delivered, 1u);
    EXPECT_EQ(r.messages.returned, 4u);
    EXPECT_EQ(r.messages.sent, 5u);
}

TEST(CloseSim, ThreadsArriveDuringTheRun) {
    // The thread arrives at 5 ms: sends before are refused (no thread
    // yet), sends after are delivered; its poller starts with it.
    SimResult r = simulate(R"(groups:
  - name: sender
    behavior:
      - run: 1ms
      - send: {group: t, count: 3}
      - run: 9ms
      - send: {group: t, count: 2}
  - name: t
    thread: true
    arrival: {at: 5ms}
    pollers: [{every: 1ms, run: 10us}]
    behavior: [run: 100us]
)");
    ASSERT_TRUE(r.completed);
    EXPECT_EQ(r.messages.refused, 3u);
    EXPECT_EQ(r.messages.delivered, 2u);
    EXPECT_EQ(r.messages.threads, 1u);
    // Polls from 6 ms to the end (about 10.2 ms): 4 or 5, never the 10 a
    // thread started at 0 would have run.
    double polls_us = r.work_us - 10'000 - 200;
    EXPECT_GE(polls_us, 40);
    EXPECT_LE(polls_us, 50);
}

TEST(CloseSim, ClosesTakeTheOldestOpenThreadAndStopAtTheLast) {
    SimResult r = simulate(R"(groups:
  - name: closer
    behavior:
      - run: 1ms
      - close: {group: t, count: 2}
      - send: {group: t, count: 6}
      - close: {group: t, count: 5}
  - name: t
    thread: true
    count: 3
    behavior: [run: 1ms]
)");
    ASSERT_TRUE(r.completed);
    EXPECT_EQ(r.messages.closed, 3u);  // 2, then the one left
    // Round robin over t#0 (closed), t#1 (closed), t#2 (open, then drained).
    EXPECT_EQ(r.messages.refused, 4u);
    EXPECT_EQ(r.messages.delivered, 2u);
    EXPECT_EQ(r.summary.completed, 4u);
}

TEST(CloseSim, ACutRunCountsPendingMessages) {
    SimConfig cfg;
    cfg.until_ns = 2 * kMs + kMs / 2;
    SimResult r = simulate(one_thread(""), "fair", cfg);
    EXPECT_FALSE(r.completed);
    EXPECT_EQ(r.messages.sent, 5u);
    EXPECT_EQ(r.messages.delivered, 1u);
    EXPECT_EQ(r.messages.pending, 4u);  // one running, three queued
    EXPECT_TRUE(r.messages.consistent(false));
}

// The invariant checker's message rule: a dropped message (sent but in no
// other count) or a pending one at the end of a completed run aborts.
TEST(CloseSimDeathTest, TheCheckerCatchesADroppedMessage) {
    MessageCounts ok{10, 6, 2, 2, 0, 1, 1};
    sim::check_messages(ok, true);
    MessageCounts dropped = ok;
    dropped.delivered = 5;
    EXPECT_DEATH(sim::check_messages(dropped, false), "lost or doubled");
    MessageCounts doubled = ok;
    doubled.returned = 3;
    EXPECT_DEATH(sim::check_messages(doubled, false), "lost or doubled");
    MessageCounts pending = ok;
    pending.delivered = 5;
    pending.pending = 1;
    sim::check_messages(pending, false);  // a cut run may leave some pending
    EXPECT_DEATH(sim::check_messages(pending, true), "lost or doubled");
}

// A spec with random arrivals, sends and closes of both modes.
const char* kRandom = R"(seed: 5
groups:
  - name: sender
    count: 200
    arrival: {rate: 20000}
    behavior:
      - run: {exp: 50us}
      - send: {group: t, count: 3}
      - run: {exp: 50us}
      - send: {group: u}
  - name: closer
    count: 6
    arrival: {rate: 500}
    behavior:
      - close: {group: t, mode: cancel}
      - close: {group: u}
  - name: t
    thread: true
    count: 8
    arrival: {rate: 2000}
    behavior: [run: {exp: 30us}, send: {group: u}]
  - name: u
    thread: true
    count: 4
    behavior: [run: {exp: 20us}]
)";

TEST(CloseSim, SameSeedSameResult) {
    WorkloadSpec spec = parse_workload(kRandom, "random.yaml");
    auto once = [&](uint64_t seed) {
        SimConfig cfg;
        cfg.seed = seed;
        SimResult r = Simulator(spec, Topology::flat(4), make_policy("fair"), cfg).run();
        EXPECT_TRUE(r.completed);
        EXPECT_TRUE(r.messages.consistent(true));
        EXPECT_GT(r.messages.refused, 0u);
        EXPECT_GT(r.messages.delivered, 0u);
        std::string j = summary_json(r.summary);
        // The wall-clock figures differ between runs; the rest may not.
        auto parsed = nlohmann::json::parse(j);
        parsed.erase("wall_s");
        parsed.erase("events_per_s");
        return parsed.dump();
    };
    std::string a = once(5);
    EXPECT_EQ(a, once(5));
    EXPECT_NE(a, once(6));
}

TEST(CloseCli, SummaryAndJsonShowTheMessages) {
    std::string path = write_temp("close_cli.yaml", kRandom);
    auto j = test::run_cli("sim '" + path + "' --topology 'core:4 pu:1' --json");
    ASSERT_EQ(j.status, 0) << j.err;
    auto m = nlohmann::json::parse(j.out)["messages"];
    EXPECT_EQ(m["sent"].get<uint64_t>(), m["delivered"].get<uint64_t>() +
                                             m["refused"].get<uint64_t>() +
                                             m["returned"].get<uint64_t>());
    EXPECT_EQ(m["pending"], 0);
    EXPECT_EQ(m["threads"], 12);
    auto t = test::run_cli("sim '" + path + "' --topology 'core:4 pu:1'");
    ASSERT_EQ(t.status, 0) << t.err;
    EXPECT_NE(t.out.find("messages    "), std::string::npos) << t.out;
    EXPECT_NE(t.out.find(" returned, 0 pending"), std::string::npos) << t.out;
    std::remove(path.c_str());
}

TEST(CloseCli, RunExecutesCloseStepsAndThreadArrivals) {
    std::string path =
        write_temp("close_run.yaml", one_thread("      - close: {group: t, mode: drain}\n"
                                                "      - send: {group: t, count: 2}"));
    auto r = test::run_cli("run '" + path + "' --cpus 0 --scale 0.1 --json");
    ASSERT_EQ(r.status, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["messages_delivered"], 5);  // the 2 sent after the close are refused
    EXPECT_EQ(j["messages"]["sent"], 7);
    EXPECT_EQ(j["messages"]["delivered"], 5);
    EXPECT_EQ(j["messages"]["refused"], 2);
    EXPECT_EQ(j["messages"]["returned"], 0);
    EXPECT_EQ(j["messages"]["pending"], 0);
    EXPECT_EQ(j["tasks"]["lost"], 0);
    // A thread arriving at 20 ms: the send at 0 finds no thread (refused),
    // the one at 40 ms reaches it; a thread arriving at 0 is there before
    // any task runs, so the first send to it is never refused. The real run
    // is scaled 5x (arrival at 100 ms): a task's first step must start
    // before the arrival, which a sanitizer on a loaded machine can delay
    // by tens of milliseconds.
    std::string late = write_temp("late.yaml", R"(groups:
  - name: a
    behavior: [send: {group: t}, send: {group: now}, block: 40ms, send: {group: t}]
  - name: t
    thread: true
    arrival: {at: 20ms}
    behavior: [run: 1ms]
  - name: now
    thread: true
    behavior: [run: 1ms]
)");
    for (const char* cmd : {"run", "sim"}) {
        auto e = test::run_cli(std::string(cmd) + " '" + late + "' --json" +
                               (cmd == std::string("run") ? " --cpus 0 --scale 5" : ""));
        ASSERT_EQ(e.status, 0) << cmd << ": " << e.err;
        auto m = nlohmann::json::parse(e.out)["messages"];
        EXPECT_EQ(m["sent"], 3) << cmd;
        EXPECT_EQ(m["refused"], 1) << cmd;
        EXPECT_EQ(m["delivered"], 2) << cmd;
    }
    std::remove(path.c_str());
    std::remove(late.c_str());
}

// In the runtime, for real: 40 tasks send 600 messages while 10 others
// close 20 of the 24 threads (cancel, then drain) at random times; the
// accounting holds whatever the interleaving.
TEST(CloseCli, RunAccountsForEveryMessageUnderConcurrentCloses) {
    std::string path = write_temp("close_race.yaml", R"(groups:
  - name: sender
    count: 40
    arrival: {rate: 20000}
    repeat: 5
    behavior:
      - run: 20us
      - send: {group: t, count: 3}
      - block: {exp: 100us}
  - name: closer
    count: 10
    arrival: {rate: 5000}
    behavior:
      - block: {exp: 500us}
      - close: {group: t, mode: cancel}
      - close: {group: t}
  - name: t
    thread: true
    count: 24
    behavior: [run: 20us]
)");
    for (int round = 0; round < 3; ++round) {
        auto r = test::run_cli("run '" + path + "' --cpus 0 --seed " + std::to_string(round) +
                               " --json");
        ASSERT_EQ(r.status, 0) << r.err;
        auto j = nlohmann::json::parse(r.out);
        auto m = j["messages"];
        EXPECT_EQ(m["sent"], 600);
        EXPECT_EQ(m["sent"].get<uint64_t>(), m["delivered"].get<uint64_t>() +
                                                 m["refused"].get<uint64_t>() +
                                                 m["returned"].get<uint64_t>())
            << m.dump();
        EXPECT_EQ(m["pending"], 0);
        EXPECT_EQ(j["messages_delivered"], m["delivered"]);
        EXPECT_EQ(j["tasks"]["lost"], 0);
        EXPECT_EQ(j["tasks"]["completed"], j["tasks"]["spawned"]);
    }
    std::remove(path.c_str());
}

}  // namespace
}  // namespace schedkit
