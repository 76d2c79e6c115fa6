// Trace readers: every sample form, checked against CPU totals computed here
// independently from the raw text; malformed, truncated and idle-only input.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>

#include "cli_runner.h"
#include "schedkit/error.h"
#include "schedkit/trace.h"

namespace schedkit {
namespace {

using test::slurp;

const std::string kDir = std::string(SCHEDKIT_TEST_DATA) + "/traces/";

// Totals is tid -> CPU ns, plus the thread count.
using Totals = std::map<int, uint64_t>;

// independent_totals() computes each thread's CPU time with nothing but a
// regular expression per form: a CPU runs the task named in the prefix of
// each line, and from a sched_switch on, the next task it names; the
// trace's end closes what runs. Only the seven scheduler events count.
Totals independent_totals(const std::string& text) {
    static const std::regex line_re(
        R"(^\s*(.+?)[- ](-?\d+)\s+(?:\(\s*[-\d]+\)\s+)?\[(\d+)\]\s+(?:\S+\s+)?(\d+)\.(\d+):\s+)"
        R"((?:sched:)?(sched_switch|sched_wakeup|sched_waking|sched_wakeup_new|sched_process_fork|sched_process_exit|sched_migrate_task):\s*(.*)$)");
    static const std::regex kv_switch(R"(prev_pid=(\d+) .*==> .*next_pid=(\d+))");
    static const std::regex compact_switch(R"(:(\d+) \[-?\d+\] \S+ ==> .*:(\d+) \[-?\d+\]\s*$)");
    std::map<int, std::pair<int, uint64_t>> current;  // cpu -> (pid, since)
    Totals totals;
    uint64_t last = 0;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        std::smatch m;
        if (!std::regex_match(line, m, line_re))
            continue;
        int cpu = std::stoi(m[3]);
        std::string frac = m[5].str();
        frac.resize(9, '0');
        uint64_t ts = std::stoull(m[4]) * 1'000'000'000ULL + std::stoull(frac);
        last = std::max(last, ts);
        std::string comm = m[1].str();
        int pid = std::stoi(m[2]);
        if (comm.find("<idle>") != std::string::npos || comm.find("swapper") != std::string::npos)
            pid = 0;
        auto charge = [&](int to_pid) {
            if (auto it = current.find(cpu); it != current.end() && it->second.first != 0)
                totals[it->second.first] += ts - it->second.second;
            current[cpu] = {to_pid, ts};
            if (to_pid != 0)
                totals[to_pid] += 0;  // it ran, even if for no time
        };
        if (pid >= 0 && (!current.count(cpu) || current[cpu].first != pid))
            charge(pid);  // perf prints -1 for an unknown task
        if (m[6] != "sched_switch")
            continue;
        std::smatch s;
        std::string fields = m[7].str();
        if (!std::regex_search(fields, s, kv_switch) &&
            !std::regex_search(fields, s, compact_switch))
            ADD_FAILURE() << "unparsed switch: " << line;
        int prev = std::stoi(s[1]), next = std::stoi(s[2]);
        if (current[cpu].first != prev)
            charge(prev);
        charge(next);
    }
    for (auto& [cpu, run] : current)
        if (run.first != 0)
            totals[run.first] += last - run.second;
    return totals;
}

Totals reader_totals(const Trace& t) {
    Totals out;
    for (const TraceThread& th : t.threads)
        out[th.tid] = th.cpu_ns();
    return out;
}

void expect_same_totals(const Totals& want, const Totals& got) {
    for (auto [tid, ns] : got)
        EXPECT_TRUE(want.count(tid)) << "tid " << tid << " not in the independent count";
    ASSERT_EQ(want.size(), got.size());
    for (auto [tid, ns] : want) {
        ASSERT_TRUE(got.count(tid)) << "tid " << tid;
        EXPECT_EQ(got.at(tid), ns) << "tid " << tid;
    }
}

struct TextSample {
    const char* file;
    TraceForm form;
    int cpus;
};

class TextSampleTest : public testing::TestWithParam<TextSample> {};

TEST_P(TextSampleTest, ThreadsAndCpuTotalsMatchAnIndependentCount) {
    std::string path = kDir + GetParam().file;
    std::string text = slurp(path);
    Trace t = read_trace_file(path);
    EXPECT_EQ(t.form, GetParam().form);
    EXPECT_EQ(t.num_cpus, GetParam().cpus);
    Totals want = independent_totals(text);
    ASSERT_GT(want.size(), 3u);
    expect_same_totals(want, reader_totals(t));
    // Every burst lies within the trace, on a CPU of it, after it was ready.
    for (const TraceThread& th : t.threads) {
        EXPECT_NE(th.tid, 0);
        EXPECT_FALSE(th.bursts.empty());
        for (const TraceBurst& b : th.bursts) {
            EXPECT_LE(t.start_ns, b.ready_ns);
            EXPECT_LE(b.ready_ns, b.start_ns);
            EXPECT_LE(b.start_ns, b.end_ns);
            EXPECT_LE(b.end_ns, t.end_ns);
            EXPECT_GE(b.cpu, 0);
            EXPECT_LT(b.cpu, t.num_cpus);
        }
    }
}

INSTANTIATE_TEST_SUITE_P(
    Samples, TextSampleTest,
    testing::Values(TextSample{"linux-ftrace-gzip-python.trace", TraceForm::Ftrace, 2},
                    TextSample{"trace-cmd-hackbench.report", TraceForm::TraceCmdReport, 2},
                    TextSample{"perf-script-xz.txt", TraceForm::PerfScript, 2}));

TEST(TraceReader, FtraceSampleKnowsForksWakersAndExits) {
    Trace t = read_trace_file(kDir + "linux-ftrace-gzip-python.trace");
    // bash-11619 forks gzip 11620 (renamed by exec), which the trace shows exit.
    const TraceThread* gz = t.find(11620);
    ASSERT_NE(gz, nullptr);
    EXPECT_EQ(gz->parent_tid, 11619);
    EXPECT_EQ(gz->comm, "gzip");
    // Parents come before their children.
    std::map<int, size_t> order;
    for (size_t i = 0; i < t.threads.size(); ++i)
        order[t.threads[i].tid] = i;
    for (const TraceThread& th : t.threads) {
        if (th.parent_tid >= 0) {
            EXPECT_LT(order.at(th.parent_tid), order.at(th.tid));
        }
    }
    // Some burst after a block names the thread that woke it.
    bool named = false;
    int exits = 0;
    for (const TraceThread& th : t.threads) {
        exits += th.exited;
        for (size_t i = 1; i < th.bursts.size(); ++i)
            named |= th.bursts[i - 1].end == BurstEnd::Block && th.bursts[i].waker_tid > 0;
    }
    EXPECT_TRUE(named);
    EXPECT_GT(exits, 0);
}

TEST(TraceReader, PerfWakingCountsOnceWithItsWakeup) {
    Trace t = read_trace_file(kDir + "perf-script-xz.txt");
    const TraceThread* perf = t.find(13274);
    ASSERT_NE(perf, nullptr);
    // perf-exec 13275 is woken at 2319.742286 by perf on CPU 1 and starts on CPU 0.
    const TraceThread* xz = t.find(13275);
    ASSERT_NE(xz, nullptr);
    ASSERT_FALSE(xz->bursts.empty());
    EXPECT_EQ(xz->bursts[0].ready_ns, 2319742286000ULL);
    EXPECT_EQ(xz->bursts[0].start_ns, 2319742332000ULL);
    EXPECT_EQ(xz->bursts[0].waker_tid, 13274);
    EXPECT_EQ(xz->bursts[0].waker_cpu, 1);
    EXPECT_EQ(xz->comm, "xz");
}

// The .dat is checked against `trace-cmd report`'s text of it where the tool
// is installed, else against the checked-in digest (tid cpu_ns per line),
// which was written from that text by independent_totals().
TEST(TraceReader, DatMatchesTraceCmdReport) {
    std::string dat = kDir + "trace-cmd-tar-gzip-python.dat";
    Trace t = read_trace_file(dat);
    EXPECT_EQ(t.form, TraceForm::TraceCmdDat);
    EXPECT_EQ(t.num_cpus, 2);
    EXPECT_EQ(t.threads.size(), 60u);  // as ../shared/traces/README.md says
    Totals want;
    std::string report;
    if (std::system("command -v trace-cmd >/dev/null 2>&1") == 0) {
        std::string cmd = "trace-cmd report -t -i '" + dat + "' 2>/dev/null";  // -t: ns
        FILE* p = popen(cmd.c_str(), "r");
        ASSERT_NE(p, nullptr);
        char buf[65536];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, p)) > 0)
            report.append(buf, n);
        pclose(p);
    }
    if (!report.empty()) {
        want = independent_totals(report);
        Trace text = parse_trace_text(report, "report");
        expect_same_totals(reader_totals(text), reader_totals(t));
        if (std::getenv("SCHEDKIT_WRITE_EXPECTED") != nullptr) {
            std::ofstream out(dat + ".expected");
            out << "# tid cpu_ns: per-thread CPU time of "
                << "trace-cmd-tar-gzip-python.dat"
                << ", from trace-cmd report's text\n";
            for (auto [tid, ns] : want)
                out << tid << " " << ns << "\n";
        }
    }
    Totals digest;
    std::istringstream in(slurp(dat + ".expected"));
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && line[0] != '#') {
            std::istringstream ls(line);
            int tid;
            uint64_t ns;
            ls >> tid >> ns;
            digest[tid] = ns;
        }
    }
    if (want.empty())
        want = digest;
    else
        EXPECT_EQ(want, digest) << "the checked-in digest is stale";
    expect_same_totals(want, reader_totals(t));
    EXPECT_NEAR(static_cast<double>(t.cpu_ns()) / 1e9, 0.78, 0.02);
}

