// sim_support.h: build workload specs in code for simulator tests.
#pragma once

#include <string>
#include <vector>

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

}  // namespace schedkit::test
