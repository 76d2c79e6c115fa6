#include "schedkit/topology.h"

#include <fmt/format.h>
#include <hwloc.h>
#include <sys/stat.h>

#include <map>
#include <memory>

#include "schedkit/error.h"
#include "topo/synthetic.h"

namespace schedkit {

namespace {

constexpr std::string_view kSyntheticHint =
    "expected an hwloc synthetic description like 'pack:2 l3:2 core:4 pu:2', an XML "
    "file from lstopo, or 'host'";

struct HwlocDeleter {
    void operator()(hwloc_topology* t) const { hwloc_topology_destroy(t); }
};
using HwlocPtr = std::unique_ptr<hwloc_topology, HwlocDeleter>;

HwlocPtr make_hwloc() {
    hwloc_topology_t t = nullptr;
    if (hwloc_topology_init(&t) != 0)
        throw std::runtime_error("hwloc_topology_init failed");
    return HwlocPtr(t);
}

// Dense renumbering of ancestor objects, keyed by the hwloc object pointer.
class DenseIds {
  public:
    int id_of(const void* key) {
        auto [it, inserted] = ids_.try_emplace(key, static_cast<int>(ids_.size()));
        (void)inserted;
        return it->second;
    }

  private:
    std::map<const void*, int> ids_;
};

bool is_data_cache(hwloc_obj_t o) {
    return hwloc_obj_type_is_dcache(o->type) && o->attr != nullptr;
}

Topology from_hwloc(hwloc_topology_t topo, std::string source) {
    int npu = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
    if (npu <= 0)
        throw InputError(fmt::format("topology '{}': has no CPUs", source));
    if (npu > kMaxTopologyCpus)
        throw InputError(fmt::format("topology '{}': has {} CPUs (expected at most {})", source,
                                     npu, kMaxTopologyCpus));
    int nnuma = std::max(1, hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE));
    DenseIds cores, l2s, llcs, packages;
    std::vector<CpuInfo> cpus;
    for (int i = 0; i < npu; ++i) {
        hwloc_obj_t pu = hwloc_get_obj_by_type(topo, HWLOC_OBJ_PU, static_cast<unsigned>(i));
        CpuInfo info;
        info.id = i;
        info.os_index = static_cast<int>(pu->os_index);
        info.numa_id = 0;
        hwloc_obj_t core = nullptr, l2 = nullptr, llc = nullptr, pkg = nullptr;
        for (hwloc_obj_t a = pu->parent; a != nullptr; a = a->parent) {
            if (a->type == HWLOC_OBJ_CORE && core == nullptr)
                core = a;
            if (a->type == HWLOC_OBJ_L2CACHE && l2 == nullptr)
                l2 = a;
            if (a->type == HWLOC_OBJ_PACKAGE && pkg == nullptr)
                pkg = a;
            if (is_data_cache(a) &&
                (llc == nullptr || a->attr->cache.depth > llc->attr->cache.depth))
                llc = a;
        }
        hwloc_obj_t node_obj = nullptr;
        for (int n = 0; n < nnuma && node_obj == nullptr; ++n) {
            hwloc_obj_t node =
                hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, static_cast<unsigned>(n));
            if (node != nullptr && hwloc_bitmap_isset(node->cpuset, pu->os_index)) {
                node_obj = node;
                info.numa_id = n;
            }
        }
        // Fallbacks follow what Linux does without the information: a PU with
        // no core is its own core; no L2 means the core; no cache at all means
        // the LLC is the package; no package means the PU's NUMA node (nodes do
        // not straddle packages), or the whole machine when there is one node.
        static const char kMachine = 0;
        const void* pkg_key = pkg != nullptr ? static_cast<const void*>(pkg)
                              : (node_obj != nullptr && nnuma > 1)
                                  ? static_cast<const void*>(node_obj)
                                  : &kMachine;
        info.core_id = cores.id_of(core != nullptr ? static_cast<const void*>(core) : pu);
        info.l2_id = l2s.id_of(l2 != nullptr ? static_cast<const void*>(l2)
                                             : (core != nullptr ? static_cast<const void*>(core)
                                                                : static_cast<const void*>(pu)));
        info.llc_id = llcs.id_of(llc != nullptr ? static_cast<const void*>(llc) : pkg_key);
        info.package_id = packages.id_of(pkg_key);
        cpus.push_back(info);
    }

