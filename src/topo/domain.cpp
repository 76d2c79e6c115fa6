#include "schedkit/domain.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>
#include <set>

#include "schedkit/error.h"

namespace schedkit {

const char* level_name(LevelKind kind) {
    switch (kind) {
        case LevelKind::SMT:
            return "SMT";
        case LevelKind::CLUSTER:
            return "CLUSTER";
        case LevelKind::LLC:
            return "LLC";
        case LevelKind::PKG:
            return "PKG";
        case LevelKind::NUMA:
            return "NUMA";
        case LevelKind::SYSTEM:
            return "SYSTEM";
    }
    return "?";
}

std::optional<LevelKind> level_kind_named(std::string_view name) {
    for (int k = 0; k < kNumLevelKinds; ++k) {
        std::string_view known = level_name(static_cast<LevelKind>(k));
        bool same = known.size() == name.size();
        for (size_t i = 0; same && i < name.size(); ++i)
            same = std::toupper(static_cast<unsigned char>(name[i])) == known[i];
        if (same)
            return static_cast<LevelKind>(k);
    }
    return std::nullopt;
}

namespace {

// Linux's sd_init() defaults per kind of level.
DomainParams default_params(LevelKind kind, int span_weight) {
    DomainParams p;
    p.balance_interval_ms = static_cast<uint32_t>(span_weight);
    p.max_interval_ms = 2 * p.balance_interval_ms;
    p.busy_factor = 16;
    switch (kind) {
        case LevelKind::SMT:
            p.imbalance_pct = 110;
            p.cache_nice_tries = 0;
            break;
        case LevelKind::NUMA:
            p.imbalance_pct = 117;
            p.cache_nice_tries = 2;
            break;
        default:
            p.imbalance_pct = 117;
            p.cache_nice_tries = 1;
    }
    return p;
}

void apply(DomainParams& p, const DomainParamsOverride& o) {
    if (o.balance_interval_ms) {
        p.balance_interval_ms = *o.balance_interval_ms;
        p.max_interval_ms = 2 * p.balance_interval_ms;
    }
    if (o.max_interval_ms)
        p.max_interval_ms = *o.max_interval_ms;
    if (o.busy_factor)
        p.busy_factor = *o.busy_factor;
    if (o.imbalance_pct)
        p.imbalance_pct = *o.imbalance_pct;
    if (o.cache_nice_tries)
        p.cache_nice_tries = *o.cache_nice_tries;
}

struct Candidate {
    LevelKind kind;
    int numa_distance;
    std::vector<CpuSet> span_of_cpu;
};

}  // namespace

DomainTree DomainTree::build(const Topology& topo, const DomainConfig& config) {
    const int n = topo.num_cpus();
    std::vector<Candidate> cands;
    auto add = [&](LevelKind kind, int dist, const std::function<CpuSet(int)>& span) {
        Candidate c{kind, dist, {}};
        for (int cpu = 0; cpu < n; ++cpu)
            c.span_of_cpu.push_back(span(cpu));
        cands.push_back(std::move(c));
    };
    // One pass per level gathers the CPUs sharing each core, L2, LLC or
    // package; a scan of every CPU per CPU was n^2 (fuzz_topology: 2,816
    // CPUs timed out under ASan).
    auto add_shared = [&](LevelKind kind, int CpuInfo::*field) {
        std::map<int, CpuSet> of_key;
        for (const CpuInfo& c : topo.cpus())
            of_key[c.*field].set(c.id);
        add(kind, 0, [&](int c) { return of_key.at(topo.cpu(c).*field); });
    };
    add_shared(LevelKind::SMT, &CpuInfo::core_id);
    add_shared(LevelKind::CLUSTER, &CpuInfo::l2_id);
    add_shared(LevelKind::LLC, &CpuInfo::llc_id);
    add_shared(LevelKind::PKG, &CpuInfo::package_id);
    if (topo.num_numa_nodes() > 1) {
        // One level per distinct distance, as sched_init_numa(): the span of a
        // CPU reaches every node within that distance of its own node.
        std::set<int> dists;
        for (int a = 0; a < topo.num_numa_nodes(); ++a)
            for (int b = 0; b < topo.num_numa_nodes(); ++b)
                dists.insert(topo.numa_distance(a, b));
        for (int d : dists) {
            // One span per node, not per CPU: n^2 for 4,096 CPUs was the
            // fuzzer's slowest topology.
            std::map<int, CpuSet> of_node;
            add(LevelKind::NUMA, d, [&](int c) {
                int home = topo.cpu(c).numa_id;
                auto [it, fresh] = of_node.try_emplace(home);
                if (fresh)
                    for (const CpuInfo& other : topo.cpus())
                        if (topo.numa_distance(home, other.numa_id) <= d)
                            it->second.set(other.id);
                return it->second;
            });
        }
    }

    DomainTree tree;
    tree.num_cpus_ = n;
    std::vector<CpuSet> child(static_cast<size_t>(n));
    for (int c = 0; c < n; ++c)
        child[static_cast<size_t>(c)] = CpuSet::single(c);
    auto keep_level = [&](LevelKind kind, int dist, std::vector<CpuSet> spans) {
        // Spans must nest: a level always covers its child.
        bool differs = false;
        for (int c = 0; c < n; ++c) {
            auto& s = spans[static_cast<size_t>(c)];
            s |= child[static_cast<size_t>(c)];
            if (!(s == child[static_cast<size_t>(c)]))
                differs = true;
        }
        if (!differs)
            return;  // degenerate: same spans as the child
        DomainLevel lvl;
        lvl.kind = kind;
        lvl.name = level_name(kind);
        lvl.numa_distance = dist;
        lvl.domain_of_cpu.assign(static_cast<size_t>(n), -1);
        std::map<CpuSet, int> index;  // span -> domain (a linear search was n^2)
        for (int c = 0; c < n; ++c) {
            const CpuSet& s = spans[static_cast<size_t>(c)];
            auto [at, fresh] = index.try_emplace(s, static_cast<int>(lvl.domains.size()));
            if (fresh) {
                Domain d{s, {}};
                // Groups cover the span with child spans, taken in CPU order
                // for CPUs not yet covered (as Linux's overlap groups at NUMA
                // levels; on other levels this is the distinct child spans).
                CpuSet covered;
                s.for_each([&](int m) {
                    if (covered.test(m))
                        return;
                    const CpuSet& g = child[static_cast<size_t>(m)];
                    d.groups.push_back(g);
                    covered |= g;
                });
                lvl.domains.push_back(std::move(d));
            }
            lvl.domain_of_cpu[static_cast<size_t>(c)] = at->second;
        }
        lvl.params = default_params(kind, lvl.span_weight());
        apply(lvl.params, config[kind]);
        tree.levels_.push_back(std::move(lvl));
        child = std::move(spans);
    };
    for (size_t i = 0; i < cands.size(); ++i) {
        // CLUSTER is its own level only when the L2 differs from the LLC too.
        if (cands[i].kind == LevelKind::CLUSTER && cands[i].span_of_cpu == cands[i + 1].span_of_cpu)
            continue;
        keep_level(cands[i].kind, cands[i].numa_distance, std::move(cands[i].span_of_cpu));
    }
    bool spans_all = true;
    for (int c = 0; c < n; ++c)
        spans_all &= child[static_cast<size_t>(c)].count() == n;
    if (!spans_all)
        keep_level(LevelKind::SYSTEM, 0, std::vector<CpuSet>(static_cast<size_t>(n), topo.all()));
    return tree;
}

int DomainTree::lowest_common_level(int a, int b) const {
    if (a == b)
        return -1;
    for (int i = 0; i < num_levels(); ++i)
        if (levels_[static_cast<size_t>(i)].span(a).test(b))
            return i;
    return num_levels() - 1;
}

}  // namespace schedkit
