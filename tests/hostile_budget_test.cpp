// hostile_budget_test.cpp: resource budgets (issue 13 item 4): specs that
// would create a billion tasks, spawn forever, handle events forever, or are
// huge files end in one line naming the flag that raises the budget, never
// in std::bad_alloc or a hang.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "hostile_support.h"
#include "schedkit/budget.h"
#include "schedkit/workload.h"

namespace schedkit {
namespace {

using test::expect_rejected;
using test::kWorkloads;
using test::run_cli;
using test::write_file;

// A group `a` whose every task spawns two of `b`, each of which spawns an
// `a`: the tasks alive double every generation, forever.
const std::string kCycle =
    "groups:\n"
    "  - name: a\n"
    "    behavior:\n"
    "      - run: 100us\n"
    "      - spawn: {group: b, count: 2}\n"
    "  - name: b\n"
    "    count: 0\n"
    "    behavior:\n"
    "      - spawn: {group: a, count: 1}\n";

TEST(HostileBudget, HugeCountsAreRefusedBeforeRunning) {
    auto big = write_file("count.yaml",
                          "groups:\n  - name: a\n    count: 2000000000\n"
                          "    behavior: [run: 1ms]\n");
    for (const char* cmd : {"sim", "run", "compare"})
        expect_rejected(std::string(cmd) + " " + big, "--max-tasks");
    auto spawns = write_file("spawns.yaml",
                             "groups:\n  - name: a\n    behavior:\n"
                             "      - spawn: {group: b, count: 2147483647}\n"
                             "  - name: b\n    count: 0\n    behavior: [run: 1ms]\n");
    expect_rejected("sim " + spawns, "--max-tasks");
    // Raising the budget is what the message says to do; then it is a run.
    auto ok = write_file("ok.yaml",
                         "groups:\n  - name: a\n    count: 2000\n"
                         "    behavior: [run: 1us]\n");
    expect_rejected("sim " + ok + " --max-tasks 1000", "--max-tasks 2000");
    EXPECT_EQ(run_cli("sim " + ok + " --max-tasks 2000 --json").status, 0);
}

TEST(HostileBudget, SpawnCyclesAreRefusedOrBoundedByTheBudget) {
    auto cycle = write_file("cycle.yaml", kCycle);
    expect_rejected("sim " + cycle, "cycle");
    auto self = write_file("self.yaml",
                           "groups:\n  - name: a\n    behavior:\n"
                           "      - spawn: {group: a, count: 2}\n");
    expect_rejected("sim " + self, "cycle");
    // With --until the run is bounded in time, and in tasks by --max-tasks.
    auto start = std::chrono::steady_clock::now();
    expect_rejected("sim " + self + " --until 1s --max-tasks 10000", "--max-tasks");
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
    // A real run stops spawning at the live-task budget and says so.
    expect_rejected("run " + cycle + " --until 10s --scale 0.01 --max-tasks 64", "--max-tasks");
}

TEST(HostileBudget, EndlessEventsStopAtTheEventBudget) {
    auto rep = write_file("repeat.yaml",
                          "groups:\n  - name: a\n    repeat: 2147483647\n"
                          "    behavior: [run: 1ns, block: 1ns]\n");
    auto r = expect_rejected("sim " + rep + " --max-events 100000", "--max-events 200000");
    // compare goes through the same simulator.
    expect_rejected("compare " + rep + " --policies static --max-events 100000", "--max-events");
}

// Found by fuzz_spec: steps that take no time, repeated 2^31 times, all ran
// inside one dispatch without an event, so --max-events never fired.
TEST(HostileBudget, ZeroTimeStepsCountAgainstTheEventBudget) {
    auto zero = write_file("zero.yaml",
                           "groups:\n  - name: a\n    repeat: 2147483647\n"
                           "    behavior: [run: 0ns]\n");
    auto start = std::chrono::steady_clock::now();
    expect_rejected("sim " + zero + " --max-events 20000", "without time passing");
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST(HostileBudget, HugeSpecFilesAreRefusedWithoutReadingThemAll) {
    auto start = std::chrono::steady_clock::now();
    expect_rejected("sim /dev/zero", "--max-spec-bytes");
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
    std::string padded =
        "# " + std::string(3000, 'x') + "\n" + "groups:\n  - name: a\n    behavior: [run: 1ms]\n";
    auto p = write_file("padded.yaml", padded);
    expect_rejected("sim " + p + " --max-spec-bytes 1000", "--max-spec-bytes");
    EXPECT_EQ(run_cli("sim " + p + " --max-spec-bytes 4000 --json").status, 0);
    EXPECT_THROW(parse_workload_file(p, 1000), BudgetError);
    // A 100 MB spec (sparse: a valid start, then zeros) is refused by its
    // size, without reading it, in every command that reads a spec.
    std::string big = write_file("big.yaml", "groups:\n  - name: a\n    behavior: [run: 1ms]\n");
    std::filesystem::resize_file(big, 100u << 20);
    start = std::chrono::steady_clock::now();
    for (const char* cmd : {"sim", "run", "compare"})
        expect_rejected(std::string(cmd) + " " + big, "--max-spec-bytes");
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST(HostileBudget, BudgetFlagsAreChecked) {
    for (const std::string bad : {"--max-tasks 0", "--max-tasks -1", "--max-events x",
                                  "--max-time 0ns", "--max-time 5", "--max-spec-bytes 1e6"})
        expect_rejected("sim " + kWorkloads + "io.yaml " + bad, bad.substr(0, bad.find(' ')));
}

TEST(HostileBudget, TasksCreatedMatchesWhatTheSimulatorSpawns) {
    for (const char* w : {"balanced", "imbalanced", "io", "forkjoin"}) {
        SCOPED_TRACE(w);
        WorkloadSpec spec = parse_workload_file(kWorkloads + w + ".yaml");
        auto r = run_cli("sim " + kWorkloads + w + ".yaml --json");
        ASSERT_EQ(r.status, 0) << r.err;
        auto j = nlohmann::json::parse(r.out);
        EXPECT_EQ(tasks_created(spec), j["tasks"]["spawned"].get<double>());
    }
    EXPECT_TRUE(std::isinf(tasks_created(parse_workload(kCycle, "cycle.yaml"))));
    // A spawn after an exit never runs: no cycle.
    WorkloadSpec after_exit = parse_workload(
        "groups:\n  - name: a\n    behavior:\n      - exit\n      - spawn: {group: a}\n", "x");
    EXPECT_EQ(tasks_created(after_exit), 1.0);
}

}  // namespace
}  // namespace schedkit
