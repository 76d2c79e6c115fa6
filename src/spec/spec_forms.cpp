// spec_forms.cpp: the value forms of a workload spec that take more than one
// scalar: distributions, arrivals, and files of durations or timestamps.
#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "spec/spec_parser.h"

namespace schedkit::spec_detail {

namespace {

// Bursts and MMPP states shorter than this many expected arrivals make the
// draw loop step through millions of empty periods per arrival.
constexpr double kMinArrivalsPerCycle = 1e-4;

constexpr std::string_view kDistributions =
    "exactly one of exp, uniform, normal, lognormal, pareto, empirical, bimodal";

// trim() strips spaces and tabs (and a CR) at both ends.
std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

}  // namespace

double SpecParser::real(const YAML::Node& n, SourceLoc at, std::string_view what, double lo,
                        bool lo_open, double hi, std::string_view expected) const {
    if (!n.IsScalar())
        fail(at, fmt::format("{} is {}", what, kind_name(n)), expected);
    const std::string& text = n.Scalar();
    double v = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || ptr != text.data() + text.size() || !std::isfinite(v))
        fail(at, fmt::format("{} '{}' is not a number", what, text), expected);
    if (v < lo || (lo_open && v == lo) || v > hi)
        fail(at,
             fmt::format("{} {} is {}", what, text,
                         lo == 0 && lo_open && v <= 0 ? "not positive" : "out of range"),
             expected);
    return v;
}

std::string SpecParser::resolve_file(const std::string& name) const {
    std::filesystem::path p(name);
    if (p.is_absolute())
        return name;
    return (std::filesystem::path(path_).parent_path() / p).string();
}

std::vector<uint64_t> SpecParser::duration_file(const YAML::Node& n, SourceLoc at,
                                                std::string_view what, bool sorted) const {
    constexpr std::string_view kFile = "a readable file with one duration per line (e.g. 250us)";
    if (!n.IsScalar() || n.Scalar().empty())
        fail(at, fmt::format("{} is {}", what, n.IsScalar() ? "empty" : kind_name(n)),
             "the path of a file of durations, relative to the spec");
    std::string file = resolve_file(n.Scalar());
    // A device (/dev/zero), a FIFO or a huge file would be read forever or
    // into all of memory: only a regular file up to kMaxFileBytes.
    constexpr uintmax_t kMaxFileBytes = 64u << 20;
    std::error_code fec;
    auto st = std::filesystem::status(file, fec);
    if (!fec && std::filesystem::exists(st) && !std::filesystem::is_directory(st) &&
        !std::filesystem::is_regular_file(st))
        fail(at, fmt::format("{} '{}' is not a regular file", what, file), kFile);
    if (!fec && std::filesystem::is_regular_file(st) &&
        std::filesystem::file_size(file, fec) > kMaxFileBytes)
        fail(at, fmt::format("{} '{}' is larger than 64 MiB", what, file), kFile);
    std::ifstream in(file, std::ios::binary);
    if (!in || std::filesystem::is_directory(file))
        fail(at,
             fmt::format("cannot open {} '{}' ({})", what, file,
                         in ? "a directory" : std::strerror(errno)),
             kFile);
    std::vector<uint64_t> out;
    std::string line;
    for (int lineno = 1; std::getline(in, line); ++lineno) {
        std::string_view text(line);
        if (size_t hash = text.find('#'); hash != std::string_view::npos)
            text = text.substr(0, hash);
        std::string_view value = trim(text);
        if (value.empty())
            continue;
        int column = static_cast<int>(value.data() - line.data()) + 1;
        std::string place = fmt::format("{}:{}:{}", file, lineno, column);
        uint64_t ns = parse_duration(value, place);
        if (sorted && !out.empty() && ns < out.back())
            throw InputError(fmt::format(
                "{}: timestamp '{}' is before the one on the line above; expected timestamps in "
                "non-decreasing order",
                place, value));
        out.push_back(ns);
    }
    if (in.bad())
        fail(at, fmt::format("cannot read {} '{}'", what, file), kFile);
    if (out.empty())
        fail(at, fmt::format("{} '{}' has no values", what, file), kFile);
    return out;
}

