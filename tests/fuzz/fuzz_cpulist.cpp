// fuzz_cpulist: the Linux CPU-list syntax ("0-3,8"). A list that parses
// must print back to a list that parses to the same set.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "schedkit/cpuset.h"
#include "schedkit/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace schedkit;
    std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        CpuSet set = CpuSet::parse(text, "fuzz");
        if (!(CpuSet::parse(set.to_string(), "round trip") == set))
            __builtin_trap();
    } catch (const InputError&) {
    }
    return 0;
}
