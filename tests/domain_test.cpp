#include "schedkit/domain.h"

#include <gtest/gtest.h>

#include <chrono>

#include "schedkit/error.h"
#include "schedkit/topology.h"

using namespace schedkit;

namespace {

struct Expect {
    const char* name;
    int span;
    int groups;
    uint32_t interval_ms, imbalance_pct, nice_tries;
};

void expect_levels(const DomainTree& tree, const std::vector<Expect>& want) {
    ASSERT_EQ(tree.num_levels(), static_cast<int>(want.size()));
    for (size_t i = 0; i < want.size(); ++i) {
        const DomainLevel& l = tree.level(static_cast<int>(i));
        SCOPED_TRACE(l.name);
        EXPECT_EQ(l.name, want[i].name);
        EXPECT_EQ(l.span_weight(), want[i].span);
        EXPECT_EQ(static_cast<int>(l.of(0).groups.size()), want[i].groups);
        EXPECT_EQ(l.params.balance_interval_ms, want[i].interval_ms);
        EXPECT_EQ(l.params.max_interval_ms, 2 * want[i].interval_ms);
        EXPECT_EQ(l.params.busy_factor, 16u);
        EXPECT_EQ(l.params.imbalance_pct, want[i].imbalance_pct);
        EXPECT_EQ(l.params.cache_nice_tries, want[i].nice_tries);
    }
}

// Every level must cover each CPU exactly once per domain and nest in its parent.
void expect_well_formed(const DomainTree& tree) {
    for (int i = 0; i < tree.num_levels(); ++i) {
        const DomainLevel& l = tree.level(i);
        for (int c = 0; c < tree.num_cpus(); ++c) {
            EXPECT_TRUE(l.span(c).test(c));
            if (i + 1 < tree.num_levels()) {
                EXPECT_TRUE(l.span(c).is_subset_of(tree.level(i + 1).span(c)));
            }
            CpuSet u;
            for (const CpuSet& g : l.of(c).groups)
                u |= g;
            EXPECT_EQ(u, l.span(c));
        }
    }
    if (tree.num_levels() > 0) {
        EXPECT_EQ(tree.levels().back().span(0).count(), tree.num_cpus());
    }
}

}  // namespace

TEST(DomainTree, OneCpuHasNoDomains) {
    DomainTree tree = DomainTree::build(Topology::synthetic("pu:1"));
    EXPECT_EQ(tree.num_cpus(), 1);
    EXPECT_EQ(tree.num_levels(), 0);
}

TEST(DomainTree, ThisHostShape) {
    // The CI and dev machines: 2 cores, no SMT, one shared LLC, one package.
    Topology topo = Topology::synthetic("pack:1 l3:1 l2:2 core:1 pu:1");
    DomainTree tree = DomainTree::build(topo);
    expect_levels(tree, {{"LLC", 2, 2, 2, 117, 1}});
    expect_well_formed(tree);
}

TEST(DomainTree, HostBuildsWellFormedTree) {
    Topology topo = Topology::host();
    ASSERT_GE(topo.num_cpus(), 1);
    DomainTree tree = DomainTree::build(topo);
    expect_well_formed(tree);
    if (topo.num_cpus() > 1) {
        EXPECT_GE(tree.num_levels(), 1);
    }
}

TEST(DomainTree, TwoPackagesWithTwoLlcsAndSmt) {
    Topology topo = Topology::synthetic("pack:2 l3:2 core:4 pu:2");
    ASSERT_EQ(topo.num_cpus(), 32);
    DomainTree tree = DomainTree::build(topo);
    expect_levels(tree, {{"SMT", 2, 2, 2, 110, 0},
                         {"LLC", 8, 4, 8, 117, 1},
                         {"PKG", 16, 2, 16, 117, 1},
                         {"SYSTEM", 32, 2, 32, 117, 1}});
    expect_well_formed(tree);
    EXPECT_EQ(tree.level(0).span(5).to_string(), "4-5");
    EXPECT_EQ(tree.level(1).span(9).to_string(), "8-15");
    EXPECT_EQ(tree.level(2).span(17).to_string(), "16-31");
    EXPECT_EQ(tree.lowest_common_level(0, 1), 0);
    EXPECT_EQ(tree.lowest_common_level(0, 9), 2);
    EXPECT_EQ(tree.lowest_common_level(0, 31), 3);
}

TEST(DomainTree, ClusterLevelWhenL2Differs) {
    DomainTree tree = DomainTree::build(Topology::synthetic("pack:1 l3:1 l2:4 core:2 pu:1"));
    expect_levels(tree, {{"CLUSTER", 2, 2, 2, 117, 1}, {"LLC", 8, 4, 8, 117, 1}});
}

