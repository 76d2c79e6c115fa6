#include "schedule_flags.h"

#include <fmt/format.h>

#include "schedkit/error.h"
#include "schedkit/output_file.h"
#include "workload_args.h"

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

ScheduleSession::ScheduleSession(const ScheduleFlags& flags, std::optional<Schedule> replay,
                                 ScheduleHeader header)
    : record_path_(flags.record), replay_(std::move(replay)), recorder_(std::move(header)) {
    if (!record_path_.empty()) {
        OutputFile::check(record_path_, "--record-schedule");
        listeners_.add(&recorder_);
    }
    if (replay_) {
        checker_.emplace(*replay_, flags.replay);
        listeners_.add(&*checker_);
    }
}

void ScheduleSession::finish(bool interrupted) {
    if (checker_ && !interrupted)
        checker_->finish();  // a schedule that does not fit: an error, and no output files
    if (!record_path_.empty())
        write_output_atomically(record_path_, recorder_.text());
}

}  // namespace schedkit::cli
