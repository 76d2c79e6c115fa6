// sim_stats.cpp: the simulator's end-of-run accounting (sim_stats.h).
#include "sim/sim_stats.h"

#include <algorithm>

namespace schedkit::sim {

EnergyAccount account_energy(std::vector<CpuState>& cpus, const PowerModel& power, uint64_t now,
                             uint64_t end, std::vector<CpuSummary>& summary_cpus) {
    EnergyAccount a;
    a.cpu_sleep_us.assign(cpus.size(), 0);
    for (size_t i = 0; i < cpus.size(); ++i) {
        CpuState& c = cpus[i];
        if (c.asleep)
            c.sleeps.emplace_back(c.asleep_since_ns, std::max(now, end));
        uint64_t asleep = 0;
        for (auto [from, to] : c.sleeps)
            if (from < end)
                asleep += std::min(to, end) - from;
        uint64_t busy = std::min(c.busy_ns, end);
        asleep = std::min(asleep, end - busy);
        uint64_t idle = end - busy - asleep;
        a.energy_j += c.busy_energy_j + 1e-9 * (static_cast<double>(idle) * power.idle_w +
                                                static_cast<double>(asleep) * power.sleep_w);
        a.sleep_ns += asleep;
        a.cpu_sleep_us[i] = static_cast<double>(asleep) / 1e3;
        if (i < summary_cpus.size()) {
            CpuSummary& cs = summary_cpus[i];
            cs.idle_us = std::max(0.0, cs.idle_us - a.cpu_sleep_us[i]);
        }
    }
    return a;
}

}  // namespace schedkit::sim
