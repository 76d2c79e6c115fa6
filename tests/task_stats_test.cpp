// Per-task statistics and schedule strings (task_stats.h), and the core's
// migration accounting checked against CPU changes counted independently:
// from the simulator's run segments and from the Perfetto trace.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "schedkit/policy_registry.h"
#include "schedkit/sim.h"
#include "schedkit/trace_replay.h"
#include "sim_support.h"

namespace schedkit {
namespace {

using test::block;
using test::group;
using test::kMs;
using test::kWorkloads;
using test::run;

struct Outcome {
    SimResult result;
    TaskStatsListener segments;  // independent of the core's counters
};

void simulate(const WorkloadSpec& spec, const std::string& topo, const std::string& policy,
              Outcome& out, const std::string& trace_path = "") {
    SimConfig cfg;
    cfg.keep_task_stats = true;
    cfg.keep_trace = !trace_path.empty();
    cfg.listener = &out.segments;
    Simulator sim(spec, Topology::load(topo), make_policy(policy), cfg);
    out.result = sim.run();
    sim.clear_listener();
    if (!trace_path.empty())
        sim.recorder().write_trace(trace_path, "task stats test");
}

// The segments say, per task, how often it ran on another CPU than its run
// before: every such change needs a migration, and the core's counters
// (per task and in the summary) must count at least those.
TEST(TaskStats, MigrationsCountEveryCpuChangeTheSegmentsShow) {
    for (const char* policy : {"fair", "steal", "static", "dynamic"}) {
        SCOPED_TRACE(policy);
        Outcome o;
        simulate(parse_workload_file(kWorkloads + "io.yaml"), "pack:1 core:4 pu:1", policy, o);
        const RunSummary& s = o.result.summary;
        ASSERT_TRUE(s.task_stats);
        std::map<TaskId, const TaskRecord*> records;
        for (const TaskRecord& r : s.task_stats->tasks)
            records[r.id] = &r;
        uint64_t changes = 0, task_migrations = 0;
        for (const TaskRunStats& t : o.segments.tasks()) {
            ASSERT_TRUE(records.count(t.id));
            const TaskRecord& r = *records[t.id];
            EXPECT_GE(r.migrations, t.cpu_changes) << t.name;
            changes += t.cpu_changes;
            // The core's runs also count a last, empty run before exit and
            // its runtime the switch cost the simulator charges inside a run:
            // never less than the segments show.
            EXPECT_GE(r.runtime_ns, t.cpu_ns) << t.name;
            EXPECT_GE(r.runs, t.waits) << t.name;
            EXPECT_GE(r.voluntary, t.voluntary) << t.name;
            // (A wakeup preemption can end a run before its first segment.)
            EXPECT_GE(r.involuntary, t.involuntary) << t.name;
        }
        uint64_t runs = 0;
        for (const TaskRecord& r : s.task_stats->tasks) {
            task_migrations += r.migrations;
            runs += r.runs;
            EXPECT_TRUE(r.exited);
            EXPECT_EQ(r.runs, r.voluntary + r.involuntary) << r.name;  // every run ended
        }
        EXPECT_EQ(s.task_stats->tasks.size(), s.spawned);
        EXPECT_EQ(runs, s.context_switches);
        EXPECT_EQ(task_migrations, s.migrations);
        EXPECT_GE(s.migrations, changes);
        // Wakes onto another CPU are most of them: a queue-to-queue count
        // alone fell far short of the changes (93 against 573 once).
        if (std::string(policy) == "fair" || std::string(policy) == "steal") {
            EXPECT_GT(changes, 0u);
        }
    }
}

// The Perfetto trace, read back: per task, its run slices and migration
// arrows in time order form one chain — every run is on the CPU the last
// migration (or run) left it on, every migration starts from there — and
// the summary counts exactly the trace's migrations.
TEST(TaskStats, TraceRunsAndMigrationsFormOneChainPerTask) {
    std::string path = "/tmp/schedkit_task_stats_" + std::to_string(getpid()) + ".json";
    Outcome o;
    simulate(parse_workload_file(kWorkloads + "io.yaml"), "pack:1 core:4 pu:1", "fair", o, path);
    auto j = nlohmann::json::parse(test::slurp(path));
    std::remove(path.c_str());
    struct Ev {
        double ts;
        int kind;  // 0 migration, 1 run: at one instant a task moves, then runs
        size_t order;
        int cpu, from, to;
    };
    std::map<uint64_t, std::vector<Ev>> by_task;
    size_t order = 0;
    uint64_t trace_migrations = 0;
    for (const auto& e : j["traceEvents"]) {
        if (e.value("ph", "") != "X")
            continue;
        int cpu = e["tid"].get<int>() - 1;
        uint64_t task = e["args"]["task"].get<uint64_t>();
        if (e["cat"] == "run") {
            by_task[task].push_back(Ev{e["ts"].get<double>(), 1, order++, cpu, -1, -1});
        } else if (e["cat"] == "migration" && e["args"]["to"].get<int>() == cpu) {
            // Each migration has a marker on both tracks: take the destination's.
            by_task[task].push_back(Ev{e["ts"].get<double>(), 0, order++, -1,
                                       e["args"]["from"].get<int>(), e["args"]["to"].get<int>()});
            ++trace_migrations;
        }
    }
    uint64_t changes = 0;
    for (auto& [task, evs] : by_task) {
        std::stable_sort(evs.begin(), evs.end(), [](const Ev& a, const Ev& b) {
            return a.ts != b.ts ? a.ts < b.ts : a.kind < b.kind;
        });
        int where = -1, last_run = -1;
        for (const Ev& e : evs) {
            if (e.kind == 0) {
                if (where >= 0) {
                    EXPECT_EQ(e.from, where) << "task " << task << " at " << e.ts;
                }
                where = e.to;
            } else {
                if (where >= 0) {
                    EXPECT_EQ(e.cpu, where) << "task " << task << " ran off its chain at " << e.ts;
                }
                if (last_run >= 0 && last_run != e.cpu)
                    ++changes;
                where = last_run = e.cpu;
            }
        }
    }
    EXPECT_EQ(trace_migrations, o.result.summary.migrations);
    EXPECT_GE(trace_migrations, changes);
    EXPECT_GT(changes, 0u);
}

// One CPU: a runs and blocks, b runs, the CPU idles until a wakes: "ab_a".
TEST(TaskStats, ScheduleStringHasALetterPerSwitchInAndIdleMarks) {
    WorkloadSpec spec = test::spec(
        {group("a", 1, {run(kMs), block(5 * kMs), run(kMs)}), group("b", 1, {run(kMs)})});
    Outcome o;
    simulate(spec, "pack:1 core:1 pu:1", "fair", o);
    const TaskStats& t = *o.result.summary.task_stats;
    ASSERT_EQ(t.schedules.size(), 1u);
    EXPECT_EQ(t.schedules[0], "ab_a");
    EXPECT_EQ(t.schedule_entries[0], 4u);
    ASSERT_EQ(t.legend.size(), 2u);
    EXPECT_EQ(t.legend[0].letter, 'a');
    EXPECT_EQ(t.legend[0].name.substr(0, 1), "a");
    EXPECT_EQ(t.legend[1].letter, 'b');
    std::string table = t.table();
    EXPECT_NE(table.find("    0  ab_a\n"), std::string::npos) << table;
    EXPECT_NE(table.find("a=" + t.legend[0].name), std::string::npos) << table;
    ASSERT_EQ(t.tasks.size(), 2u);
    EXPECT_EQ(t.tasks[0].voluntary, 2u);  // a blocked, then exited
    EXPECT_EQ(t.tasks[0].runs, 2u);
    EXPECT_GE(t.tasks[0].runtime_ns, 2 * kMs);  // and the switch costs
}

// A long run keeps the first kScheduleKeep entries per CPU and counts the
// rest; the table cuts each string and the task rows.
TEST(TaskStats, ScheduleStringsAndTableAreBounded) {
    WorkloadSpec spec = test::spec({group("w", 200, {run(kMs / 10), block(kMs / 10)}, 20)});
    Outcome o;
    simulate(spec, "pack:1 core:2 pu:1", "fair", o);
    const TaskStats& t = *o.result.summary.task_stats;
    ASSERT_EQ(t.schedules.size(), 2u);
    for (size_t c = 0; c < 2; ++c) {
        EXPECT_EQ(t.schedules[c].size(), kScheduleKeep);
        EXPECT_GT(t.schedule_entries[c], kScheduleKeep);
    }
    EXPECT_EQ(t.legend.size(), 62u);
    EXPECT_NE(t.schedules[0].find('*'), std::string::npos);
    std::string table = t.table(10, 64, 50);
    EXPECT_NE(table.find("... 190 more tasks"), std::string::npos) << table;
    EXPECT_NE(table.find(" in all)"), std::string::npos) << table;
    EXPECT_LT(table.size(), 4000u);
}

// Without keep_task_stats nothing per task is kept.
TEST(TaskStats, OffByDefault) {
    WorkloadSpec spec = test::spec({group("a", 3, {run(kMs)})});  // outlives the simulator
    Simulator sim(spec, Topology::load("pack:1 core:2 pu:1"), make_policy("fair"), SimConfig{});
    EXPECT_FALSE(sim.run().summary.task_stats);
}

}  // namespace
}  // namespace schedkit
