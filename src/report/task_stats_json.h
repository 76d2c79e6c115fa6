// task_stats_json.h: TaskStats as the summary JSON's `task_stats` and
// `schedule` values (docs/output.md).
#pragma once

#include <nlohmann/json.hpp>

#include "schedkit/task_stats.h"

namespace schedkit {

nlohmann::ordered_json task_stats_json(const TaskStats& s);
nlohmann::ordered_json schedule_json(const TaskStats& s);

}  // namespace schedkit
