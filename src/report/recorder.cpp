// recorder.cpp: Recorder collects a run's statistics and trace records, and
// summarize() turns them into a RunSummary.
//
// Locking: each CPU's counters and trace buffers are guarded by that CPU's
// CpuLog::mu; the samples shared by all CPUs (waits, responses, migrations,
// the completed count) by mu_. Nothing ever holds two of these locks at once,
// so there is no lock order to keep (and no limit on CPUs from tools that
// track held locks, as ThreadSanitizer does, 64 at most). The callbacks'
// bodies are templates on whether they lock: SingleThreadRecorder (the
// simulator) runs the same bodies with no locks.
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "core/check.h"
#include "report/groups.h"
#include "schedkit/report.h"

namespace schedkit {

uint32_t Recorder::TaskTable::intern(const Task& task) {
    if (last_ref != UINT32_MAX && last_id == task.id)
        return last_ref;
    auto [it, inserted] = index.try_emplace(task.id, static_cast<uint32_t>(ids.size()));
    if (inserted) {
        SCHEDKIT_CHECK(ids.size() < UINT32_MAX, "too many tasks in one recording");
        ids.push_back(task.id);
        names.push_back(task.name);
    }
    last_id = task.id;
    last_ref = it->second;
    return last_ref;
}

Recorder::Recorder(int num_cpus, bool keep_trace) : num_cpus_(num_cpus), keep_trace_(keep_trace) {
    if (num_cpus <= 0)
        throw std::invalid_argument("Recorder needs at least one CPU");
    cpus_.reserve(static_cast<size_t>(num_cpus));
    for (int c = 0; c < num_cpus; ++c)
        cpus_.push_back(std::make_unique<CpuLog>());
}

Recorder::CpuLog& Recorder::cpu_log(int cpu) const {
    SCHEDKIT_CHECK(cpu >= 0 && cpu < num_cpus_, "recorder event for a CPU outside the machine");
    return *cpus_[static_cast<size_t>(cpu)];
}

namespace {

// Guard locks `mu` for its scope when kLocked, and compiles to nothing
// otherwise (SingleThreadRecorder).
template <bool kLocked>
class Guard {
  public:
    explicit Guard(std::mutex& mu) : mu_(mu) {
        if constexpr (kLocked)
            mu_.lock();
    }
    ~Guard() {
        if constexpr (kLocked)
            mu_.unlock();
    }
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;

