// schedule.h: a simulated run's every scheduling decision, recorded as text
// (docs/schedule-format.md) and checked again on replay.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "schedkit/sim.h"

namespace schedkit {

// ScheduleHeader is what a run was made of, as its command line gave it:
// enough to make the same run again. Values are single-line strings, empty
// when the flag was not given; `switches` are "TIME=POLICY" as --switch.
struct ScheduleHeader {
    std::string command;  // "sim" or "replay"
    std::string input;    // the spec or trace file, as given (informative)
    std::string policy;   // the policy spec (registry syntax, or as-traced)
    std::vector<std::string> switches;
    std::string topology;  // as resolved: the flag, the spec's, or the trace's default
    std::string seed;
    std::string quantum;
    std::string until;
    std::string filter;  // replay: --filter
};

// ScheduleLine is one decision: `task` ran on `cpu` from `start_ns` for
// `duration_ns`, and then `why` (segment_end_name()).
struct ScheduleLine {
    int cpu = 0;
    uint64_t start_ns = 0;
    uint64_t duration_ns = 0;
    std::string task;
    SegmentEnd why = SegmentEnd::Continue;
    int line = 0;  // in the file, for errors
};

struct Schedule {
    ScheduleHeader header;
    std::vector<ScheduleLine> lines;
};

// kScheduleVersion is the format version written on the first line.
constexpr int kScheduleVersion = 1;

// ScheduleRecorder is a SimListener that keeps every segment of a run as a
// schedule line; text() writes the whole schedule.
class ScheduleRecorder final : public SimListener {
  public:
    explicit ScheduleRecorder(ScheduleHeader header) : header_(std::move(header)) {}
    void on_segment(const SimSegment& s) override;
    std::string text() const;

  private:
    ScheduleHeader header_;
    std::string body_;
};

// parse_schedule() reads a schedule's text. Throws InputError
// "name:line: what; expected ..." on any malformed line, an unknown or
// missing version, or a missing header key.
Schedule parse_schedule(std::string_view text, const std::string& name);
Schedule read_schedule_file(const std::string& path);

// ScheduleChecker is a SimListener comparing a run, segment by segment,
// with a recorded schedule; it notes the first difference. After run(),
// finish() throws InputError naming it: "file:line: task T: expected
// <recorded> but the run did <found>" (a run that ends early or goes on
// past the schedule's end is a difference too).
class ScheduleChecker final : public SimListener {
  public:
    ScheduleChecker(const Schedule& schedule, std::string name)
        : schedule_(schedule), name_(std::move(name)) {}
    void on_segment(const SimSegment& s) override;
    void finish() const;

  private:
    const Schedule& schedule_;
    std::string name_;
    size_t next_ = 0;
    std::string mismatch_;
};

// format_schedule_line() writes one decision as a schedule line (no newline).
std::string format_schedule_line(int cpu, uint64_t start_ns, uint64_t duration_ns,
                                 const std::string& task, SegmentEnd why);

}  // namespace schedkit
