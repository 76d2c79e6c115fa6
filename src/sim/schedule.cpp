// Recorded schedules: writing, reading and checking them (docs/schedule-format.md).
#include "schedkit/schedule.h"

#include <fmt/format.h>

#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

#include "schedkit/error.h"

namespace schedkit {

namespace {

constexpr std::string_view kMagic = "schedkit-schedule";
constexpr const char* kLineForm = "'run CPU START_NS DURATION_NS WHY TASK'";

// Header keys, in the order they are written.
struct Key {
    const char* name;
    std::string ScheduleHeader::*field;
};
constexpr Key kKeys[] = {
    {"command", &ScheduleHeader::command}, {"input", &ScheduleHeader::input},
    {"policy", &ScheduleHeader::policy},   {"topology", &ScheduleHeader::topology},
    {"seed", &ScheduleHeader::seed},       {"quantum", &ScheduleHeader::quantum},
    {"until", &ScheduleHeader::until},     {"filter", &ScheduleHeader::filter},
};

bool parse_u64(std::string_view s, uint64_t& v) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return !s.empty() && ec == std::errc() && p == s.data() + s.size();
}

bool parse_why(std::string_view s, SegmentEnd& why) {
    for (SegmentEnd e : {SegmentEnd::Block, SegmentEnd::Exit, SegmentEnd::Preempt,
                         SegmentEnd::Continue, SegmentEnd::Stop})
        if (s == segment_end_name(e)) {
            why = e;
            return true;
        }
    return false;
}

std::string describe(int cpu, uint64_t start, uint64_t dur, SegmentEnd why) {
    return fmt::format("CPU {} from {} ns for {} ns, then {}", cpu, start, dur,
                       segment_end_name(why));
}

}  // namespace

std::string format_schedule_line(int cpu, uint64_t start_ns, uint64_t duration_ns,
                                 const std::string& task, SegmentEnd why) {
    return fmt::format("run {} {} {} {} {}", cpu, start_ns, duration_ns, segment_end_name(why),
                       task);
}

void ScheduleRecorder::on_segment(const SimSegment& s) {
    body_ += format_schedule_line(s.cpu, s.start_ns, s.end_ns - s.start_ns, s.task->name, s.why);
    body_ += '\n';
}

std::string ScheduleRecorder::text() const {
    std::string out = fmt::format("{} {}\n", kMagic, kScheduleVersion);
    for (const Key& k : kKeys) {
        const std::string& v = header_.*k.field;
        out += v.empty() ? fmt::format("{}\n", k.name) : fmt::format("{} {}\n", k.name, v);
    }
    for (const std::string& s : header_.switches)
        out += fmt::format("switch {}\n", s);
    out += "begin\n";
    return out + body_ + "end\n";
}

