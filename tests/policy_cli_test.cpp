// `schedkit policies`, `schedkit compare` and policy flags, run as a user would.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "cli_runner.h"

using schedkit::test::run_cli;

namespace {

const std::string kImbalanced =
    std::string(SCHEDKIT_SOURCE_DIR) + "/examples/workloads/imbalanced.yaml";

void expect_bad_input(const std::string& args, const std::string& fragment) {
    auto r = run_cli(args);
    EXPECT_EQ(r.status, 2) << args;
    EXPECT_TRUE(r.out.empty()) << r.out;
    EXPECT_NE(r.err.find(fragment), std::string::npos) << r.err;
}

}  // namespace

TEST(PolicyCli, PoliciesListsEveryPolicyWithOptionsAndDefaults) {
    auto r = run_cli("policies");
    ASSERT_EQ(r.status, 0) << r.err;
    std::string out = "\n" + r.out;
    for (const char* name : {"static", "fifo", "dynamic", "fair", "steal", "governor"})
        EXPECT_NE(out.find(std::string("\n") + name + " "), std::string::npos) << name;
    EXPECT_EQ(r.out.find("failing"), std::string::npos);  // test-only, hidden
    EXPECT_NE(r.out.find("nr_migrate"), std::string::npos);

    auto j = run_cli("policies --json");
    ASSERT_EQ(j.status, 0) << j.err;
    auto doc = nlohmann::json::parse(j.out);
    std::set<std::string> names;
    for (const auto& p : doc["policies"]) {
        names.insert(p["name"].get<std::string>());
        EXPECT_FALSE(p["summary"].get<std::string>().empty());
        for (const auto& o : p["options"])
            for (const char* key : {"name", "type", "default", "help"})
                EXPECT_TRUE(o.contains(key)) << p["name"] << " " << key;
    }
    EXPECT_EQ(names,
              (std::set<std::string>{"static", "fifo", "dynamic", "fair", "steal", "governor"}));
    auto fair = run_cli("policies fair:nr_migrate=16 --json");
    ASSERT_EQ(fair.status, 0) << fair.err;
    auto f = nlohmann::json::parse(fair.out)["policies"];
    ASSERT_EQ(f.size(), 1u);
    bool found = false;
    for (const auto& o : f[0]["options"])
        if (o["name"] == "nr_migrate") {
            EXPECT_EQ(o["default"], "32");
            found = true;
        }
    EXPECT_TRUE(found);
}

TEST(PolicyCli, UnknownPolicyOrOptionIsStatusTwoWithTheValidOnes) {
    expect_bad_input("policies nosuch",
                     "expected one of: static, fifo, dynamic, fair, steal, governor");
    expect_bad_input("policies fair:bogus=1",
                     "expected one of: migration_cost_us, nr_migrate, tick_us, quantum_us");
    expect_bad_input("policies fair:nr_migrate=many", "bad value 'many' for nr_migrate");
    expect_bad_input("sim " + kImbalanced + " --policy nosuch", "unknown policy 'nosuch'");
    expect_bad_input("sim " + kImbalanced + " --policy steal:victims=3",
                     "unknown option 'victims'");
    expect_bad_input("sim " + kImbalanced + " --switch 10ms=nosuch", "unknown policy 'nosuch'");
    expect_bad_input("compare " + kImbalanced + " --policies fair,nosuch",
                     "unknown policy 'nosuch'");
    expect_bad_input("compare " + kImbalanced + " --policies fair,", "empty policy");
}

TEST(PolicyCli, SimRunsEveryPolicyAndSwitches) {
    for (const char* p : {"static", "fifo", "dynamic", "fair", "steal", "governor"}) {
        auto r = run_cli("sim " + kImbalanced + " --policy " + p + " --json");
        ASSERT_EQ(r.status, 0) << p << r.err;
        auto j = nlohmann::json::parse(r.out);
        EXPECT_EQ(j["tasks"]["lost"], 0) << p;
        EXPECT_EQ(j["tasks"]["completed"], j["tasks"]["spawned"]) << p;
        EXPECT_TRUE(j.contains("energy_j")) << p;
    }
    auto r = run_cli("sim " + kImbalanced +
                     " --policy dynamic --switch 200ms=governor --switch 300ms=fair --json");
    ASSERT_EQ(r.status, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["policy"], "fair");
    EXPECT_EQ(j["policy_switches"].size(), 2u);
    EXPECT_EQ(j["tasks"]["lost"], 0);
}

TEST(PolicyCli, CompareJsonShapeAndBound) {
    auto r = run_cli("compare " + kImbalanced + " --json");
    ASSERT_EQ(r.status, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    double bound = j["lower_bound_us"].get<double>();
    EXPECT_GT(bound, 0);
    ASSERT_EQ(j["policies"].size(), 5u);
    std::vector<std::string> order;
    for (const auto& row : j["policies"]) {
        order.push_back(row["policy"].get<std::string>());
        for (const char* key : {"makespan_us", "ratio_to_bound", "imbalance_ratio", "migrations",
                                "context_switches", "wait_p99_us", "energy_j"})
            EXPECT_TRUE(row[key].is_number()) << row["policy"] << " " << key;
        // A lower bound: no policy beats it.
        EXPECT_GE(row["ratio_to_bound"].get<double>(), 1.0 - 1e-9) << row["policy"];
        EXPECT_GT(row["energy_j"].get<double>(), 0);
    }
    EXPECT_EQ(order, (std::vector<std::string>{"static", "dynamic", "fair", "steal", "governor"}));
    // The balancers earn their keep on the shipped imbalanced workload.
    for (const auto& row : j["policies"])
        if (row["policy"] == "fair" || row["policy"] == "steal") {
            EXPECT_LE(row["ratio_to_bound"].get<double>(), 1.05) << row["policy"];
        }
}

TEST(PolicyCli, ComparePoliciesCarryTheirOptions) {
    auto r =
        run_cli("compare " + kImbalanced +
                " --topology 'pack:1 core:4 pu:2' --policies fair:nr_migrate=4,tick_us=500,steal");
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("fair:nr_migrate=4,tick_us=500"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\nsteal "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("(8 CPUs)"), std::string::npos) << r.out;
}
