// duration.cpp: time values in workload specs, fixed or drawn from a distribution.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <numbers>

#include "schedkit/budget.h"
#include "schedkit/error.h"
#include "schedkit/workload.h"

namespace schedkit {

namespace {

// Every duration is at most 2^53 ns (budget.h): sums of them stay far from
// 2^64 and every value is exact as a double.
constexpr uint64_t kMaxNs = kMaxDurationNs;

// unit_to_ns() is the length of one unit in ns, or 0 for an unknown unit.
uint64_t unit_to_ns(std::string_view unit) {
    if (unit == "ns")
        return 1;
    if (unit == "us")
        return 1'000;
    if (unit == "ms")
        return 1'000'000;
    if (unit == "s")
        return 1'000'000'000;
    return 0;
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// The distributions are written out here rather than taken from <random>:
// std::exponential_distribution and friends are implementation-defined, so a
// seed would replay differently under another standard library. xoshiro256**'s
// raw output is fully specified, and so is everything below apart from the
// last bit of libm's log/cos/sqrt.

// unit_interval() is uniform on [0, 1) with 53 random bits.
double unit_interval(Rng& rng) {
    return static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

// to_ns() rounds a non-negative real to ns, saturating at kMaxNs rather
// than wrapping (a huge mean or an extreme draw is still a valid time).
uint64_t to_ns(double x) {
    if (!(x > 0))
        return 0;
    if (x >= static_cast<double>(kMaxNs))
        return kMaxNs;
    return static_cast<uint64_t>(std::round(x));
}

}  // namespace

uint64_t Duration::sample(Rng& rng) const {
    const double a = static_cast<double>(a_ns);
    const double b = static_cast<double>(b_ns);
    switch (kind) {
        case Kind::Fixed:
            // Consumes no randomness, so adding a fixed step to a spec does not
            // shift the draws of the distributions after it.
            return a_ns;
        case Kind::Exp:
            // Inverse CDF; 1 - u lies in (0, 1], so the log is finite.
            return to_ns(-a * std::log(1.0 - unit_interval(rng)));
        case Kind::Uniform: {
            // Integers low..high inclusive, each equally likely.
            double span = static_cast<double>(b_ns - a_ns) + 1.0;
            uint64_t offset = to_ns(std::floor(unit_interval(rng) * span));
            return a_ns + std::min(offset, b_ns - a_ns);
        }
        case Kind::Normal: {
            // Box-Muller; the sine half of the pair is dropped so each sample
            // costs exactly two draws and sample() keeps no state.
            double u1 = 1.0 - unit_interval(rng);
            double u2 = unit_interval(rng);
            double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
            return to_ns(a + b * z);
        }
        case Kind::Pareto: {
            // Inverse CDF: min / (1 - u)^(1/alpha), 1 - u in (0, 1].
            double x = a * std::exp(-std::log(1.0 - unit_interval(rng)) / shape);
            uint64_t v = to_ns(x);
            return b_ns != 0 ? std::min(v, b_ns) : v;
        }
        case Kind::Lognormal: {
            // exp of a normal, Box-Muller as above (two draws).
            double u1 = 1.0 - unit_interval(rng);
            double u2 = unit_interval(rng);
            double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
            return to_ns(std::exp(mu + sigma * z));
        }
        case Kind::Empirical: {
            const auto& v = *samples;
            auto i = static_cast<size_t>(unit_interval(rng) * static_cast<double>(v.size()));
            return v[std::min(i, v.size() - 1)];
        }
        case Kind::Bimodal:
            // Exactly one draw, whichever mode it picks.
            return unit_interval(rng) < shape ? b_ns : a_ns;
    }
    return a_ns;
}

Duration Duration::pareto(uint64_t min_ns, double alpha, uint64_t cap_ns) {
    Duration d(Kind::Pareto, min_ns, cap_ns);
    d.shape = alpha;
    return d;
}

Duration Duration::lognormal(uint64_t mean_ns, uint64_t stddev_ns) {
    Duration d(Kind::Lognormal, mean_ns, stddev_ns);
    // For a lognormal of mean m and deviation s: sigma^2 = ln(1 + s^2/m^2)
    // and mu = ln(m) - sigma^2 / 2.
    double m = static_cast<double>(mean_ns), s = static_cast<double>(stddev_ns);
    double var_log = std::log1p((s / m) * (s / m));
    d.sigma = std::sqrt(var_log);
    d.mu = std::log(m) - var_log / 2.0;
    return d;
}

Duration Duration::empirical(std::vector<uint64_t> values) {
    Duration d(Kind::Empirical, 0, 0);
    if (!values.empty()) {
        d.a_ns = *std::min_element(values.begin(), values.end());
        d.b_ns = *std::max_element(values.begin(), values.end());
    }
    d.samples = std::make_shared<const std::vector<uint64_t>>(std::move(values));
    return d;
}

Duration Duration::bimodal(uint64_t low_ns, uint64_t high_ns, double p_high) {
    Duration d(Kind::Bimodal, low_ns, high_ns);
    d.shape = p_high;
    return d;
}

double Duration::mean_ns() const {
    const double a = static_cast<double>(a_ns);
    const double b = static_cast<double>(b_ns);
    switch (kind) {
        case Kind::Fixed:
        case Kind::Exp:
            return a;
        case Kind::Uniform:
            return (a + b) / 2.0;
        case Kind::Normal: {
            if (b_ns == 0)
                return a;
            // Negative draws become 0, which raises the mean above `a`:
            // E[max(0, X)] = mu * Phi(mu/sigma) + sigma * phi(mu/sigma).
            double t = a / b;
            double cdf = 0.5 * std::erfc(-t / std::numbers::sqrt2);
            double pdf = std::exp(-0.5 * t * t) / std::sqrt(2.0 * std::numbers::pi);
            return a * cdf + b * pdf;
        }
        case Kind::Pareto: {
            if (b_ns == 0)
                return shape > 1 ? shape * a / (shape - 1) : INFINITY;
            // E[min(X, cap)] = min + integral from min to cap of (min/x)^alpha.
            if (b <= a)
                return b;
            if (std::abs(shape - 1) < 1e-12)
                return a + a * std::log(b / a);
            return a + a * (1 - std::pow(a / b, shape - 1)) / (shape - 1);
        }
        case Kind::Lognormal:
            return a;
        case Kind::Empirical: {
            double sum = 0;
            for (uint64_t v : *samples)
                sum += static_cast<double>(v);
            return samples->empty() ? 0 : sum / static_cast<double>(samples->size());
        }
        case Kind::Bimodal:
            return (1 - shape) * a + shape * b;
    }
    return a;
}

uint64_t parse_duration(std::string_view text, std::string_view what, uint64_t max_ns) {
    auto fail = [&](std::string_view wrong) -> uint64_t {
        throw InputError(
            fmt::format("{}: {}; expected a non-negative number with a unit ns, us, ms or s (e.g. "
                        "250us, 1.5ms)",
                        what, wrong));
    };
    if (text.empty())
        return fail("empty duration");
    if (text.front() == '-')
        return fail(fmt::format("negative duration '{}'", text));

    // Integer and fraction parts are read as decimal digits, not through a
    // double, so "0.1s" is exactly 100000000 ns.
    size_t pos = 0;
    while (pos < text.size() && is_digit(text[pos]))
        ++pos;
    const size_t int_end = pos;
    size_t frac_begin = pos, frac_end = pos;
    if (pos < text.size() && text[pos] == '.') {
        frac_begin = ++pos;
        while (pos < text.size() && is_digit(text[pos]))
            ++pos;
        frac_end = pos;
        if (frac_begin == frac_end)
            return fail(fmt::format("no digits after '.' in '{}'", text));
    }
    if (int_end == 0)
        return fail(fmt::format("'{}' does not start with a number", text));

    std::string_view unit = text.substr(pos);
    if (unit.empty())
        return fail(fmt::format("'{}' has no unit", text));
    uint64_t scale = unit_to_ns(unit);
    if (scale == 0)
        return fail(fmt::format("unknown unit '{}' in '{}'", unit, text));

    uint64_t whole = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + int_end, whole);
    (void)ptr;
    auto too_long = [&] {
        return fail(max_ns == kMaxNs
                        ? fmt::format("'{}' is too long (above 2^53 ns, about 104 days)", text)
                        : fmt::format("'{}' is too long (above {} ns)", text, max_ns));
    };
    if (ec != std::errc{} || whole > max_ns / scale)
        return too_long();
    uint64_t ns = whole * scale;

    // Digits past the ninth are below 1 ns for every unit; ignoring them keeps
    // fraction * scale within 64 bits (< 1e9 * 1e9).
    uint64_t frac = 0, denom = 1;
    for (size_t i = frac_begin; i < frac_end && denom < 1'000'000'000; ++i) {
        frac = frac * 10 + static_cast<uint64_t>(text[i] - '0');
        denom *= 10;
    }
    uint64_t frac_ns = (frac * scale + denom / 2) / denom;
    if (frac_ns > max_ns - ns)
        return too_long();
    return ns + frac_ns;
}

}  // namespace schedkit
