// groups.cpp: per-group statistics of a run (groups.h).
#include "report/groups.h"

#include <algorithm>

namespace schedkit {

std::vector<GroupSummary> group_summaries(const std::vector<uint64_t>& waits,
                                          const std::vector<int32_t>& wait_groups,
                                          const std::vector<uint64_t>& responses,
                                          const std::vector<int32_t>& response_groups,
                                          const std::vector<uint64_t>& services,
                                          const std::vector<std::string>& names) {
    int32_t top = -1;
    for (int32_t g : wait_groups)
        top = std::max(top, g);
    for (int32_t g : response_groups)
        top = std::max(top, g);
    auto n = static_cast<size_t>(top + 1);
    std::vector<std::vector<uint64_t>> w(n), r(n);
    std::vector<std::vector<double>> slow(n);
    for (size_t i = 0; i < waits.size(); ++i)
        if (wait_groups[i] >= 0)
            w[static_cast<size_t>(wait_groups[i])].push_back(waits[i]);
    for (size_t i = 0; i < responses.size(); ++i) {
        if (response_groups[i] < 0)
            continue;
        auto g = static_cast<size_t>(response_groups[i]);
        r[g].push_back(responses[i]);
        if (services[i] > 0)
            slow[g].push_back(static_cast<double>(responses[i]) / static_cast<double>(services[i]));
    }
    std::vector<GroupSummary> out;
    for (size_t g = 0; g < n; ++g) {
        if (w[g].empty() && r[g].empty())
            continue;
        GroupSummary s;
        s.group = static_cast<int>(g);
        s.name = g < names.size() ? names[g] : "group" + std::to_string(g);
        s.completed = r[g].size();
        s.wait_us = percentiles_us(std::move(w[g]));
        s.response_us = percentiles_us(std::move(r[g]));
        s.slowdown = percentiles_of(std::move(slow[g]));
        out.push_back(std::move(s));
    }
    return out;
}

}  // namespace schedkit
