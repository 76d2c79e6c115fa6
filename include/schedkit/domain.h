// domain.h: the sched-domain hierarchy, built from a Topology as Linux builds it.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "schedkit/cpuset.h"
#include "schedkit/topology.h"

namespace schedkit {

// LevelKind names a sched-domain level, smallest span first.
enum class LevelKind : uint8_t { SMT, CLUSTER, LLC, PKG, NUMA, SYSTEM };
inline constexpr int kNumLevelKinds = 6;
const char* level_name(LevelKind kind);
// level_kind_named() reads a level kind's name (SMT, CLUSTER, LLC, PKG,
// NUMA, SYSTEM; any letter case), or nullopt.
std::optional<LevelKind> level_kind_named(std::string_view name);

// DomainParams are the balancing knobs of one domain level, with Linux's
// defaults filled in by DomainTree::build().
struct DomainParams {
    uint32_t balance_interval_ms = 1;  // = span weight
    uint32_t max_interval_ms = 2;      // = 2 x balance_interval_ms
    uint32_t busy_factor = 16;         // interval multiplier while the CPU is busy
    uint32_t imbalance_pct = 117;      // 110 at SMT
    uint32_t cache_nice_tries = 1;     // 0 at SMT, 2 at NUMA
};

// DomainParamsOverride replaces some of a level's defaults.
struct DomainParamsOverride {
    std::optional<uint32_t> balance_interval_ms, max_interval_ms, busy_factor, imbalance_pct,
        cache_nice_tries;
};

// DomainConfig overrides default parameters per level kind.
struct DomainConfig {
    std::array<DomainParamsOverride, kNumLevelKinds> level{};
    DomainParamsOverride& operator[](LevelKind k) { return level[static_cast<size_t>(k)]; }
    const DomainParamsOverride& operator[](LevelKind k) const {
        return level[static_cast<size_t>(k)];
    }
};

// Domain is one sched domain: a span of CPUs split into groups, each group
// being a child domain's span (single CPUs at the lowest level).
struct Domain {
    CpuSet span;
    std::vector<CpuSet> groups;
};

// DomainLevel is all domains of one kind; they partition the CPUs (NUMA levels
// may overlap when distances are asymmetric).
struct DomainLevel {
    LevelKind kind = LevelKind::SYSTEM;
    std::string name;
    DomainParams params;
    int numa_distance = 0;  // the distance this NUMA level reaches; 0 otherwise
    std::vector<Domain> domains;
    std::vector<int> domain_of_cpu;  // index into domains, per CPU

    const Domain& of(int cpu) const {
        return domains[static_cast<size_t>(domain_of_cpu[static_cast<size_t>(cpu)])];
    }
    // span() is the span of the domain containing cpu at this level.
    const CpuSet& span(int cpu) const { return of(cpu).span; }
    // span_weight() is the size of this level's first domain (all are equal on
    // symmetric machines).
    int span_weight() const { return domains.empty() ? 0 : domains.front().span.count(); }
};

// DomainTree holds the levels, smallest span first. A single CPU has no
// levels. Immutable after build(); thread-safe to read.
class DomainTree {
  public:
    // build() follows Linux: SMT, CLUSTER (when L2 differs from SMT and LLC),
    // LLC, PKG, NUMA levels from node distances, SYSTEM when nothing else
    // spans every CPU; a level whose spans equal its child's is dropped.
    static DomainTree build(const Topology& topo, const DomainConfig& config = {});

    int num_cpus() const { return num_cpus_; }
    int num_levels() const { return static_cast<int>(levels_.size()); }
    const std::vector<DomainLevel>& levels() const { return levels_; }
    const DomainLevel& level(int i) const { return levels_[static_cast<size_t>(i)]; }
    // lowest_common_level() is the smallest level whose span holds both CPUs,
    // or -1 when a == b.
    int lowest_common_level(int a, int b) const;

  private:
    int num_cpus_ = 0;
    std::vector<DomainLevel> levels_;
};

}  // namespace schedkit
