// Trace: the reader front door (form detection, files, bytes) and helpers.
#include "schedkit/trace.h"

#include <fmt/format.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "schedkit/error.h"

namespace schedkit {

namespace trace {
Trace read_trace_dat(const std::string& path, const std::string& name);
}

const char* burst_end_name(BurstEnd e) {
    switch (e) {
        case BurstEnd::Block:
            return "block";
        case BurstEnd::Preempt:
            return "preempt";
        case BurstEnd::Exit:
            return "exit";
        case BurstEnd::TraceEnd:
            return "trace-end";
    }
    return "?";
}

const char* trace_form_name(TraceForm f) {
    switch (f) {
        case TraceForm::Ftrace:
            return "ftrace";
        case TraceForm::TraceCmdReport:
            return "trace-cmd report";
        case TraceForm::PerfScript:
            return "perf script";
        case TraceForm::TraceCmdDat:
            return "trace.dat";
    }
    return "?";
}

uint64_t TraceThread::cpu_ns() const {
    uint64_t sum = 0;
    for (const TraceBurst& b : bursts)
        sum += b.cpu_ns();
    return sum;
}

uint64_t TraceThread::cpu_changes() const {
    uint64_t n = 0;
    int last = -1;
    for (const TraceBurst& b : bursts) {
        if (b.cpu_ns() == 0)
            continue;
        n += last >= 0 && b.cpu != last;
        last = b.cpu;
    }
    return n;
}

uint64_t Trace::cpu_ns() const {
    uint64_t sum = 0;
    for (const TraceThread& t : threads)
        sum += t.cpu_ns();
    return sum;
}

const TraceThread* Trace::find(int tid) const {
    for (const TraceThread& t : threads)
        if (t.tid == tid)
            return &t;
    return nullptr;
}

namespace {

// trace-cmd's file magic: 0x17 0x08 0x44 "tracing".
constexpr char kDatMagic[] = "\x17\x08\x44tracing";
constexpr size_t kDatMagicLen = 10;

bool is_dat(const void* data, size_t size) {
    return size >= kDatMagicLen && std::memcmp(data, kDatMagic, kDatMagicLen) == 0;
}

}  // namespace

Trace parse_trace_bytes(const void* data, size_t size, const std::string& name) {
    if (!is_dat(data, size))
        return parse_trace_text(std::string_view(static_cast<const char*>(data), size), name);
    // libtracecmd reads files: hand it an anonymous in-memory one, by path.
    int fd = memfd_create("schedkit-trace", MFD_CLOEXEC);
    if (fd < 0)
        throw InputError(
            fmt::format("{}: cannot create a memory file ({})", name, std::strerror(errno)));
    const char* p = static_cast<const char*>(data);
    size_t left = size;
    while (left > 0) {
        ssize_t n = ::write(fd, p, left);
        if (n <= 0) {
            ::close(fd);
            throw InputError(
                fmt::format("{}: cannot buffer the trace ({})", name, std::strerror(errno)));
        }
        p += n;
        left -= static_cast<size_t>(n);
    }
    ::lseek(fd, 0, SEEK_SET);
    try {
        Trace t = trace::read_trace_dat(fmt::format("/proc/self/fd/{}", fd), name);
        ::close(fd);
        return t;
    } catch (...) {
        ::close(fd);
        throw;
    }
}

Trace read_trace_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw InputError(fmt::format("{}: cannot open ({}); expected a readable trace file", path,
                                     std::strerror(errno)));
    char head[kDatMagicLen] = {};
    in.read(head, kDatMagicLen);
    if (in.gcount() == static_cast<std::streamsize>(kDatMagicLen) && is_dat(head, kDatMagicLen))
        return trace::read_trace_dat(path, path);
    in.clear();
    in.seekg(0);
    std::ostringstream buf;
    buf << in.rdbuf();
    if (in.bad())
        throw InputError(fmt::format("{}: cannot read; expected a readable trace file", path));
    std::string bytes = std::move(buf).str();
    return parse_trace_bytes(bytes.data(), bytes.size(), path);
}

int fuzz_trace_input(const uint8_t* data, size_t size) {
    try {
        Trace t = parse_trace_bytes(data, size, "fuzz-input");
        (void)t;
    } catch (const InputError&) {
    }
    return 0;
}

}  // namespace schedkit
