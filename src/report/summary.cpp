// summary.cpp: percentiles, and a RunSummary rendered as JSON and as a table.
// The field definitions live in docs/output.md.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "report/task_stats_json.h"
#include "schedkit/report.h"

namespace schedkit {

namespace {

using Json = nlohmann::ordered_json;

// round_to() keeps JSON text free of floating-point noise (0.30000000000000004)
// so that equal runs print equal bytes on every platform.
double round_to(double x, int decimals) {
    double scale = std::pow(10.0, decimals);
    return std::round(x * scale) / scale;
}
double round_us(double x) {
    return round_to(x, 3);
}  // ns precision

Json percentiles_json(const Percentiles& p) {
    Json j = Json::object();
    j["n"] = p.n;
    j["mean"] = round_us(p.mean);
    j["p50"] = round_us(p.p50);
    j["p90"] = round_us(p.p90);
    j["p99"] = round_us(p.p99);
    j["max"] = round_us(p.max);
    return j;
}

Json cdf_values(const Percentiles& p) {
    Json a = Json::array();
    for (double v : p.cdf)
        a.push_back(round_us(v));
    return a;
}

// cdf_json() is the summary's `cdf`: the bounded samples of the wait and
// response distributions, whole run and per group, for plots.
Json cdf_json(const RunSummary& s) {
    Json j = Json::object();
    j["points"] = kCdfPoints;
    j["wait_us"] = cdf_values(s.wait_us);
    j["response_us"] = cdf_values(s.response_us);
    Json groups = Json::array();
    for (const GroupSummary& g : s.groups)
        groups.push_back(Json{{"group", g.group},
                              {"name", g.name},
                              {"wait_us", cdf_values(g.wait_us)},
                              {"response_us", cdf_values(g.response_us)}});
    j["groups"] = std::move(groups);
    return j;
}

// parse_object() parses an embedded JSON text that must be an object. A
// malformed one is a bug in whoever produced it, so it fails loudly.
Json parse_object(const std::string& text, const char* what) {
    Json j;
    try {
        j = Json::parse(text);
    } catch (const Json::parse_error& e) {
        throw std::runtime_error(fmt::format("{} is not valid JSON: {}", what, e.what()));
    }
    if (!j.is_object())
        throw std::runtime_error(fmt::format("{} must be a JSON object, got: {}", what, text));
    return j;
}

// duration() prints microseconds in the largest unit that keeps the number
// readable ("812.500 us", "12.346 ms", "3.200 s").
std::string duration(double us) {
    if (us < 1000.0)
        return fmt::format("{:.3f} us", us);
    if (us < 1e6)
        return fmt::format("{:.3f} ms", us / 1e3);
    return fmt::format("{:.3f} s", us / 1e6);
}

std::string percentiles_line(const Percentiles& p) {
    return fmt::format("mean {}, p50 {}, p90 {}, p99 {}, max {}", duration(p.mean), duration(p.p50),
                       duration(p.p90), duration(p.p99), duration(p.max));
}

// groups_table() is a row per workload group: exits, wait and response
// mean and p99, slowdown mean and p99.
std::string groups_table(const std::vector<GroupSummary>& groups) {
    std::string out = "\n";
    fmt::format_to(std::back_inserter(out),
                   "{:<16} {:>8} {:>12} {:>12} {:>12} {:>12} {:>9} {:>9}\n", "group", "tasks",
                   "wait mean", "wait p99", "resp mean", "resp p99", "slow mean", "slow p99");
    for (const GroupSummary& g : groups)
        fmt::format_to(std::back_inserter(out),
                       "{:<16} {:>8} {:>12} {:>12} {:>12} {:>12} {:>9.3f} {:>9.3f}\n", g.name,
                       g.completed, duration(g.wait_us.mean), duration(g.wait_us.p99),
                       duration(g.response_us.mean), duration(g.response_us.p99), g.slowdown.mean,
                       g.slowdown.p99);
    return out;
}

double busy_pct(const CpuSummary& c) {
    double total = c.busy_us + c.idle_us;
    return total > 0 ? 100.0 * c.busy_us / total : 0.0;
}

// CpuRow is one line of the per-CPU table: a CPU, or a min/mean/max row.
struct CpuRow {
    std::string label;
    double busy_ms, idle_ms, busy_pct, switches, migrations_in;
};

CpuRow cpu_row(const CpuSummary& c) {
    return CpuRow{std::to_string(c.cpu),
                  c.busy_us / 1e3,
                  c.idle_us / 1e3,
                  busy_pct(c),
                  static_cast<double>(c.context_switches),
                  static_cast<double>(c.migrations_in)};
}

// Above this many CPUs the table shows per-column min/mean/max instead of a
// row per CPU: 128 lines drown the header, and the JSON keeps every CPU.
constexpr size_t kTableMaxCpus = 64;

std::vector<CpuRow> compressed_rows(const std::vector<CpuSummary>& cpus) {
    std::vector<CpuRow> rows;
    for (const CpuSummary& c : cpus)
        rows.push_back(cpu_row(c));
    CpuRow lo = rows.front(), hi = rows.front(), sum{"mean", 0, 0, 0, 0, 0};
    for (const CpuRow& r : rows) {
        lo.busy_ms = std::min(lo.busy_ms, r.busy_ms);
        lo.idle_ms = std::min(lo.idle_ms, r.idle_ms);
        lo.busy_pct = std::min(lo.busy_pct, r.busy_pct);
        lo.switches = std::min(lo.switches, r.switches);
        lo.migrations_in = std::min(lo.migrations_in, r.migrations_in);
        hi.busy_ms = std::max(hi.busy_ms, r.busy_ms);
        hi.idle_ms = std::max(hi.idle_ms, r.idle_ms);
        hi.busy_pct = std::max(hi.busy_pct, r.busy_pct);
        hi.switches = std::max(hi.switches, r.switches);
        hi.migrations_in = std::max(hi.migrations_in, r.migrations_in);
        sum.busy_ms += r.busy_ms;
        sum.idle_ms += r.idle_ms;
        sum.busy_pct += r.busy_pct;
        sum.switches += r.switches;
        sum.migrations_in += r.migrations_in;
    }
    auto n = static_cast<double>(rows.size());
    CpuRow mean{"mean",           sum.busy_ms / n,  sum.idle_ms / n,
                sum.busy_pct / n, sum.switches / n, sum.migrations_in / n};
    lo.label = "min";
    hi.label = "max";
    return {lo, mean, hi};
}

}  // namespace

namespace {

// select_percentiles() fills p50..max of `samples` (not empty), divided by
// `divisor`, by selection: each nth_element works on the part above the
// previous rank, so the four ranks cost O(n) together (a sort was ~5% of a
// simulation). Nearest rank: the smallest sample with at least pct% of the
// samples at or below it, i.e. rank ceil(pct * n / 100), 1-based; integer
// maths, so no rounding decides which sample is picked.
template <typename T>
void select_percentiles(std::vector<T>& samples, double divisor, Percentiles& p) {
    size_t n = samples.size();
    auto begin = samples.begin();
    auto select = [&](size_t pct) {
        size_t rank = std::max<size_t>(1, (pct * n + 99) / 100);
        auto nth = samples.begin() + static_cast<std::ptrdiff_t>(rank - 1);
        std::nth_element(begin, nth, samples.end());
        begin = nth;
        return static_cast<double>(*nth) / divisor;
    };
    p.p50 = select(50);
    p.p90 = select(90);
    p.p99 = select(99);
    p.max = static_cast<double>(*std::max_element(begin, samples.end())) / divisor;
}

// select_ranks() puts the samples of the 1-based `ranks` [rb, re) (sorted)
// in place within [lo, hi) (0-based offsets into `samples`): nth_element at
// the middle rank, then each half on its side, O(n log k) for k ranks.
template <typename T>
void select_ranks(std::vector<T>& samples, size_t lo, size_t hi, const std::vector<size_t>& ranks,
                  size_t rb, size_t re) {
    if (rb >= re || lo >= hi)
        return;
    size_t mid = rb + (re - rb) / 2;
    size_t at = ranks[mid] - 1;
    std::nth_element(samples.begin() + static_cast<std::ptrdiff_t>(lo),
                     samples.begin() + static_cast<std::ptrdiff_t>(at),
                     samples.begin() + static_cast<std::ptrdiff_t>(hi));
    select_ranks(samples, lo, at, ranks, rb, mid);
    select_ranks(samples, at + 1, hi, ranks, mid + 1, re);
}

// fill_cdf() samples the distribution at k = min(n, kCdfPoints) shares:
// the nearest-rank sample at share i / k, ranks ceil(i * n / k).
template <typename T>
void fill_cdf(std::vector<T>& samples, double divisor, Percentiles& p) {
    size_t n = samples.size();
    size_t k = std::min(n, kCdfPoints);
    std::vector<size_t> ranks;
    for (size_t i = 1; i <= k; ++i) {
        size_t rank = std::max<size_t>(1, (i * n + k - 1) / k);
        if (ranks.empty() || ranks.back() != rank)
            ranks.push_back(rank);
    }
    select_ranks(samples, 0, n, ranks, 0, ranks.size());
    p.cdf.reserve(k);
    for (size_t i = 1; i <= k; ++i) {
        size_t rank = std::max<size_t>(1, (i * n + k - 1) / k);
        p.cdf.push_back(static_cast<double>(samples[rank - 1]) / divisor);
    }
}

}  // namespace

Percentiles percentiles_of(std::vector<double> samples) {
    Percentiles p;
    p.n = samples.size();
    if (samples.empty())
        return p;
    double sum = 0;
    for (double v : samples)
        sum += v;
    p.mean = sum / static_cast<double>(samples.size());
    select_percentiles(samples, 1.0, p);
    fill_cdf(samples, 1.0, p);
    return p;
}

Percentiles percentiles_us(std::vector<uint64_t> samples_ns) {
    Percentiles p;
    p.n = samples_ns.size();
    if (samples_ns.empty())
        return p;
    // A 64-bit mantissa: exact while the sum stays below 2^64 ns (584 years).
    long double sum = 0;
    for (uint64_t v : samples_ns)
        sum += static_cast<long double>(v);
    p.mean = static_cast<double>(sum) / static_cast<double>(samples_ns.size()) / 1000.0;
    select_percentiles(samples_ns, 1000.0, p);
    fill_cdf(samples_ns, 1000.0, p);
    return p;
}

std::string summary_json(const RunSummary& s) {
    Json j = Json::object();
    j["workload"] = s.workload;
    j["topology"] = s.topology;
    j["policy"] = s.policy;
    j["seed"] = s.seed;
    j["makespan_us"] = round_us(s.makespan_us);
    j["events"] = s.events;
    j["events_per_s"] = round_to(s.events_per_s, 0);
    j["wall_s"] = round_to(s.wall_s, 6);
    j["context_switches"] = s.context_switches;
    j["migrations"] = s.migrations;
    j["imbalance_ratio"] = round_to(s.imbalance_ratio, 3);
    Json tasks = Json::object();
    tasks["spawned"] = s.spawned;
    tasks["completed"] = s.completed;
    tasks["lost"] = s.lost;
    j["tasks"] = std::move(tasks);
    j["wait_us"] = percentiles_json(s.wait_us);
    j["response_us"] = percentiles_json(s.response_us);
    Json groups = Json::array();
    for (const GroupSummary& g : s.groups) {
        Json gj = Json::object();
        gj["group"] = g.group;
        gj["name"] = g.name;
        gj["completed"] = g.completed;
        gj["wait_us"] = percentiles_json(g.wait_us);
        gj["response_us"] = percentiles_json(g.response_us);
        Json slow = percentiles_json(g.slowdown);  // a ratio: the same 3 decimals
        gj["slowdown"] = std::move(slow);
        groups.push_back(std::move(gj));
    }
    j["groups"] = std::move(groups);
    Json cpus = Json::array();
    for (const CpuSummary& c : s.cpus) {
        Json cj = Json::object();
        cj["cpu"] = c.cpu;
        cj["busy_us"] = round_us(c.busy_us);
        cj["idle_us"] = round_us(c.idle_us);
        cj["context_switches"] = c.context_switches;
        cj["migrations_in"] = c.migrations_in;
        cpus.push_back(std::move(cj));
    }
    j["cpus"] = std::move(cpus);
    if (s.wait_us.n + s.response_us.n > 0)
        j["cdf"] = cdf_json(s);
    if (s.task_stats) {
        j["task_stats"] = task_stats_json(*s.task_stats);
        j["schedule"] = schedule_json(*s.task_stats);
    }
    if (!s.policy_stats_json.empty())
        j["policy_stats"] = parse_object(s.policy_stats_json, "policy stats");
    if (!s.extra_json.empty()) {
        // Named, not a temporary: a range-for over a temporary's items() dangles.
        Json extra = parse_object(s.extra_json, "extra summary fields");
        for (auto& [key, value] : extra.items()) {
            // Silently replacing a statistic with a same-named extra would
            // publish a number the run did not produce.
            if (j.contains(key))
                throw std::runtime_error(
                    fmt::format("extra summary field '{}' collides with a standard field", key));
            j[key] = value;
        }
    }
    // Replace invalid UTF-8 (a workload name from a binary file) rather than
    // throwing at the very end of a run.
    return j.dump(2, ' ', false, Json::error_handler_t::replace);
}

std::string summary_table(const RunSummary& s) {
    std::string out;
    auto line = [&out](std::string_view label, const std::string& value) {
        fmt::format_to(std::back_inserter(out), "{:<12}{}\n", label, value);
    };
    line("workload", s.workload);
    line("topology", s.topology);
    line("policy", s.policy);
    line("seed", std::to_string(s.seed));
    line("makespan", duration(s.makespan_us));
    line("events", fmt::format("{} ({:.0f}/s, wall {:.3f} s)", s.events, s.events_per_s, s.wall_s));
    line("ctx switch",
         fmt::format("{} (context switches: a task put on a CPU)", s.context_switches));
    line("migrations", std::to_string(s.migrations));
    line("imbalance", fmt::format("{:.3f} (busiest / least busy CPU that ran)", s.imbalance_ratio));
    // The executor's extras the table shows: tasks still alive at the end,
    // an interruption, and policy switches (a refused one above all).
    Json extra = s.extra_json.empty() ? Json::object() : parse_object(s.extra_json, "extras");
    std::string unfinished;
    if (extra.contains("unfinished") && extra["unfinished"].get<uint64_t>() > 0)
        unfinished =
            fmt::format("{} unfinished (alive at the end), ", extra["unfinished"].get<uint64_t>());
    line("tasks", fmt::format("{} spawned, {} completed, {}{} lost", s.spawned, s.completed,
                              unfinished, s.lost));
    if (extra.contains("messages") && extra["messages"].is_object()) {
        // Lightweight threads' messages (the simulator's accounting).
        const Json& m = extra["messages"];
        line("messages",
             fmt::format("{} sent, {} delivered, {} refused, {} returned, {} pending",
                         m.value("sent", uint64_t{0}), m.value("delivered", uint64_t{0}),
                         m.value("refused", uint64_t{0}), m.value("returned", uint64_t{0}),
                         m.value("pending", uint64_t{0})));
    }
    if (extra.value("interrupted", false))
        line("interrupted", "yes: stopped by a signal, every figure covers the run so far");
    if (extra.contains("policy_switches"))
        for (const Json& sw : extra["policy_switches"]) {
            std::string what = fmt::format("at {} {} -> {}: ", duration(sw.value("at_us", 0.0)),
                                           sw.value("from", "?"), sw.value("to", "?"));
            what += sw.value("ok", false)
                        ? "done"
                        : "REFUSED, " + sw.value("from", std::string("?")) + " went on (" +
                              sw.value("error", std::string("no reason given")) + ")";
            if (sw.contains("restored"))  // put back after the active policy failed
                what += ", after " + sw.value("restored", std::string("a failure"));
            line("policy sw", what);
        }
    line("wait", percentiles_line(s.wait_us));
    line("response", percentiles_line(s.response_us));
    if (!s.groups.empty())
        out += groups_table(s.groups);
    if (s.cpus.empty())
        return s.task_stats ? out + s.task_stats->table() : out;

    std::vector<CpuRow> rows;
    out += '\n';
    if (s.cpus.size() > kTableMaxCpus) {
        fmt::format_to(std::back_inserter(out),
                       "{} CPUs: per-column min / mean / max (the JSON lists every CPU)\n",
                       s.cpus.size());
        rows = compressed_rows(s.cpus);
    } else {
        for (const CpuSummary& c : s.cpus)
            rows.push_back(cpu_row(c));
    }
    fmt::format_to(std::back_inserter(out), "{:>5} {:>12} {:>12} {:>7} {:>10} {:>9}\n", "cpu",
                   "busy ms", "idle ms", "busy %", "ctx sw", "migr in");
    for (const CpuRow& r : rows) {
        // Counts print as integers per CPU; a mean is fractional.
        int count_decimals = r.label == "mean" ? 1 : 0;
        fmt::format_to(std::back_inserter(out),
                       "{:>5} {:>12.3f} {:>12.3f} {:>7.1f} {:>10.{}f} {:>9.{}f}\n", r.label,
                       r.busy_ms, r.idle_ms, r.busy_pct, r.switches, count_decimals,
                       r.migrations_in, count_decimals);
    }
    if (s.task_stats)
        out += s.task_stats->table();
    return out;
}

}  // namespace schedkit
