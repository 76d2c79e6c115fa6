// report.h: what a run produced: summary statistics, JSON, table, trace.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "schedkit/scheduler.h"
#include "schedkit/task_stats.h"

namespace schedkit {

// Percentiles of a distribution (microseconds, or a plain ratio for
// slowdown), with the mean and the number of samples beside them.
struct Percentiles {
    uint64_t n = 0;
    double mean = 0;
    double p50 = 0, p90 = 0, p99 = 0, max = 0;
    // cdf is a bounded sample of the distribution for plots: with k =
    // min(n, kCdfPoints), cdf[i] is the nearest-rank sample at share
    // (i + 1) / k, so cdf.back() is the max. Empty without samples.
    std::vector<double> cdf;
};
inline constexpr size_t kCdfPoints = 200;

// GroupSummary is one workload group's share of a run: its exited tasks,
// their waits and responses, and their slowdown (response / service
// demand, the CPU time the task asked for; 1 = never waited or shared).
struct GroupSummary {
    int group = 0;     // index in the spec
    std::string name;  // the spec's group name ("group<index>" if unknown)
    uint64_t completed = 0;
    Percentiles wait_us, response_us, slowdown;
};

// CpuSummary is one CPU's share of a run.
struct CpuSummary {
    int cpu = 0;
    double busy_us = 0;
    double idle_us = 0;
    uint64_t context_switches = 0;
    uint64_t migrations_in = 0;
};

// RunSummary is what `schedkit sim` and `schedkit run` print.
struct RunSummary {
    std::string workload;
    std::string topology;
    std::string policy;
    uint64_t seed = 0;
    double makespan_us = 0;
    uint64_t events = 0;
    double events_per_s = 0;  // wall-clock dependent: excluded from determinism checks
    double wall_s = 0;        // wall-clock dependent
    uint64_t context_switches = 0;
    uint64_t migrations = 0;
    double imbalance_ratio = 0;  // busiest CPU busy / least busy CPU busy (inf-safe: see docs)
    uint64_t spawned = 0, completed = 0, lost = 0;
    Percentiles wait_us, response_us;
    std::vector<GroupSummary> groups;  // groups with any sample, in group order
    std::vector<CpuSummary> cpus;
    std::string policy_stats_json;  // the policy's own stats object, or ""
    std::string extra_json;         // extra top-level fields as a JSON object text, or ""
    // Per-task statistics and schedule strings, when the recorder kept them
    // (Recorder::keep_task_stats); null otherwise.
    std::shared_ptr<const TaskStats> task_stats;
};

// Recorder collects a run's statistics and (optionally) its trace. It is a
// SchedObserver for the core's events; the executor adds run slices and
// task lifetimes. Every member function is thread-safe: per-CPU data sits
// under a per-CPU mutex, the shared samples under one more; a callback takes
// one of them. A CPU number outside [0, num_cpus) is a bug and aborts.
// SingleThreadRecorder below records the same without the locks.
class Recorder : public SchedObserver {
  public:
    // Recorder() records `num_cpus` CPUs (> 0, else std::invalid_argument);
    // without `keep_trace` it keeps statistics only and its trace has no events.
    Recorder(int num_cpus, bool keep_trace);

    void on_switch(int cpu, const Task* prev, const Task& next, uint64_t now_ns) override;
    void on_migrate(const Task& task, int from, int to, uint64_t now_ns) override;
    void on_queue_length(int cpu, int nr_queued, uint64_t now_ns) override;
    void on_wait(const Task& task, uint64_t wait_ns) override;
    void on_idle(int cpu, uint64_t now_ns) override;

    // keep_task_stats() makes the recorder keep a TaskRecord per task (at
    // its exit, or from on_unfinished()) and the first kScheduleKeep
    // schedule entries per CPU, for RunSummary::task_stats. Call it before
    // the run.
    void keep_task_stats(bool on) { keep_tasks_ = on; }
    // set_warmup_ns() leaves tasks that arrived (were spawned) before
    // `warmup_ns` out of the waits, responses, slowdowns and per-task
    // records; whole-run figures (makespan, busy, switches, migrations, the
    // completed count) still cover them. Call it before the run.
    void set_warmup_ns(uint64_t warmup_ns) { warmup_ns_ = warmup_ns; }
    bool keeps_task_stats() const { return keep_tasks_; }
    // on_unfinished() records a task still alive when the run ended (with
    // keep_task_stats; otherwise it does nothing).
    void on_unfinished(const Task& task);

