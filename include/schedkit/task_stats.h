// task_stats.h: per-task statistics of a run, as `perf sched latency` shows
// them, and per-CPU schedule strings (a letter per task switched in, `_`
// where the CPU went idle), as `perf sched map` draws them in columns.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "schedkit/task.h"

namespace schedkit {

// TaskRecord is one task's share of a run, read from the core's per-task
// counters (Task::nr_runs, nr_voluntary, ...) when it exited, or at the end
// of the run for a task still alive.
struct TaskRecord {
    TaskId id = 0;
    std::string name;
    int group = -1;
    bool exited = false;
    uint64_t arrival_ns = 0;   // spawn time
    uint64_t runtime_ns = 0;   // CPU time of its finished runs (Task::exec_ns)
    uint64_t runs = 0;         // switch-ins: "switches" in the output
    uint64_t voluntary = 0;    // runs that ended blocking or exiting
    uint64_t involuntary = 0;  // runs that ended preempted
    uint64_t wait_sum_ns = 0;  // runnable time before its runs
    uint64_t wait_max_ns = 0;
    uint64_t migrations = 0;  // CPU changes: queue moves and wakes elsewhere

    static TaskRecord of(const Task& t, bool exited);
    double wait_avg_us() const;
};

// ScheduleEntry is one event of a CPU's schedule string: `task` switched in
// at `at_ns`, or (idle) the CPU went idle then.
struct ScheduleEntry {
    uint64_t at_ns = 0;
    TaskId task = 0;
    bool idle = false;
};

// A recorder keeps at most this many schedule entries per CPU (the first
// ones); the strings say how many more there were.
inline constexpr size_t kScheduleKeep = 1024;

// TaskStats is what a run's per-task recording comes to: the tasks in id
// order, and one schedule string per CPU with its letters' legend.
struct TaskStats {
    struct Letter {
        char letter;
        TaskId task;
        std::string name;
    };
    std::vector<TaskRecord> tasks;
    std::vector<std::string> schedules;      // per CPU, up to kScheduleKeep letters
    std::vector<uint64_t> schedule_entries;  // per CPU: letters + idle marks, all of them
    std::vector<Letter> legend;              // letter -> task, in letter order

    // build() sorts `tasks` by id and letters the tasks in the order they
    // first appear in the schedules (by time, then CPU): a-z, A-Z, 0-9, then
    // '*' for every further task.
    static TaskStats build(std::vector<TaskRecord> tasks,
                           const std::vector<std::vector<ScheduleEntry>>& schedules,
                           std::vector<uint64_t> schedule_entries);
    // table() is the `--per-task` table: at most `max_rows` tasks, those
    // that waited longest first (as perf sched latency), then the schedule
    // strings of the first `max_cpus` CPUs cut at `width` letters, then the
    // legend (at most 62 letters).
    std::string table(size_t max_rows = 40, size_t max_cpus = 64, size_t width = 96) const;
};

}  // namespace schedkit
