// governor.h: CPU frequency levels and the shared, reference-counted governor service.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>

namespace schedkit {

class Scheduler;

// Frequency levels. RunQueue::freq_level indexes kFreqSpeedPm, the relative
// speed of a CPU at that level in per mille of its maximum (1.2 to 3.0 GHz in
// 0.3 GHz steps on a 3 GHz part); -1 means "not governed", i.e. maximum.
// The simulator runs a burst at this speed (see docs/policies.md).
inline constexpr int kNumFreqLevels = 7;
inline constexpr int kMinFreqLevel = 0;
inline constexpr int kMaxFreqLevel = kNumFreqLevels - 1;
inline constexpr std::array<uint32_t, kNumFreqLevels> kFreqSpeedPm = {400, 500, 600, 700,
                                                                      800, 900, 1000};

// freq_speed_pm() is the speed of `level` in per mille; -1 (ungoverned) and
// out-of-range levels run at full speed.
constexpr uint32_t freq_speed_pm(int level) {
    return level < 0 || level >= kNumFreqLevels ? 1000 : kFreqSpeedPm[static_cast<size_t>(level)];
}

// GovernorService drives CPU frequency levels for the policies that scale
// frequency (governor, and dynamic for its main CPU). It is shared: every
// such policy holds a std::shared_ptr from acquire_governor(), so a policy
// that stops only drops its own reference and can never tear the service
// down under another policy that still uses it (DESIGN story 2).
//
// Per-CPU state lives in each RunQueue::freq_level (atomic), so the service
// itself only counts. Thread-safe.
class GovernorService {
  public:
    GovernorService();
    ~GovernorService();
    GovernorService(const GovernorService&) = delete;
    GovernorService& operator=(const GovernorService&) = delete;

    // level() is cpu's effective level (kMaxFreqLevel when ungoverned).
    int level(const Scheduler& sched, int cpu) const;
    // set_level() sets cpu's level, clamped to [kMinFreqLevel, kMaxFreqLevel].
    void set_level(Scheduler& sched, int cpu, int level);
    void step_up(Scheduler& sched, int cpu) { set_level(sched, cpu, level(sched, cpu) + 1); }
    void step_down(Scheduler& sched, int cpu) { set_level(sched, cpu, level(sched, cpu) - 1); }
    // release() returns cpu to the ungoverned maximum.
    void release(Scheduler& sched, int cpu);

    // changes() counts level changes made through this service.
    uint64_t changes() const { return changes_.load(std::memory_order_relaxed); }
    // alive() is how many services exist now (0 or 1): for tests of sharing.
    static int alive();

  private:
    std::atomic<uint64_t> changes_{0};
};

// acquire_governor() returns the process-wide governor service, creating it
// when nobody holds one. It is destroyed when the last holder lets go.
// Thread-safe.
std::shared_ptr<GovernorService> acquire_governor();

}  // namespace schedkit