TEST(DomainTree, FourNodeNumaWithoutDistances) {
    // Nodes inside two packages; with no distance matrix all remote nodes are
    // equally far, so one NUMA level joins the packages.
    Topology topo = Topology::synthetic("pack:2 numa:2 l3:1 core:4 pu:2");
    EXPECT_EQ(topo.num_numa_nodes(), 4);
    DomainTree tree = DomainTree::build(topo);
    expect_levels(tree, {{"SMT", 2, 2, 2, 110, 0},
                         {"LLC", 8, 4, 8, 117, 1},
                         {"PKG", 16, 2, 16, 117, 1},
                         {"NUMA", 32, 2, 32, 117, 2}});
    expect_well_formed(tree);
}

TEST(DomainTree, FourNodeNumaWithDistancesFromXml) {
    // tests/data/numa4-distances.xml: numa:4 l3:1 core:2 pu:2 with a ring of
    // distances 10 (local), 16 (neighbours) and 22 (opposite).
    Topology topo = Topology::from_xml(SCHEDKIT_TEST_DATA "/numa4-distances.xml");
    ASSERT_TRUE(topo.has_numa_distances());
    EXPECT_EQ(topo.numa_distance(0, 1), 16);
    EXPECT_EQ(topo.numa_distance(0, 3), 22);
    DomainTree tree = DomainTree::build(topo);
    expect_levels(tree, {{"SMT", 2, 2, 2, 110, 0},
                         {"LLC", 4, 2, 4, 117, 1},
                         {"NUMA", 12, 3, 12, 117, 2},
                         {"NUMA", 16, 2, 16, 117, 2}});
    EXPECT_EQ(tree.level(2).numa_distance, 16);
    EXPECT_EQ(tree.level(2).span(0).to_string(), "0-11");
    EXPECT_EQ(tree.level(2).span(4).to_string(), "0-7,12-15");  // nodes 0, 1, 3
    expect_well_formed(tree);
}

TEST(DomainTree, ConfigOverridesDefaults) {
    DomainConfig cfg;
    cfg[LevelKind::LLC].imbalance_pct = 125;
    cfg[LevelKind::LLC].balance_interval_ms = 4;
    cfg[LevelKind::SMT].cache_nice_tries = 3;
    DomainTree tree = DomainTree::build(Topology::synthetic("pack:1 l3:1 core:4 pu:2"), cfg);
    expect_levels(tree, {{"SMT", 2, 2, 2, 110, 3}, {"LLC", 8, 4, 4, 125, 1}});
}

TEST(Topology, FlatMachine) {
    Topology topo = Topology::flat(4);
    EXPECT_EQ(topo.num_cpus(), 4);
    DomainTree tree = DomainTree::build(topo);
    expect_levels(tree, {{"LLC", 4, 4, 4, 117, 1}});
}

TEST(Topology, BadInputNamesTheInput) {
    auto message = [](const char* spec) -> std::string {
        try {
            Topology::load(spec);
        } catch (const InputError& e) {
            return e.what();
        }
        return "accepted";
    };
    EXPECT_NE(message("pack:2 bogus:4").find("column 8: unknown object type 'bogus'"),
              std::string::npos);
    EXPECT_NE(message("pack:0").find("count must be >= 1"), std::string::npos);
    EXPECT_NE(message("/no/such/file.xml").find("cannot open"), std::string::npos);
    EXPECT_NE(message(SCHEDKIT_TEST_DATA "/corrupt.xml").find("not a valid hwloc XML"),
              std::string::npos);
}

// Found by fuzz_topology: thousands of CPUs in many domains took O(n^2) set
// operations to build (1.8 s in a release build, over 10 s under ASan); a
// map from span to domain and one NUMA span per node make it near linear.
// A later run found the same for cores, caches and packages (2,816 CPUs):
// each level's spans are now gathered in one pass.
TEST(DomainTree, LargeTopologiesBuildQuickly) {
    struct Case {
        const char* spec;
        size_t first_span;  // CPUs in a domain of the lowest level
    };
    for (auto [s, first_span] : {Case{"numa:957 pu:3", 3}, Case{"pack:362 core:10 pu:1", 10},
                                 Case{"pack:44 l3:4 core:8 pu:2", 2}}) {
        Topology topo = Topology::synthetic(s);
        auto start = std::chrono::steady_clock::now();
        DomainTree tree = DomainTree::build(topo);
        double secs =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        EXPECT_LT(secs, 4.0) << s;  // ~0.05 s in a release build; generous for sanitizers
        ASSERT_FALSE(tree.levels().empty()) << s;
        const DomainLevel& top = tree.levels().back();
        ASSERT_EQ(top.domains.size(), 1u) << s;
        EXPECT_EQ(top.domains[0].span.count(), topo.num_cpus()) << s;
        EXPECT_EQ(tree.levels().front().domains.size(),
                  static_cast<size_t>(topo.num_cpus()) / first_span)
            << s;
    }
}
