// hostile_flags_test.cpp: careless and hostile flags (issue 13 item 4):
// policy options checked against the machine, given twice or not finite;
// a quantum no longer than a context switch; --until 0; topologies past
// the CPU limit. Each exits 2 with one line before anything runs.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "hostile_support.h"
#include "runtime_support.h"
#include "schedkit/error.h"
#include "schedkit/policy_registry.h"

namespace schedkit {
namespace {

using test::expect_rejected;
using test::kWorkloads;
using test::run_cli;
using test::write_file;

const std::string kIo = kWorkloads + "io.yaml";
const std::string kFour = " --topology 'pack:1 core:4 pu:1'";

TEST(HostileFlags, CpuOptionBeyondTheMachineIsBadInputEverywhere) {
    const std::string bad = "dynamic:main_cpu=99";
    expect_rejected("sim " + kIo + kFour + " --policy " + bad, "names a CPU");
    expect_rejected("sim " + kIo + kFour + " --switch 1ms=" + bad, "--switch");
    expect_rejected("compare " + kIo + kFour + " --policies static," + bad, "--policies");
    expect_rejected("run " + kIo + " --cpus 0 --scale 0.01 --policy dynamic:main_cpu=1",
                    "names a CPU");
    expect_rejected("policies " + bad + kFour, "expected 0 to 3");
    // The last CPU is fine.
    auto r = run_cli("sim " + kIo + kFour + " --policy dynamic:main_cpu=3 --json");
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(run_cli("policies dynamic:main_cpu=3" + kFour).status, 0);
}

// Without --topology, `policies` checks a CPU option against the host.
TEST(HostileFlags, PoliciesChecksCpuOptionsAgainstTheHost) {
    expect_rejected("policies dynamic:main_cpu=99999", "names a CPU the machine does not have");
}

// A count past 64 bits once aborted in std::stol, and 100,000 CPUs hung
// inside hwloc: both are refused at once, in `topo` and in a run's flags.
TEST(HostileFlags, HugeTopologiesAreRefusedAtOnce) {
    auto start = std::chrono::steady_clock::now();
    for (const std::string t : {"pack:99999999999999999999 pu:1", "pack:100000 pu:1"}) {
        expect_rejected("topo --topology '" + t + "'", "count must be at most 4096");
        expect_rejected("sim " + kIo + " --topology '" + t + "'", "at most 4096");
        expect_rejected("policies static --topology '" + t + "'", "at most 4096");
    }
    // Counts within the limit whose product is not.
    expect_rejected("topo --topology 'pack:2 core:2048 pu:2'", "more than 4096 CPUs");
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
}

// Synthetic strings that aborted inside hwloc 2.9 (an assertion on a
// MemCache level; a level array overrun with 126 levels and no NUMA level)
// or took seconds in its loader (pu:4096) or were read as octal (pu:010),
// or made it allocate gigabytes (an explicit index of 1.9e12).
TEST(HostileFlags, SyntheticTopologiesThatBrokeHwlocAreOneLineOrFast) {
    expect_rejected("topo --topology 'memcache:2 pu:1'", "'memcache' cannot be a level");
    std::string levels;
    for (int i = 0; i < 125; ++i)
        levels += "group:1 ";
    expect_rejected("topo --topology '" + levels + "pu:1'", "more than 125 levels");
    expect_rejected("sim " + kIo + " --topology 'pack:2 pu:010'", "a count cannot start with 0");
    // An explicit OS index hwloc would have kept in a bitmap of gigabytes.
    expect_rejected("topo --topology 'pack:2 pu:2(indexes=0,2,1888888888888,3)'",
                    "column 25: an index above 1048576");
    auto start = std::chrono::steady_clock::now();
    auto r = run_cli("topo --topology pu:4096");
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("4096 CPUs"), std::string::npos) << r.out.substr(0, 200);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST(HostileFlags, CpuOptionCheckedByTheLibraryToo) {
    EXPECT_THROW(make_policy("dynamic:main_cpu=4", "p", 4), InputError);
    EXPECT_NO_THROW(make_policy("dynamic:main_cpu=3", "p", 4));
    EXPECT_NO_THROW(make_policy("dynamic:main_cpu=99", "p"));  // no machine: syntax only
}

TEST(HostileFlags, OptionGivenTwiceOrNotFiniteIsRejected) {
    expect_rejected("sim " + kIo + " --policy fair:nr_migrate=1,nr_migrate=2", "given twice");
    expect_rejected("policies fair:nr_migrate=1,nr_migrate=1", "given twice");
    for (const char* v : {"nan", "inf", "-inf", "NAN", "1e999"})
        expect_rejected("sim " + kIo + " --policy dynamic:load_limit=" + v, "finite");
}

TEST(HostileFlags, QuantumMustExceedTheSwitchCost) {
    for (const char* q : {"1us", "2us", "2000ns", "1ns"})
        expect_rejected("sim " + kIo + " --quantum " + q, "context switch");
    expect_rejected("sim " + kIo + " --policy fair:quantum_us=1", "quantum_us");
    auto r = run_cli("sim " + kIo + " --quantum 3us --until 5ms --json");
    EXPECT_EQ(r.status, 0) << r.err;
}

// The quantum is checked against the switch cost the run pays: --switch-cost
// or the spec's `costs: switch:` when set, not the 2 us default.
TEST(HostileFlags, QuantumMustExceedTheConfiguredSwitchCost) {
    const std::string cost = " --switch-cost 50us";
    expect_rejected("sim " + kIo + cost + " --quantum 40us", "50000 ns a context switch");
    expect_rejected("sim " + kIo + cost + " --quantum 50us", "--switch-cost");
    expect_rejected("sim " + kIo + cost + " --policy fair:quantum_us=50", "fair:quantum_us=50");
    expect_rejected("sim " + kIo + cost + " --switch 1ms=steal:quantum_us=20", "--switch");
    expect_rejected("compare " + kIo + cost + " --policies static,fair:quantum_us=30",
                    "--policies");
    std::string spec = write_file("costly.yaml", test::slurp(kIo) + "costs:\n  switch: 5ms\n");
    expect_rejected("sim " + spec + " --quantum 4ms", "costs: switch:");
    expect_rejected("sim " + spec, "--policy 'static'");  // its 3 ms quantum is all switch
    // Above the cost it runs; --quantum replaces a policy's own quantum.
    for (const std::string& ok : {cost + " --quantum 51us", cost + " --policy fair:quantum_us=60",
                                  cost + " --quantum 60us --policy fair:quantum_us=3"}) {
        auto r = run_cli("sim " + kIo + ok + " --until 5ms --json");
        EXPECT_EQ(r.status, 0) << ok << ": " << r.err;
    }
    auto r = run_cli("sim " + spec + " --quantum 6ms --until 50ms --json");
    EXPECT_EQ(r.status, 0) << r.err;
}

TEST(HostileFlags, UntilZeroIsRejectedNotUnlimited) {
    for (const char* cmd : {"sim", "compare", "run"})
        expect_rejected(std::string(cmd) + " " + kIo + " --until 0ns", "--until");
}

TEST(HostileFlags, PoliciesOutputEndsWithANewline) {
    for (const char* args : {"policies", "policies --json", "policies fair"}) {
        auto r = run_cli(args);
        ASSERT_EQ(r.status, 0) << r.err;
        ASSERT_FALSE(r.out.empty());
        EXPECT_EQ(r.out.back(), '\n') << args;
    }
}

TEST(HostileFlags, EmptyListsAreNotAll) {
    expect_rejected("run " + kIo + " --cpus '' --scale 0.01", "--cpus ''");
    expect_rejected("sim " + kIo + " --trace ''", "--trace ''");
}

TEST(HostileFlags, RunStaysInsideTheAffinityMask) {
    if (std::thread::hardware_concurrency() < 2 || std::system("taskset -V >/dev/null 2>&1") != 0)
        GTEST_SKIP() << "needs 2 CPUs and taskset";
    auto r = test::run_prefixed("taskset -c 0", "run " + kIo + " --cpus 0,1 --scale 0.01");
    test::expect_rejected(r, "not one this process may run on", "--cpus 0,1 under taskset -c 0");
    // By default the run uses what the mask allows: one CPU here.
    r = test::run_prefixed("taskset -c 0", "run " + kIo + " --scale 0.01 --json");
    ASSERT_EQ(r.status, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["cpus"].size(), 1u);
    EXPECT_EQ(j["tasks"]["spawned"], j["tasks"]["completed"]);
}

// Runtime::stop() from many threads at once (API misuse a user makes by
// accident: a signal handler thread and main both stopping) returns the
// same report everywhere and never hangs; a watchdog fails a hang.
TEST(HostileApi, ConcurrentStopIsIdempotent) {
    test::Watchdog dog(std::chrono::seconds(60));
    for (int round = 0; round < 20; ++round) {
        Runtime rt(test::test_config(2));
        rt.start();
        std::atomic<int> ran{0};
        for (int i = 0; i < 50; ++i)
            (void)rt.spawn([&ran]() -> Job<void> {
                ran.fetch_add(1);
                co_return;
            });
        std::vector<StopReport> reports(4);
        std::vector<std::thread> stoppers;
        for (size_t t = 0; t < reports.size(); ++t)
            stoppers.emplace_back([&, t] { reports[t] = rt.stop(); });
        for (auto& t : stoppers)
            t.join();
        for (const StopReport& r : reports) {
            EXPECT_EQ(r.spawned, 50u);
            EXPECT_EQ(r.completed, reports[0].completed);
            EXPECT_EQ(r.completed + r.cancelled + r.failed, r.spawned);
        }
        EXPECT_EQ(ran.load(), static_cast<int>(reports[0].completed));
        EXPECT_FALSE(rt.running());
    }
}

}  // namespace
}  // namespace schedkit