Duration SpecParser::distribution(const Entry& e) const {
    std::vector<Entry> es =
        entries(e.value, "a distribution",
                {"exp", "uniform", "normal", "lognormal", "pareto", "empirical", "bimodal"});
    if (es.empty())
        fail(e.value_loc(), fmt::format("'{}' is an empty map", e.key), kDurationForms);
    if (es.size() > 1)
        fail(es[1].key_loc(),
             fmt::format("distribution has two kinds ('{}' and '{}')", es[0].key, es[1].key),
             kDistributions);
    const Entry& d = es[0];
    if (d.key == "exp")
        return Duration{Duration::Kind::Exp, duration_value(d.value, d.value_loc(), "exp mean"), 0};
    if (d.key == "pareto")
        return pareto(d);
    if (d.key == "empirical")
        return empirical(d);
    if (d.key == "bimodal")
        return bimodal(d);

    // The two-value list forms.
    std::string expected = d.key == "uniform"
                               ? "[low, high], e.g. uniform: [1ms, 3ms]"
                               : fmt::format("[mean, stddev], e.g. {}: [2ms, 500us]", d.key);
    if (!d.value.IsSequence() || d.value.size() != 2)
        fail(d.value_loc(),
             d.value.IsSequence() ? fmt::format("'{}' is a list of {}", d.key, d.value.size())
                                  : fmt::format("'{}' is {}", d.key, kind_name(d.value)),
             expected);
    YAML::Node first = d.value[0], second = d.value[1];
    uint64_t a = duration_value(first, loc_of(first), d.key);
    uint64_t b = duration_value(second, loc_of(second), d.key);
    if (d.key == "uniform") {
        if (a > b)
            fail(
                loc_of(second),
                fmt::format("uniform high '{}' is below low '{}'", second.Scalar(), first.Scalar()),
                "low <= high");
        return Duration{Duration::Kind::Uniform, a, b};
    }
    if (d.key == "lognormal") {
        if (a == 0)
            fail(loc_of(first), "lognormal mean is 0", "a mean above 0 (a lognormal is positive)");
        return Duration::lognormal(a, b);
    }
    return Duration{Duration::Kind::Normal, a, b};
}

Duration SpecParser::pareto(const Entry& d) const {
    constexpr std::string_view kForm = "{min: <duration>, shape: <alpha>, max: <duration>}";
    require(d.value, YAML::NodeType::Map, d.value_loc(), "'pareto'", kForm);
    const Entry* min = nullptr;
    const Entry* shape = nullptr;
    const Entry* max = nullptr;
    std::vector<Entry> es = entries(d.value, "a pareto distribution", {"min", "shape", "max"});
    for (const Entry& x : es)
        (x.key == "min" ? min : x.key == "shape" ? shape : max) = &x;
    if (!min || !shape)
        fail(d.value_loc(), fmt::format("pareto has no '{}'", min ? "shape" : "min"), kForm);
    uint64_t lo = duration_value(min->value, min->value_loc(), "pareto min");
    if (lo == 0)
        fail(min->value_loc(), "pareto min is 0", "a minimum above 0 (the distribution's scale)");
    uint64_t cap = max ? duration_value(max->value, max->value_loc(), "pareto max") : 0;
    if (max && cap < lo)
        fail(max->value_loc(), "pareto max is below its min", "max >= min");
    double alpha = max ? real(shape->value, shape->value_loc(), "shape", 0, true, 1e6,
                              "a shape (tail index) above 0")
                       : real(shape->value, shape->value_loc(), "shape", 1, true, 1e6,
                              "a shape above 1 (the mean is infinite otherwise), or a 'max'");
    return Duration::pareto(lo, alpha, cap);
}

Duration SpecParser::empirical(const Entry& d) const {
    constexpr std::string_view kForm = "a list of durations [1ms, 3ms, ...] or {file: <path>}";
    if (d.value.IsSequence()) {
        if (d.value.size() == 0)
            fail(d.value_loc(), "'empirical' is an empty list", kForm);
        std::vector<uint64_t> values;
        for (size_t i = 0; i < d.value.size(); ++i)
            values.push_back(duration_value(d.value[i], loc_of(d.value[i]), "empirical value"));
        return Duration::empirical(std::move(values));
    }
    require(d.value, YAML::NodeType::Map, d.value_loc(), "'empirical'", kForm);
    std::vector<Entry> es = entries(d.value, "an empirical distribution", {"file"});
    if (es.empty())
        fail(d.value_loc(), "'empirical' is an empty map", kForm);
    return Duration::empirical(
        duration_file(es[0].value, es[0].value_loc(), "samples file", false));
}

