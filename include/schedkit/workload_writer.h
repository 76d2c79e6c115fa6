// workload_writer.h: a WorkloadSpec written back as YAML.
#pragma once

#include <string>

#include "schedkit/workload.h"

namespace schedkit {

// format_workload_yaml() writes `spec` in the format parse_workload() reads
// (docs/workload-format.md), so that parsing the text gives the same spec:
// groups in order with every key that differs from its default, fixed
// durations in the largest unit that keeps them exact, distributions in
// their map forms. `comment` (one or more lines, may be empty) is written
// first as '#' lines. Names must already be valid (group names
// [A-Za-z0-9_-]+); the text is not checked again. A group whose arrival
// comes from a file of timestamps (Arrival::Kind::Trace) cannot be written:
// std::invalid_argument.
std::string format_workload_yaml(const WorkloadSpec& spec, const std::string& comment = {});

// format_duration() writes ns as "<n><unit>" in the largest unit of ns, us,
// ms, s that keeps it exact ("1500us", "3ms", "17ns").
std::string format_duration(uint64_t ns);

}  // namespace schedkit
