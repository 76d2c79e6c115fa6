// balance.cpp: group statistics, classification, busiest group and queue,
// and the imbalance calculation of the fair balancer (after Linux's
// kernel/sched/fair.c: update_sg_lb_stats, group_classify,
// update_sd_pick_busiest, sched_balance_find_src_group, calculate_imbalance,
// sched_balance_find_src_rq).
#include "policy/fair/balance.h"

#include <algorithm>
#include <set>

#include "core/check.h"

namespace schedkit::fair {

const char* group_type_name(GroupType t) {
    switch (t) {
        case GroupType::HasSpare:
            return "has_spare";
        case GroupType::FullyBusy:
            return "fully_busy";
        case GroupType::Imbalanced:
            return "imbalanced";
        case GroupType::Overloaded:
            return "overloaded";
    }
    return "?";
}

const char* migration_type_name(MigrationType t) {
    switch (t) {
        case MigrationType::Load:
            return "load";
        case MigrationType::Util:
            return "util";
        case MigrationType::Task:
            return "task";
    }
    return "?";
}

const char* idle_type_name(IdleType t) {
    switch (t) {
        case IdleType::Busy:
            return "busy";
        case IdleType::Idle:
            return "idle";
        case IdleType::NewlyIdle:
            return "newidle";
    }
    return "?";
}

GroupType classify_group(const GroupStats& s, uint32_t imbalance_pct, bool imbalanced_flag) {
    uint64_t pct = imbalance_pct;
    bool overloaded = s.nr_running > s.weight &&
                      (s.capacity * 100 < s.util * pct || s.capacity * pct < s.runnable * 100);
    if (overloaded)
        return GroupType::Overloaded;
    if (imbalanced_flag)
        return GroupType::Imbalanced;
    bool has_capacity = s.nr_running < s.weight ||
                        (!(s.capacity * pct < s.runnable * 100) && s.capacity * 100 > s.util * pct);
    return has_capacity ? GroupType::HasSpare : GroupType::FullyBusy;
}

bool LevelInfo::group_has(const Group& g, int cpu) const {
    for (uint32_t i = g.begin; i < g.end; ++i)
        if (cpus[i] == cpu)
            return true;
    return false;
}

void BalanceTopology::build(const Topology& topo, const DomainTree& tree) {
    num_cpus_ = topo.num_cpus();
    levels_.clear();
    SCHEDKIT_CHECK(tree.num_levels() <= kMaxLevels,
                   "more domain levels than the balancer supports");
    int llc_weight = 1;
    for (int i = 0; i < tree.num_levels(); ++i) {
        const DomainLevel& dl = tree.level(i);
        auto L = std::make_unique<LevelInfo>();
        L->kind = dl.kind;
        L->params = dl.params;
        L->share_llc =
            dl.kind == LevelKind::SMT || dl.kind == LevelKind::CLUSTER || dl.kind == LevelKind::LLC;
        if (L->share_llc)
            llc_weight = dl.span_weight();
        L->numa = dl.kind == LevelKind::NUMA;
        // SD_PREFER_SIBLING is set on every level but NUMA, and a level
        // honours its child's flag.
        L->prefer_sibling = i > 0 && tree.level(i - 1).kind != LevelKind::NUMA;
        // Linux lets a NUMA domain hold up to about one task per LLC before a
        // small imbalance counts (imb_numa_nr), keeping tasks near memory.
        L->imb_numa_nr = std::max(1, dl.span_weight() / std::max(1, llc_weight));
        for (const Domain& d : dl.domains) {
            LevelInfo::Dom dom;
            dom.span = d.span;
            dom.group_begin = static_cast<uint32_t>(L->groups.size());
            for (const CpuSet& g : d.groups) {
                LevelInfo::Group gr;
                gr.begin = static_cast<uint32_t>(L->cpus.size());
                std::set<int> cores;
                g.for_each([&](int c) {
                    L->cpus.push_back(c);
                    cores.insert(topo.cpu(c).core_id);
                });
                gr.end = static_cast<uint32_t>(L->cpus.size());
                gr.cores = static_cast<int>(cores.size());
                gr.first_cpu = g.first();
                L->groups.push_back(gr);
            }
            dom.group_end = static_cast<uint32_t>(L->groups.size());
            L->domains.push_back(std::move(dom));
        }
        L->domain_of_cpu = dl.domain_of_cpu;
        L->local_group_of_cpu.assign(static_cast<size_t>(num_cpus_), -1);
        for (int c = 0; c < num_cpus_; ++c) {
            const LevelInfo::Dom& dom = L->domain(c);
            for (uint32_t g = dom.group_begin; g < dom.group_end; ++g)
                if (L->group_has(L->groups[g], c)) {
                    L->local_group_of_cpu[static_cast<size_t>(c)] = static_cast<int>(g);
                    break;
                }
            SCHEDKIT_CHECK(L->local_group_of_cpu[static_cast<size_t>(c)] >= 0,
                           "a CPU outside every group of its own domain");
        }
        L->group_imbalance = std::make_unique<std::atomic<uint8_t>[]>(L->groups.size());
        levels_.push_back(std::move(L));
    }
}

GroupStats group_stats(const LbEnv& env, int g) {
    const LevelInfo& L = env.topo->level(env.level);
    const LevelInfo::Group& gr = L.groups[static_cast<size_t>(g)];
    GroupStats s;
    for (uint32_t i = gr.begin; i < gr.end; ++i) {
        int cpu = L.cpus[i];
        if (env.excluded_cpu(cpu))
            continue;
        const RunQueue& rq = env.sched->rq(cpu);
        int nr = rq.nr_running.load(std::memory_order_relaxed);
        s.load += rq.load_weight.load(std::memory_order_relaxed);
        s.nr_running += nr;
        s.runnable += static_cast<uint64_t>(nr) * kCapacity;
        if (nr == 0)
            ++s.idle_cpus;
        else
            s.util += kCapacity;
        ++s.weight;
    }
    s.cores = gr.cores;
    s.capacity = static_cast<uint64_t>(s.weight) * kCapacity;
    s.avg_load = s.capacity != 0 ? s.load * kCapacity / s.capacity : 0;
    bool flagged = L.group_imbalance[static_cast<size_t>(g)].load(std::memory_order_relaxed) != 0;
    s.type = classify_group(s, L.params.imbalance_pct, flagged);
    return s;
}

namespace {

// pick_busiest() is update_sd_pick_busiest(): is `s` busier than the
// busiest group so far?
bool pick_busiest(const SdStats& sds, const GroupStats& s) {
    if (s.nr_running == 0)
        return false;  // nothing to pull
    if (sds.busiest < 0)
        return true;
    const GroupStats& b = sds.busiest_stat;
    if (s.type != b.type)
        return s.type > b.type;
    switch (s.type) {
        case GroupType::Overloaded:
        case GroupType::FullyBusy:
            return s.avg_load > b.avg_load;
        case GroupType::Imbalanced:
            return false;  // no way to prefer one: keep the first
        case GroupType::HasSpare:
            // Fewest idle CPUs, then most tasks: the least room left.
            if (s.idle_cpus != b.idle_cpus)
                return s.idle_cpus < b.idle_cpus;
            return s.nr_running > b.nr_running;
    }
    return false;
}

// sibling_imbalance() spreads tasks so groups hold similar numbers per
// core (twice the tasks to move; the caller halves it).
int64_t sibling_imbalance(const LbEnv& env, const GroupStats& busiest, const GroupStats& local) {
    if (env.idle == IdleType::Busy || busiest.nr_running == 0)
        return 0;
    int64_t nb = std::max(1, busiest.cores), nl = std::max(1, local.cores);
    if (nb == nl)
        return std::max<int64_t>(0, busiest.nr_running - local.nr_running);
    int64_t imb = std::max<int64_t>(0, nl * busiest.nr_running - nb * local.nr_running);
    imb = (2 * imb + nl + nb) / (nl + nb);
    if (imb <= 1 && local.nr_running == 0 && busiest.nr_running > 1)
        imb = 2;  // use an empty group's resources
    return imb;
}

int64_t adjust_numa_imbalance(int64_t imbalance, int dst_running, int imb_numa_nr) {
    constexpr int64_t kNumaImbalanceMin = 2;
    if (dst_running > imb_numa_nr)
        return imbalance;
    return imbalance <= kNumaImbalanceMin ? 0 : imbalance;
}

void calculate_imbalance(LbEnv& env, const SdStats& sds) {
    const LevelInfo& L = env.topo->level(env.level);
    const GroupStats& local = sds.local_stat;
    const GroupStats& busiest = sds.busiest_stat;
    env.imbalance = 0;
    if (busiest.type == GroupType::Imbalanced) {
        // Group-wide averages mean nothing under pinning: move any one task;
        // the next pass balances back.
        env.type = MigrationType::Task;
        env.imbalance = 1;
        return;
    }
    if (local.type == GroupType::HasSpare) {
        if (busiest.type > GroupType::FullyBusy && !L.share_llc) {
            // Fill the local group's spare capacity from the overloaded one.
            env.type = MigrationType::Util;
            env.imbalance = static_cast<int64_t>(std::max(local.capacity, local.util) - local.util);
            if (env.idle != IdleType::Busy && env.imbalance == 0) {
                env.type = MigrationType::Task;
                env.imbalance = 1;
            }
            return;
        }
        env.type = MigrationType::Task;
        if (busiest.weight == 1 || L.prefer_sibling)
            env.imbalance = sibling_imbalance(env, busiest, local);
        else
            env.imbalance = std::max(0, local.idle_cpus - busiest.idle_cpus);
        if (L.numa)
            env.imbalance =
                adjust_numa_imbalance(env.imbalance, local.nr_running + 1, L.imb_numa_nr);
        env.imbalance >>= 1;  // tasks to move to even the two groups out
        return;
    }
    uint64_t sds_avg =
        sds.total_capacity != 0 ? sds.total_load * kCapacity / sds.total_capacity : 0;
    if (local.type < GroupType::Overloaded) {
        // Local will become overloaded: only pull while it stays below both
        // the busiest group and the domain's average.
        if (local.avg_load >= busiest.avg_load || local.avg_load >= sds_avg)
            return;
    }
    // Move the least that brings neither group past the average.
    env.type = MigrationType::Load;
    int64_t above = static_cast<int64_t>(busiest.avg_load) - static_cast<int64_t>(sds_avg);
    int64_t below = static_cast<int64_t>(sds_avg) - static_cast<int64_t>(local.avg_load);
    env.imbalance = std::max<int64_t>(0, std::min(above * static_cast<int64_t>(busiest.capacity),
                                                  below * static_cast<int64_t>(local.capacity)) /
                                             static_cast<int64_t>(kCapacity));
}

}  // namespace

int find_busiest_group(LbEnv& env, SdStats* out) {
    const LevelInfo& L = env.topo->level(env.level);
    const LevelInfo::Dom& dom = L.domain(env.dst_cpu);
    int local_g = L.local_group_of_cpu[static_cast<size_t>(env.dst_cpu)];
    SdStats sds;
    for (uint32_t g = dom.group_begin; g < dom.group_end; ++g) {
        GroupStats s = group_stats(env, static_cast<int>(g));
        sds.total_load += s.load;
        sds.total_capacity += s.capacity;
        if (static_cast<int>(g) == local_g) {
            sds.local = local_g;
            sds.local_stat = s;
        } else if (pick_busiest(sds, s)) {
            sds.busiest = static_cast<int>(g);
            sds.busiest_stat = s;
        }
    }
    if (out != nullptr)
        *out = sds;
    if (sds.busiest < 0)
        return -1;
    const GroupStats& local = sds.local_stat;
    const GroupStats& busiest = sds.busiest_stat;
    bool force = busiest.type == GroupType::Imbalanced;
    if (!force) {
        if (local.type > busiest.type)
            return -1;  // we are busier than the busiest
        if (local.type == GroupType::Overloaded) {
            uint64_t sds_avg =
                sds.total_load * kCapacity / std::max<uint64_t>(1, sds.total_capacity);
            if (local.avg_load >= busiest.avg_load || local.avg_load >= sds_avg)
                return -1;
            // imbalance_pct: only pull for a clear difference.
            if (100 * busiest.avg_load <= L.params.imbalance_pct * local.avg_load)
                return -1;
        }
        force = L.prefer_sibling && local.type == GroupType::HasSpare &&
                sibling_imbalance(env, busiest, local) > 1;
    }
    if (!force && busiest.type != GroupType::Overloaded) {
        // Not overloaded: nothing waits there. A busy CPU leaves it to an
        // idle one, and one idle CPU more or less is no imbalance.
        if (env.idle == IdleType::Busy)
            return -1;
        if (busiest.weight > 1 && local.idle_cpus <= busiest.idle_cpus + 1)
            return -1;
        if (busiest.nr_running == 1)
            return -1;
    }
    calculate_imbalance(env, sds);
    return env.imbalance > 0 ? sds.busiest : -1;
}

int find_busiest_queue(const LbEnv& env, int g) {
    const LevelInfo& L = env.topo->level(env.level);
    const LevelInfo::Group& gr = L.groups[static_cast<size_t>(g)];
    int best = -1;
    uint64_t best_value = 0;
    for (uint32_t i = gr.begin; i < gr.end; ++i) {
        int cpu = L.cpus[i];
        if (cpu == env.dst_cpu || env.excluded_cpu(cpu))
            continue;
        const RunQueue& rq = env.sched->rq(cpu);
        auto nr = static_cast<uint64_t>(rq.nr_running.load(std::memory_order_relaxed));
        uint64_t value = 0;
        switch (env.type) {
            case MigrationType::Load:
                value = rq.load_weight.load(std::memory_order_relaxed);
                // A lone task heavier than the imbalance would only move it.
                if (nr == 1 && static_cast<int64_t>(value) > env.imbalance)
                    continue;
                break;
            case MigrationType::Util:
                if (nr <= 1)
                    continue;  // its one task is running: nothing to detach
                value = nr * kCapacity;
                break;
            case MigrationType::Task:
                value = nr;
                break;
        }
        if (value > best_value) {
            best_value = value;
            best = cpu;
        }
    }
    return best;
}

}  // namespace schedkit::fair
