// schedule_flags.h: --record-schedule and --replay-schedule of sim and replay.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "schedkit/schedule.h"

namespace schedkit::cli {

// ScheduleFlags are the two flags; add_to() registers them on a command.
struct ScheduleFlags {
    std::string record;  // write the run's schedule here
    std::string replay;  // replay (and check) the schedule recorded here

    void add_to(CLI::App& cmd);
    // load() reads the schedule to replay, if any, checking it was recorded
    // by `command` ("sim" or "replay"). Throws InputError.
    std::optional<Schedule> load(const std::string& command) const;
};

}  // namespace schedkit::cli
