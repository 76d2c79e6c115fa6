// arrivals.cpp: when a spec's initial tasks appear (workload.h).
#include <cmath>

#include "schedkit/workload.h"

namespace schedkit {

std::vector<TaskArrival> draw_arrivals(const WorkloadSpec& spec, Rng& rng) {
    std::vector<TaskArrival> out;
    for (size_t gi = 0; gi < spec.groups.size(); ++gi) {
        const GroupSpec& g = spec.groups[gi];
        double t = static_cast<double>(g.arrival.at_ns);
        for (int i = 0; i < g.count; ++i) {
            if (g.arrival.kind == Arrival::Kind::Poisson) {
                // A uniform in [0, 1) from the top 53 bits: -log(1 - u) is
                // an exponential gap that is never infinite.
                double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;
                t += -std::log1p(-u) / g.arrival.rate_per_s * 1e9;
            }
            out.push_back({static_cast<uint64_t>(t), static_cast<int>(gi), i});
        }
    }
    return out;
}

}  // namespace schedkit
