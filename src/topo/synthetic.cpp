// synthetic.cpp: hwloc synthetic descriptions ("pack:2 l3:2 core:4 pu:2")
// checked, and built into a Topology without hwloc.
//
// hwloc's synthetic loader inserts every object by walking its siblings, so
// it is quadratic in the objects under one parent: `pu:4096` took 1 s of CPU
// in a release build and over 15 s under the fuzzer's sanitizers. The grammar
// schedkit accepts (check_synthetic) is small enough to build directly: each
// level splits its parent's CPUs into equal consecutive blocks, so the object
// of level k holding CPU p is p / (the product of the counts below k). The
// result is the one from_hwloc() reads off hwloc's tree for the same string
// (tests/topology_synthetic_test.cpp compares both on a table of
// descriptions; fuzz_topology compares them on every small input it makes).
// Descriptions with attributes ("numa:2(memory=1GB)", "pu:4(indexes=...)")
// still go through hwloc, with a lower CPU limit (kMaxHwlocSyntheticCpus).
#include "topo/synthetic.h"

#include <fmt/format.h>
#include <hwloc.h>

#include <cctype>
#include <charconv>

#include "schedkit/cpuset.h"
#include "schedkit/error.h"

namespace schedkit::detail {

namespace {

constexpr std::string_view kSyntheticHint =
    "expected an hwloc synthetic description like 'pack:2 l3:2 core:4 pu:2', an XML "
    "file from lstopo, or 'host'";

// hwloc's limit on synthetic levels is 128 (HWLOC_SYNTHETIC_MAX_DEPTH) with
// the machine root and the level being added: 126 in the string. But with 126
// and no NUMA level, hwloc 2.9 inserts one by moving the levels one place down
// past the end of its array (glibc's fortified memmove aborts: "buffer
// overflow detected"). 125 is safe either way.
constexpr size_t kMaxLevels = 125;

[[noreturn]] void fail(std::string_view text, size_t col, const std::string& what) {
    throw InputError(
        fmt::format("topology '{}': column {}: {} ({})", text, col + 1, what, kSyntheticHint));
}

// A type hwloc can build a synthetic level of. Machine, Misc and I/O types
// hwloc refuses; MemCache it accepts, then aborts on an assertion inside
// hwloc_topology_load() (hwloc 2.9), so it is refused here first.
bool is_level_type(hwloc_obj_type_t t) {
    switch (t) {
        case HWLOC_OBJ_PACKAGE:
        case HWLOC_OBJ_DIE:
        case HWLOC_OBJ_CORE:
        case HWLOC_OBJ_PU:
        case HWLOC_OBJ_NUMANODE:
        case HWLOC_OBJ_GROUP:
        case HWLOC_OBJ_L1CACHE:
        case HWLOC_OBJ_L2CACHE:
        case HWLOC_OBJ_L3CACHE:
        case HWLOC_OBJ_L4CACHE:
        case HWLOC_OBJ_L5CACHE:
        case HWLOC_OBJ_L1ICACHE:
        case HWLOC_OBJ_L2ICACHE:
        case HWLOC_OBJ_L3ICACHE:
            return true;
        default:
            return false;
    }
}

// The cache depth of a data (or unified) cache level, 0 for anything else:
// the levels from_hwloc() may take as the LLC.
int data_cache_depth(hwloc_obj_type_t t) {
    switch (t) {
        case HWLOC_OBJ_L1CACHE:
            return 1;
        case HWLOC_OBJ_L2CACHE:
            return 2;
        case HWLOC_OBJ_L3CACHE:
            return 3;
        case HWLOC_OBJ_L4CACHE:
            return 4;
        case HWLOC_OBJ_L5CACHE:
            return 5;
        default:
            return 0;
    }
}

// check_indexes() bounds the OS indexes of an explicit "indexes=0,2,1,3"
// attribute in text[begin, end): hwloc reads each with strtoul into an
// unsigned and sets that bit in a bitmap, so "indexes=0,1888888888888" made
// it allocate gigabytes (found by fuzz_topology). Interleavings
// ("indexes=2*2:1*2", "indexes=core:pu") hwloc bounds by the level's width.
void check_indexes(std::string_view text, size_t begin, size_t end) {
    constexpr std::string_view kKey = "indexes=";
    for (size_t at = begin; at < end; ++at) {
        if ((at != begin && text[at - 1] != ' ') || text.substr(at, kKey.size()) != kKey)
            continue;
        size_t first = at + kKey.size(), last = first;
        while (last < end && text[last] != ' ')
            ++last;
        std::string_view list = text.substr(first, last - first);
        if (list.find_first_not_of("0123456789,") != std::string_view::npos)
            continue;  // an interleaving
        for (size_t p = first; p < last;) {
            size_t q = p;
            while (q < last && text[q] != ',')
                ++q;
            uint64_t v = 0;
            auto [ptr, ec] = std::from_chars(text.data() + p, text.data() + q, v);
            (void)ptr;
            if (q > p && (ec != std::errc{} || v > static_cast<uint64_t>(kMaxCpuId)))
                fail(text, p, fmt::format("an index above {}", kMaxCpuId));
            p = q + 1;
        }
    }
}

}  // namespace

SyntheticLevels check_synthetic(std::string_view text) {
    SyntheticLevels out;
    size_t i = 0;
    uint64_t cpus = 1;  // the product of the counts: the leaves, i.e. the CPUs
    int pu_levels = 0;
    // hwloc allows at most one level of each of these (several of a cache
    // type or of groups are fine).
    struct Once {
        hwloc_obj_type_t type;
        const char* name;
        bool seen = false;
    } once[] = {{HWLOC_OBJ_PACKAGE, "package"},
                {HWLOC_OBJ_DIE, "die"},
                {HWLOC_OBJ_NUMANODE, "NUMA node"},
                {HWLOC_OBJ_CORE, "core"}};
    while (i < text.size()) {
        if (text[i] == ' ') {
            ++i;
            continue;
        }
        size_t start = i;
        while (i < text.size() && text[i] != ':' && text[i] != ' ')
            ++i;
        std::string type(text.substr(start, i - start));
        hwloc_obj_type_t t;
        union hwloc_obj_attr_u attr;
        if (hwloc_type_sscanf(type.c_str(), &t, &attr, sizeof(attr)) != 0)
            fail(text, start, fmt::format("unknown object type '{}'", type));
        if (!is_level_type(t))
            fail(text, start,
                 fmt::format("'{}' cannot be a level (expected package, die, numa, group, core, "
                             "pu or a cache such as l3)",
                             type));
        if (pu_levels > 0)
            fail(text, start, "the 'pu' level must be the last one");
        for (Once& o : once) {
            if (o.type != t)
                continue;
            if (o.seen)
                fail(text, start, fmt::format("a second {} level", o.name));
            o.seen = true;
        }
        if (i >= text.size() || text[i] != ':')
            fail(text, i, fmt::format("expected ':' after '{}'", type));
        ++i;
        size_t num = i;
        while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])))
            ++i;
        if (num == i)
            fail(text, num, "expected a count");
        uint64_t count = 0;
        auto [end, ec] = std::from_chars(text.data() + num, text.data() + i, count);
        (void)end;
        if (ec != std::errc{} || count > static_cast<uint64_t>(kMaxTopologyCpus))
            fail(text, num, fmt::format("count must be at most {}", kMaxTopologyCpus));
        if (count == 0)
            fail(text, num, "count must be >= 1");
        if (text[num] == '0')  // hwloc reads "010" as octal 8
            fail(text, num, "a count cannot start with 0");
        cpus *= count;  // each factor <= 4096 and cpus <= 4096 before: no overflow
        if (cpus > static_cast<uint64_t>(kMaxTopologyCpus))
            fail(text, num,
                 fmt::format("more than {} CPUs in all (schedkit's limit)", kMaxTopologyCpus));
        if (i < text.size() && text[i] == '(') {  // attributes, e.g. numa:2(memory=1GB)
            size_t open = i;
            while (i < text.size() && text[i] != ')')
                ++i;
            if (i == text.size())
                fail(text, i, "unterminated '('");
            check_indexes(text, open + 1, i);
            ++i;
            out.has_attributes = true;
        }
        if (i < text.size() && text[i] != ' ')
            fail(text, i, fmt::format("unexpected '{}'", text[i]));
        if (out.levels.size() == kMaxLevels)
            fail(text, start, fmt::format("more than {} levels (hwloc's limit)", kMaxLevels));
        if (t == HWLOC_OBJ_PU)
            ++pu_levels;
        out.levels.push_back({t, static_cast<int>(count)});
    }
    if (out.levels.empty())
        fail(text, 0, "empty description");
    if (pu_levels == 0)
        fail(text, text.size(), "the last level must be 'pu'");
    out.cpus = static_cast<int>(cpus);
    return out;
}

