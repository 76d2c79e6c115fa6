// governor_policy.h: the `governor` policy's frequency rule (internal; for tests).
#pragma once

namespace schedkit::governor {

// next_freq_level() is the governor's rule for a core that was `busy_pct`
// busy over the last period at frequency level `level` (SPDK's
// gscheduler): under 1% busy the minimum level, under 50% one step down,
// 99% or more the maximum, otherwise one step up.
int next_freq_level(double busy_pct, int level);

}  // namespace schedkit::governor
