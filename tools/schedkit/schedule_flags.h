// schedule_flags.h: --record-schedule and --replay-schedule of sim and replay.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "schedkit/schedule.h"
#include "schedkit/trace_replay.h"

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

// ScheduleSession is one run's use of the two flags: it records the run's
// schedule when --record-schedule is given and checks it against the
// replayed one, both through listener(). The constructor checks the record
// path before anything runs.
class ScheduleSession {
  public:
    ScheduleSession(const ScheduleFlags& flags, std::optional<Schedule> replay,
                    ScheduleHeader header);
    ScheduleSession(const ScheduleSession&) = delete;
    ScheduleSession& operator=(const ScheduleSession&) = delete;

    SimListener* listener() { return &listeners_; }
    // finish() throws InputError if the run left the replayed schedule (an
    // interrupted run is not checked), then writes the recorded schedule.
    void finish(bool interrupted);

  private:
    std::string record_path_;
    std::optional<Schedule> replay_;
    ScheduleRecorder recorder_;
    std::optional<ScheduleChecker> checker_;
    SimListeners listeners_;
};

}  // namespace schedkit::cli