    std::vector<int> distances;
    unsigned nr = 1;
    hwloc_distances_s* dist = nullptr;
    if (nnuma > 1 &&
        hwloc_distances_get_by_type(topo, HWLOC_OBJ_NUMANODE, &nr, &dist,
                                    HWLOC_DISTANCES_KIND_MEANS_LATENCY, 0) == 0 &&
        nr >= 1 && dist != nullptr && dist->nbobjs == static_cast<unsigned>(nnuma)) {
        distances.resize(static_cast<size_t>(nnuma * nnuma));
        for (unsigned a = 0; a < dist->nbobjs; ++a)
            for (unsigned b = 0; b < dist->nbobjs; ++b) {
                auto ia = dist->objs[a]->logical_index, ib = dist->objs[b]->logical_index;
                distances[ia * static_cast<unsigned>(nnuma) + ib] =
                    static_cast<int>(dist->values[a * dist->nbobjs + b]);
            }
    }
    if (dist != nullptr)
        hwloc_distances_release(topo, dist);
    return Topology(std::move(source), std::move(cpus), nnuma, std::move(distances));
}

}  // namespace

Topology::Topology(std::string source, std::vector<CpuInfo> cpus, int num_numa,
                   std::vector<int> distances)
    : source_(std::move(source)),
      cpus_(std::move(cpus)),
      num_numa_(num_numa),
      distances_(std::move(distances)) {}

Topology Topology::load(std::string_view spec) {
    if (spec == "host")
        return host();
    struct stat st {};
    std::string path(spec);
    bool looks_like_file = spec.ends_with(".xml") || spec.find('/') != std::string_view::npos ||
                           stat(path.c_str(), &st) == 0;
    if (looks_like_file)
        return from_xml(path);
    return synthetic(spec);
}

Topology Topology::host() {
    HwlocPtr t = make_hwloc();
    if (hwloc_topology_load(t.get()) != 0)
        throw std::runtime_error("hwloc: cannot read the host");
    return from_hwloc(t.get(), "host");
}

Topology Topology::synthetic(std::string_view description) {
    detail::SyntheticLevels levels = detail::check_synthetic(description);
    if (!levels.has_attributes)
        return detail::build_synthetic(description, levels);
    if (levels.cpus > detail::kMaxHwlocSyntheticCpus)
        throw InputError(fmt::format(
            "topology '{}': {} CPUs with attributes '(...)' (expected at most {} when a level "
            "has attributes, or no attributes for up to {})",
            description, levels.cpus, detail::kMaxHwlocSyntheticCpus, kMaxTopologyCpus));
    return synthetic_hwloc(description);
}

Topology Topology::synthetic_hwloc(std::string_view description) {
    (void)detail::check_synthetic(description);
    HwlocPtr t = make_hwloc();
    std::string d(description);
    if (hwloc_topology_set_synthetic(t.get(), d.c_str()) != 0 || hwloc_topology_load(t.get()) != 0)
        throw InputError(fmt::format("topology '{}': hwloc rejected it ({})", d, kSyntheticHint));
    return from_hwloc(t.get(), d);
}

Topology Topology::from_xml(const std::string& path) {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
        throw InputError(
            fmt::format("topology file '{}': cannot open it (expected an XML file "
                        "written by 'lstopo machine.xml')",
                        path));
    HwlocPtr t = make_hwloc();
    if (hwloc_topology_set_xml(t.get(), path.c_str()) != 0 || hwloc_topology_load(t.get()) != 0)
        throw InputError(
            fmt::format("topology file '{}': not a valid hwloc XML topology "
                        "(expected the output of 'lstopo machine.xml')",
                        path));
    return from_hwloc(t.get(), path);
}

Topology Topology::flat(int n) {
    std::vector<CpuInfo> cpus;
    for (int i = 0; i < n; ++i)
        cpus.push_back(CpuInfo{i, i, i, i, 0, 0, 0});
    return Topology(fmt::format("flat:{}", n), std::move(cpus), 1, {});
}

int Topology::numa_distance(int a, int b) const {
    if (!distances_.empty())
        return distances_[static_cast<size_t>(a * num_numa_ + b)];
    return a == b ? 10 : 20;
}

CpuSet Topology::span_where(int cpu, int CpuInfo::*field) const {
    CpuSet s;
    int key = cpus_[static_cast<size_t>(cpu)].*field;
    for (const CpuInfo& c : cpus_)
        if (c.*field == key)
            s.set(c.id);
    return s;
}

CpuSet Topology::core_span(int cpu) const {
    return span_where(cpu, &CpuInfo::core_id);
}
CpuSet Topology::l2_span(int cpu) const {
    return span_where(cpu, &CpuInfo::l2_id);
}
CpuSet Topology::llc_span(int cpu) const {
    return span_where(cpu, &CpuInfo::llc_id);
}
CpuSet Topology::package_span(int cpu) const {
    return span_where(cpu, &CpuInfo::package_id);
}
CpuSet Topology::numa_span(int cpu) const {
    return span_where(cpu, &CpuInfo::numa_id);
}

}  // namespace schedkit
