// fair_policy.cpp: the fair policy's balancing passes (after Linux's
// sched_balance_rq, detach_tasks, can_migrate_task, rebalance_domains and
// sched_balance_newidle), its statistics, and its registry entry.
#include "policy/fair/fair_policy.h"

#include <fmt/format.h>

#include <algorithm>
#include <climits>

#include "core/check.h"
#include "schedkit/policy_registry.h"
#include "schedkit/scheduler.h"

namespace schedkit::fair {

namespace {

void inc(std::atomic<uint64_t>& c, uint64_t by = 1) {
    c.fetch_add(by, std::memory_order_relaxed);
}

// task_util_est() is what a task would add to a CPU's utilisation: the
// larger of its running and runnable averages (a queued task would have
// run), and a whole CPU for a task that never ran (nothing known yet, so
// assume the worst and move one at a time).
int64_t task_util_est(const Task& t) {
    if (t.exec_ns == 0)
        return static_cast<int64_t>(kCapacity);
    double a = std::max(t.pelt.running_avg, t.pelt.runnable_avg);
    return std::max<int64_t>(1, static_cast<int64_t>(a * static_cast<double>(kCapacity)));
}

// Linux's MAX_PINNED_INTERVAL: how far the interval may grow while every
// task proves pinned.
constexpr uint32_t kMaxPinnedIntervalMs = 512;

}  // namespace

FairPolicy::FairPolicy(FairConfig config) : config_(config) {}
FairPolicy::~FairPolicy() = default;

void FairPolicy::start(Scheduler& sched, uint64_t now_ns) {
    // Built once per scheduler; a restart after a refused switch keeps the
    // statistics and only resets the balance clocks.
    if (cpus_ == nullptr || topo_.num_cpus() != sched.num_cpus()) {
        topo_.build(sched.topology(), sched.domains());
        cpus_ = std::make_unique<CpuState[]>(static_cast<size_t>(sched.num_cpus()));
        eevdf_.init(sched.num_cpus());
    }
    for (int c = 0; c < sched.num_cpus(); ++c)
        for (int l = 0; l < topo_.num_levels(); ++l) {
            LevelState& ls = cpus_[static_cast<size_t>(c)].level[static_cast<size_t>(l)];
            ls.last_balance_ns = now_ns;
            ls.interval_ms = topo_.level(l).params.balance_interval_ms;
            ls.nr_balance_failed = 0;
        }
}

void FairPolicy::take_queue(RunQueue& rq, uint64_t now_ns) {
    eevdf_.take(rq, now_ns, quantum_ns);
}

void FairPolicy::on_enqueue(RunQueue& rq, Task& task, EnqueueKind kind, uint64_t now_ns) {
    eevdf_.enqueue(rq, task, kind, now_ns, quantum_ns);
}

void FairPolicy::on_dequeue(RunQueue& rq, Task& task, DequeueKind kind, uint64_t now_ns) {
    eevdf_.dequeue(rq, task, kind, now_ns, quantum_ns, config_.tick_ns);
}

QueuePick FairPolicy::pick(const RunQueue& rq) {
    // A queue this policy does not order yet (a switch is handing it over)
    // is served in list order.
    Task* t = rq.order == this ? eevdf_.pick(rq) : nullptr;
    return t != nullptr ? QueuePick{t, false} : Policy::pick(rq);
}

bool FairPolicy::wakeup_preempt(const RunQueue& rq, const Task& task, uint64_t now_ns) {
    return eevdf_.wakeup_preempt(rq, task, now_ns, quantum_ns);
}

uint64_t FairPolicy::time_slice_ns(const Task& task) const {
    return Eevdf::slice_left_ns(task, quantum_ns);
}

bool FairPolicy::should_we_balance(const Scheduler& sched, int cpu, int level) const {
    // Only one CPU of the local group balances the domain: its first idle
    // CPU, or its first CPU when none is idle. The others would only find
    // the same imbalance and race for the same tasks.
    const LevelInfo& L = topo_.level(level);
    const LevelInfo::Group& g = L.local_group(cpu);
    for (uint32_t i = g.begin; i < g.end; ++i) {
        int c = L.cpus[i];
        if (sched.rq(c).nr_running.load(std::memory_order_relaxed) == 0)
            return c == cpu;
    }
    return cpu == g.first_cpu;
}

bool FairPolicy::current_allowed_on(Scheduler& sched, int src, int dst) const {
    // A plain lock of one queue to read its current task; nothing is called
    // under it.
    const RunQueue& rq = sched.rq(src);
    std::lock_guard g(rq.lock);
    return rq.current != nullptr && rq.current->allowed_on(dst);
}

int FairPolicy::detach_and_attach(LbEnv& env, int src, uint32_t* failed, bool* all_pinned,
                                  bool* some_pinned, int* new_dst) {
    const LevelInfo& L = topo_.level(env.level);
    const RunQueue& srq = env.sched->rq(src);
    const int dst = env.dst_cpu;
    const uint32_t tries = L.params.cache_nice_tries;
    const int loop_max = std::min(config_.nr_migrate, srq.nr_running.load());
    const unsigned shift = std::min<uint32_t>(*failed, 63);
    int examined = 0;
    uint64_t hot_gained = 0;
    bool done = false;
    // can_migrate_task() plus detach_tasks()'s accounting. It runs under the
    // source queue's lock, so it only reads the task and counts.
    auto can_move = [&](const Task& t) {
        if (done)
            return false;
        // Never take the last task of a queue for an idle CPU: the source
        // would only pull it back (a livelock in the making).
        if (env.idle != IdleType::Busy && srq.nr_running.load(std::memory_order_relaxed) <= 1) {
            done = true;
            return false;
        }
        if (examined >= loop_max && !*all_pinned) {
            done = true;
            return false;
        }
        ++examined;
        if (!t.allowed_on(dst)) {
            *some_pinned = true;
            // Remember a CPU of our group the task may use (LBF_DST_PINNED).
            if (env.idle != IdleType::NewlyIdle && new_dst != nullptr && *new_dst < 0) {
                const LevelInfo::Group& lg = L.local_group(dst);
                for (uint32_t i = lg.begin; i < lg.end && *new_dst < 0; ++i)
                    if (int c = L.cpus[i]; c != dst && t.allowed_on(c) && !env.excluded_cpu(c))
                        *new_dst = c;
            }
            return false;
        }
        *all_pinned = false;
        bool hot = config_.migration_cost_ns != 0 && t.exec_ns != 0 &&
                   env.now_ns < t.last_ran_ns + config_.migration_cost_ns;
        if (hot && *failed <= tries)
            return false;
        switch (env.type) {
            case MigrationType::Load: {
                auto load = static_cast<int64_t>(std::max<uint32_t>(t.weight, 1));
                if (load < 16 && *failed == 0)
                    return false;  // LB_MIN: tiny tasks are not worth it at first
                if ((load >> shift) > env.imbalance)
                    return false;
                env.imbalance -= load;
                break;
            }
            case MigrationType::Util: {
                int64_t util = task_util_est(t);
                if ((util >> shift) > env.imbalance)
                    return false;
                env.imbalance -= util;
                break;
            }
            case MigrationType::Task:
                env.imbalance -= 1;
                break;
        }
        hot_gained += hot ? 1 : 0;
        done = env.imbalance <= 0;
        return true;
    };
    std::vector<Task*> moved = env.sched->detach_tasks(src, INT_MAX, can_move);
    env.sched->attach_tasks(dst, moved, src, env.now_ns);
    AtomicStats& st = cpus_[static_cast<size_t>(dst)].stats[static_cast<size_t>(env.level)];
    inc(st.lb_gained[static_cast<size_t>(env.idle)], moved.size());
    inc(st.lb_hot_gained[static_cast<size_t>(env.idle)], hot_gained);
    return static_cast<int>(moved.size());
}

int FairPolicy::load_balance(Scheduler& sched, int cpu, int level, IdleType idle, uint64_t now_ns,
                             bool* continue_balancing) {
    SCHEDKIT_CHECK(cpus_ != nullptr && level >= 0 && level < topo_.num_levels(),
                   "balance before start() or at a level the machine lacks");
    LevelInfo& L = topo_.level(level);
    LevelState& ls = cpus_[static_cast<size_t>(cpu)].level[static_cast<size_t>(level)];
    AtomicStats& st = cpus_[static_cast<size_t>(cpu)].stats[static_cast<size_t>(level)];
    const auto it = static_cast<size_t>(idle);
    inc(st.lb_count[it]);
    // The flag of our group one level up (sd_parent->groups->sgc->imbalance):
    // set when pinning kept us from balancing, so the parent pulls from us.
    std::atomic<uint8_t>* parent_flag = nullptr;
    if (level + 1 < topo_.num_levels()) {
        LevelInfo& P = topo_.level(level + 1);
        parent_flag =
            &P.group_imbalance[static_cast<size_t>(P.local_group_of_cpu[static_cast<size_t>(cpu)])];
    }
    LbEnv env;
    env.sched = &sched;
    env.topo = &topo_;
    env.level = level;
    env.dst_cpu = cpu;
    env.idle = idle;
    env.now_ns = now_ns;
    int moved = 0, busiest = -1;
    bool all_pinned = false, balanced = false;
    for (;;) {
        if (idle != IdleType::NewlyIdle && !should_we_balance(sched, cpu, level)) {
            if (continue_balancing != nullptr)
                *continue_balancing = false;
            balanced = true;
            break;
        }
        int group = find_busiest_group(env);
        if (group < 0) {
            inc(st.lb_nobusyg[it]);
            balanced = true;
            break;
        }
        busiest = find_busiest_queue(env, group);
        if (busiest < 0) {
            inc(st.lb_nobusyq[it]);
            balanced = true;
            break;
        }
        inc(st.lb_imbalance[it], static_cast<uint64_t>(env.imbalance));
        all_pinned = true;
        if (sched.rq(busiest).nr_running.load(std::memory_order_relaxed) <= 1)
            break;  // only a running task there: failing may lead to a push
        bool some_pinned = false;
        int new_dst = -1;
        moved += detach_and_attach(env, busiest, &ls.nr_balance_failed, &all_pinned, &some_pinned,
                                   &new_dst);
        if (new_dst >= 0 && env.imbalance > 0) {
            // Tasks that could not come here may go to another CPU of our
            // group; continue with the same source.
            env.dst_cpu = new_dst;
            bool ignored = false;
            moved += detach_and_attach(env, busiest, &ls.nr_balance_failed, &ignored, &some_pinned,
                                       nullptr);
            env.dst_cpu = cpu;
        }
        if (parent_flag != nullptr && some_pinned && env.imbalance > 0)
            parent_flag->store(1, std::memory_order_relaxed);
        if (all_pinned && current_allowed_on(sched, busiest, cpu))
            all_pinned = false;  // the running task could come: not all pinned
        if (!all_pinned)
            break;
        // Everything on `busiest` is pinned away from us: rule it out and
        // look again while CPUs outside our own group remain candidates.
        if (env.excluded.empty())
            env.excluded.assign(static_cast<size_t>(sched.num_cpus()), 0);
        env.excluded[static_cast<size_t>(busiest)] = 1;
        bool others = false;
        const LevelInfo::Group& lg = L.local_group(cpu);
        L.domain(cpu).span.for_each(
            [&](int c) { others |= !env.excluded_cpu(c) && !L.group_has(lg, c); });
        if (!others) {
            // out_all_pinned: balanced as far as this level can tell; the
            // parent's imbalance flag stays set for the level above.
            inc(st.lb_balanced[it]);
            ls.nr_balance_failed = 0;
            if (idle != IdleType::NewlyIdle)
                ls.interval_ms = std::min(ls.interval_ms * 2, kMaxPinnedIntervalMs);
            return 0;
        }
    }
    if (balanced) {
        inc(st.lb_balanced[it]);
        ls.nr_balance_failed = 0;
        if (parent_flag != nullptr && !all_pinned)
            parent_flag->store(0, std::memory_order_relaxed);
        // Balanced: back off, up to the level's max interval. Newidle passes
        // ignore intervals, so they must not inflate them.
        if (idle != IdleType::NewlyIdle && ls.interval_ms < L.params.max_interval_ms)
            ls.interval_ms *= 2;
        return 0;
    }
    if (moved == 0) {
        inc(st.lb_failed[it]);
        // Only periodic failures count: frequent newidle passes would
        // otherwise force cache-hot migrations and pushes.
        if (idle != IdleType::NewlyIdle)
            ++ls.nr_balance_failed;
        if (ls.nr_balance_failed > L.params.cache_nice_tries + 2) {
            // Pulling keeps failing: ask the source CPU to push its running
            // task here (active balance), if that task may come.
            if (!current_allowed_on(sched, busiest, cpu)) {
                if (idle != IdleType::NewlyIdle && ls.interval_ms < L.params.max_interval_ms)
                    ls.interval_ms *= 2;
                return 0;
            }
            if (sched.rq(busiest).push_to.load(std::memory_order_relaxed) < 0) {
                sched.request_push(busiest, cpu);
                // Cache-hot tasks may move from now on; two more failures
                // before the next push.
                ls.nr_balance_failed = L.params.cache_nice_tries + 1;
            }
        }
    } else {
        ls.nr_balance_failed = 0;
    }
    ls.interval_ms = L.params.balance_interval_ms;  // we were unbalanced
    return moved;
}

void FairPolicy::tick(Scheduler& sched, int cpu, uint64_t now_ns) {
    if (cpus_ == nullptr)
        return;
    bool idle = sched.rq(cpu).nr_running.load(std::memory_order_relaxed) == 0;
    bool cont = true;
    // Linux caps intervals at HZ * nr_cpus / 10 jiffies: 0.1 s per CPU.
    const uint64_t max_interval_ms = 100 * static_cast<uint64_t>(topo_.num_cpus());
    for (int level = 0; level < topo_.num_levels() && cont; ++level) {
        const LevelInfo& L = topo_.level(level);
        LevelState& ls = cpus_[static_cast<size_t>(cpu)].level[static_cast<size_t>(level)];
        uint64_t interval_ms = ls.interval_ms;
        if (!idle)
            interval_ms *= L.params.busy_factor;  // a busy CPU balances rarely
        interval_ms = std::clamp<uint64_t>(interval_ms, 1, max_interval_ms);
        if (now_ns < ls.last_balance_ns + interval_ms * 1'000'000)
            continue;
        // SD_SERIALIZE: one NUMA balance at a time machine-wide, it is the
        // costliest walk and cross-node moves are the dearest.
        if (L.numa && numa_balancing_.test_and_set(std::memory_order_acquire))
            continue;
        if (load_balance(sched, cpu, level, idle ? IdleType::Idle : IdleType::Busy, now_ns, &cont))
            idle = sched.rq(cpu).nr_running.load(std::memory_order_relaxed) == 0;
        ls.last_balance_ns = now_ns;
        if (L.numa)
            numa_balancing_.clear(std::memory_order_release);
    }
}

void FairPolicy::newidle(Scheduler& sched, int cpu, uint64_t now_ns) {
    if (cpus_ == nullptr)
        return;
    // As Linux (sched_balance_newidle checks rd->overloaded): with no CPU
    // holding two or more runnable tasks there is nothing waiting to pull,
    // so skip the walk of every domain (the core's overloaded set, O(1)).
    if (!sched.overloaded_cpus().any())
        return;
    // Bottom-up: the closest work is the cheapest to take. Stop at the
    // first pull, or when work arrived meanwhile.
    for (int level = 0; level < topo_.num_levels(); ++level) {
        if (load_balance(sched, cpu, level, IdleType::NewlyIdle, now_ns) > 0 ||
            sched.rq(cpu).nr_queued.load(std::memory_order_relaxed) > 0)
            break;
    }
}

void FairPolicy::on_active_balance(int src, int dst, bool moved) {
    if (cpus_ == nullptr || src < 0 || src >= topo_.num_cpus())
        return;
    int level = 0;
    while (level + 1 < topo_.num_levels() && !topo_.level(level).domain(src).span.test(dst))
        ++level;
    AtomicStats& st = cpus_[static_cast<size_t>(src)].stats[static_cast<size_t>(level)];
    inc(st.alb_count);
    inc(moved ? st.alb_pushed : st.alb_failed);
}

BalanceStats FairPolicy::stats(int level) const {
    BalanceStats out;
    if (cpus_ == nullptr)
        return out;
    for (int c = 0; c < topo_.num_cpus(); ++c) {
        const AtomicStats& s = cpus_[static_cast<size_t>(c)].stats[static_cast<size_t>(level)];
        for (size_t i = 0; i < kNumIdleTypes; ++i) {
            out.lb_count[i] += s.lb_count[i].load(std::memory_order_relaxed);
            out.lb_balanced[i] += s.lb_balanced[i].load(std::memory_order_relaxed);
            out.lb_failed[i] += s.lb_failed[i].load(std::memory_order_relaxed);
            out.lb_imbalance[i] += s.lb_imbalance[i].load(std::memory_order_relaxed);
            out.lb_gained[i] += s.lb_gained[i].load(std::memory_order_relaxed);
            out.lb_hot_gained[i] += s.lb_hot_gained[i].load(std::memory_order_relaxed);
            out.lb_nobusyg[i] += s.lb_nobusyg[i].load(std::memory_order_relaxed);
            out.lb_nobusyq[i] += s.lb_nobusyq[i].load(std::memory_order_relaxed);
        }
        out.alb_count += s.alb_count.load(std::memory_order_relaxed);
        out.alb_failed += s.alb_failed.load(std::memory_order_relaxed);
        out.alb_pushed += s.alb_pushed.load(std::memory_order_relaxed);
    }
    return out;
}

uint32_t FairPolicy::nr_balance_failed(int cpu, int level) const {
    return cpus_[static_cast<size_t>(cpu)].level[static_cast<size_t>(level)].nr_balance_failed;
}

uint32_t FairPolicy::balance_interval_ms(int cpu, int level) const {
    return cpus_[static_cast<size_t>(cpu)].level[static_cast<size_t>(level)].interval_ms;
}

std::string FairPolicy::stats_json() const {
    std::string levels;
    for (int l = 0; l < topo_.num_levels(); ++l) {
        BalanceStats s = stats(l);
        std::string by_idle;
        for (size_t i = 0; i < kNumIdleTypes; ++i)
            by_idle += fmt::format(
                R"({}"{}":{{"lb_count":{},"lb_balanced":{},"lb_failed":{},"lb_imbalance":{},)"
                R"("lb_gained":{},"lb_hot_gained":{},"lb_nobusyg":{},"lb_nobusyq":{}}})",
                i == 0 ? "" : ",", idle_type_name(static_cast<IdleType>(i)), s.lb_count[i],
                s.lb_balanced[i], s.lb_failed[i], s.lb_imbalance[i], s.lb_gained[i],
                s.lb_hot_gained[i], s.lb_nobusyg[i], s.lb_nobusyq[i]);
        levels += fmt::format(
            R"({}{{"level":"{}","span":{},{},"alb_count":{},"alb_failed":{},"alb_pushed":{}}})",
            l == 0 ? "" : ",", level_name(topo_.level(l).kind),
            topo_.level(l).domains.empty() ? 0 : topo_.level(l).domains.front().span.count(),
            by_idle, s.alb_count, s.alb_failed, s.alb_pushed);
    }
    return fmt::format(R"({{"domains":[{}]}})", levels);
}

}  // namespace schedkit::fair

namespace schedkit {

PolicyInfo fair_policy_info() {
    return PolicyInfo{
        "fair",
        "Linux-style hierarchical balancer: idle placement, periodic per-domain balancing, "
        "newidle pull, active push, cache-hot and affinity rules",
        {{"migration_cost_us", OptionType::DurationUs, "500",
          "a task that ran this recently is cache-hot and not pulled (0: never hot)", 0, 1e9},
         {"nr_migrate", OptionType::Int, "32", "tasks examined (so moved) per balance pass at most",
          1, 1e6},
         {"tick_us", OptionType::DurationUs, "1000", "period of the balance tick", 10, 1e7}},
        [](const PolicyOptions& o) {
            fair::FairConfig c;
            c.migration_cost_ns = o.get_duration_ns("migration_cost_us");
            c.nr_migrate = static_cast<int>(o.get_int("nr_migrate"));
            c.tick_ns = o.get_duration_ns("tick_us");
            return std::make_unique<fair::FairPolicy>(c);
        }};
}

}  // namespace schedkit
