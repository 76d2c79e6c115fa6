// compare_split.h: a list of policies with options, as --policies takes it.
#pragma once

#include <string>
#include <vector>

namespace schedkit::cli {

// split_policies() splits "fair:nr_migrate=16,tick_us=500,steal" at the
// commas between policies: a piece with '=' and no ':' is one more option
// of the policy before it.
std::vector<std::string> split_policies(const std::string& list);

}  // namespace schedkit::cli