    // on_run() records that `task` ran on `cpu` over [start_ns, end_ns).
    virtual void on_run(int cpu, const Task& task, uint64_t start_ns, uint64_t end_ns);
    // on_exit() records a finished task: response = exit - arrival. Its
    // service demand (for slowdown) is `service_ns` when given, else the
    // CPU time it received (task.exec_ns).
    virtual void on_exit(const Task& task, uint64_t now_ns);
    void on_exit(const Task& task, uint64_t now_ns, uint64_t service_ns);
    // add_busy() counts `ns` of CPU time on `cpu` that is no task's run
    // (context-switch cost) as busy: busy_us and energy then agree.
    void add_busy(int cpu, uint64_t ns);
    // set_group_names() names the groups in summaries (index = Task::group).
    void set_group_names(std::vector<std::string> names);

    // summarize() fills the statistics part of a summary for a run that
    // ended at `end_ns` (idle = end - busy per CPU): makespan, switches,
    // migrations, imbalance, completed, percentiles, cpus. `spawned` is the
    // caller's; when it is already set, lost = spawned - completed (a caller
    // that tells unfinished tasks from lost ones sets `lost` afterwards).
    // Everything else in `out` is left as it is.
    void summarize(RunSummary& out, uint64_t end_ns) const;

    // write_trace() writes Chrome Trace Event JSON (Perfetto opens it): one
    // track per CPU named "CPU n", a slice per run (name = task name,
    // args.task = id), run-queue length counters, flow arrows for
    // migrations. Written to a temporary file and renamed, so a failure
    // leaves no partial file; I/O errors throw std::runtime_error.
    // Deterministic bytes for a deterministic run. It copies each CPU's
    // records under that CPU's lock, so recording may go on meanwhile; the
    // copy briefly doubles the trace's memory.
    void write_trace(const std::string& path, const std::string& title) const;

    int num_cpus() const { return num_cpus_; }
    bool keep_trace() const { return keep_trace_; }

  protected:
    uint64_t warmup_ns_ = 0;  // set_warmup_ns()

    // The callbacks' bodies, taking the locks (kLocked, Recorder) or not
    // (SingleThreadRecorder): one body each, the choice made at compile time.
    // Defined and instantiated for both in recorder.cpp.
    template <bool kLocked>
    void record_switch(int cpu, const Task& next, uint64_t now_ns);
    template <bool kLocked>
    void record_idle(int cpu, uint64_t now_ns);
    template <bool kLocked>
    void record_migrate(const Task& task, int from, int to, uint64_t now_ns);
    template <bool kLocked>
    void record_queue_length(int cpu, int nr_queued, uint64_t now_ns);
    template <bool kLocked>
    void record_wait(int group, uint64_t wait_ns);
    template <bool kLocked>
    void record_run(int cpu, const Task& task, uint64_t start_ns, uint64_t end_ns);
    template <bool kLocked>
    void record_busy(int cpu, uint64_t ns);
    template <bool kLocked>
    void record_exit(const Task& task, uint64_t now_ns, uint64_t service_ns);

