// Runs the schedkit binary as a user would and checks status and output.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_runner.h"

using schedkit::test::run_cli;

TEST(Cli, HelpAndVersion) {
    auto help = run_cli("--help");
    EXPECT_EQ(help.status, 0);
    EXPECT_NE(help.out.find("topo"), std::string::npos);
    auto version = run_cli("--version");
    EXPECT_EQ(version.status, 0);
    EXPECT_NE(version.out.find("schedkit 0."), std::string::npos);
}

TEST(Cli, TopoJsonForSyntheticTwoPackageBox) {
    auto r = run_cli("topo --topology 'pack:2 l3:2 core:4 pu:2' --json");
    ASSERT_EQ(r.status, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["cpus"], 32);
    std::vector<std::pair<std::string, int>> want = {
        {"SMT", 2}, {"LLC", 8}, {"PKG", 16}, {"SYSTEM", 32}};
    ASSERT_EQ(j["levels"].size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
        EXPECT_EQ(j["levels"][i]["name"], want[i].first);
        EXPECT_EQ(j["levels"][i]["span"], want[i].second);
        EXPECT_EQ(j["levels"][i]["groups"], 2 + 2 * (i == 1));
        EXPECT_EQ(j["levels"][i]["balance_interval_ms"], want[i].second);
    }
    EXPECT_EQ(j["levels"][0]["imbalance_pct"], 110);
    EXPECT_EQ(j["levels"][0]["cache_nice_tries"], 0);
    EXPECT_EQ(j["levels"][1]["imbalance_pct"], 117);
}

TEST(Cli, TopoTableOnHost) {
    auto r = run_cli("topo");
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("topology host:"), std::string::npos);
}

void expect_bad_input(const std::string& args, const std::string& fragment) {
    auto r = run_cli(args);
    EXPECT_EQ(r.status, 2) << args;
    EXPECT_TRUE(r.out.empty()) << r.out;
    EXPECT_NE(r.err.find(fragment), std::string::npos) << r.err;
    // One line: the message ends in the only newline.
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
}

TEST(Cli, BadInputExitsTwoWithOneLine) {
    expect_bad_input("--no-such-flag", "--no-such-flag");
    expect_bad_input("topo --wat", "--wat");
    expect_bad_input("frobnicate", "frobnicate");
    expect_bad_input("topo --topology 'pack:2 l9x:2'", "unknown object type 'l9x'");
    expect_bad_input("topo --topology 'pack:two'", "column 6: expected a count");
    expect_bad_input("topo --topology /nonexistent/machine.xml", "'/nonexistent/machine.xml'");
    expect_bad_input(std::string("topo --topology ") + SCHEDKIT_TEST_DATA + "/corrupt.xml",
                     "not a valid hwloc XML");
}
