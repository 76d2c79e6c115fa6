// Import and replay of Linux traces: specs that parse back and keep every
// thread's CPU time, as-traced fidelity, replays under real policies, and
// traced causality (wait/notify).
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "schedkit/error.h"
#include "schedkit/trace.h"
#include "schedkit/trace_import.h"
#include "schedkit/trace_replay.h"
#include "schedkit/workload_writer.h"

namespace schedkit {
namespace {

const std::string kDir = std::string(SCHEDKIT_TEST_DATA) + "/traces/";
const char* const kSamples[] = {"linux-ftrace-gzip-python.trace", "trace-cmd-hackbench.report",
                                "perf-script-xz.txt", "trace-cmd-tar-gzip-python.dat"};

uint64_t run_ns(const GroupSpec& g) {
    uint64_t sum = 0;
    for (const Step& s : g.behavior)
        if (s.kind == Step::Kind::Run)
            sum += s.duration.a_ns;
    return sum;
}

TEST(TraceImport, EverySampleBecomesASpecThatParsesBackWithTheTracedCpuTime) {
    for (const char* name : kSamples) {
        SCOPED_TRACE(name);
        Trace t = read_trace_file(kDir + name);
        ImportedTrace imp = trace_to_spec(t, {});
        ASSERT_EQ(imp.spec.groups.size(), t.threads.size());
        std::string yaml = format_workload_yaml(imp.spec, "imported");
        WorkloadSpec back = parse_workload(yaml, "imported.yaml");
        ASSERT_EQ(back.groups.size(), t.threads.size());
        std::map<int, int> forks;  // spawn steps per group
        for (size_t g = 0; g < back.groups.size(); ++g) {
            const TraceThread& th = t.threads[imp.thread_of_group[g]];
            EXPECT_EQ(run_ns(back.groups[g]), th.cpu_ns()) << back.groups[g].name;
            EXPECT_EQ(back.groups[g].count, th.parent_tid >= 0 ? 0 : 1);
            for (const Step& s : back.groups[g].behavior) {
                EXPECT_NE(s.kind, Step::Kind::Wait);  // import approximates waits as blocks
                if (s.kind == Step::Kind::Spawn)
                    ++forks[s.spawn_group];
            }
        }
        // Every child is spawned exactly once, by its parent.
        for (size_t g = 0; g < back.groups.size(); ++g) {
            const TraceThread& th = t.threads[imp.thread_of_group[g]];
            EXPECT_EQ(forks[static_cast<int>(g)], th.parent_tid >= 0 ? 1 : 0);
        }
    }
}

TEST(TraceImport, MinRunAndFilterKeepWhatTheySay) {
    Trace t = read_trace_file(kDir + "linux-ftrace-gzip-python.trace");
    TraceImportOptions o;
    o.min_run_ns = 50'000;
    ImportedTrace imp = trace_to_spec(t, o);
    for (const GroupSpec& g : imp.spec.groups) {
        for (const Step& s : g.behavior) {
            if (s.kind == Step::Kind::Run && s.duration.a_ns != 0) {
                EXPECT_GE(s.duration.a_ns, 50'000u);
            }
        }
    }
    o = {};
    o.comm_regex = "^gzip$";
    imp = trace_to_spec(t, o);
    ASSERT_EQ(imp.spec.groups.size(), 3u);  // three gzip processes
    for (const GroupSpec& g : imp.spec.groups) {
        EXPECT_EQ(g.name.rfind("gzip-", 0), 0u);
        EXPECT_EQ(g.count, 1);  // their parent bash is filtered out: they arrive on their own
    }
    o.comm_regex = "nothing-matches";
    EXPECT_THROW(trace_to_spec(t, o), InputError);
    o.comm_regex = "([";
    EXPECT_THROW(trace_to_spec(t, o), InputError);
}

nlohmann::json fidelity_of(const TraceReplay& r) {
    return nlohmann::json::parse(r.fidelity_json);
}

// Under as-traced, the replay puts every burst where and in the order the
// kernel did: CPU totals within 1%, each thread within 1% or 100 us.
TEST(TraceReplay, AsTracedMatchesTheTracedCpuTime) {
    for (const char* name : kSamples) {
        SCOPED_TRACE(name);
        Trace t = read_trace_file(kDir + name);
        ReplayOptions o;
        o.policy = "as-traced";
        auto r = replay_trace(t, o);
        EXPECT_TRUE(r->result.completed);
        EXPECT_EQ(r->result.summary.lost, 0u);
        nlohmann::json f = fidelity_of(*r);
        double traced = f["traced_cpu_total_us"], simulated = f["simulated_cpu_total_us"];
        EXPECT_NEAR(simulated, traced, traced * 0.01);
        ASSERT_EQ(f["threads"].size(), t.threads.size());
        for (const auto& th : f["threads"]) {
            double a = th["traced_cpu_us"], b = th["simulated_cpu_us"];
            EXPECT_LE(std::abs(a - b), std::max(0.01 * a, 100.0)) << th.dump();
            // Every burst ran on its traced CPU: the same CPU changes.
            EXPECT_EQ(th["migrations_traced"], th["migrations_simulated"]) << th.dump();
        }
    }
}

// Every sample replays under fair and steal on a 2-package machine; every
// thread completes and receives at least its traced CPU time (migrations
// cost extra refill time).
TEST(TraceReplay, SamplesCompleteUnderFairAndStealOnABiggerMachine) {
    for (const char* name : kSamples) {
        Trace t = read_trace_file(kDir + name);
        for (const char* policy : {"fair", "steal"}) {
            SCOPED_TRACE(std::string(name) + " " + policy);
            ReplayOptions o;
            o.policy = policy;
            o.topology = "pack:2 l3:2 core:8 pu:1";
            auto r = replay_trace(t, o);
            const RunSummary& s = r->result.summary;
            EXPECT_TRUE(r->result.completed);
            EXPECT_EQ(s.spawned, t.threads.size());
            EXPECT_EQ(s.completed, s.spawned);
            EXPECT_EQ(s.lost, 0u);
            nlohmann::json f = fidelity_of(*r);
            double traced = f["traced_cpu_total_us"], simulated = f["simulated_cpu_total_us"];
            EXPECT_GE(simulated + 1e-3, traced);
            EXPECT_LE(simulated, traced * 1.2);
        }
    }
}

// A wake-up by another thread becomes wait/notify: the woken thread's next
// burst never starts before its waker reached the traced wake-up point.
TEST(TraceReplay, WakeUpsFollowTheWaker) {
    // a (tid 10) runs 1 ms on CPU 0, wakes b at 0.5 ms, runs on; b (tid 11)
    // ran 100 us on CPU 1 and blocked, then runs 200 us after the wake-up.
    Trace t = parse_trace_text(
        "cpus=2\n"
        "  <idle>-0 [001]  1.000000: sched_switch: swapper/1:0 [120] R ==> b:11 [120]\n"
        "  <idle>-0 [000]  1.000000: sched_switch: swapper/0:0 [120] R ==> a:10 [120]\n"
        "  b-11 [001]  1.000100: sched_switch: b:11 [120] S ==> swapper/1:0 [120]\n"
        "  a-10 [000]  1.000500: sched_wakeup: b:11 [120] CPU:001\n"
        "  <idle>-0 [001]  1.000510: sched_switch: swapper/1:0 [120] R ==> b:11 [120]\n"
        "  b-11 [001]  1.000710: sched_switch: b:11 [120] S ==> swapper/1:0 [120]\n"
        "  a-10 [000]  1.001000: sched_switch: a:10 [120] S ==> swapper/0:0 [120]\n",
        "wake.report");
    ImportedTrace imp = trace_to_spec(t, TraceImportOptions{0, {}, true, false});
    ASSERT_EQ(imp.spec.events.size(), 1u);
    const auto& a = imp.spec.groups[static_cast<size_t>(imp.spec.group_index("a-10"))].behavior;
    const auto& b = imp.spec.groups[static_cast<size_t>(imp.spec.group_index("b-11"))].behavior;
    ASSERT_EQ(a.size(), 3u);  // run 500us, notify, run 500us
    EXPECT_EQ(a[1].kind, Step::Kind::Notify);
    EXPECT_EQ(a[0].duration.a_ns, 500'000u);
    ASSERT_EQ(b.size(), 3u);  // run 100us, wait, run 200us
    EXPECT_EQ(b[1].kind, Step::Kind::Wait);

    // Replayed on one CPU under fair, b's second run must come after a's
    // first 500 us of CPU time.
    struct Segments : SimListener {
        std::vector<SimSegment> all;
        void on_segment(const SimSegment& s) override { all.push_back(s); }
    } seen;
    ReplayOptions o;
    o.policy = "fair";
    o.topology = "core:2 pu:1";
    o.listener = &seen;
    auto r = replay_trace(t, o);
    EXPECT_TRUE(r->result.completed);
    // a's first segment (up to its notify) ends no later than b's second run begins.
    uint64_t a_cpu = 0, a_first_end = 0, b_second_start = 0;
    int b_runs = 0;
    for (const SimSegment& s : seen.all) {
        if (s.task->name.rfind("a-10", 0) == 0)
            a_cpu += s.end_ns - s.start_ns;
        if (s.task->name.rfind("a-10", 0) == 0 && a_first_end == 0)
            a_first_end = s.end_ns;
        if (s.task->name.rfind("b-11", 0) == 0 && s.run_start && ++b_runs == 2)
            b_second_start = s.start_ns;
    }
    EXPECT_EQ(b_runs, 2);
    EXPECT_LE(a_first_end, b_second_start);
    EXPECT_EQ(a_cpu, 1'000'000u);
}

TEST(TraceReplay, AsTracedNeedsTheTracedCpus) {
    Trace t = read_trace_file(kDir + "perf-script-xz.txt");
    ReplayOptions o;
    o.policy = "as-traced";
    o.topology = "core:1 pu:1";
    EXPECT_THROW(replay_trace(t, o), InputError);
}

}  // namespace
}  // namespace schedkit
