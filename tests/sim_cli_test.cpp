// `schedkit sim` end to end: output fields, trace, bad input and no partial files.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_runner.h"

using schedkit::test::kWorkloads;
using schedkit::test::run_cli;
using schedkit::test::slurp;
namespace fs = std::filesystem;

namespace {

std::string scratch(const std::string& name) {
    return schedkit::test::scratch_file("schedkit_sim_cli", name);
}

std::string write_spec(const std::string& name, const std::string& text) {
    std::string path = scratch(name);
    std::ofstream(path) << text;
    return path;
}

}  // namespace

TEST(SimCli, JsonHasTheDocumentedFields) {
    for (const char* w : {"balanced", "imbalanced", "io", "forkjoin"}) {
        SCOPED_TRACE(w);
        auto r = run_cli("sim " + kWorkloads + w + ".yaml --json");
        ASSERT_EQ(r.status, 0) << r.err;
        auto j = nlohmann::json::parse(r.out);
        for (const char* key :
             {"makespan_us", "events", "events_per_s", "context_switches", "migrations",
              "imbalance_ratio", "tasks", "wait_us", "response_us", "cpus"})
            EXPECT_TRUE(j.contains(key)) << key;
        EXPECT_GT(j["makespan_us"].get<double>(), 0);
        EXPECT_EQ(j["tasks"]["spawned"], j["tasks"]["completed"]);
        EXPECT_EQ(j["tasks"]["lost"], 0);
        for (const char* p : {"p50", "p90", "p99", "max"}) {
            EXPECT_TRUE(j["wait_us"].contains(p));
            EXPECT_TRUE(j["response_us"].contains(p));
        }
        ASSERT_FALSE(j["cpus"].empty());
        for (const char* key : {"cpu", "busy_us", "idle_us", "context_switches", "migrations_in"})
            EXPECT_TRUE(j["cpus"][0].contains(key)) << key;
    }
}

TEST(SimCli, TopologyFlagOverridesTheSpec) {
    auto r = run_cli("sim " + kWorkloads + "balanced.yaml --topology 'pack:1 core:4 pu:1' --json");
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(nlohmann::json::parse(r.out)["cpus"].size(), 4u);
}

TEST(SimCli, TraceIsValidJsonWithOneTrackPerCpu) {
    std::string trace = scratch("trace.json");
    auto r = run_cli("sim " + kWorkloads + "imbalanced.yaml --trace " + trace);
    ASSERT_EQ(r.status, 0) << r.err;
    auto j = nlohmann::json::parse(slurp(trace));
    std::set<std::string> tracks;
    for (const auto& e : j["traceEvents"])
        if (e["ph"] == "M" && e["name"] == "thread_name")
            tracks.insert(e["args"]["name"]);
    EXPECT_EQ(tracks.size(), 32u);
    EXPECT_TRUE(tracks.count("CPU 0") && tracks.count("CPU 31"));
}

TEST(SimCli, SameSeedSameTraceBytes) {
    std::string a = scratch("a.json"), b = scratch("b.json");
    ASSERT_EQ(run_cli("sim " + kWorkloads + "io.yaml --seed 5 --trace " + a).status, 0);
    ASSERT_EQ(run_cli("sim " + kWorkloads + "io.yaml --seed 5 --trace " + b).status, 0);
    EXPECT_EQ(slurp(a), slurp(b));
}

