#include "sim/expected_work.h"

#include <vector>

namespace schedkit::sim {

namespace {

struct Estimator {
    const WorkloadSpec& spec;
    std::vector<double> memo;
    std::vector<char> state;  // 0 unseen, 1 being computed, 2 done

    // per_task() is the expected work of one task of group `gi`, its
    // children included.
    double per_task(size_t gi) {
        if (state[gi] == 2)
            return memo[gi];
        if (state[gi] == 1)
            return 0;  // a cycle: counted once by the caller
        state[gi] = 1;
        const GroupSpec& g = spec.groups[gi];
        double once = 0;
        for (const Step& s : g.behavior) {
            if (s.kind == Step::Kind::Run)
                once += s.duration.mean_ns();
            else if (s.kind == Step::Kind::Spawn && s.spawn_group >= 0)
                once += s.spawn_count * per_task(static_cast<size_t>(s.spawn_group));
        }
        memo[gi] = once * (g.repeat > 0 ? g.repeat : 1);
        state[gi] = 2;
        return memo[gi];
    }
};

}  // namespace

double expected_work_ns(const WorkloadSpec& spec) {
    Estimator e{spec, std::vector<double>(spec.groups.size(), 0),
                std::vector<char>(spec.groups.size(), 0)};
    double total = 0;
    for (size_t gi = 0; gi < spec.groups.size(); ++gi)
        total += spec.groups[gi].count * e.per_task(gi);
    return total;
}

}  // namespace schedkit::sim