Duration SpecParser::bimodal(const Entry& d) const {
    constexpr std::string_view kForm = "{low: <duration>, high: <duration>, p_high: <0..1>}";
    require(d.value, YAML::NodeType::Map, d.value_loc(), "'bimodal'", kForm);
    const Entry* low = nullptr;
    const Entry* high = nullptr;
    const Entry* p = nullptr;
    const std::vector<Entry> es =
        entries(d.value, "a bimodal distribution", {"low", "high", "p_high"});
    for (const Entry& x : es)  // the pointers below point into es: it must outlive them
        (x.key == "low" ? low : x.key == "high" ? high : p) = &x;
    if (!low || !high || !p)
        fail(d.value_loc(),
             fmt::format("bimodal has no '{}'", !low    ? "low"
                                                : !high ? "high"
                                                        : "p_high"),
             kForm);
    uint64_t a = duration_value(low->value, low->value_loc(), "bimodal low");
    uint64_t b = duration_value(high->value, high->value_loc(), "bimodal high");
    double prob = real(p->value, p->value_loc(), "p_high", 0, false, 1,
                       "a probability from 0 to 1 (the share of draws that are 'high')");
    return Duration::bimodal(a, b, prob);
}

Arrival SpecParser::arrival(const Entry& e, bool& from_trace) const {
    constexpr std::string_view kForms =
        "{at: T}, {rate: R, start: T}, {rate: R, on: T, off: T}, {period: T, jitter: T}, "
        "{rates: [R, ...], dwell: [T, ...]} or {trace: <file>}";
    require(e.value, YAML::NodeType::Map, e.value_loc(), "'arrival'", kForms);
    std::vector<Entry> es = entries(
        e.value, "an arrival",
        {"at", "rate", "start", "period", "jitter", "on", "off", "rates", "dwell", "trace"});
    auto find = [&](std::string_view key) -> const Entry* {
        for (const Entry& x : es)
            if (x.key == key)
                return &x;
        return nullptr;
    };
    // One primary key says the kind; the others qualify it.
    const Entry* primary = nullptr;
    for (const Entry& x : es) {
        bool is_primary = x.key == "at" || x.key == "rate" || x.key == "period" ||
                          x.key == "rates" || x.key == "trace";
        if (!is_primary)
            continue;
        if (primary)
            fail(x.key_loc(), fmt::format("arrival mixes '{}' with '{}'", primary->key, x.key),
                 kForms);
        primary = &x;
    }
    struct Qualifier {
        std::string_view key, owners;
    };
    for (Qualifier q :
         {Qualifier{"start", "rate period rates trace"}, Qualifier{"jitter", "period"},
          Qualifier{"on", "rate"}, Qualifier{"off", "rate"}, Qualifier{"dwell", "rates"}}) {
        const Entry* x = find(q.key);
        if (!x || (primary && q.owners.find(primary->key) != std::string_view::npos))
            continue;
        if (primary)
            fail(x->key_loc(), fmt::format("'{}' does not go with '{}'", q.key, primary->key),
                 kForms);
        std::string owners(q.owners);
        for (size_t i = 0; (i = owners.find(' ', i)) != std::string::npos;)
            owners.replace(i, 1, "', '"), i += 4;
        fail(x->key_loc(), fmt::format("'{}' without '{}'", q.key, owners), kForms);
    }
    if (!primary)
        fail(e.value_loc(), "arrival has none of 'at', 'rate', 'period', 'rates', 'trace'", kForms);

    Arrival a;
    from_trace = false;
    if (const Entry* start = find("start"))
        a.at_ns = duration_value(start->value, start->value_loc(), "start");
    const std::string& kind = primary->key;
    if (kind == "at") {
        a.at_ns = duration_value(primary->value, primary->value_loc(), "at");
    } else if (kind == "rate") {
        a.kind = Arrival::Kind::Poisson;
        a.rate_per_s = real(primary->value, primary->value_loc(), "rate", 0, true, HUGE_VAL,
                            "a rate in tasks per second above 0");
        const Entry* on = find("on");
        const Entry* off = find("off");
        if (on || off) {
            if (!on || !off)
                fail((on ? on : off)->key_loc(),
                     fmt::format("'{}' without '{}'", on ? "on" : "off", on ? "off" : "on"),
                     "both 'on' and 'off' (the lengths of the bursts and of the pauses)");
            a.kind = Arrival::Kind::Burst;
            a.on = duration(*on);
            a.off = duration(*off);
            if (!(a.on.mean_ns() > 0))
                fail(on->value_loc(), "'on' periods have length 0", "on periods of mean above 0");
            // Drawing walks period by period: a burst must hold a fair
            // fraction of an arrival, or a few arrivals take billions of steps.
            if (a.rate_per_s * a.on.mean_ns() / 1e9 < kMinArrivalsPerCycle)
                fail(
                    on->value_loc(),
                    fmt::format("on periods of {:.0f} ns hold only {:.2g} arrivals each at rate {}",
                                a.on.mean_ns(), a.rate_per_s * a.on.mean_ns() / 1e9, a.rate_per_s),
                    fmt::format("on periods long enough for {} arrivals at the rate",
                                kMinArrivalsPerCycle));
        }
    } else if (kind == "period") {
        a.kind = Arrival::Kind::Periodic;
        a.period_ns = duration_value(primary->value, primary->value_loc(), "period");
        if (a.period_ns == 0)
            fail(primary->value_loc(), "period is 0", "a period above 0");
        if (const Entry* jitter = find("jitter"))
            a.jitter_ns = duration_value(jitter->value, jitter->value_loc(), "jitter");
    } else if (kind == "rates") {
        mmpp(*primary, find("dwell"), a);
    } else {
        a.kind = Arrival::Kind::Trace;
        a.times = std::make_shared<const std::vector<uint64_t>>(
            duration_file(primary->value, primary->value_loc(), "trace file", true));
        from_trace = true;
    }
    return a;
}

