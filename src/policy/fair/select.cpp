// select.cpp: where the fair policy places a spawned or woken task (after
// Linux's sched_balance_find_dst_cpu and select_idle_sibling).
#include "policy/fair/fair_policy.h"
#include "policy/placement.h"
#include "schedkit/scheduler.h"

namespace schedkit::fair {

namespace {

bool cpu_idle(const Scheduler& sched, int cpu) {
    return sched.rq(cpu).nr_running.load(std::memory_order_relaxed) == 0;
}

// first_idle_group() is the first group of `dom` whose CPUs are all idle,
// or -1; -1 too as soon as a group before it is not a range of
// consecutive CPU ids (the caller then reads every CPU, as before).
int first_idle_group(const Scheduler& sched, const LevelInfo& L, const LevelInfo::Dom& dom) {
    const CpuBits& idle = sched.idle_cpus();
    if (!idle.any())
        return -1;
    for (uint32_t g = dom.group_begin; g < dom.group_end; ++g) {
        const LevelInfo::Group& gr = L.groups[g];
        if (gr.end == gr.begin)
            continue;
        int lo = L.cpus[gr.begin], hi = L.cpus[gr.end - 1] + 1;
        if (hi - lo != static_cast<int>(gr.end - gr.begin))
            return -1;
        if (idle.all(lo, hi))
            return static_cast<int>(g);
    }
    return -1;
}

}  // namespace

int FairPolicy::find_idlest_cpu(const Scheduler& sched, const Task& task) const {
    int anchor = task.affinity.empty() ? 0 : task.affinity.first();
    // Top-down: the idlest group of each level, then into it. Spreading
    // across packages first, then LLCs, then cores keeps tasks off each
    // other's caches and SMT siblings while CPUs are free.
    for (int level = topo_.num_levels() - 1; level >= 0; --level) {
        const LevelInfo& L = topo_.level(level);
        const LevelInfo::Dom& dom = L.domain(anchor);
        // A group with every CPU idle has no task and no load: nothing
        // beats it, and the first such wins the ties. For a task that may
        // run anywhere, find it in the core's idle set (a few words per
        // group) instead of reading every CPU's counters.
        if (int g = task.affinity.empty() ? first_idle_group(sched, L, dom) : -1; g >= 0) {
            anchor = L.cpus[L.groups[static_cast<size_t>(g)].begin];
            continue;
        }
        int best_first = -1;
        uint64_t best_nr = 0, best_load = 0, best_w = 1;
        for (uint32_t g = dom.group_begin; g < dom.group_end; ++g) {
            const LevelInfo::Group& gr = L.groups[g];
            uint64_t nr = 0, load = 0, w = 0;
            int first_allowed = -1;
            for (uint32_t i = gr.begin; i < gr.end; ++i) {
                int c = L.cpus[i];
                const RunQueue& rq = sched.rq(c);
                nr += static_cast<uint64_t>(rq.nr_running.load(std::memory_order_relaxed));
                load += rq.load_weight.load(std::memory_order_relaxed);
                ++w;
                if (first_allowed < 0 && task.allowed_on(c))
                    first_allowed = c;
            }
            if (first_allowed < 0)
                continue;
            // Fewer tasks per CPU wins, then less load per CPU; ties keep
            // the first group (deterministic).
            bool better = best_first < 0 || nr * best_w < best_nr * w ||
                          (nr * best_w == best_nr * w && load * best_w < best_load * w);
            if (better) {
                best_first = first_allowed;
                best_nr = nr;
                best_load = load;
                best_w = w;
            }
        }
        if (best_first >= 0)
            anchor = best_first;
    }
    return anchor;
}

int FairPolicy::select_cpu(Scheduler& sched, const Task& task, PlaceReason why) {
    if (why == PlaceReason::Wake && topo_.num_levels() > 0) {
        // A task being re-placed from a CPU is in transit: use its home.
        int prev = task.cpu >= 0 ? task.cpu : policy::home_of(task);
        if (prev >= 0 && prev < sched.num_cpus()) {
            if (task.allowed_on(prev) && cpu_idle(sched, prev))
                return prev;  // cache-warm and free
            // An idle CPU sharing prev's last-level cache: warm enough.
            int llc = -1;
            for (int l = 0; l < topo_.num_levels(); ++l)
                if (topo_.level(l).share_llc)
                    llc = l;
            if (llc >= 0) {
                const CpuSet& span = topo_.level(llc).domain(prev).span;
                for (int c = span.next(prev); c >= 0; c = span.next(c))
                    if (task.allowed_on(c) && cpu_idle(sched, c))
                        return c;
                for (int c = span.first(); c >= 0 && c < prev; c = span.next(c))
                    if (task.allowed_on(c) && cpu_idle(sched, c))
                        return c;
            }
            if (task.allowed_on(prev))
                return prev;
        }
    }
    return find_idlest_cpu(sched, task);
}

}  // namespace schedkit::fair