  private:
    // TaskTable interns tasks to dense indexes so a trace record carries 4
    // bytes instead of a name. It caches the last lookup: consecutive slices
    // on one CPU are usually the same task.
    struct TaskTable {
        std::unordered_map<TaskId, uint32_t> index;
        std::vector<TaskId> ids;
        std::vector<std::string> names;
        TaskId last_id = 0;
        uint32_t last_ref = UINT32_MAX;
        uint32_t intern(const Task& task);
    };
    // Slice is one run on a CPU: 24 bytes, because the simulator may record
    // millions of them. `task_ref` indexes the CPU's own TaskTable, so
    // recording a slice takes only that CPU's lock.
    struct Slice {
        uint64_t start_ns;
        uint64_t end_ns;
        uint32_t task_ref;
    };
    struct Migration {
        uint64_t at_ns;
        uint32_t task_ref;  // into migration_tasks_
        int from, to;
    };
    struct Counter {
        uint64_t at_ns;
        int value;
    };
    // CpuLog is one CPU's share of the recording. Each sits on its own cache
    // line(s) so that worker threads recording on different CPUs in the
    // runtime do not bounce each other's lines.
    struct alignas(64) CpuLog {
        mutable std::mutex mu;  // guards every field below
        uint64_t busy_ns = 0;
        uint64_t switches = 0;
        uint64_t migrations_in = 0;
        std::vector<Slice> slices;            // only with keep_trace
        std::vector<Counter> queue_len;       // only with keep_trace; changes only
        TaskTable tasks;                      // names for `slices`
        std::vector<ScheduleEntry> schedule;  // only with keep_tasks_: the first kScheduleKeep
        uint64_t schedule_entries = 0;        // all of them
    };
    CpuLog& cpu_log(int cpu) const;

    int num_cpus_;
    bool keep_trace_;
    bool keep_tasks_ = false;
    std::vector<std::unique_ptr<CpuLog>> cpus_;
    mutable std::mutex mu_;  // guards the fields below
    TaskTable migration_tasks_;
    std::vector<Migration> migrations_;  // only with keep_trace
    std::vector<uint64_t> waits_ns_;
    std::vector<int32_t> wait_groups_;  // Task::group of each wait sample
    std::vector<uint64_t> responses_ns_;
    std::vector<int32_t> response_groups_;
    std::vector<uint64_t> services_ns_;  // service demand of each exit
    std::vector<std::string> group_names_;
    std::vector<TaskRecord> task_records_;  // only with keep_tasks_
    uint64_t completed_ = 0;
};

// SingleThreadRecorder is a Recorder whose callbacks take no locks, for an
// executor that drives the scheduler from one thread (the simulator), where
// the per-CPU mutexes are pure cost. The choice is made by constructing this
// type, so no callback checks a mode. Its callbacks must all come from one
// thread; summarize() and write_trace() still lock, and are safe once that
// thread is done (or from that thread). Not thread-safe otherwise.
class SingleThreadRecorder final : public Recorder {
  public:
    using Recorder::Recorder;

    void on_switch(int cpu, const Task* /*prev*/, const Task& next, uint64_t now_ns) override {
        record_switch<false>(cpu, next, now_ns);
    }
    void on_idle(int cpu, uint64_t now_ns) override { record_idle<false>(cpu, now_ns); }
    void on_migrate(const Task& task, int from, int to, uint64_t now_ns) override {
        record_migrate<false>(task, from, to, now_ns);
    }
    void on_queue_length(int cpu, int nr_queued, uint64_t now_ns) override {
        record_queue_length<false>(cpu, nr_queued, now_ns);
    }
    void on_wait(const Task& task, uint64_t wait_ns) override {
        if (task.arrival_ns >= warmup_ns_)
            record_wait<false>(task.group, wait_ns);
    }
    void on_run(int cpu, const Task& task, uint64_t start_ns, uint64_t end_ns) override {
        record_run<false>(cpu, task, start_ns, end_ns);
    }
    void on_exit(const Task& task, uint64_t now_ns) override {
        record_exit<false>(task, now_ns, task.exec_ns);
    }
    void on_exit(const Task& task, uint64_t now_ns, uint64_t service_ns) {
        record_exit<false>(task, now_ns, service_ns);
    }
    void add_busy(int cpu, uint64_t ns) { record_busy<false>(cpu, ns); }
};

// summary_json() renders a summary as one JSON object (see docs/output.md).
// Throws std::runtime_error when policy_stats_json or extra_json is not a
// JSON object, or an extra field would replace a standard one.
std::string summary_json(const RunSummary& s);
// summary_table() renders a summary for people.
std::string summary_table(const RunSummary& s);
// percentiles_us() computes nearest-rank percentiles and the mean of ns
// samples, in us.
Percentiles percentiles_us(std::vector<uint64_t> samples_ns);
// percentiles_of() is the same over plain numbers, in their own unit.
Percentiles percentiles_of(std::vector<double> samples);

}  // namespace schedkit
