// groups.h: per-group statistics of a run (RunSummary::groups).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "schedkit/report.h"

namespace schedkit {

// group_summaries() splits a run's samples by workload group: waits[i]
// belongs to group wait_groups[i], responses[i] (with service demand
// services[i]) to response_groups[i]. Samples of group -1 (a task outside
// any group) are left out. A group is named names[group] when there is one,
// else "group<index>". Slowdown is response / service demand, over the
// exits with a demand above zero. Groups come out in index order, only
// those with at least one sample.
std::vector<GroupSummary> group_summaries(const std::vector<uint64_t>& waits,
                                          const std::vector<int32_t>& wait_groups,
                                          const std::vector<uint64_t>& responses,
                                          const std::vector<int32_t>& response_groups,
                                          const std::vector<uint64_t>& services,
                                          const std::vector<std::string>& names);

}  // namespace schedkit
