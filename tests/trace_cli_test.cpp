// import-trace and replay from the command line: output files, JSON fields,
// bad input as status 2 without output files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_runner.h"

namespace schedkit {
namespace {

using test::run_cli;

const std::string kTraces = std::string(SCHEDKIT_TEST_DATA) + "/traces/";

std::string tmp(const std::string& name) {
    return "/tmp/schedkit_trace_cli_" + std::to_string(getpid()) + "_" + name;
}
bool exists(const std::string& path) {
    return std::ifstream(path).good();
}

TEST(TraceCli, ImportWritesASpecThatSimulates) {
    std::string spec = tmp("hb.yaml");
    auto r = run_cli("import-trace " + kTraces + "trace-cmd-hackbench.report -o " + spec +
                     " --min-run 5us");
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("(trace-cmd report) written to " + spec), std::string::npos) << r.out;
    auto s = run_cli("sim " + spec + " --policy fair --json");
    ASSERT_EQ(s.status, 0) << s.err;
    auto j = nlohmann::json::parse(s.out);
    EXPECT_EQ(j["tasks"]["lost"], 0);
    EXPECT_EQ(j["tasks"]["completed"], j["tasks"]["spawned"]);
    std::remove(spec.c_str());
}

TEST(TraceCli, ReplayJsonHasFidelityAndTaskStats) {
    std::string trace = tmp("r.json");
    auto r = run_cli("replay " + kTraces +
                     "trace-cmd-tar-gzip-python.dat --policy steal "
                     "--topology 'pack:2 l3:2 core:8 pu:1' --json --trace " +
                     trace);
    ASSERT_EQ(r.status, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["policy"], "steal");
    EXPECT_EQ(j["trace"]["form"], "trace.dat");
    EXPECT_EQ(j["trace"]["threads"], 60);
    EXPECT_EQ(j["fidelity"]["threads"].size(), 60u);
    for (const char* k : {"traced_cpu_total_us", "simulated_cpu_total_us", "traced_makespan_us"})
        EXPECT_GT(j["fidelity"][k].get<double>(), 0) << k;
    for (const char* k : {"tid", "comm", "traced_cpu_us", "simulated_cpu_us", "traced_wall_us",
                          "simulated_wall_us", "migrations_traced", "migrations_simulated"})
        EXPECT_TRUE(j["fidelity"]["threads"][0].contains(k)) << k;
    EXPECT_EQ(j["task_stats"].size(), 60u);
    EXPECT_TRUE(exists(trace));
    std::remove(trace.c_str());
    auto t = run_cli("replay " + kTraces + "perf-script-xz.txt --policy as-traced");
    ASSERT_EQ(t.status, 0) << t.err;
    EXPECT_NE(t.out.find("policy      as-traced"), std::string::npos) << t.out;
    EXPECT_NE(t.out.find("CPU traced 1784.224 ms, simulated 1784.224 ms"), std::string::npos)
        << t.out;
}

TEST(TraceCli, BadInputIsStatus2WithoutOutputFiles) {
    std::string bad = tmp("bad.trace"), spec = tmp("out.yaml"), trace = tmp("out.json");
    {
        std::ofstream(bad) << "# tracer: nop\n"
                              "  a-1 [000] d..2.  1.000000: sched_switch: prev_comm=a prev_pid=1\n";
    }
    auto r = run_cli("import-trace " + bad + " -o " + spec);
    EXPECT_EQ(r.status, 2);
    EXPECT_EQ(
        r.err.rfind("schedkit: error: " + bad + ":2: cannot read the fields of sched_switch", 0),
        0u)
        << r.err;
    EXPECT_FALSE(exists(spec));
    r = run_cli("replay " + bad + " --trace " + trace);
    EXPECT_EQ(r.status, 2);
    EXPECT_FALSE(exists(trace));
    r = run_cli("replay " + kTraces + "perf-script-xz.txt --policy nosuch --trace " + trace);
    EXPECT_EQ(r.status, 2);
    EXPECT_FALSE(exists(trace));
    r = run_cli("import-trace " + kTraces + "perf-script-xz.txt -o " + spec + " --filter xz");
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("expected comm=REGEX"), std::string::npos) << r.err;
    r = run_cli("import-trace " + kTraces + "perf-script-xz.txt -o " + spec + " --min-run 5");
    EXPECT_EQ(r.status, 2);
    EXPECT_FALSE(exists(spec));
    r = run_cli("import-trace /nonexistent.trace -o " + spec);
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("/nonexistent.trace: cannot open"), std::string::npos) << r.err;
    std::remove(bad.c_str());
}

// Inputs the fuzzer found (tests/data/fuzz-found/trace-*, docs/fuzzing.md):
// each is bad input, status 2 with one line naming the file, no output file.
TEST(TraceCli, FuzzFoundTracesAreOneLineStatus2) {
    namespace fs = std::filesystem;
    std::string spec = tmp("fuzz.yaml");
    int seen = 0;
    for (const auto& e : fs::directory_iterator(std::string(SCHEDKIT_TEST_DATA) + "/fuzz-found")) {
        std::string name = e.path().filename().string();
        if (name.rfind("trace-", 0) != 0)
            continue;
        ++seen;
        auto r = run_cli("import-trace " + e.path().string() + " -o " + spec);
        EXPECT_EQ(r.status, 2) << name << ": " << r.err;
        EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << name << ": not one line: " << r.err;
        EXPECT_NE(r.err.find(name), std::string::npos) << r.err;
        EXPECT_TRUE(r.out.empty()) << name;
        EXPECT_FALSE(exists(spec)) << name;
    }
    EXPECT_GE(seen, 1);
}

}  // namespace
}  // namespace schedkit