TEST(TraceReader, BytesInMemoryReadAsTheFile) {
    std::string bytes = slurp(kDir + "trace-cmd-tar-gzip-python.dat");
    Trace a = parse_trace_bytes(bytes.data(), bytes.size(), "mem.dat");
    Trace b = read_trace_file(kDir + "trace-cmd-tar-gzip-python.dat");
    expect_same_totals(reader_totals(b), reader_totals(a));
    EXPECT_EQ(fuzz_trace_input(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size() / 3),
              0);
    EXPECT_EQ(fuzz_trace_input(reinterpret_cast<const uint8_t*>("x"), 1), 0);
}

std::string error_of(const std::string& text, const std::string& name = "bad.trace") {
    try {
        parse_trace_text(text, name);
    } catch (const InputError& e) {
        return e.what();
    }
    return "(no error)";
}

TEST(TraceReader, MalformedAndTruncatedLinesNameFileAndLine) {
    std::string head =
        "# tracer: nop\n"
        "  bash-10 [000] d..2.  1.000000: sched_switch: prev_comm=bash prev_pid=10 prev_prio=120 "
        "prev_state=S ==> next_comm=a next_pid=11 next_prio=120\n";
    EXPECT_EQ(
        error_of(head + "  a-11 [000] d..2.  1.000100: sched_switch: prev_comm=a prev_pid=11\n")
            .rfind("bad.trace:3: cannot read the fields of sched_switch", 0),
        0u);
    EXPECT_EQ(error_of(head + "  a-11 [000] d..2.  1.0001").find("(no error)"), 0u)
        << "a line cut before its event name is not a scheduler event";
    EXPECT_EQ(error_of(head + "  a-11 [0x0] d..2.  1.000100: sched_wakeup: comm=b pid=3\n")
                  .rfind("bad.trace:3: cannot read the task, CPU and time", 0),
              0u);
    EXPECT_EQ(error_of(head + "  a-11 [000] 1.0x: sched_process_exit: comm=a pid=11\n")
                  .rfind("bad.trace:3:", 0),
              0u);
    EXPECT_EQ(error_of(head + "  a-11 [000] 1.2: sched_process_fork: comm=a pid=11 child_pid=\n")
                  .rfind("bad.trace:3: cannot read the fields of sched_process_fork", 0),
              0u);
    EXPECT_EQ(error_of("hello\nworld\n"),
              "bad.trace: no scheduler event found; expected "
              "sched_switch, sched_wakeup, sched_waking, "
              "sched_wakeup_new, sched_process_fork, "
              "sched_process_exit or sched_migrate_task lines "
              "(ftrace, trace-cmd report or perf script text)");
}

