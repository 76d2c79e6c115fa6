// arrivals.cpp: when a spec's initial tasks appear (workload.h).
#include <algorithm>
#include <cmath>

#include "schedkit/budget.h"
#include "schedkit/workload.h"

namespace schedkit {

namespace {

// A uniform in [0, 1) from the top 53 bits.
double unit_interval(Rng& rng) {
    return static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

// exp_gap() is an exponential time of mean `mean_ns`; -log(1 - u) is never
// infinite.
double exp_gap(Rng& rng, double mean_ns) {
    return -std::log1p(-unit_interval(rng)) * mean_ns;
}

// to_time() saturates at kMaxVirtualNs: a tiny rate makes huge gaps, and
// the run's --max-time then refuses the arrival (no undefined cast, no
// virtual time near 2^64).
uint64_t to_time(double t) {
    return t >= static_cast<double>(kMaxVirtualNs) ? kMaxVirtualNs : static_cast<uint64_t>(t);
}

// Burst: Poisson in "on" time. The exponential gap is memoryless, so a gap
// that outlasts the current on period carries its rest into the next one.
void draw_burst(const Arrival& a, int count, Rng& rng, std::vector<uint64_t>& out) {
    double t = static_cast<double>(a.at_ns);
    double on_end = t + static_cast<double>(a.on.sample(rng));
    const double mean_gap = 1e9 / a.rate_per_s;
    for (int i = 0; i < count; ++i) {
        double need = exp_gap(rng, mean_gap);
        while (t + need > on_end) {
            need -= on_end - t;
            t = on_end + static_cast<double>(a.off.sample(rng));
            on_end = t + static_cast<double>(a.on.sample(rng));
        }
        t += need;
        out.push_back(to_time(t));
    }
}

// MMPP: the states follow each other in a cycle, each for an exponential
// time; within state s arrivals are Poisson at rates[s]. A gap that would
// leave the state is dropped and redrawn in the next (memoryless again).
void draw_mmpp(const Arrival& a, int count, Rng& rng, std::vector<uint64_t>& out) {
    const size_t n = a.rates.size();
    size_t s = 0;
    double t = static_cast<double>(a.at_ns);
    double state_end = t + exp_gap(rng, static_cast<double>(a.dwell_ns[0]));
    for (int i = 0; i < count;) {
        if (a.rates[s] > 0) {
            double gap = exp_gap(rng, 1e9 / a.rates[s]);
            if (t + gap <= state_end) {
                t += gap;
                out.push_back(to_time(t));
                ++i;
                continue;
            }
        }
        t = state_end;
        s = (s + 1) % n;
        state_end = t + exp_gap(rng, static_cast<double>(a.dwell_ns[s]));
    }
}

}  // namespace

double Arrival::mean_rate_per_s() const {
    switch (kind) {
        case Kind::At:
        case Kind::Trace:
            return 0;
        case Kind::Poisson:
            return rate_per_s;
        case Kind::Periodic:
            return period_ns == 0 ? 0 : 1e9 / static_cast<double>(period_ns);
        case Kind::Burst: {
            double on_ns = on.mean_ns(), off_ns = off.mean_ns();
            return rate_per_s * on_ns / (on_ns + off_ns);
        }
        case Kind::Mmpp: {
            double events = 0, total = 0;
            for (size_t i = 0; i < rates.size(); ++i) {
                events += rates[i] * static_cast<double>(dwell_ns[i]);
                total += static_cast<double>(dwell_ns[i]);
            }
            return total > 0 ? events / total : 0;
        }
    }
    return 0;
}

std::vector<uint64_t> draw_arrival_times(const Arrival& a, int count, Rng& rng) {
    std::vector<uint64_t> out;
    out.reserve(static_cast<size_t>(std::max(count, 0)));
    switch (a.kind) {
        case Arrival::Kind::At:
            out.assign(static_cast<size_t>(std::max(count, 0)), a.at_ns);
            break;
        case Arrival::Kind::Poisson: {
            double t = static_cast<double>(a.at_ns);
            for (int i = 0; i < count; ++i) {
                // Written as it always was, so Poisson draws stay bit-identical.
                t += -std::log1p(-unit_interval(rng)) / a.rate_per_s * 1e9;
                out.push_back(to_time(t));
            }
            break;
        }
        case Arrival::Kind::Periodic:
            for (int i = 0; i < count; ++i) {
                // Jitter draws like {uniform: [0, jitter]}; none without jitter.
                Duration jitter{Duration::Kind::Uniform, 0, a.jitter_ns};
                uint64_t j = a.jitter_ns == 0 ? 0 : jitter.sample(rng);
                double t = static_cast<double>(a.at_ns) +
                           static_cast<double>(i) * static_cast<double>(a.period_ns);
                out.push_back(to_time(t + static_cast<double>(j)));
            }
            break;
        case Arrival::Kind::Burst:
            draw_burst(a, count, rng, out);
            break;
        case Arrival::Kind::Mmpp:
            draw_mmpp(a, count, rng, out);
            break;
        case Arrival::Kind::Trace:
            for (int i = 0; i < count && a.times && static_cast<size_t>(i) < a.times->size(); ++i)
                out.push_back(a.at_ns + (*a.times)[static_cast<size_t>(i)]);
            break;
    }
    return out;
}

std::vector<TaskArrival> draw_arrivals(const WorkloadSpec& spec, uint64_t seed) {
    std::vector<TaskArrival> out;
    for (size_t gi = 0; gi < spec.groups.size(); ++gi) {
        const GroupSpec& g = spec.groups[gi];
        Rng rng(stream_seed(seed, kArrivalStream, gi));
        std::vector<uint64_t> times = draw_arrival_times(g.arrival, g.count, rng);
        for (size_t i = 0; i < times.size(); ++i)
            out.push_back({times[i], static_cast<int>(gi), static_cast<int>(i)});
    }
    return out;
}

}  // namespace schedkit
