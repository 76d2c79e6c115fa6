// run_cli_test.cpp: `schedkit run` executes every shipped workload for real
// under every policy, with conservation, and rejects bad input with status 2.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_runner.h"
#include "schedkit/policy_registry.h"

namespace schedkit {
namespace {

using test::run_cli;

std::vector<std::string> shipped_workloads() {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(std::string(SCHEDKIT_SOURCE_DIR) +
                                                             "/examples/workloads"))
        if (e.path().extension() == ".yaml")
            out.push_back(e.path().string());
    std::sort(out.begin(), out.end());
    return out;
}

TEST(RunCli, EveryShippedWorkloadUnderEveryPolicyConserves) {
    auto workloads = shipped_workloads();
    ASSERT_GE(workloads.size(), 4u);
    std::vector<std::string> policies;
    for (const PolicyInfo& p : policy_registry())
        if (!p.hidden)
            policies.push_back(p.name);
    for (const std::string& w : workloads)
        for (const std::string& p : policies) {
            // Scaled to 2% of the spec's durations: the whole matrix stays a
            // few seconds on a 2-CPU machine. A spec naming a larger machine
            // than the host time-shares its CPUs (--oversubscribe).
            auto r =
                run_cli("run '" + w + "' --policy " + p + " --scale 0.02 --json --oversubscribe");
            ASSERT_EQ(r.status, 0) << w << " " << p << ": " << r.err;
            auto j = nlohmann::json::parse(r.out);
            EXPECT_EQ(j["tasks"]["spawned"], j["tasks"]["completed"]) << w << " " << p;
            EXPECT_EQ(j["tasks"]["lost"], 0) << w << " " << p;
            EXPECT_GT(j["tasks"]["spawned"].get<int>(), 0);
            EXPECT_EQ(j["policy"], p);
            EXPECT_GT(j["makespan_us"].get<double>(), 0);
            EXPECT_FALSE(j["cpus"].empty());
        }
}

TEST(RunCli, SwitchesAndTraceLikeSim) {
    std::string trace = ::testing::TempDir() + "/run_cli_trace.json";
    std::string io = std::string(SCHEDKIT_SOURCE_DIR) + "/examples/workloads/io.yaml";
    auto r = run_cli("run '" + io + "' --cpus 0-1 --policy fair --switch 5ms=steal " +
                     "--switch 10ms=static --scale 0.05 --json --trace " + trace);
    ASSERT_EQ(r.status, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["tasks"]["spawned"], j["tasks"]["completed"]);
    EXPECT_EQ(j["cpus"].size(), 2u);
    ASSERT_EQ(j["policy_switches"].size(), 2u);
    EXPECT_EQ(j["policy_switches"][1]["to"], "static");
    EXPECT_EQ(j["policy"], "static");
    auto t = nlohmann::json::parse(test::slurp(trace));
    int cpu_tracks = 0;
    for (const auto& e : t["traceEvents"])
        if (e.value("name", "") == "thread_name" &&
            e["args"]["name"].get<std::string>().rfind("CPU ", 0) == 0)
            ++cpu_tracks;
    EXPECT_EQ(cpu_tracks, 2);
    std::remove(trace.c_str());
}

TEST(RunCli, BadInputIsStatus2WithoutOutputFiles) {
    std::string io = std::string(SCHEDKIT_SOURCE_DIR) + "/examples/workloads/io.yaml";
    std::string trace = ::testing::TempDir() + "/run_cli_bad.json";
    for (std::string args : {"--cpus 4095", "--cpus x", "--scale 0", "--scale -1", "--policy nope",
                             "--switch 5ms=nope", "--quantum 0"}) {
        auto r = run_cli("run '" + io + "' " + args + " --trace " + trace);
        EXPECT_EQ(r.status, 2) << args << ": " << r.out;
        EXPECT_NE(r.err.find("error"), std::string::npos) << args;
        EXPECT_FALSE(std::filesystem::exists(trace)) << args;
    }
    auto missing = run_cli("run /nonexistent.yaml");
    EXPECT_EQ(missing.status, 2);
}

}  // namespace
}  // namespace schedkit
