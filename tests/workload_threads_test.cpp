// workload_threads_test.cpp: lightweight threads in specs (`thread: true`
// groups, pollers, send steps): parsing, errors, and what the simulator and
// `schedkit run` do with them.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "cli_runner.h"
#include "schedkit/error.h"
#include "schedkit/policy_registry.h"
#include "schedkit/sim.h"
#include "schedkit/workload.h"
#include "spec_support.h"

namespace schedkit {
namespace {

using test::error_of;
using test::expect_spec_errors;

constexpr uint64_t kUs = 1'000;

// A pipeline with fixed durations: 10 producers of 1 ms each send 2
// messages to `net` (100 us, then one message on to `disk`, 50 us).
const char* kPipeline = R"(groups:
  - name: producer
    count: 10
    behavior:
      - run: 1ms
      - send: {group: net, count: 2}
  - name: net
    thread: true
    count: 2
    behavior:
      - run: 100us
      - send: {group: disk}
  - name: disk
    thread: true
    behavior: [run: 50us]
)";

TEST(ThreadSpec, Parses) {
    WorkloadSpec s = parse_workload(R"(groups:
  - name: a
    behavior: [send: {group: t, count: 3}]
  - name: t
    thread: true
    count: 2
    pollers:
      - {every: 1ms, run: 20us}
      - {every: 5ms, run: {exp: 100us}}
    behavior: [run: 10us]
)",
                                    "t.yaml");
    const Step& send = s.groups[0].behavior[0];
    EXPECT_EQ(send.kind, Step::Kind::Send);
    EXPECT_EQ(send.spawn_group, 1);
    EXPECT_EQ(send.spawn_count, 3);
    const GroupSpec& t = s.groups[1];
    EXPECT_TRUE(t.thread);
    EXPECT_FALSE(s.groups[0].thread);
    ASSERT_EQ(t.pollers.size(), 2u);
    EXPECT_EQ(t.pollers[0].every_ns, 1'000 * kUs);
    EXPECT_EQ(t.pollers[0].run.a_ns, 20 * kUs);
    EXPECT_EQ(t.pollers[1].run.kind, Duration::Kind::Exp);
    EXPECT_EQ(t.pollers[1].loc.line, 9);
}

TEST(ThreadSpec, ErrorsNamePlace) {
    expect_spec_errors({
        {"groups:\n  - name: a\n    behavior: [send: {group: a}]\n", "3:30",
         "send to group 'a', which is not a thread group"},
        {"groups:\n  - name: a\n    behavior: [spawn: {group: t}]\n"
         "  - name: t\n    thread: true\n    behavior: [run: 1ms]\n",
         "3:31", "spawn of thread group 't'"},
        {"groups:\n  - name: t\n    count: 0\n    thread: true\n    behavior: [run: 1ms]\n", "4:5",
         "thread group 't' has count 0"},
        {"groups:\n  - name: t\n    thread: true\n    repeat: 2\n    behavior: [run: 1ms]\n", "4:5",
         "thread group 't' has a repeat"},
        {"groups:\n  - name: t\n    pollers: [{every: 1ms, run: 1us}]\n    behavior: [run: 1ms]\n",
         "3:5", "group 't' has pollers but is no thread"},
        {"groups:\n  - name: t\n    thread: true\n    pollers: [{every: 0ms, run: 1us}]\n"
         "    behavior: [run: 1ms]\n",
         "4:23", "poller period is 0"},
        {"groups:\n  - name: t\n    thread: true\n    pollers: [{every: 1ms}]\n"
         "    behavior: [run: 1ms]\n",
         "4:15", "poller has no 'run'"},
        {"groups:\n  - name: t\n    thread: true\n    behavior: [run: 1ms, block: 1ms]\n", "4:26",
         "a message of thread group 't' cannot block"},
        {"groups:\n  - name: a\n    behavior: [send: {count: 2}]\n", "3:22",
         "send step has no 'group'"},
    });
}

SimResult simulate(const WorkloadSpec& spec, int cpus, const std::string& policy = "static") {
    return Simulator(spec, Topology::flat(cpus), make_policy(policy)).run();
}

TEST(ThreadSim, EveryMessageRunsAndThreadsClose) {
    WorkloadSpec spec = parse_workload(kPipeline, "pipeline.yaml");
    for (const char* policy : {"static", "fair", "steal", "dynamic"}) {
        SCOPED_TRACE(policy);
        SimResult r = simulate(spec, 2, policy);
        ASSERT_TRUE(r.completed);
        // 10 producers and 3 threads, all exited.
        EXPECT_EQ(r.summary.spawned, 13u);
        EXPECT_EQ(r.summary.completed, 13u);
        EXPECT_EQ(r.summary.lost, 0u);
        // Work: 10 x 1 ms + 20 net messages x 100 us + 20 disk messages x 50 us.
        EXPECT_DOUBLE_EQ(r.work_us, 10'000 + 20 * 100 + 20 * 50);
        double busy = 0;
        for (const CpuSummary& c : r.summary.cpus)
            busy += c.busy_us;
        EXPECT_GE(busy, r.work_us);
    }
}

TEST(ThreadSim, PollersRunWhileTheOtherTasksDo) {
    // One 10 ms task; a thread polling every 1 ms for 100 us: it polls about
    // ten times, then closes when the task exits.
    WorkloadSpec spec = parse_workload(R"(groups:
  - name: job
    behavior: [run: 10ms]
  - name: poll
    thread: true
    pollers: [{every: 1ms, run: 100us}]
    behavior: [run: 1us]
)",
                                       "poll.yaml");
    SimResult r = simulate(spec, 2);
    ASSERT_TRUE(r.completed);
    EXPECT_EQ(r.summary.completed, 2u);
    EXPECT_GE(r.work_us, 10'000 + 9 * 100);
    EXPECT_LE(r.work_us, 10'000 + 11 * 100);
    EXPECT_LT(r.summary.makespan_us, 11'000);
}

TEST(ThreadRun, MessagesAreDeliveredForReal) {
    std::string path = ::testing::TempDir() + "/pipeline.yaml";
    {
        std::FILE* f = std::fopen(path.c_str(), "w");
        ASSERT_NE(f, nullptr);
        std::fputs(kPipeline, f);
        std::fclose(f);
    }
    auto r = test::run_cli("run '" + path + "' --cpus 0 --scale 0.1 --json");
    ASSERT_EQ(r.status, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["messages_delivered"], 40);
    EXPECT_EQ(j["tasks"]["lost"], 0);
    EXPECT_EQ(j["tasks"]["completed"], j["tasks"]["spawned"]);
    std::remove(path.c_str());
}

}  // namespace
}  // namespace schedkit
