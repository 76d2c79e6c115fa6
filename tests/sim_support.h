// sim_support.h: build workload specs in code for simulator tests.
#pragma once

#include <rapidcheck.h>

#include <cstdint>
#include <string>
#include <vector>

#include "schedkit/sim.h"
#include "schedkit/workload.h"

namespace schedkit::test {

inline Duration fixed(uint64_t ns) {
    return Duration{Duration::Kind::Fixed, ns, 0};
}
inline Step run(uint64_t ns) {
    return Step{Step::Kind::Run, fixed(ns), -1, 1, false, {}};
}
inline Step block(uint64_t ns) {
    return Step{Step::Kind::Block, fixed(ns), -1, 1, false, {}};
}
inline Step spawn(int group, int count, bool join) {
    return Step{Step::Kind::Spawn, {}, group, count, join, {}};
}

inline GroupSpec group(std::string name, int count, std::vector<Step> behavior, int repeat = 1) {
    GroupSpec g;
    g.name = std::move(name);
    g.count = count;
    g.behavior = std::move(behavior);
    g.repeat = repeat;
    return g;
}

inline WorkloadSpec spec(std::vector<GroupSpec> groups, uint64_t seed = 1) {
    WorkloadSpec s;
    s.path = "test.yaml";
    s.name = "test";
    s.seed = seed;
    s.groups = std::move(groups);
    return s;
}

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kUs = 1'000;

// no_costs() is a simulator configuration whose context switches and
// migrations are free, so expected figures can be computed by hand;
// quantum_ns 0 keeps each policy's own slice.
inline SimConfig no_costs(uint64_t quantum_ns = 0) {
    SimConfig c;
    c.context_switch_ns = 0;
    c.migration_cost_ns.fill(0);
    c.quantum_ns = quantum_ns;
    return c;
}

// RandomGroupRanges bounds random_groups(). Each range is half-open, as
// rc::gen::inRange: [min, max).
struct RandomGroupRanges {
    int max_steps = 5;  // steps per group: 1 to max_steps - 1
    int min_step_us = 0;
    int max_step_us = 5000;  // a run or block step's length
    int max_count = 20;      // tasks a group creates by arrival: 0 to max_count - 1
    int min_rate_per_s = 100;
    int max_rate_per_s = 5000;  // Poisson arrivals, when a group has them
};

// random_groups() generates, inside a rapidcheck property, one to three
// groups for a spec on `cpus` CPUs: runs, blocks and spawns of a later group,
// repeated once or twice, each group maybe with an affinity range and maybe
// with Poisson arrivals.
inline std::vector<GroupSpec> random_groups(int cpus, const RandomGroupRanges& r = {}) {
    int ngroups = *rc::gen::inRange(1, 4);
    std::vector<GroupSpec> groups;
    for (int g = 0; g < ngroups; ++g) {
        std::vector<Step> steps;
        int nsteps = *rc::gen::inRange(1, r.max_steps);
        for (int s = 0; s < nsteps; ++s) {
            int kind = *rc::gen::inRange(0, 4);
            uint64_t d =
                static_cast<uint64_t>(*rc::gen::inRange(r.min_step_us, r.max_step_us)) * kUs;
            if (kind <= 1)
                steps.push_back(run(d));
            if (kind == 2)
                steps.push_back(block(d));
            if (kind == 3 && g + 1 < ngroups)
                steps.push_back(spawn(g + 1, *rc::gen::inRange(1, 4), *rc::gen::arbitrary<bool>()));
        }
        GroupSpec gs = group("g" + std::to_string(g), *rc::gen::inRange(0, r.max_count), steps,
                             *rc::gen::inRange(1, 3));
        if (*rc::gen::arbitrary<bool>()) {
            int lo = *rc::gen::inRange(0, cpus);
            gs.affinity = CpuSet::range(lo, *rc::gen::inRange(lo, cpus));
        }
        if (*rc::gen::arbitrary<bool>())
            gs.arrival = Arrival{Arrival::Kind::Poisson, 0,
                                 double(*rc::gen::inRange(r.min_rate_per_s, r.max_rate_per_s))};
        groups.push_back(gs);
    }
    return groups;
}

}  // namespace schedkit::test
