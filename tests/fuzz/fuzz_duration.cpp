// fuzz_duration: the duration syntax ("1.5ms"). A value that parses is at
// most 2^53 ns and reads back the same when printed in ns.
#include <fmt/format.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "schedkit/budget.h"
#include "schedkit/error.h"
#include "schedkit/workload.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace schedkit;
    std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        uint64_t ns = parse_duration(text, "fuzz");
        if (ns > kMaxDurationNs || parse_duration(fmt::format("{}ns", ns), "round trip") != ns)
            __builtin_trap();
    } catch (const InputError&) {
    }
    return 0;
}
