// fidelity_cli_test.cpp: `schedkit fidelity` on every shipped spec, the CPU
// time `schedkit run` measures, its refusal of a machine larger than its
// CPUs, and Topology::restrict_to().
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_runner.h"
#include "schedkit/error.h"
#include "schedkit/topology.h"

namespace schedkit {
namespace {

using test::kWorkloads;
using test::run_cli;

std::vector<std::string> shipped_specs() {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(kWorkloads))
        if (e.path().extension() == ".yaml")
            out.push_back(e.path().string());
    std::sort(out.begin(), out.end());
    return out;
}

int one_line(const std::string& text) {
    return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

TEST(FidelityCli, RunsOnEveryShippedSpec) {
    auto specs = shipped_specs();
    ASSERT_GE(specs.size(), 8u);
    for (const std::string& spec : specs) {
        SCOPED_TRACE(spec);
        auto r = run_cli("fidelity '" + spec + "' --policy fair --scale 0.02 --json");
        ASSERT_EQ(r.status, 0) << r.err;
        auto j = nlohmann::json::parse(r.out);
        const auto& cmp = j["compare"];
        EXPECT_GT(cmp["makespan_ms"]["sim"].get<double>(), 0);
        EXPECT_GT(cmp["makespan_ms"]["run_mean"].get<double>(), 0);
        ASSERT_EQ(j["runs"].size(), 1u);
        // The same spec and seed: both start and finish the same tasks.
        EXPECT_EQ(j["sim"]["tasks"]["spawned"], j["runs"][0]["tasks"]["spawned"]);
        EXPECT_EQ(j["runs"][0]["tasks"]["spawned"], j["runs"][0]["tasks"]["completed"]);
        // Both on the same CPUs: one busy row per CPU, as many as the run had.
        size_t cpus = j["runs"][0]["cpus"].size();
        EXPECT_EQ(j["sim"]["cpus"].size(), cpus);
        EXPECT_TRUE(cmp.contains("cpu" + std::to_string(cpus - 1) + "_busy_ms"));
        double share = j["host"]["cpu_share"].get<double>();
        EXPECT_GT(share, 0);
        EXPECT_LE(share, 1.05);
        EXPECT_GE(j["host"]["gap_share_from_contention"].get<double>(), 0);
        EXPECT_LE(j["host"]["gap_share_from_contention"].get<double>(), 1);
    }
}

TEST(FidelityCli, TableStatesContentionAndRepeats) {
    auto r = run_cli("fidelity '" + kWorkloads + "io.yaml' --cpus 0 --repeat 2 --scale 0.02");
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("2 real runs"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("makespan ms"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("CPU 0 (host 0) busy ms"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("CPU 1 "), std::string::npos) << r.out;  // --cpus 0 only
    EXPECT_NE(r.out.find("of the CPU time they spun for"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\ncontention  "), std::string::npos) << r.out;
}

TEST(FidelityCli, BadInputIsOneLineStatus2) {
    std::string io = "'" + kWorkloads + "io.yaml'";
    for (std::string args :
         {io + " --repeat 0", io + " --cpus 4095", io + " --cpus x", io + " --scale 0",
          io + " --policy nope", std::string("/nonexistent.yaml")}) {
        auto r = run_cli("fidelity " + args);
        EXPECT_EQ(r.status, 2) << args << ": " << r.out;
        EXPECT_EQ(one_line(r.err), 1) << args << ": " << r.err;
        EXPECT_TRUE(r.out.empty()) << args;
    }
}

TEST(RunHostShare, MeasuresTheCpuTimeOfRunSteps) {
    // balanced: 32 x 10 bursts of uniform 4-6 ms and 4 x 5 x 10 ms, about
    // 1.8 s of CPU; at 2% about 36 ms, whatever the host's load.
    auto r = run_cli("run '" + kWorkloads + "balanced.yaml' --scale 0.02 --json");
    ASSERT_EQ(r.status, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    const auto& h = j["host"];
    EXPECT_NEAR(h["run_cpu_us"].get<double>(), 36'000, 36'000 * 0.1);
    EXPECT_GE(h["run_wall_us"].get<double>(), h["run_cpu_us"].get<double>() * 0.999);
    ASSERT_EQ(h["workers"].size(), j["cpus"].size());
    double sum = 0;
    for (const auto& w : h["workers"])
        sum += w["run_cpu_us"].get<double>();
    EXPECT_NEAR(sum, h["run_cpu_us"].get<double>(), 1);
    auto table = run_cli("run '" + kWorkloads + "balanced.yaml' --scale 0.01");
    ASSERT_EQ(table.status, 0) << table.err;
    EXPECT_NE(table.out.find("\nhost        the workers got "), std::string::npos) << table.out;
}

TEST(RunHostShare, RefusesAMachineLargerThanItsCpus) {
    std::string io = "'" + kWorkloads + "io.yaml'";
    auto r = run_cli("run " + io + " --cpus 0 --topology 'pack:1 core:2 pu:1' --scale 0.01");
    EXPECT_EQ(r.status, 2);
    EXPECT_EQ(one_line(r.err), 1) << r.err;
    EXPECT_NE(r.err.find("has 2 CPUs but the run has 1"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("--oversubscribe"), std::string::npos) << r.err;
    auto ok =
        run_cli("run " + io +
                " --cpus 0 --topology 'pack:1 core:2 pu:1' --scale 0.01 --oversubscribe --json");
    ASSERT_EQ(ok.status, 0) << ok.err;
    EXPECT_EQ(nlohmann::json::parse(ok.out)["cpus"].size(), 2u);
}

TEST(TopologyRestrict, KeepsListedCpusDense) {
    Topology t = Topology::synthetic("pack:2 core:2 pu:2");
    ASSERT_EQ(t.num_cpus(), 8);
    CpuSet keep;
    for (int c : {1, 2, 5})
        keep.set(t.cpu(c).os_index);
    Topology r = t.restrict_to(keep, "--cpus");
    ASSERT_EQ(r.num_cpus(), 3);
    for (int i = 0; i < 3; ++i)
        EXPECT_EQ(r.cpu(i).id, i);
    EXPECT_LT(r.cpu(0).os_index, r.cpu(1).os_index);
    EXPECT_LT(r.cpu(1).os_index, r.cpu(2).os_index);
    // The two CPUs of package 0 stay together, package 1 is now 1.
    EXPECT_EQ(r.cpu(0).package_id, r.cpu(1).package_id);
    EXPECT_NE(r.cpu(1).package_id, r.cpu(2).package_id);
    EXPECT_EQ(std::max({r.cpu(0).package_id, r.cpu(1).package_id, r.cpu(2).package_id}), 1);
    EXPECT_EQ(r.package_span(0).count(), 2);
    try {
        t.restrict_to(CpuSet::single(99), "--cpus");
        FAIL() << "no error";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("--cpus: CPU 99 is not in topology"),
                  std::string::npos)
            << e.what();
    }
}

}  // namespace
}  // namespace schedkit
