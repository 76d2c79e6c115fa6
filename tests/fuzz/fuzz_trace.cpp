// fuzz_trace: the trace readers (raw ftrace, trace-cmd report, perf script,
// trace.dat), through the entry point docs/traces.md describes.
#include <cstddef>
#include <cstdint>

#include "schedkit/trace.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    return schedkit::fuzz_trace_input(data, size);
}
