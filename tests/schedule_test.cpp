// Recorded schedules: record -> replay gives the same run under every policy
// and with switches, byte for byte (JSON minus wall-clock fields, Perfetto
// trace); a schedule that does not fit is an error naming its first
// difference; malformed schedules are errors naming file:line.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "cli_runner.h"
#include "schedkit/error.h"
#include "schedkit/policy_registry.h"
#include "schedkit/schedule.h"

namespace schedkit {
namespace {

using test::kWorkloads;
using test::run_cli;
using test::slurp;

const std::string kTraces = std::string(SCHEDKIT_TEST_DATA) + "/traces/";

std::string tmp(const std::string& name) {
    return "/tmp/schedkit_schedule_" + std::to_string(getpid()) + "_" + name;
}

// without_wall_clock() is the JSON minus its wall-clock dependent fields.
std::string without_wall_clock(const std::string& json) {
    nlohmann::ordered_json j = nlohmann::ordered_json::parse(json);
    j.erase("wall_s");
    j.erase("events_per_s");
    return j.dump();
}

// record_then_replay() records a run, replays it naming another policy, and
// expects the same JSON and the same Perfetto trace.
void record_then_replay(const std::string& command, const std::string& input,
                        const std::string& flags, const std::string& other_policy) {
    std::string sched = tmp("s.txt"), t1 = tmp("t1.json"), t2 = tmp("t2.json");
    auto a = run_cli(command + " " + input + " " + flags + " --json --record-schedule " + sched +
                     " --trace " + t1);
    ASSERT_EQ(a.status, 0) << a.err;
    auto b = run_cli(command + " " + input + " --policy " + other_policy +
                     " --json --replay-schedule " + sched + " --trace " + t2);
    ASSERT_EQ(b.status, 0) << b.err;
    EXPECT_EQ(without_wall_clock(a.out), without_wall_clock(b.out));
    EXPECT_EQ(slurp(t1), slurp(t2));
    EXPECT_NE(slurp(sched).find("\nrun "), std::string::npos);
    std::remove(sched.c_str());
    std::remove(t1.c_str());
    std::remove(t2.c_str());
}

TEST(Schedule, RecordThenReplayIsIdenticalUnderEveryPolicy) {
    for (const PolicyInfo& p : policy_registry()) {
        if (p.hidden)
            continue;
        SCOPED_TRACE(p.name);
        record_then_replay("sim", kWorkloads + "io.yaml",
                           "--policy " + p.name + " --topology 'pack:1 core:4 pu:1'", "static");
    }
}

TEST(Schedule, RecordThenReplayIsIdenticalWithSwitches) {
    record_then_replay("sim", kWorkloads + "imbalanced.yaml",
                       "--policy static --switch 20ms=fair --switch 60ms=steal --until 150ms",
                       "dynamic");
}

TEST(Schedule, RecordThenReplayOfATrace) {
    record_then_replay("replay", kTraces + "trace-cmd-hackbench.report", "--policy fair", "static");
    record_then_replay("replay", kTraces + "perf-script-xz.txt", "--policy as-traced", "steal");
}

TEST(Schedule, ADifferentRunIsAnErrorNamingTheFirstDifference) {
    std::string sched = tmp("d.txt");
    auto a = run_cli("sim " + kWorkloads +
                     "io.yaml --policy fair --topology 'pack:1 core:4 "
                     "pu:1' --record-schedule " +
                     sched);
    ASSERT_EQ(a.status, 0) << a.err;
    // Move the first decision to another CPU.
    std::string text = slurp(sched);
    size_t at = text.find("\nrun ") + 5;
    char cpu = text[at];
    text[at] = cpu == '0' ? '1' : '0';
    {
        std::ofstream out(sched);
        out << text;
    }
    int line = 1;
    for (size_t i = 0; i < at; ++i)
        line += text[i] == '\n';
    std::string trace_out = tmp("no.json");
    auto b = run_cli("sim " + kWorkloads + "io.yaml --replay-schedule " + sched + " --trace " +
                     trace_out);
    EXPECT_EQ(b.status, 2);
    EXPECT_NE(b.err.find(sched + ":" + std::to_string(line) + ": task "), std::string::npos)
        << b.err;
    EXPECT_NE(b.err.find("expected CPU "), std::string::npos) << b.err;
    EXPECT_NE(b.err.find("but the run did"), std::string::npos) << b.err;
    EXPECT_FALSE(std::ifstream(trace_out).good()) << "no output after a mismatch";
    // A schedule of another command.
    auto c = run_cli("replay " + kTraces + "perf-script-xz.txt --replay-schedule " + sched);
    EXPECT_EQ(c.status, 2);
    EXPECT_NE(c.err.find("recorded by 'schedkit sim'"), std::string::npos) << c.err;
    std::remove(sched.c_str());
}

TEST(Schedule, MalformedSchedulesNameFileAndLine) {
    auto err = [](const std::string& text) {
        try {
            parse_schedule(text, "s.txt");
        } catch (const InputError& e) {
            return std::string(e.what());
        }
        return std::string("(no error)");
    };
    std::string head =
        "schedkit-schedule 1\ncommand sim\ninput x\npolicy fair\ntopology host\nseed\nquantum\n"
        "until\nfilter\nbegin\n";
    EXPECT_EQ(err(head + "run 0 10 20 block a#0\nend\n"), "(no error)");
    EXPECT_EQ(err("schedkit-schedule 9\n").rfind("s.txt:1: schedule format version 9", 0), 0u);
    EXPECT_EQ(err("hello\n").rfind("s.txt:1: 'hello' is not a schedule header", 0), 0u);
    EXPECT_EQ(err(head + "run 0 10 x block a#0\nend\n").rfind("s.txt:11: cannot read", 0), 0u);
    EXPECT_EQ(err(head + "run 0 10 20 nap a#0\nend\n").rfind("s.txt:11: cannot read", 0), 0u);
    EXPECT_EQ(err(head + "run 0 10 20 block a#0\n").rfind("s.txt:11: the schedule ends without", 0),
              0u);
    EXPECT_EQ(err("schedkit-schedule 1\ncommand sim\nbegin\n").rfind("s.txt:3: header has no", 0),
              0u);
    Schedule s = parse_schedule(head + "run 3 10 20 preempt a task with spaces\nend\n", "s.txt");
    ASSERT_EQ(s.lines.size(), 1u);
    EXPECT_EQ(s.lines[0].task, "a task with spaces");
    EXPECT_EQ(s.lines[0].cpu, 3);
    EXPECT_EQ(s.lines[0].why, SegmentEnd::Preempt);
    EXPECT_EQ(s.lines[0].line, 11);
}

}  // namespace
}  // namespace schedkit
