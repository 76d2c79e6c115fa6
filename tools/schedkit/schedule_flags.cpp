#include "schedule_flags.h"

#include <fmt/format.h>

#include "schedkit/error.h"

namespace schedkit::cli {

void ScheduleFlags::add_to(CLI::App& cmd) {
    cmd.add_option("--record-schedule", record,
                   "Write every scheduling decision of the run (docs/schedule-format.md)");
    cmd.add_option("--replay-schedule", replay,
                   "Run exactly the recorded schedule again, checking every decision "
                   "(its recorded policy, switches, seed, quantum and topology apply)");
}

std::optional<Schedule> ScheduleFlags::load(const std::string& command) const {
    if (replay.empty())
        return std::nullopt;
    Schedule s = read_schedule_file(replay);
    if (s.header.command != command)
        throw InputError(fmt::format(
            "{}: recorded by 'schedkit {}'; expected a schedule recorded by 'schedkit {}'", replay,
            s.header.command, command));
    return s;
}

}  // namespace schedkit::cli
