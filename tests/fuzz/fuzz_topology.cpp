// fuzz_topology: hwloc synthetic topology strings, then the sched-domain
// tree built on what they describe.
#include <cstddef>
#include <cstdint>
#include <string>

#include "schedkit/domain.h"
#include "schedkit/error.h"
#include "schedkit/topology.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace schedkit;
    std::string text(reinterpret_cast<const char*>(data), size);
    if (text.find('\0') != std::string::npos)
        return 0;  // a C string to hwloc; the CLI cannot pass a NUL either
    try {
        Topology topo = Topology::synthetic(text);
        if (topo.num_cpus() < 1 || topo.num_cpus() > kMaxTopologyCpus)
            __builtin_trap();
        (void)DomainTree::build(topo);
    } catch (const InputError&) {
    }
    return 0;
}