Topology build_synthetic(std::string_view text, const SyntheticLevels& s) {
    // block[k]: the CPUs under one object of level k; CPU p's object there is
    // p / block[k], numbered densely in CPU order as from_hwloc() numbers them.
    const size_t n = s.levels.size();
    std::vector<int> block(n, 1);
    for (size_t k = n - 1; k-- > 0;)
        block[k] = block[k + 1] * s.levels[k + 1].count;
    // Each id follows the level from_hwloc() finds nearest the PU among its
    // ancestors: the deepest level of the type (a smaller block; equal blocks
    // give equal ids). The LLC is the data cache of the highest cache depth,
    // the nearest on a tie. -1: no such level (then the fallbacks below).
    int core = -1, l2 = -1, llc = -1, pkg = -1, numa = -1, llc_depth = 0;
    for (size_t k = 0; k < n; ++k) {
        hwloc_obj_type_t t = s.levels[k].type;
        int lvl = static_cast<int>(k);
        if (t == HWLOC_OBJ_CORE)
            core = lvl;
        else if (t == HWLOC_OBJ_L2CACHE)
            l2 = lvl;
        else if (t == HWLOC_OBJ_PACKAGE)
            pkg = lvl;
        else if (t == HWLOC_OBJ_NUMANODE)
            numa = lvl;
        int depth = data_cache_depth(t);
        if (depth > 0 && depth >= llc_depth) {
            llc = lvl;
            llc_depth = depth;
        }
    }
    int num_numa = numa >= 0 ? s.cpus / block[static_cast<size_t>(numa)] : 1;
    auto id_at = [&](int level, int cpu) { return cpu / block[static_cast<size_t>(level)]; };
    std::vector<CpuInfo> cpus(static_cast<size_t>(s.cpus));
    for (int p = 0; p < s.cpus; ++p) {
        CpuInfo& c = cpus[static_cast<size_t>(p)];
        c.id = p;
        c.os_index = p;
        c.numa_id = numa >= 0 ? id_at(numa, p) : 0;
        // The same fallbacks as from_hwloc(): no core, the PU; no L2, the
        // core; no package, the NUMA node when there are several, else the
        // machine; no data cache, the package.
        c.core_id = core >= 0 ? id_at(core, p) : p;
        c.l2_id = l2 >= 0 ? id_at(l2, p) : c.core_id;
        c.package_id = pkg >= 0 ? id_at(pkg, p) : (num_numa > 1 ? c.numa_id : 0);
        c.llc_id = llc >= 0 ? id_at(llc, p) : c.package_id;
    }
    return Topology(std::string(text), std::move(cpus), num_numa, {});
}

}  // namespace schedkit::detail
