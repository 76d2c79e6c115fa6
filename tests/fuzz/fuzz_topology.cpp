// fuzz_topology: hwloc synthetic topology strings, then the sched-domain
// tree built on what they describe. Small topologies are built twice, by
// schedkit's direct construction and by hwloc's own loader
// (Topology::synthetic_hwloc), and must agree exactly: a difference traps.
#include <cstddef>
#include <cstdint>
#include <string>

#include "schedkit/domain.h"
#include "schedkit/error.h"
#include "schedkit/topology.h"

namespace {

// hwloc's loader costs ~n^2 under one parent: compare only small ones, so
// the target keeps its rate.
constexpr int kCompareUpTo = 64;

bool same(const schedkit::Topology& a, const schedkit::Topology& b) {
    if (a.num_cpus() != b.num_cpus() || a.num_numa_nodes() != b.num_numa_nodes() ||
        a.has_numa_distances() != b.has_numa_distances())
        return false;
    for (int n = 0; n < a.num_numa_nodes(); ++n)
        for (int m = 0; m < a.num_numa_nodes(); ++m)
            if (a.numa_distance(n, m) != b.numa_distance(n, m))
                return false;
    for (int i = 0; i < a.num_cpus(); ++i) {
        const schedkit::CpuInfo &x = a.cpu(i), &y = b.cpu(i);
        if (x.id != y.id || x.os_index != y.os_index || x.core_id != y.core_id ||
            x.l2_id != y.l2_id || x.llc_id != y.llc_id || x.package_id != y.package_id ||
            x.numa_id != y.numa_id)
            return false;
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace schedkit;
    std::string text(reinterpret_cast<const char*>(data), size);
    if (text.find('\0') != std::string::npos)
        return 0;  // a C string to hwloc; the CLI cannot pass a NUL either
    try {
        Topology topo = Topology::synthetic(text);
        if (topo.num_cpus() < 1 || topo.num_cpus() > kMaxTopologyCpus)
            __builtin_trap();
        if (topo.num_cpus() <= kCompareUpTo && !same(topo, Topology::synthetic_hwloc(text)))
            __builtin_trap();  // the direct construction differs from hwloc's
        (void)DomainTree::build(topo);
    } catch (const InputError&) {
    }
    return 0;
}
