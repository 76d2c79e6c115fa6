#include "schedkit/task.h"

#include <algorithm>
#include <cmath>

namespace schedkit {

const char* task_state_name(TaskState s) {
    switch (s) {
        case TaskState::New:
            return "new";
        case TaskState::Runnable:
            return "runnable";
        case TaskState::Running:
            return "running";
        case TaskState::Blocked:
            return "blocked";
        case TaskState::Exited:
            return "exited";
    }
    return "?";
}

uint32_t nice_to_weight(int nice) {
    // kernel/sched/core.c sched_prio_to_weight[]
    static constexpr uint32_t kWeights[40] = {
        88761, 71755, 56483, 46273, 36291, 29154, 23254, 18705, 14949, 11916,
        9548,  7620,  6100,  4904,  3906,  3121,  2501,  1991,  1586,  1277,
        1024,  820,   655,   526,   423,   335,   272,   215,   172,   137,
        110,   87,    70,    56,    45,    36,    29,    23,    18,    15,
    };
    return kWeights[std::clamp(nice, -20, 19) + 20];
}

namespace {

// decay_factor() is y^periods = 2^(-periods/32) without calling exp(): the
// whole half-lives shift the exponent (a table), the fraction comes from a
// 257-entry table with linear interpolation (relative error < 1e-5, far
// below what load balancing can notice). Called on every queue operation.
double decay_factor(double periods) {
    struct Tables {
        double frac[257];
        double whole[64];
        Tables() {
            for (int i = 0; i <= 256; ++i)
                frac[i] = std::exp2(-i / 256.0);
            for (int i = 0; i < 64; ++i)
                whole[i] = std::exp2(-i);
        }
    };
    static const Tables t;
    double half_lives = periods / Pelt::kHalfLifeMs;
    if (half_lives >= 64)
        return 0.0;  // 2^-64: nothing left worth tracking
    int w = static_cast<int>(half_lives);
    double pos = (half_lives - w) * 256.0;
    int i = static_cast<int>(pos);
    double f = t.frac[i] + (t.frac[i + 1] - t.frac[i]) * (pos - i);
    return f * t.whole[w];
}

}  // namespace

void Pelt::update(uint64_t now_ns, bool runnable, bool running) {
    if (now_ns <= last_update_ns)
        return;
    // Continuous form of PELT's geometric series: over dt the old average
    // decays by y^(dt/period) and the state contributes (1 - that).
    double periods = static_cast<double>(now_ns - last_update_ns) / static_cast<double>(kPeriodNs);
    double decay = decay_factor(periods);
    runnable_avg = runnable_avg * decay + (runnable ? 1.0 - decay : 0.0);
    running_avg = running_avg * decay + (running ? 1.0 - decay : 0.0);
    last_update_ns = now_ns;
}

}  // namespace schedkit
