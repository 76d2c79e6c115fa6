// yaml_guard.h: a bound on what a YAML text may cost before yaml-cpp builds
// a tree of it (internal to the spec parser).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace schedkit::detail {

// check_yaml_shape() streams the YAML events of `yaml` (no tree is built,
// so memory stays small) and throws InputError "path:line:column: ..." when
//  - the text holds a second document (it would be silently ignored), or
//  - it has more than max_nodes nodes, counting each alias as the whole
//    subtree it names (an "alias bomb" of a few lines expands to 10^9).
// yaml-cpp spends a few hundred bytes per node of its tree and the spec
// parser walks aliases expanded, so this bounds both.
void check_yaml_shape(std::string_view yaml, const std::string& path, uint64_t max_nodes);

}  // namespace schedkit::detail
