// balance.h: the pieces of the Linux-style hierarchical load balancer that
// read the machine's state: group statistics and classification, the busiest
// group and imbalance, the busiest queue. Internal to the fair policy; pure
// functions of the run queues' lock-free summaries, so they are unit-tested
// on hand-built states. Names follow kernel/sched/fair.c.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "schedkit/domain.h"
#include "schedkit/scheduler.h"

namespace schedkit::fair {

// kCapacity is one CPU's capacity (SCHED_CAPACITY_SCALE).
inline constexpr uint64_t kCapacity = 1024;
inline constexpr int kMaxLevels = 8;

// GroupType classifies a sched group, least busy first (the order matters:
// the busiest group is the one with the highest type).
enum class GroupType : uint8_t {
    HasSpare,    // fewer tasks than CPUs, or capacity left: can take more
    FullyBusy,   // every CPU has a task and none waits
    Imbalanced,  // an earlier pass could not balance it because of affinity
    Overloaded,  // more tasks than CPUs and not enough capacity: tasks wait
};
const char* group_type_name(GroupType t);

// MigrationType is the unit an imbalance is measured in.
enum class MigrationType : uint8_t { Load, Util, Task };
const char* migration_type_name(MigrationType t);

// IdleType is the state of the balancing CPU (CPU_NOT_IDLE, CPU_IDLE,
// CPU_NEWLY_IDLE in Linux).
enum class IdleType : uint8_t { Busy, Idle, NewlyIdle };
inline constexpr int kNumIdleTypes = 3;
const char* idle_type_name(IdleType t);

// GroupStats are a group's summed run-queue summaries. Load is the sum of
// runnable weights (instantaneous, as the run queues publish it); util
// counts 1024 per CPU that has a task, runnable 1024 per task: the
// executors' CPUs either run something or idle, so these are what PELT's
// util_avg and runnable_avg converge to, without their 32 ms lag.
struct GroupStats {
    uint64_t load = 0;
    uint64_t util = 0;
    uint64_t runnable = 0;
    uint64_t capacity = 0;
    uint64_t avg_load = 0;  // load scaled to the group's capacity
    int nr_running = 0;
    int idle_cpus = 0;
    int weight = 0;  // CPUs counted
    int cores = 0;
    GroupType type = GroupType::HasSpare;
};

// classify_group() is group_classify(): overloaded (more tasks than CPUs
// and util or runnable above capacity by imbalance_pct), else imbalanced
// when flagged, else fully busy when no capacity is left, else has spare.
GroupType classify_group(const GroupStats& s, uint32_t imbalance_pct, bool imbalanced_flag);

// LevelInfo is one domain level laid out for fast balancing: groups as
// ranges of a flat CPU array, per-CPU domain and local group, and the
// per-group "imbalanced by pinning" flags (sgc->imbalance) shared by every
// CPU that balances over the group.
struct LevelInfo {
    struct Group {
        uint32_t begin = 0, end = 0;  // into cpus
        int cores = 0;
        int first_cpu = 0;
    };
    struct Dom {
        uint32_t group_begin = 0, group_end = 0;  // into groups
        CpuSet span;
    };
    LevelKind kind = LevelKind::SYSTEM;
    DomainParams params;
    bool share_llc = false;       // SD_SHARE_LLC: SMT, CLUSTER, LLC
    bool numa = false;            // SD_NUMA
    bool prefer_sibling = false;  // the child level spreads tasks (not NUMA)
    int imb_numa_nr = 1;          // tasks a NUMA group may hold before imbalance counts
    std::vector<int> cpus;
    std::vector<Group> groups;
    std::vector<Dom> domains;
    std::vector<int> domain_of_cpu;
    std::vector<int> local_group_of_cpu;                      // index into groups
    std::unique_ptr<std::atomic<uint8_t>[]> group_imbalance;  // per group

    const Dom& domain(int cpu) const {
        return domains[static_cast<size_t>(domain_of_cpu[static_cast<size_t>(cpu)])];
    }
    const Group& local_group(int cpu) const {
        return groups[static_cast<size_t>(local_group_of_cpu[static_cast<size_t>(cpu)])];
    }
    bool group_has(const Group& g, int cpu) const;
};

// BalanceTopology is the domain tree as the balancer walks it.
class BalanceTopology {
  public:
    void build(const Topology& topo, const DomainTree& tree);
    int num_levels() const { return static_cast<int>(levels_.size()); }
    int num_cpus() const { return num_cpus_; }
    const LevelInfo& level(int i) const { return *levels_[static_cast<size_t>(i)]; }
    LevelInfo& level(int i) { return *levels_[static_cast<size_t>(i)]; }

  private:
    int num_cpus_ = 0;
    std::vector<std::unique_ptr<LevelInfo>> levels_;
};

// LbEnv is one balance attempt (struct lb_env): who balances, where, and
// what was decided so far.
struct LbEnv {
    Scheduler* sched = nullptr;
    const BalanceTopology* topo = nullptr;
    int level = 0;
    int dst_cpu = 0;
    IdleType idle = IdleType::Busy;
    uint64_t now_ns = 0;
    // CPUs ruled out as a source after all their tasks proved pinned; empty
    // means none (the common case, so no per-pass allocation).
    std::vector<uint8_t> excluded;
    MigrationType type = MigrationType::Load;
    int64_t imbalance = 0;
    bool excluded_cpu(int cpu) const {
        return !excluded.empty() && excluded[static_cast<size_t>(cpu)] != 0;
    }
};

// SdStats are the domain-wide sums find_busiest_group() works from.
struct SdStats {
    int busiest = -1;  // group index, or -1
    int local = -1;
    GroupStats busiest_stat, local_stat;
    uint64_t total_load = 0, total_capacity = 0;
};

// group_stats() is update_sg_lb_stats() over the CPUs of group `g` at the
// env's level, skipping excluded CPUs.
GroupStats group_stats(const LbEnv& env, int g);

// find_busiest_group() is sched_balance_find_src_group(): it classifies the
// groups of dst's domain at env.level, picks the busiest, decides whether
// pulling from it is worth it, and if so sets env.type and env.imbalance.
// Returns the group index, or -1 when the domain is balanced.
int find_busiest_group(LbEnv& env, SdStats* out = nullptr);

// find_busiest_queue() is sched_balance_find_src_rq(): the CPU of group `g`
// to pull from for env.type, or -1.
int find_busiest_queue(const LbEnv& env, int g);

}  // namespace schedkit::fair