TEST(TraceReader, TruncatedTraceClosesTheRunningBurstAtItsLastTimestamp) {
    Trace t = parse_trace_text(
        "  <idle>-0 [001] d..2.  5.000000: sched_switch: prev_comm=swapper/1 prev_pid=0 "
        "prev_prio=120 prev_state=R ==> next_comm=w next_pid=7 next_prio=120\n"
        "  w-7 [001] d..2.  5.000300: sched_wakeup: comm=v pid=8 prio=120 target_cpu=000\n",
        "cut.trace");
    ASSERT_EQ(t.threads.size(), 1u);  // 8 was woken but never ran
    ASSERT_EQ(t.threads[0].bursts.size(), 1u);
    EXPECT_EQ(t.threads[0].bursts[0].end, BurstEnd::TraceEnd);
    EXPECT_EQ(t.threads[0].cpu_ns(), 300'000u);
}

TEST(TraceReader, ThreadSeenMidLifeStartsAtItsFirstEvent) {
    Trace t = parse_trace_text(
        "cpus=4\n"
        "  m-9 [002]  7.000100: sched_wakeup: x:3 [120] CPU:001\n"
        "  m-9 [002]  7.000400: sched_switch: m:9 [120] R+ ==> x:3 [120]\n",
        "mid.report");
    EXPECT_EQ(t.form, TraceForm::TraceCmdReport);
    EXPECT_EQ(t.num_cpus, 4);
    const TraceThread* m = t.find(9);
    ASSERT_NE(m, nullptr);
    ASSERT_EQ(m->bursts.size(), 1u);
    EXPECT_EQ(m->bursts[0].start_ns, 7'000'100'000u);
    EXPECT_EQ(m->bursts[0].end, BurstEnd::Preempt);
    const TraceThread* x = t.find(3);
    ASSERT_NE(x, nullptr);
    EXPECT_EQ(x->bursts[0].waker_tid, 9);
    EXPECT_EQ(x->bursts[0].ready_ns, 7'000'100'000u);
}

TEST(TraceReader, OnlyIdleGivesNoThreads) {
    Trace t = parse_trace_text(
        "  <idle>-0 [000] d..2.  1.000000: sched_switch: prev_comm=swapper/0 prev_pid=0 "
        "prev_prio=120 prev_state=R ==> next_comm=swapper/0 next_pid=0 next_prio=120\n",
        "idle.trace");
    EXPECT_TRUE(t.threads.empty());
    EXPECT_EQ(t.events, 1u);
}

TEST(TraceReader, UnreadableAndGarbageFilesAreInputErrors) {
    EXPECT_THROW(read_trace_file("/nonexistent/x.trace"), InputError);
    std::string bad = "\x17\x08\x44tracing garbage";
    EXPECT_THROW(parse_trace_bytes(bad.data(), bad.size(), "bad.dat"), InputError);
}

}  // namespace
}  // namespace schedkit
