// wait/notify steps: parsed, written back, simulated and run for real as
// counting semaphores.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "schedkit/error.h"
#include "schedkit/policy_registry.h"
#include "schedkit/sim.h"
#include "schedkit/workload.h"
#include "schedkit/workload_writer.h"

namespace schedkit {
namespace {

// A producer notifies `item` three times, 1 ms of work apart; a consumer
// waits for each and works 100 us on it.
constexpr const char* kSpec = R"(name: pc
seed: 3
groups:
  - name: producer
    repeat: 3
    behavior:
      - run: 1ms
      - notify: item
  - name: consumer
    repeat: 3
    behavior:
      - wait: item
      - run: 100us
)";

TEST(Events, ParseAndWriteBack) {
    WorkloadSpec s = parse_workload(kSpec, "pc.yaml");
    ASSERT_EQ(s.events, std::vector<std::string>{"item"});
    EXPECT_EQ(s.groups[0].behavior[1].kind, Step::Kind::Notify);
    EXPECT_EQ(s.groups[1].behavior[0].kind, Step::Kind::Wait);
    EXPECT_EQ(s.groups[1].behavior[0].event, 0);
    WorkloadSpec back = parse_workload(format_workload_yaml(s), "back.yaml");
    EXPECT_EQ(back.events, s.events);
    EXPECT_EQ(back.groups[1].behavior[0].kind, Step::Kind::Wait);
    try {
        parse_workload("groups:\n  - name: a\n    behavior:\n      - wait: 'a b'\n", "e.yaml");
        FAIL();
    } catch (const InputError& e) {
        EXPECT_STREQ(e.what(),
                     "e.yaml:4:15: bad event name 'a b'; expected an event name of letters, "
                     "digits, '_' and '-'");
    }
}

// Each consumer run starts only after the matching notify: with two CPUs
// the consumer's k-th run cannot end before k ms of producer work.
TEST(Events, SimulatedConsumerFollowsItsProducer) {
    WorkloadSpec s = parse_workload(kSpec, "pc.yaml");
    struct Seen : SimListener {
        std::vector<SimSegment> segs;
        void on_segment(const SimSegment& seg) override { segs.push_back(seg); }
    } seen;
    SimConfig cfg;
    cfg.listener = &seen;
    Simulator sim(s, Topology::flat(2), make_policy("fair"), cfg);
    SimResult r = sim.run();
    EXPECT_TRUE(r.completed);
    EXPECT_EQ(r.summary.completed, 2u);
    int k = 0;
    for (const SimSegment& seg : seen.segs) {
        if (seg.task->name.rfind("consumer", 0) == 0 && seg.run_start) {
            ++k;
            EXPECT_GE(seg.start_ns, static_cast<uint64_t>(k) * 1'000'000) << k;
        }
    }
    EXPECT_EQ(k, 3);
}

// A wait nobody notifies leaves its task unfinished, not lost.
TEST(Events, AWaitNeverNotifiedIsUnfinished) {
    WorkloadSpec s = parse_workload(
        "groups:\n  - name: a\n    behavior:\n      - run: 1ms\n      - wait: never\n", "w.yaml");
    Simulator sim(s, Topology::flat(1), make_policy("static"));
    SimResult r = sim.run();
    EXPECT_FALSE(r.completed);
    EXPECT_EQ(r.unfinished, 1u);
    EXPECT_EQ(r.summary.lost, 0u);
}

// Every shipped example writes back to a spec that writes the same text
// again (a trace arrival, whose times live in a file, cannot be written).
TEST(WorkloadWriter, ShippedExamplesRoundTrip) {
    namespace fs = std::filesystem;
    int written = 0;
    for (const auto& f :
         fs::directory_iterator(std::string(SCHEDKIT_SOURCE_DIR) + "/examples/workloads")) {
        if (f.path().extension() != ".yaml")
            continue;
        SCOPED_TRACE(f.path().string());
        WorkloadSpec s = parse_workload_file(f.path().string());
        bool trace_arrival = false;
        for (const GroupSpec& g : s.groups)
            trace_arrival |= g.arrival.kind == Arrival::Kind::Trace;
        if (trace_arrival) {
            EXPECT_THROW(format_workload_yaml(s), std::invalid_argument);
            continue;
        }
        std::string once = format_workload_yaml(s);
        std::string twice = format_workload_yaml(parse_workload(once, "once.yaml"));
        EXPECT_EQ(once, twice);
        ++written;
    }
    EXPECT_GE(written, 4);
}

// `schedkit run` executes the same steps with the runtime's Semaphore.
TEST(Events, RunOnTheRuntimeCompletes) {
    std::string path = "/tmp/schedkit_events_" + std::to_string(getpid()) + ".yaml";
    { std::ofstream(path) << kSpec; }
    auto r = test::run_cli("run " + path + " --cpus 0-1 --policy fair --scale 0.2 --json");
    ASSERT_EQ(r.status, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["tasks"]["completed"], 2);
    EXPECT_EQ(j["tasks"]["lost"], 0);
    std::remove(path.c_str());
}

}  // namespace
}  // namespace schedkit
