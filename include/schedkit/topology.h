// topology.h: the machine schedkit schedules on, read through hwloc.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "schedkit/cpuset.h"

namespace schedkit {

// kMaxTopologyCpus bounds every topology schedkit loads (synthetic, XML or
// host): far above today's machines, and low enough that a typo such as
// "pu:100000" fails at once instead of hanging inside hwloc.
inline constexpr int kMaxTopologyCpus = 4096;

// CpuInfo places one CPU (hwloc PU) in the machine. schedkit numbers CPUs
// densely 0..N-1 in hwloc's logical order; os_index is the id the kernel uses
// (what binding needs). Each *_id is dense per kind of object; a machine
// without that kind of object gets a sensible enclosing one (see topology.cpp).
struct CpuInfo {
    int id = 0;
    int os_index = 0;
    int core_id = 0;
    int l2_id = 0;
    int llc_id = 0;
    int package_id = 0;
    int numa_id = 0;
};

// Topology is an immutable description of CPUs, their caches, packages and
// NUMA nodes, with node distances when the source has them. Thread-safe to
// read from any thread once built.
class Topology {
  public:
    // load() accepts "host", the path of an hwloc XML export (lstopo m.xml), or
    // an hwloc synthetic description ("pack:2 l3:2 core:4 pu:2"). Throws
    // InputError naming the input and what was expected.
    static Topology load(std::string_view spec);
    static Topology host();
    // synthetic() builds the description directly (hwloc's own loader is
    // quadratic in the objects under one parent); with attributes ("(...)")
    // hwloc builds it, up to 1,024 CPUs. synthetic_hwloc() always asks hwloc:
    // the reference the direct construction is tested against.
    static Topology synthetic(std::string_view description);
    static Topology synthetic_hwloc(std::string_view description);
    static Topology from_xml(const std::string& path);
    // flat() is n CPUs, one core each, one shared LLC, one package: handy in tests.
    static Topology flat(int n);

    int num_cpus() const { return static_cast<int>(cpus_.size()); }
    const CpuInfo& cpu(int id) const { return cpus_[static_cast<size_t>(id)]; }
    const std::vector<CpuInfo>& cpus() const { return cpus_; }
    CpuSet all() const { return CpuSet::first_n(num_cpus()); }
    int num_numa_nodes() const { return num_numa_; }
    // numa_distance() is the hwloc/ACPI SLIT distance between two nodes (10 is
    // local); without a distance matrix, 10 for the same node and 20 otherwise.
    int numa_distance(int from_node, int to_node) const;
    bool has_numa_distances() const { return !distances_.empty(); }
    // source() says where this topology came from ("host", the XML path, or
    // the synthetic string), for reports.
    const std::string& source() const { return source_; }

    // Spans: the CPUs that share the given CPU's core, L2, LLC, package, node.
    CpuSet core_span(int cpu) const;
    CpuSet l2_span(int cpu) const;
    CpuSet llc_span(int cpu) const;
    CpuSet package_span(int cpu) const;
    CpuSet numa_span(int cpu) const;

    // restrict_to() keeps only the CPUs whose os_index is in `os_cpus`,
    // renumbered 0..n-1 in ascending os_index (the order in which the
    // runtime binds its workers to a CPU list), with core, cache, package
    // and node ids made dense again. Throws InputError (naming `what`) when
    // a CPU of the list is not in this topology.
    Topology restrict_to(const CpuSet& os_cpus, std::string_view what) const;

    // Builder used by the hwloc reader and by tests that hand-build machines.
    Topology(std::string source, std::vector<CpuInfo> cpus, int num_numa,
             std::vector<int> distances);

  private:
    CpuSet span_where(int cpu, int CpuInfo::*field) const;

    std::string source_;
    std::vector<CpuInfo> cpus_;
    int num_numa_ = 1;
    std::vector<int> distances_;  // num_numa_ x num_numa_, row major, or empty
};

}  // namespace schedkit
