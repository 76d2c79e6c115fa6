// sim_stats.h: the simulator's end-of-run accounting (energy, sleep).
#pragma once

#include <cstdint>
#include <vector>

#include "schedkit/report.h"
#include "schedkit/sim.h"
#include "sim/sim_state.h"

namespace schedkit::sim {

// EnergyAccount is what account_energy() found.
struct EnergyAccount {
    double energy_j = 0;
    uint64_t sleep_ns = 0;             // asleep time, summed over CPUs
    std::vector<double> cpu_sleep_us;  // per CPU
};

// account_energy() prices every CPU's [0, end): busy segments at their speed
// (already summed in CpuState), asleep time at sleep power, the rest of the
// idle time at idle power. It closes an asleep interval still open at `now`.
// Asleep time is reported apart from idle time, so it is taken out of each
// CPU's idle_us in `summary_cpus` (busy + idle + asleep = makespan).
EnergyAccount account_energy(std::vector<CpuState>& cpus, const PowerModel& power, uint64_t now,
                             uint64_t end, std::vector<CpuSummary>& summary_cpus);

}  // namespace schedkit::sim
