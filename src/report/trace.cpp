// trace.cpp: Recorder::write_trace(), Chrome Trace Event JSON for Perfetto.
//
// The file is streamed rather than built as a JSON document: a simulation
// may record millions of slices, and a DOM of them would cost several times
// the recording itself. docs/output.md describes the format; the choices
// that exist only to make Perfetto draw it right are explained where made.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <iterator>
#include <nlohmann/json.hpp>
#include <queue>
#include <stdexcept>
#include <string_view>
#include <tuple>

#include "schedkit/output_file.h"
#include "schedkit/report.h"

namespace schedkit {

namespace {

// Perfetto treats pid 0 as the kernel's swapper and has mishandled tid 0, so
// the run is process 1 and CPU n is thread n + 1 (its name says "CPU n").
constexpr int kPid = 1;
int tid_of(int cpu) {
    return cpu + 1;
}

// A migration is drawn as a flow arrow. Perfetto binds a flow event to the
// innermost slice open on its track at that moment, and at a migration the
// source CPU may be idle or running something else, so each end gets its own
// 1 ns marker slice to bind to. 1 ns (not 0) keeps the marker open at the
// flow's timestamp and, with integer-ns slices, nests it inside any slice
// that covers that instant.
constexpr uint64_t kMarkerNs = 1;

// put_us() prints nanoseconds as microseconds with exactly three decimals,
// from integers: exact, and the same bytes everywhere.
void put_us(std::string& out, uint64_t ns) {
    fmt::format_to(std::back_inserter(out), "{}.{:03}", ns / 1000, ns % 1000);
}

std::string json_string(const std::string& s) {
    return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// TraceFile buffers the events and writes them through an OutputFile: a
// temporary file renamed over `path` on commit() (a device or FIFO is
// written in place). Destroyed uncommitted (an error, an exception), it
// leaves nothing behind.
class TraceFile {
  public:
    explicit TraceFile(const std::string& path) : file_(path, "trace") {
        buf_.reserve(kFlushBytes + 4096);
    }

    // buf() is where events are formatted; maybe_flush() writes it out once
    // it is large.
    std::string& buf() { return buf_; }
    void maybe_flush() {
        if (buf_.size() >= kFlushBytes)
            flush();
    }

    void commit() {
        flush();
        file_.commit();
    }

  private:
    static constexpr size_t kFlushBytes = 1 << 20;

    void flush() {
        file_.write(buf_);
        buf_.clear();
    }

    OutputFile file_;
    std::string buf_;
};

// Kind orders the events that share a timestamp: run slices first (so a
// marker or another slice starting at the same instant nests inside them),
// then migrations, each as one group (marker + flow start on the source,
// marker + flow end on the destination: a flow must start before it ends in
// file order, even toward a lower-numbered CPU), then counters.
enum class Kind : uint8_t { Run, Migrate, Count };

// Head is the next event of one sorted stream of events (a CPU's slices, a
// CPU's counter samples, or the migrations); `kind` and `cpu` name the
// stream, so ordering heads by (ts, kind, cpu) merges the streams into one
// deterministic order.
struct Head {
    uint64_t ts_ns;
    Kind kind;
    uint32_t cpu;  // 0 for the migrations stream
    size_t pos;    // index in the stream

    bool operator>(const Head& o) const {
        return std::tie(ts_ns, kind, cpu) > std::tie(o.ts_ns, o.kind, o.cpu);
    }
};

// by_time() sorts records by timestamp, keeping recording order for equal
// ones. Records almost always arrive in order, so check first.
template <typename T, typename Ts>
void by_time(std::vector<T>& v, Ts ts) {
    auto earlier = [&](const T& a, const T& b) { return ts(a) < ts(b); };
    if (!std::is_sorted(v.begin(), v.end(), earlier))
        std::stable_sort(v.begin(), v.end(), earlier);
}

}  // namespace

void Recorder::write_trace(const std::string& path, const std::string& title) const {
    // Copy the records, one lock at a time, so recording is never blocked by
    // file I/O and no thread ever holds more than one of the recorder's locks.
    struct Records {
        std::vector<Slice> slices;
        std::vector<Counter> counters;
        std::vector<TaskId> ids;
        std::vector<std::string> names;  // JSON-escaped
    };
    std::vector<Records> cpus(static_cast<size_t>(num_cpus_));
    for (size_t c = 0; c < cpus.size(); ++c) {
        const CpuLog& log = *cpus_[c];
        std::vector<std::string> names;
        {
            std::lock_guard g(log.mu);
            cpus[c].slices = log.slices;
            cpus[c].counters = log.queue_len;
            cpus[c].ids = log.tasks.ids;
            names = log.tasks.names;
        }
        for (const std::string& n : names)  // escaped once per task, not per slice
            cpus[c].names.push_back(json_string(n));
        by_time(cpus[c].slices, [](const Slice& x) { return x.start_ns; });
        by_time(cpus[c].counters, [](const Counter& x) { return x.at_ns; });
    }
    std::vector<Migration> migrations;
    std::vector<TaskId> migration_ids;
    std::vector<std::string> marker_names;
    {
        std::lock_guard g(mu_);
        migrations = migrations_;
        migration_ids = migration_tasks_.ids;
        marker_names = migration_tasks_.names;
    }
    for (std::string& n : marker_names)
        n = json_string("migrate " + n);
    by_time(migrations, [](const Migration& x) { return x.at_ns; });

    TraceFile file(path);
    std::string& out = file.buf();
    auto it = std::back_inserter(out);
    bool first = true;
    auto next_event = [&]() {
        out += first ? "\n" : ",\n";
        first = false;
    };

    out += R"({"traceEvents":[)";
    next_event();
    fmt::format_to(it, R"({{"name":"process_name","ph":"M","pid":{},"args":{{"name":{}}}}})", kPid,
                   json_string(title));
    for (int c = 0; c < num_cpus_; ++c) {
        next_event();
        fmt::format_to(it,
                       R"({{"name":"thread_name","ph":"M","pid":{},"tid":{},)"
                       R"("args":{{"name":"CPU {}"}}}})",
                       kPid, tid_of(c), c);
        next_event();
        fmt::format_to(it,
                       R"({{"name":"thread_sort_index","ph":"M","pid":{},"tid":{},)"
                       R"("args":{{"sort_index":{}}}}})",
                       kPid, tid_of(c), c);
    }

    // slice() starts a complete event; the caller appends its args and closing brace.
    auto slice = [&](const std::string& name, const char* cat, int cpu, uint64_t start_ns,
                     uint64_t dur_ns) {
        next_event();
        fmt::format_to(it, R"({{"name":{},"cat":"{}","ph":"X","pid":{},"tid":{},"ts":)", name, cat,
                       kPid, tid_of(cpu));
        put_us(out, start_ns);
        out += R"(,"dur":)";
        put_us(out, dur_ns);
    };
    auto flow = [&](const char* phase, uint64_t id, int cpu, uint64_t at_ns) {
        next_event();
        fmt::format_to(it,
                       R"({{"name":"migration","cat":"migration","ph":"{}",{}"id":{},)"
                       R"("pid":{},"tid":{},"ts":)",
                       phase, phase[0] == 'f' ? R"("bp":"e",)" : "", id, kPid, tid_of(cpu));
        put_us(out, at_ns);
        out += '}';
    };

    std::priority_queue<Head, std::vector<Head>, std::greater<>> heap;
    auto push = [&](Kind kind, uint32_t cpu, size_t pos) {
        if (kind == Kind::Run && pos < cpus[cpu].slices.size())
            heap.push(Head{cpus[cpu].slices[pos].start_ns, kind, cpu, pos});
        else if (kind == Kind::Count && pos < cpus[cpu].counters.size())
            heap.push(Head{cpus[cpu].counters[pos].at_ns, kind, cpu, pos});
        else if (kind == Kind::Migrate && pos < migrations.size())
            heap.push(Head{migrations[pos].at_ns, kind, 0, pos});
    };
    for (uint32_t c = 0; c < cpus.size(); ++c) {
        push(Kind::Run, c, 0);
        push(Kind::Count, c, 0);
    }
    push(Kind::Migrate, 0, 0);

    while (!heap.empty()) {
        Head h = heap.top();
        heap.pop();
        push(h.kind, h.cpu, h.pos + 1);
        switch (h.kind) {
            case Kind::Run: {
                const Records& rec = cpus[h.cpu];
                const Slice& s = rec.slices[h.pos];
                slice(rec.names[s.task_ref], "run", static_cast<int>(h.cpu), s.start_ns,
                      s.end_ns - s.start_ns);
                fmt::format_to(it, R"(,"args":{{"task":{}}}}})", rec.ids[s.task_ref]);
                break;
            }
            case Kind::Migrate: {
                const Migration& m = migrations[h.pos];
                for (int end = 0; end < 2; ++end) {
                    int cpu = end == 0 ? m.from : m.to;
                    slice(marker_names[m.task_ref], "migration", cpu, m.at_ns, kMarkerNs);
                    fmt::format_to(it, R"(,"args":{{"task":{},"from":{},"to":{}}}}})",
                                   migration_ids[m.task_ref], m.from, m.to);
                    // Flow ids start at 1: some viewers treat id 0 as "no id".
                    flow(end == 0 ? "s" : "f", h.pos + 1, cpu, m.at_ns);
                }
                break;
            }
            case Kind::Count: {
                const Counter& k = cpus[h.cpu].counters[h.pos];
                next_event();
                fmt::format_to(it, R"({{"name":"runqueue CPU {}","ph":"C","pid":{},"ts":)", h.cpu,
                               kPid);
                put_us(out, k.at_ns);
                fmt::format_to(it, R"(,"args":{{"len":{}}}}})", k.value);
                break;
            }
        }
        file.maybe_flush();
    }
    fmt::format_to(it, "\n],\"displayTimeUnit\":\"ns\",\"otherData\":{{\"title\":{}}}}}\n",
                   json_string(title));
    file.commit();
}

}  // namespace schedkit
