// Per-task statistics of a simulated run, and a replay's fidelity.
#include <fmt/format.h>

#include <algorithm>

#include "schedkit/trace_replay.h"

namespace schedkit {

void TaskStatsListener::on_segment(const SimSegment& s) {
    if (s.task == nullptr)
        return;
    const Task& t = *s.task;
    if (index_.size() <= t.id)
        index_.resize(t.id + 1, 0);
    if (index_[t.id] == 0) {
        TaskRunStats& n = tasks_.emplace_back();
        n.id = t.id;
        n.name = t.name;
        n.group = t.group;
        n.arrival_ns = t.arrival_ns;
        index_[t.id] = tasks_.size();
    }
    TaskRunStats& st = tasks_[index_[t.id] - 1];
    if (!st.ran) {
        st.ran = true;
        st.first_run_ns = s.start_ns;
    }
    st.last_end_ns = std::max(st.last_end_ns, s.end_ns);
    st.cpu_ns += s.end_ns - s.start_ns;
    if (s.run_start) {
        if (st.last_cpu >= 0 && st.last_cpu != s.cpu)
            ++st.cpu_changes;
        ++st.waits;
        st.wait_total_ns += s.wait_ns;
        st.wait_max_ns = std::max(st.wait_max_ns, s.wait_ns);
    }
    st.last_cpu = s.cpu;
    switch (s.why) {
        case SegmentEnd::Block:
            ++st.voluntary;
            break;
        case SegmentEnd::Exit:
            ++st.voluntary;
            st.exited = true;
            break;
        case SegmentEnd::Preempt:
            ++st.involuntary;
            break;
        case SegmentEnd::Continue:
        case SegmentEnd::Stop:
            break;
    }
}

namespace {

// json_string() escapes a comm for JSON.
std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\')
            out += '\\';
        if (static_cast<unsigned char>(c) < 0x20)
            out += fmt::format("\\u{:04x}", static_cast<unsigned char>(c));
        else
            out += c;
    }
    return out + "\"";
}

}  // namespace

std::string fidelity_json(const Trace& trace, const ImportedTrace& imported,
                          const TaskStatsListener& stats, double simulated_makespan_us) {
    size_t n = imported.thread_of_group.size();
    std::vector<const TaskRunStats*> by_group(n, nullptr);
    for (const TaskRunStats& t : stats.tasks())
        if (t.group >= 0 && static_cast<size_t>(t.group) < n)
            by_group[static_cast<size_t>(t.group)] = &t;
    uint64_t traced_total = 0, simulated_total = 0;
    uint64_t last = 0;  // makespans count from the trace's start, as the spec's arrivals
    std::string threads;
    for (size_t g = 0; g < n; ++g) {
        const TraceThread& th = trace.threads[imported.thread_of_group[g]];
        const TaskRunStats* st = by_group[g];
        uint64_t traced_cpu = th.cpu_ns();
        uint64_t sim_cpu = st != nullptr ? st->cpu_ns : 0;
        traced_total += traced_cpu;
        simulated_total += sim_cpu;
        // Wall time: from first ready to the end of the last burst with CPU
        // time, as the simulated one runs to the end of its last segment.
        uint64_t begin = th.bursts.front().ready_ns;
        uint64_t end = begin;
        for (const TraceBurst& b : th.bursts)
            if (b.cpu_ns() > 0)
                end = b.end_ns;
        last = std::max(last, th.bursts.back().end_ns);
        uint64_t sim_wall = st != nullptr && st->ran ? st->last_end_ns - st->arrival_ns : 0;
        threads += fmt::format(
            R"({}{{"tid":{},"comm":{},"traced_cpu_us":{:.3f},"simulated_cpu_us":{:.3f},)"
            R"("traced_wall_us":{:.3f},"simulated_wall_us":{:.3f},"migrations_traced":{},)"
            R"("migrations_simulated":{}}})",
            g == 0 ? "" : ",", th.tid, json_string(th.comm), static_cast<double>(traced_cpu) / 1e3,
            static_cast<double>(sim_cpu) / 1e3, static_cast<double>(end - begin) / 1e3,
            static_cast<double>(sim_wall) / 1e3, th.cpu_changes(),
            st != nullptr ? st->cpu_changes : 0);
    }
    return fmt::format(
        R"({{"traced_cpu_total_us":{:.3f},"simulated_cpu_total_us":{:.3f},)"
        R"("traced_makespan_us":{:.3f},"simulated_makespan_us":{:.3f},"threads":[{}]}})",
        static_cast<double>(traced_total) / 1e3, static_cast<double>(simulated_total) / 1e3,
        n == 0 ? 0.0 : static_cast<double>(last - trace.start_ns) / 1e3, simulated_makespan_us,
        threads);
}

}  // namespace schedkit
