// trace_to_spec(): a trace's threads as an ordinary workload spec.
#include <fmt/format.h>

#include <algorithm>
#include <regex>
#include <unordered_map>

#include "schedkit/error.h"
#include "schedkit/trace.h"
#include "schedkit/trace_import.h"

namespace schedkit {

namespace {

// group_name() is "<comm>-<tid>" with every character outside [A-Za-z0-9_-]
// replaced by '_' (comms hold '/', ':', spaces).
std::string group_name(const TraceThread& t) {
    std::string name;
    for (char c : t.comm)
        name += std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' ? c : '_';
    if (name.empty())
        name = "thread";
    return fmt::format("{}-{}", name, t.tid);
}

// Point is something a thread does at a moment of one of its bursts: fork a
// child (a spawn step) or wake another thread (a notify step).
struct Point {
    size_t burst = 0;
    uint64_t offset_ns = 0;  // CPU time into that burst
    uint64_t at_ns = 0;
    bool spawn = false;
    int target = 0;  // spawn: group; notify: event
};

// place() finds where time `t` falls in a thread's bursts: the last burst
// starting at or before it (the first burst if none), clamped to its length
// (a fork or wake-up recorded while the trace shows the thread off-CPU was
// done at the end of its previous burst).
Point place(const TraceThread& th, uint64_t t) {
    Point p;
    p.at_ns = t;
    auto it = std::upper_bound(th.bursts.begin(), th.bursts.end(), t,
                               [](uint64_t v, const TraceBurst& b) { return v < b.start_ns; });
    if (it == th.bursts.begin())
        return p;
    p.burst = static_cast<size_t>(it - th.bursts.begin()) - 1;
    const TraceBurst& b = th.bursts[p.burst];
    p.offset_ns = std::min(t - b.start_ns, b.cpu_ns());
    return p;
}

Step run_step(uint64_t ns) {
    Step s;
    s.kind = Step::Kind::Run;
    s.duration = Duration{Duration::Kind::Fixed, ns, 0};
    return s;
}
Step block_step(uint64_t ns) {
    Step s;
    s.kind = Step::Kind::Block;
    s.duration = Duration{Duration::Kind::Fixed, ns, 0};
    return s;
}

}  // namespace

ImportedTrace trace_to_spec(const Trace& trace, const TraceImportOptions& opts) {
    std::optional<std::regex> filter;
    if (!opts.comm_regex.empty()) {
        try {
            filter.emplace(opts.comm_regex, std::regex::ECMAScript);
        } catch (const std::regex_error& e) {
            throw InputError(
                fmt::format("--filter comm={}: not a regular expression ({}); "
                            "expected an ECMAScript regular expression",
                            opts.comm_regex, e.what()));
        }
    }
    ImportedTrace out;
    std::unordered_map<int, int> group_of;  // tid -> group
    for (size_t i = 0; i < trace.threads.size(); ++i) {
        const TraceThread& t = trace.threads[i];
        if (filter && !std::regex_search(t.comm, *filter))
            continue;
        group_of[t.tid] = static_cast<int>(out.thread_of_group.size());
        out.thread_of_group.push_back(i);
    }
    if (out.thread_of_group.empty())
        throw InputError(fmt::format(
            "{}: no thread to import ({} threads ran{}); expected at least one thread that ran",
            trace.name, trace.threads.size(),
            filter ? fmt::format(", none with a comm matching '{}'", opts.comm_regex) : ""));
    WorkloadSpec& spec = out.spec;
    spec.path = trace.name;
    spec.name = "trace";
    spec.topology = fmt::format("core:{} pu:1", std::max(trace.num_cpus, 1));
    size_t n = out.thread_of_group.size();
    std::vector<const TraceThread*> th(n);
    for (size_t g = 0; g < n; ++g)
        th[g] = &trace.threads[out.thread_of_group[g]];
    auto kept = [&](int tid) {
        auto it = group_of.find(tid);
        return it == group_of.end() ? -1 : it->second;
    };
    // Causal wake-ups: burst j of thread g, after a block, was woken by a
    // kept thread: g waits on its own event, which the waker notifies.
    std::vector<std::vector<Point>> points(n);
    std::vector<int> event_of(n, -1);
    auto causal_waker = [&](size_t g, size_t j) {
        if (!opts.causal || j == 0 || th[g]->bursts[j - 1].end != BurstEnd::Block)
            return -1;
        int w = kept(th[g]->bursts[j].waker_tid);
        return w == static_cast<int>(g) ? -1 : w;
    };
    for (size_t g = 0; g < n; ++g) {
        const TraceThread& t = *th[g];
        int parent = t.parent_tid >= 0 ? kept(t.parent_tid) : -1;
        spec.groups.emplace_back().name = group_name(t);
        if (parent >= 0) {
            spec.groups[g].count = 0;
            Point p = place(*th[static_cast<size_t>(parent)], t.first_ns);
            p.spawn = true;
            p.target = static_cast<int>(g);
            points[static_cast<size_t>(parent)].push_back(p);
        } else {
            spec.groups[g].arrival.at_ns = t.bursts.front().ready_ns - trace.start_ns;
        }
        for (size_t j = 1; j < t.bursts.size(); ++j) {
            int w = causal_waker(g, j);
            if (w < 0)
                continue;
            if (event_of[g] < 0) {
                event_of[g] = static_cast<int>(spec.events.size());
                spec.events.push_back(spec.groups[g].name);
            }
            Point p = place(*th[static_cast<size_t>(w)], t.bursts[j].ready_ns);
            p.target = event_of[g];
            points[static_cast<size_t>(w)].push_back(p);
        }
    }
    for (size_t g = 0; g < n; ++g) {
        const TraceThread& t = *th[g];
        std::vector<Point>& ps = points[g];
        std::stable_sort(ps.begin(), ps.end(), [](const Point& a, const Point& b) {
            return a.burst != b.burst           ? a.burst < b.burst
                   : a.offset_ns != b.offset_ns ? a.offset_ns < b.offset_ns
                                                : a.at_ns < b.at_ns;
        });
        std::vector<Step>& steps = spec.groups[g].behavior;
        uint64_t pending = 0;
        auto flush = [&] {
            if (pending > 0 && pending >= opts.min_run_ns)
                steps.push_back(run_step(pending));
            pending = 0;
        };
        size_t next_point = 0;
        for (size_t j = 0; j < t.bursts.size(); ++j) {
            const TraceBurst& b = t.bursts[j];
            if (j > 0) {
                const TraceBurst& prev = t.bursts[j - 1];
                if (prev.end != BurstEnd::Preempt || opts.split_bursts) {
                    flush();
                    if (causal_waker(g, j) >= 0) {
                        Step s;
                        s.kind = Step::Kind::Wait;
                        s.event = event_of[g];
                        steps.push_back(s);
                    } else {
                        uint64_t gap = prev.end == BurstEnd::Preempt || b.ready_ns < prev.end_ns
                                           ? 0
                                           : b.ready_ns - prev.end_ns;
                        if (!opts.split_bursts && !steps.empty() &&
                            steps.back().kind == Step::Kind::Block)
                            steps.back().duration.a_ns += gap;  // around a burst of no CPU time
                        else
                            steps.push_back(block_step(gap));
                    }
                }
            }
            uint64_t cursor = 0;
            for (; next_point < ps.size() && ps[next_point].burst == j; ++next_point) {
                const Point& p = ps[next_point];
                pending += p.offset_ns - cursor;
                cursor = p.offset_ns;
                flush();
                Step s;
                if (p.spawn) {
                    s.kind = Step::Kind::Spawn;
                    s.spawn_group = p.target;
                } else {
                    s.kind = Step::Kind::Notify;
                    s.event = p.target;
                }
                steps.push_back(s);
            }
            pending += b.cpu_ns() - cursor;
        }
        flush();
        if (steps.empty())
            steps.push_back(run_step(0));  // a thread that ran for no time
    }
    return out;
}

}  // namespace schedkit
