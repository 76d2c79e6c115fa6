// hostile_spec_test.cpp: hostile and careless specs (issue 13 items 4 and
// 5): a corpus of well-formed but wrong specs, each one line and status 2;
// a second YAML document; alias bombs; control bytes in yaml-cpp messages;
// a bad `topology:` with its place; parsing linear in the number of groups.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "hostile_support.h"
#include "schedkit/budget.h"
#include "schedkit/error.h"
#include "schedkit/workload.h"

namespace schedkit {
namespace {

namespace fs = std::filesystem;
using test::expect_rejected;
using test::run_cli;
using test::slurp;
using test::write_file;

const fs::path kBadSpecs = fs::path(SCHEDKIT_TEST_DATA) / "bad-specs";

// Each file in tests/data/bad-specs/ starts with "# expect: FRAGMENT": the
// one line it must be rejected with holds FRAGMENT. An optional second line
// "# flags: FLAGS" adds command-line flags: a spec that runs into a budget
// names a small one, so it trips in milliseconds instead of running the
// default 10^8 events (11 s in a release build, over 300 s under TSan).
TEST(HostileSpec, EveryBadSpecIsOneLineAndStatusTwo) {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(kBadSpecs))
        if (e.path().extension() == ".yaml")
            files.push_back(e.path());
    std::sort(files.begin(), files.end());
    ASSERT_GE(files.size(), 50u);
    for (const fs::path& f : files) {
        std::istringstream text(slurp(f.string()));
        std::string first_line, second_line;
        std::getline(text, first_line);
        std::getline(text, second_line);
        ASSERT_EQ(first_line.rfind("# expect: ", 0), 0u) << f;
        std::string fragment = first_line.substr(10);
        std::string flags;
        if (second_line.rfind("# flags: ", 0) == 0)
            flags = " " + second_line.substr(9);
        auto r = run_cli("sim '" + f.string() + "'" + flags);
        test::expect_rejected(r, fragment, f.filename().string());
        // Every message names the file (budgets and all).
        EXPECT_NE(r.err.find(f.filename().string()), std::string::npos) << r.err;
    }
}

// Found by fuzz_spec: --until bounds spawned tasks, but every group's count
// is drawn before the run, so a huge count still has to meet --max-tasks
// (it drew 16 GB of arrival times).
TEST(HostileSpec, UntilDoesNotLiftTheBudgetOnArrivingTasks) {
    std::string huge = (kBadSpecs / "count-over-budget.yaml").string();
    for (const char* cmd : {"sim", "run", "compare"})
        expect_rejected(std::string(cmd) + " '" + huge + "' --until 1ms",
                        "arrive with 2000000000 tasks");
    Budget b;
    b.max_tasks = 10;
    WorkloadSpec ok = parse_workload(
        "groups:\n  - name: a\n    count: 10\n    behavior: [run: 1ms]\n", "ten.yaml");
    EXPECT_NO_THROW(check_spec_budget(ok, b, true));
    ok.groups[0].count = 11;
    EXPECT_THROW(check_spec_budget(ok, b, true), BudgetError);
}

TEST(HostileSpec, ParseErrorsCarryFileLineColumn) {
    // Spot checks of the exact place for the checks added with the corpus.
    expect_rejected("sim '" + (kBadSpecs / "two-documents.yaml").string() + "'",
                    "two-documents.yaml:5:1: a second YAML document");
    expect_rejected("sim '" + (kBadSpecs / "topology-bad.yaml").string() + "'",
                    "topology-bad.yaml:2:11: topology 'pack:two pu:1'");
    expect_rejected("sim '" + (kBadSpecs / "alias-bomb.yaml").string() + "'",
                    "aliases expand the spec to more than 2097152 YAML nodes");
}

TEST(HostileSpec, SecondDocumentRejectedByTheLibrary) {
    EXPECT_THROW(parse_workload("groups: [{name: a, behavior: [run: 1ms]}]\n---\nx: 1\n", "t"),
                 InputError);
    // A document end marker alone is not a second document.
    EXPECT_NO_THROW(parse_workload("groups: [{name: a, behavior: [run: 1ms]}]\n...\n", "t"));
}

TEST(HostileSpec, ControlBytesInYamlMessagesStayOnOneLine) {
    // yaml-cpp echoes the bad escape character: here raw 0x01 and ESC bytes
    // after a backslash inside a double-quoted scalar.
    for (const std::string& bad :
         {std::string("name: \"\\\x01\"\n"), std::string("name: \"\\\x1b\"\n")}) {
        auto spec = write_file("ctl.yaml", bad + "groups: [{name: a, behavior: [run: 1ms]}]\n");
        auto r = expect_rejected("sim " + spec, "ctl.yaml:");
        EXPECT_EQ(r.err.find('\x01'), std::string::npos) << r.err;
    }
    // A key holding an escaped newline and a raw ESC is echoed escaped.
    auto spec =
        write_file("nl.yaml", "\"bad\\nkey\x1b\": 1\ngroups: [{name: a, behavior: [run: 1ms]}]\n");
    expect_rejected("sim " + spec, "nl.yaml:1:1: unknown key 'bad\\nkey\\x1b'");
}

// many_groups() is a spec of n groups, each spawning the next.
std::string many_groups(int n) {
    std::string s = "groups:\n";
    for (int i = 0; i < n; ++i) {
        s += "  - name: g" + std::to_string(i) + "\n    count: " + (i == 0 ? "1" : "0") +
             "\n    behavior:\n      - run: 1us\n";
        if (i + 1 < n)
            s += "      - spawn: {group: g" + std::to_string(i + 1) + "}\n";
    }
    return s;
}

double parse_seconds(const std::string& text) {
    auto start = std::chrono::steady_clock::now();
    WorkloadSpec spec = parse_workload(text, "many.yaml");
    EXPECT_FALSE(spec.groups.empty());
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

TEST(HostileSpec, ParsingIsLinearInGroups) {
    // 4x the groups must cost about 4x the time; quadratic parsing (a
    // linear lookup per spawn) cost 16x. 8x leaves room for noise.
    std::string small = many_groups(10'000), big = many_groups(40'000);
    double t_small = std::max(parse_seconds(small), parse_seconds(small));
    double t_big = std::min(parse_seconds(big), parse_seconds(big));
    EXPECT_LT(t_big, 8 * t_small + 0.05) << t_small << " s vs " << t_big << " s";
}

}  // namespace
}  // namespace schedkit