void SpecParser::mmpp(const Entry& rates, const Entry* dwell, Arrival& a) const {
    constexpr std::string_view kForm =
        "{rates: [R1, R2, ...], dwell: [T1, T2, ...]}: a rate per state and the mean time in it";
    a.kind = Arrival::Kind::Mmpp;
    if (!rates.value.IsSequence() || rates.value.size() < 2)
        fail(rates.value_loc(),
             rates.value.IsSequence() ? fmt::format("'rates' has {} state", rates.value.size())
                                      : fmt::format("'rates' is {}", kind_name(rates.value)),
             kForm);
    if (!dwell)
        fail(rates.key_loc(), "'rates' without 'dwell'", kForm);
    if (!dwell->value.IsSequence() || dwell->value.size() != rates.value.size())
        fail(dwell->value_loc(),
             fmt::format("'dwell' has {} values for {} rates",
                         dwell->value.IsSequence() ? dwell->value.size() : 0, rates.value.size()),
             "one mean dwell time per rate");
    bool any = false;
    for (size_t i = 0; i < rates.value.size(); ++i) {
        YAML::Node r = rates.value[i], d = dwell->value[i];
        a.rates.push_back(real(r, loc_of(r), "rate", 0, false, HUGE_VAL,
                               "a rate in tasks per second, 0 or above"));
        any = any || a.rates.back() > 0;
        a.dwell_ns.push_back(duration_value(d, loc_of(d), "dwell"));
        if (a.dwell_ns.back() == 0)
            fail(loc_of(d), "dwell time is 0", "a mean time in the state above 0");
    }
    if (!any)
        fail(rates.value_loc(), "every rate is 0", "at least one state with a rate above 0");
    // As for bursts: one cycle through the states must expect a fair
    // fraction of an arrival.
    double per_cycle = 0;
    for (size_t i = 0; i < a.rates.size(); ++i)
        per_cycle += a.rates[i] * static_cast<double>(a.dwell_ns[i]) / 1e9;
    if (per_cycle < kMinArrivalsPerCycle)
        fail(dwell->value_loc(),
             fmt::format("one cycle through the states expects only {:.2g} arrivals", per_cycle),
             fmt::format("dwell times long enough for {} arrivals per cycle at the rates",
                         kMinArrivalsPerCycle));
}

}  // namespace schedkit::spec_detail