Schedule parse_schedule(std::string_view text, const std::string& name) {
    Schedule out;
    int line_no = 0;
    size_t pos = 0;
    enum { Magic, Header, Body, Done } state = Magic;
    std::vector<bool> seen(std::size(kKeys), false);
    auto fail = [&](const std::string& what, const std::string& expected) {
        throw InputError(fmt::format("{}:{}: {}; expected {}", name, line_no, what, expected));
    };
    while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        std::string_view line =
            text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
        pos = nl == std::string_view::npos ? text.size() : nl + 1;
        ++line_no;
        if (line.empty() || line[0] == '#')
            continue;
        size_t sp = line.find(' ');
        std::string_view key = line.substr(0, sp);
        std::string_view value = sp == std::string_view::npos ? "" : line.substr(sp + 1);
        switch (state) {
            case Magic: {
                uint64_t v = 0;
                if (key != kMagic || !parse_u64(value, v))
                    fail(fmt::format("'{}' is not a schedule header", line.substr(0, 60)),
                         fmt::format("'{} {}' on the first line", kMagic, kScheduleVersion));
                if (v != kScheduleVersion)
                    fail(fmt::format("schedule format version {}", v),
                         fmt::format("version {}", kScheduleVersion));
                state = Header;
                break;
            }
            case Header: {
                if (key == "begin") {
                    for (size_t i = 0; i < seen.size(); ++i)
                        if (!seen[i])
                            fail(fmt::format("header has no '{}'", kKeys[i].name),
                                 "every header key before 'begin'");
                    state = Body;
                    break;
                }
                if (key == "switch") {
                    out.header.switches.emplace_back(value);
                    break;
                }
                bool known = false;
                for (size_t i = 0; i < std::size(kKeys); ++i)
                    if (key == kKeys[i].name) {
                        out.header.*kKeys[i].field = std::string(value);
                        seen[i] = known = true;
                    }
                if (!known)
                    fail(fmt::format("unknown header key '{}'", key),
                         "command, input, policy, topology, seed, quantum, until, filter, "
                         "switch or begin");
                break;
            }
            case Body: {
                if (key == "end") {
                    state = Done;
                    break;
                }
                // run CPU START DURATION WHY TASK (the task name may hold spaces)
                std::istringstream in{std::string(line)};
                std::string word, cpu, start, dur, why;
                in >> word >> cpu >> start >> dur >> why;
                std::string task;
                std::getline(in, task);
                if (!task.empty() && task[0] == ' ')
                    task.erase(0, 1);
                ScheduleLine l;
                uint64_t c = 0;
                if (word != "run" || !parse_u64(cpu, c) || c > 65535 ||
                    !parse_u64(start, l.start_ns) || !parse_u64(dur, l.duration_ns) ||
                    !parse_why(why, l.why) || task.empty())
                    fail(fmt::format("cannot read '{}'", line.substr(0, 80)),
                         fmt::format("{} with WHY one of block, exit, preempt, continue, stop",
                                     kLineForm));
                l.cpu = static_cast<int>(c);
                l.task = std::move(task);
                l.line = line_no;
                out.lines.push_back(std::move(l));
                break;
            }
            case Done:
                fail(fmt::format("'{}' after 'end'", line.substr(0, 60)), "nothing after 'end'");
        }
    }
    if (state != Done)
        throw InputError(
            fmt::format("{}:{}: the schedule ends without 'end' (truncated?); "
                        "expected a complete schedule ending with 'end'",
                        name, line_no));
    return out;
}

Schedule read_schedule_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw InputError(fmt::format("{}: cannot open ({}); expected a readable schedule file",
                                     path, std::strerror(errno)));
    std::stringstream ss;
    ss << in.rdbuf();
    return parse_schedule(ss.str(), path);
}

void ScheduleChecker::on_segment(const SimSegment& s) {
    if (!mismatch_.empty())
        return;
    uint64_t dur = s.end_ns - s.start_ns;
    if (next_ >= schedule_.lines.size()) {
        mismatch_ =
            fmt::format("{}:{}: task {}: expected the end of the schedule but the run did {}",
                        name_, schedule_.lines.empty() ? 0 : schedule_.lines.back().line + 1,
                        s.task->name, describe(s.cpu, s.start_ns, dur, s.why));
        return;
    }
    const ScheduleLine& l = schedule_.lines[next_++];
    if (l.task != s.task->name || l.cpu != s.cpu || l.start_ns != s.start_ns ||
        l.duration_ns != dur || l.why != s.why)
        mismatch_ = fmt::format("{}:{}: task {}: expected {} but the run did: task {} on {}", name_,
                                l.line, l.task, describe(l.cpu, l.start_ns, l.duration_ns, l.why),
                                s.task->name, describe(s.cpu, s.start_ns, dur, s.why));
}

void ScheduleChecker::finish() const {
    if (!mismatch_.empty())
        throw InputError(mismatch_);
    if (next_ < schedule_.lines.size()) {
        const ScheduleLine& l = schedule_.lines[next_];
        throw InputError(fmt::format("{}:{}: task {}: expected {} but the run had ended", name_,
                                     l.line, l.task,
                                     describe(l.cpu, l.start_ns, l.duration_ns, l.why)));
    }
}

}  // namespace schedkit