void expect_bad(const std::string& args, const std::string& fragment, const std::string& trace) {
    auto r = run_cli(args + " --trace " + trace);
    EXPECT_EQ(r.status, 2) << args;
    EXPECT_NE(r.err.find(fragment), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;
    EXPECT_TRUE(r.out.empty());
    EXPECT_FALSE(fs::exists(trace)) << "partial output written for " << args;
    EXPECT_FALSE(fs::exists(trace + ".tmp"));
}

TEST(SimCli, BadInputIsFileLineColumnStatusTwoAndNoFiles) {
    std::string trace = scratch("never.json");
    std::string unknown_key = write_spec("unknown_key.yaml",
                                         "groups:\n  - name: a\n    colour: red\n"
                                         "    behavior: [run: 1ms]\n");
    expect_bad("sim " + unknown_key, "unknown_key.yaml:3:5:", trace);
    std::string negative =
        write_spec("negative.yaml", "groups:\n  - name: a\n    behavior:\n      - run: -3ms\n");
    expect_bad("sim " + negative, "negative.yaml:4:14:", trace);
    std::string unit = write_spec(
        "unit.yaml", "groups:\n  - name: a\n    behavior:\n      - block: 3fortnights\n");
    expect_bad("sim " + unit, "unit.yaml:4:16:", trace);
    std::string spawn = write_spec(
        "spawn.yaml", "groups:\n  - name: a\n    behavior:\n      - spawn: {group: nope}\n");
    expect_bad("sim " + spawn, "spawn.yaml:4:", trace);
    std::string affinity =
        write_spec("affinity.yaml",
                   "groups:\n  - name: a\n    affinity: \"0-63\"\n    behavior: [run: 1ms]\n");
    expect_bad("sim " + affinity + " --topology 'pack:1 core:4 pu:1'",
               "affinity.yaml:3:15:", trace);
    expect_bad("sim /no/such/spec.yaml", "/no/such/spec.yaml", trace);
    expect_bad("sim " + kWorkloads + "io.yaml --policy nonesuch", "unknown policy 'nonesuch'",
               trace);
    expect_bad("sim " + kWorkloads + "io.yaml --until 5parsecs", "--until", trace);
    expect_bad("sim " + kWorkloads + "io.yaml --seed -1", "--seed", trace);
    expect_bad("sim " + kWorkloads + "io.yaml --switch 5ms", "--switch", trace);
    expect_bad("sim " + kWorkloads + "io.yaml --topology 'pack:x'", "pack:x", trace);
    expect_bad("sim " + kWorkloads + "io.yaml --switch-cost 2", "--switch-cost", trace);
    expect_bad("sim " + kWorkloads + "io.yaml --migration-cost L9=1us", "unknown level 'L9'",
               trace);
    expect_bad("sim " + kWorkloads + "io.yaml --migration-cost LLC", "has no '='", trace);
    expect_bad("sim " + kWorkloads + "io.yaml --migration-cost LLC=-1us", "--migration-cost LLC",
               trace);
    std::string level = write_spec("level.yaml",
                                   "costs:\n  migration: {LLC: 5us, L4: 1us}\n"
                                   "groups:\n  - name: a\n    behavior: [run: 1ms]\n");
    expect_bad("sim " + level, "level.yaml:2:25: unknown level 'L4'", trace);
    std::string sw = write_spec("switch.yaml",
                                "costs:\n  switch: fast\n"
                                "groups:\n  - name: a\n    behavior: [run: 1ms]\n");
    expect_bad("sim " + sw, "switch.yaml:2:11:", trace);
}

TEST(SimCli, CostFlagsOverrideTheSpec) {
    // Two 10 ms tasks on one CPU at a 3 ms quantum: 8 switches.
    std::string path = write_spec("costs.yaml",
                                  "costs: {switch: 10us}\n"
                                  "groups:\n  - name: a\n    count: 2\n"
                                  "    behavior: [run: 10ms]\n");
    auto makespan = [&](const std::string& flags) {
        auto r = run_cli("sim " + path + " --topology 'pack:1 core:1 pu:1' --quantum 3ms --json" +
                         flags);
        EXPECT_EQ(r.status, 0) << r.err;
        return nlohmann::json::parse(r.out)["makespan_us"].get<double>();
    };
    EXPECT_DOUBLE_EQ(makespan(""), 20'080.0);                            // the spec's 10 us
    EXPECT_DOUBLE_EQ(makespan(" --switch-cost 1us"), 20'008.0);          // the flag wins
    EXPECT_DOUBLE_EQ(makespan(" --migration-cost NUMA=1ms"), 20'080.0);  // nothing migrates
}

TEST(SimCli, UnwritableTraceIsBadInputBeforeRunning) {
    auto r = run_cli("sim " + kWorkloads + "io.yaml --trace /no/such/dir/t.json");
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("/no/such/dir/t.json"), std::string::npos) << r.err;
}
