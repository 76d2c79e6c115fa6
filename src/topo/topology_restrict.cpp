// topology_restrict.cpp: a topology cut down to some of its CPUs
// (`schedkit fidelity --cpus`: simulate exactly the CPUs a real run uses).
#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "schedkit/error.h"
#include "schedkit/topology.h"

namespace schedkit {

namespace {

// densify() renumbers one id field 0, 1, ... in order of first appearance.
void densify(std::vector<CpuInfo>& cpus, int CpuInfo::*field) {
    std::map<int, int> ids;
    for (CpuInfo& c : cpus) {
        auto [it, fresh] = ids.emplace(c.*field, static_cast<int>(ids.size()));
        c.*field = it->second;
    }
}

}  // namespace

Topology Topology::restrict_to(const CpuSet& os_cpus, std::string_view what) const {
    std::vector<CpuInfo> kept;
    CpuSet present;
    for (const CpuInfo& c : cpus_)
        present.set(c.os_index);
    for (int os = os_cpus.empty() ? -1 : os_cpus.first(); os >= 0; os = os_cpus.next(os)) {
        if (!present.test(os))
            throw InputError(fmt::format("{}: CPU {} is not in topology '{}'; expected CPUs of {}",
                                         what, os, source_, present.to_string()));
    }
    for (const CpuInfo& c : cpus_)
        if (os_cpus.test(c.os_index))
            kept.push_back(c);
    if (kept.empty())
        throw InputError(
            fmt::format("{}: no CPUs; expected CPUs of {}", what, present.to_string()));
    std::sort(kept.begin(), kept.end(),
              [](const CpuInfo& a, const CpuInfo& b) { return a.os_index < b.os_index; });
    std::vector<int> old_numa;
    for (const CpuInfo& c : kept)
        if (std::find(old_numa.begin(), old_numa.end(), c.numa_id) == old_numa.end())
            old_numa.push_back(c.numa_id);
    for (size_t i = 0; i < kept.size(); ++i)
        kept[i].id = static_cast<int>(i);
    for (auto field : {&CpuInfo::core_id, &CpuInfo::l2_id, &CpuInfo::llc_id, &CpuInfo::package_id,
                       &CpuInfo::numa_id})
        densify(kept, field);
    std::vector<int> distances;
    if (!distances_.empty())
        for (int from : old_numa)
            for (int to : old_numa)
                distances.push_back(numa_distance(from, to));
    return Topology(fmt::format("{} cpus {}", source_, os_cpus.to_string()), std::move(kept),
                    static_cast<int>(old_numa.size()), std::move(distances));
}

}  // namespace schedkit
