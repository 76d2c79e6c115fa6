// fuzz_policy: policy names and options ("fair:nr_migrate=16,tick_us=500"),
// checked against a 4-CPU machine as the CLI does.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "schedkit/error.h"
#include "schedkit/policy_registry.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace schedkit;
    std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        auto p = make_policy(text, "fuzz", 4);
        if (p == nullptr || p->quantum_ns == 0)
            __builtin_trap();
    } catch (const InputError&) {
    }
    return 0;
}
