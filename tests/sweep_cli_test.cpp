// `schedkit sweep` and `merge` end to end: the grid, and the done-when of
// issue 12: a sweep run here and the same sweep run as --emit-jobs commands
// joined by merge give identical CSV (and JSON).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli_runner.h"

using schedkit::test::run_cli;
using schedkit::test::slurp;
namespace fs = std::filesystem;

namespace {

const std::string kSpec = std::string(SCHEDKIT_SOURCE_DIR) + "/examples/workloads/imbalanced.yaml";
const std::string kGrid =
    " --policies static,fair:nr_migrate=16 --param fair:migration_cost_us=0,250,500 --seeds 3";

fs::path scratch(const std::string& name) {
    fs::path dir =
        fs::temp_directory_path() / ("schedkit_sweep_" + std::to_string(getpid())) / name;
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

}  // namespace

TEST(SweepCli, GridIsPolicyTimesParameterValues) {
    auto r = run_cli("sweep " + kSpec + kGrid + " --json");
    ASSERT_EQ(r.status, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    ASSERT_EQ(j["points"].size(), 4u);
    EXPECT_EQ(j["points"][0]["run_policy"], "static");
    EXPECT_EQ(j["points"][1]["run_policy"], "fair:nr_migrate=16,migration_cost_us=0");
    EXPECT_EQ(j["points"][3]["run_policy"], "fair:nr_migrate=16,migration_cost_us=500");
    EXPECT_EQ(j["points"][2]["params"]["fair:migration_cost_us"], "250");
    EXPECT_EQ(j["points"][2]["runs"].size(), 3u);
    EXPECT_EQ(j["points"][2]["figures"]["makespan_us"]["n"], 3);
    // Two parameters: their product, the last varying fastest.
    auto two = run_cli("sweep " + kSpec +
                       " --param fair:migration_cost_us=0,500 --param fair:nr_migrate=4,32 --json");
    ASSERT_EQ(two.status, 0) << two.err;
    auto t = nlohmann::json::parse(two.out);
    ASSERT_EQ(t["points"].size(), 4u);
    EXPECT_EQ(t["points"][1]["run_policy"], "fair:migration_cost_us=0,nr_migrate=32");
}

TEST(SweepCli, EmitJobsPlusMergeGivesTheLocalCsv) {
    fs::path dir = scratch("jobs");
    std::string local_csv = (dir / "local.csv").string();
    auto local = run_cli("sweep " + kSpec + kGrid + " --jobs 2 --json --csv " + local_csv);
    ASSERT_EQ(local.status, 0) << local.err;

    auto emitted = run_cli("sweep " + kSpec + kGrid + " --emit-jobs");
    ASSERT_EQ(emitted.status, 0) << emitted.err;
    std::istringstream lines(emitted.out);
    std::string line;
    int jobs = 0;
    while (std::getline(lines, line)) {
        // Each line runs alone, anywhere: here, in its own directory.
        EXPECT_NE(line.find(" --point " + std::to_string(jobs)), std::string::npos) << line;
        fs::path wd = dir / ("job" + std::to_string(jobs));
        fs::create_directories(wd);
        std::string cmd = "cd " + wd.string() + " && " + line + " >/dev/null";
        ASSERT_EQ(std::system(cmd.c_str()), 0) << line;
        ++jobs;
    }
    ASSERT_EQ(jobs, 4);
    std::string parts;
    for (int k = jobs - 1; k >= 0; --k)  // any order
        parts += " " + (dir / ("job" + std::to_string(k)) /
                        ("sweep-point-" + std::to_string(k) + ".json"))
                           .string();
    std::string merged_csv = (dir / "merged.csv").string();
    auto merged = run_cli("merge" + parts + " --json --csv " + merged_csv);
    ASSERT_EQ(merged.status, 0) << merged.err;
    EXPECT_EQ(slurp(merged_csv), slurp(local_csv));
    EXPECT_EQ(merged.out, local.out);
    std::string csv = slurp(local_csv);
    EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 1 + 4 * 3);  // header, points x seeds
}

TEST(SweepCli, BadInputIsExitTwo) {
    fs::path dir = scratch("bad");
    for (const char* flags :
         {" --param fair", " --param fair:x=1",
          " --param steal:migration_cost_us=1 --policies fair",
          " --param fair:migration_cost_us=0,,5", " --policies static --point 3"}) {
        auto r = run_cli("sweep " + kSpec + flags);
        EXPECT_EQ(r.status, 2) << flags << r.err;
        EXPECT_NE(r.err.find("schedkit: error: "), std::string::npos) << r.err;
    }
    // merge: a missing point, a file from another sweep, not JSON.
    std::string a = (dir / "a.json").string(), b = (dir / "b.json").string();
    ASSERT_EQ(run_cli("sweep " + kSpec + kGrid + " --point 0 --output " + a).status, 0);
    ASSERT_EQ(
        run_cli("sweep " + kSpec + " --param fair:tick_us=500,1000 --point 1 --output " + b).status,
        0);
    auto missing = run_cli("merge " + a);
    EXPECT_EQ(missing.status, 2);
    EXPECT_NE(missing.err.find("points 1, 2, 3"), std::string::npos) << missing.err;
    EXPECT_EQ(run_cli("merge " + a + " " + b).status, 2);
    std::ofstream(dir / "junk.json") << "{not json";
    EXPECT_EQ(run_cli("merge " + (dir / "junk.json").string()).status, 2);
}