  private:
    std::mutex& mu_;
};

}  // namespace

template <bool kLocked>
void Recorder::record_switch(int cpu, const Task& next, uint64_t now_ns) {
    CpuLog& log = cpu_log(cpu);
    Guard<kLocked> g(log.mu);
    ++log.switches;
    if (keep_tasks_) {
        if (log.schedule.size() < kScheduleKeep)
            log.schedule.push_back(ScheduleEntry{now_ns, next.id, false});
        ++log.schedule_entries;
    }
}

template <bool kLocked>
void Recorder::record_idle(int cpu, uint64_t now_ns) {
    CpuLog& log = cpu_log(cpu);
    if (!keep_tasks_)
        return;
    Guard<kLocked> g(log.mu);
    // Idle before anything ran is no mark: a string starts with its first task.
    if (log.schedule_entries == 0)
        return;
    if (log.schedule.size() < kScheduleKeep)
        log.schedule.push_back(ScheduleEntry{now_ns, 0, true});
    ++log.schedule_entries;
}

template <bool kLocked>
void Recorder::record_migrate(const Task& task, int from, int to, uint64_t now_ns) {
    cpu_log(from);  // checks the source is a real CPU
    {
        CpuLog& dst = cpu_log(to);
        Guard<kLocked> g(dst.mu);
        ++dst.migrations_in;
    }
    if (!keep_trace_)
        return;
    Guard<kLocked> g(mu_);
    migrations_.push_back(Migration{now_ns, migration_tasks_.intern(task), from, to});
}

template <bool kLocked>
void Recorder::record_queue_length(int cpu, int nr_queued, uint64_t now_ns) {
    CpuLog& log = cpu_log(cpu);
    if (!keep_trace_)
        return;
    Guard<kLocked> g(log.mu);
    // The core reports the length after every queue operation; most reports
    // repeat the last value and would only bloat the trace.
    if (!log.queue_len.empty() && log.queue_len.back().value == nr_queued)
        return;
    log.queue_len.push_back(Counter{now_ns, nr_queued});
}

template <bool kLocked>
void Recorder::record_wait(int group, uint64_t wait_ns) {
    Guard<kLocked> g(mu_);
    waits_ns_.push_back(wait_ns);
    wait_groups_.push_back(group);
}

template <bool kLocked>
void Recorder::record_busy(int cpu, uint64_t ns) {
    CpuLog& log = cpu_log(cpu);
    Guard<kLocked> g(log.mu);
    log.busy_ns += ns;
}

template <bool kLocked>
void Recorder::record_run(int cpu, const Task& task, uint64_t start_ns, uint64_t end_ns) {
    SCHEDKIT_CHECK(end_ns >= start_ns, "run slice ends before it starts");
    CpuLog& log = cpu_log(cpu);
    Guard<kLocked> g(log.mu);
    log.busy_ns += end_ns - start_ns;
    if (keep_trace_)
        log.slices.push_back(Slice{start_ns, end_ns, log.tasks.intern(task)});
}

template <bool kLocked>
void Recorder::record_exit(const Task& task, uint64_t now_ns, uint64_t service_ns) {
    // A task cannot exit before it arrived; clamp rather than wrap around if
    // an executor's clock disagrees by a tick.
    uint64_t response = now_ns >= task.arrival_ns ? now_ns - task.arrival_ns : 0;
    Guard<kLocked> g(mu_);
    ++completed_;
    if (task.arrival_ns < warmup_ns_)
        return;  // warm-up: counted as completed, no samples
    responses_ns_.push_back(response);
    response_groups_.push_back(task.group);
    services_ns_.push_back(service_ns);
    if (keep_tasks_)
        task_records_.push_back(TaskRecord::of(task, true));
}

#define SCHEDKIT_RECORDER_INSTANTIATE(L)                                         \
    template void Recorder::record_switch<L>(int, const Task&, uint64_t);        \
    template void Recorder::record_idle<L>(int, uint64_t);                       \
    template void Recorder::record_migrate<L>(const Task&, int, int, uint64_t);  \
    template void Recorder::record_queue_length<L>(int, int, uint64_t);          \
    template void Recorder::record_wait<L>(int, uint64_t);                       \
    template void Recorder::record_busy<L>(int, uint64_t);                       \
    template void Recorder::record_run<L>(int, const Task&, uint64_t, uint64_t); \
    template void Recorder::record_exit<L>(const Task&, uint64_t, uint64_t);
SCHEDKIT_RECORDER_INSTANTIATE(true)
SCHEDKIT_RECORDER_INSTANTIATE(false)
#undef SCHEDKIT_RECORDER_INSTANTIATE

void Recorder::on_switch(int cpu, const Task* /*prev*/, const Task& next, uint64_t now_ns) {
    record_switch<true>(cpu, next, now_ns);
}

void Recorder::on_idle(int cpu, uint64_t now_ns) {
    record_idle<true>(cpu, now_ns);
}

void Recorder::on_unfinished(const Task& task) {
    if (!keep_tasks_ || task.arrival_ns < warmup_ns_)
        return;
    std::lock_guard g(mu_);
    task_records_.push_back(TaskRecord::of(task, false));
}

void Recorder::on_migrate(const Task& task, int from, int to, uint64_t now_ns) {
    record_migrate<true>(task, from, to, now_ns);
}

void Recorder::on_queue_length(int cpu, int nr_queued, uint64_t now_ns) {
    record_queue_length<true>(cpu, nr_queued, now_ns);
}

void Recorder::on_wait(const Task& task, uint64_t wait_ns) {
    if (task.arrival_ns >= warmup_ns_)
        record_wait<true>(task.group, wait_ns);
}

void Recorder::add_busy(int cpu, uint64_t ns) {
    record_busy<true>(cpu, ns);
}

void Recorder::set_group_names(std::vector<std::string> names) {
    std::lock_guard g(mu_);
    group_names_ = std::move(names);
}

void Recorder::on_run(int cpu, const Task& task, uint64_t start_ns, uint64_t end_ns) {
    record_run<true>(cpu, task, start_ns, end_ns);
}

void Recorder::on_exit(const Task& task, uint64_t now_ns) {
    record_exit<true>(task, now_ns, task.exec_ns);
}

void Recorder::on_exit(const Task& task, uint64_t now_ns, uint64_t service_ns) {
    record_exit<true>(task, now_ns, service_ns);
}

namespace {

double us(uint64_t ns) {
    return static_cast<double>(ns) / 1000.0;
}

// imbalance_ratio() is the busiest CPU's busy time over the least busy CPU's,
// counting only CPUs that ran anything: a CPU the workload never needed
// (fewer tasks than CPUs) would otherwise make every such run "infinitely"
// imbalanced. Idle CPUs still show in cpus[] (busy 0). No work at all is 1.
double imbalance_ratio(const std::vector<uint64_t>& busy_ns) {
    uint64_t most = 0, least = std::numeric_limits<uint64_t>::max();
    for (uint64_t b : busy_ns) {
        if (b == 0)
            continue;
        most = std::max(most, b);
        least = std::min(least, b);
    }
    if (most == 0)
        return 1.0;
    double ratio = static_cast<double>(most) / static_cast<double>(least);
    return std::round(ratio * 1000.0) / 1000.0;  // deterministic JSON text
}

}  // namespace

void Recorder::summarize(RunSummary& out, uint64_t end_ns) const {
    std::vector<uint64_t> busy;
    std::vector<CpuSummary> cpus;
    std::vector<uint64_t> waits, responses;
    std::vector<GroupSummary> groups;
    uint64_t completed = 0;
    std::vector<std::vector<ScheduleEntry>> schedules;
    std::vector<uint64_t> schedule_entries;
    std::vector<TaskRecord> records;
    for (int c = 0; c < num_cpus_; ++c) {
        const CpuLog& log = *cpus_[static_cast<size_t>(c)];
        std::lock_guard g(log.mu);
        if (keep_tasks_) {
            schedules.push_back(log.schedule);
            schedule_entries.push_back(log.schedule_entries);
        }
        busy.push_back(log.busy_ns);
        CpuSummary cs;
        cs.cpu = c;
        cs.busy_us = us(log.busy_ns);
        // Busy can exceed `end` only if the executor recorded past the
        // end it reports; idle is then 0, not a wrapped-around number.
        cs.idle_us = us(end_ns > log.busy_ns ? end_ns - log.busy_ns : 0);
        cs.context_switches = log.switches;
        cs.migrations_in = log.migrations_in;
        cpus.push_back(cs);
    }
    {
        std::lock_guard g(mu_);
        waits = waits_ns_;
        responses = responses_ns_;
        completed = completed_;
        if (keep_tasks_)
            records = task_records_;
        groups = group_summaries(waits_ns_, wait_groups_, responses_ns_, response_groups_,
                                 services_ns_, group_names_);
    }
    out.makespan_us = us(end_ns);
    out.context_switches = 0;
    out.migrations = 0;
    for (const CpuSummary& cs : cpus) {
        out.context_switches += cs.context_switches;
        out.migrations += cs.migrations_in;
    }
    out.imbalance_ratio = imbalance_ratio(busy);
    out.cpus = std::move(cpus);
    out.completed = completed;
    // The recorder does not know how many tasks were spawned; when the
    // caller has already said, tasks that never exited count as lost. A
    // caller that can tell unfinished from lost sets `lost` afterwards.
    if (out.spawned != 0)
        out.lost = out.spawned > completed ? out.spawned - completed : 0;
    out.wait_us = percentiles_us(std::move(waits));
    out.response_us = percentiles_us(std::move(responses));
    out.groups = std::move(groups);
    if (keep_tasks_)
        out.task_stats = std::make_shared<const TaskStats>(
            TaskStats::build(std::move(records), schedules, std::move(schedule_entries)));
}

}  // namespace schedkit
