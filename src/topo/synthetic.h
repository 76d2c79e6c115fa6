// synthetic.h (internal): hwloc synthetic descriptions, checked and built
// without hwloc (synthetic.cpp).
#pragma once

#include <hwloc.h>

#include <string_view>
#include <vector>

#include "schedkit/topology.h"

namespace schedkit::detail {

// kMaxHwlocSyntheticCpus bounds a description that hwloc itself must build
// (one with attributes, "numa:2(memory=1GB) core:4 pu:2"): hwloc's loader is
// quadratic in the objects under one parent, and 1,024 keeps it near 0.1 s
// under the fuzzer's sanitizers. Descriptions without attributes are built
// directly, up to kMaxTopologyCpus.
inline constexpr int kMaxHwlocSyntheticCpus = 1024;

struct SyntheticLevel {
    hwloc_obj_type_t type;
    int count;
};

struct SyntheticLevels {
    std::vector<SyntheticLevel> levels;  // top to bottom; the last is the PU level
    int cpus = 0;                        // the product of the counts
    bool has_attributes = false;         // some level has "(...)": hwloc builds it
};

// check_synthetic() parses a description the way hwloc does and refuses what
// hwloc would refuse (and more: a count with a leading 0, which hwloc reads
// as octal; a MemCache level, on which hwloc 2.9 aborts), with one line
// naming the description and the column. Throws InputError.
SyntheticLevels check_synthetic(std::string_view text);

// build_synthetic() is the Topology hwloc would give for a description
// without attributes that check_synthetic() accepted.
Topology build_synthetic(std::string_view text, const SyntheticLevels& levels);

}  // namespace schedkit::detail
