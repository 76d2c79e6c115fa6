// Text trace reader: raw ftrace, `trace-cmd report` and `perf script`.
#include <fmt/format.h>

#include "schedkit/error.h"
#include "trace/sched_event.h"

namespace schedkit {

namespace {

using trace::EventKind;
using trace::parse_int;
using trace::SchedEvent;
using trace::trim;

constexpr const char* kLineShape =
    "'COMM-PID [CPU] FLAGS SECONDS.FRACTION: EVENT: FIELDS' (ftrace, trace-cmd report) or "
    "'COMM PID [CPU] SECONDS.FRACTION: sched:EVENT: FIELDS' (perf script)";

// EventName is where a scheduler event's name sits in a line.
struct EventName {
    size_t begin = 0;  // of "sched_..." (after any "sched:" system prefix)
    size_t end = 0;    // past the ':' that follows the name
    bool perf_system = false;
    EventKind kind = EventKind::Switch;
};

// find_event() looks for one of the scheduler events as a word followed by
// ':'. Lines without one are headers or other events and are skipped.
bool find_event(std::string_view line, EventName& out) {
    size_t pos = 0;
    while ((pos = line.find("sched_", pos)) != std::string_view::npos) {
        size_t colon = line.find(':', pos);
        bool word_start = pos == 0 || line[pos - 1] == ' ' || line[pos - 1] == ':';
        if (colon != std::string_view::npos && word_start) {
            std::string_view name = line.substr(pos, colon - pos);
            if (trace::event_kind(name, out.kind)) {
                out.begin = pos;
                out.end = colon + 1;
                out.perf_system = pos >= 6 && line.substr(pos - 6, 6) == "sched:";
                return true;
            }
        }
        pos += 6;
    }
    return false;
}

// parse_prefix() reads "COMM-PID [CPU] FLAGS TS:" or "COMM PID [CPU] TS:"
// (the text before the event name) into the running task, CPU and time.
bool parse_prefix(std::string_view prefix, SchedEvent& e, bool& perf_style) {
    prefix = trim(prefix);
    if (prefix.empty() || prefix.back() != ':')
        return false;
    prefix.remove_suffix(1);
    size_t sp = prefix.find_last_of(" \t");
    if (sp == std::string_view::npos || !trace::parse_timestamp(prefix.substr(sp + 1), e.ts_ns))
        return false;
    std::string_view head = trim(prefix.substr(0, sp));
    size_t open = head.rfind('[');
    if (open == std::string_view::npos)
        return false;
    size_t close = head.find(']', open);
    if (close == std::string_view::npos ||
        !parse_int(head.substr(open + 1, close - open - 1), e.cpu) || e.cpu < 0 || e.cpu >= 65536)
        return false;
    std::string_view task = trim(head.substr(0, open));
    // An optional TGID column: "comm-123 (  120)".
    if (!task.empty() && task.back() == ')') {
        size_t p = task.rfind('(');
        if (p == std::string_view::npos)
            return false;
        task = trim(task.substr(0, p));
    }
    size_t ws = task.find_last_of(" \t");
    std::string_view last = ws == std::string_view::npos ? task : task.substr(ws + 1);
    if (size_t slash = last.find('/'); slash != std::string_view::npos)
        last = last.substr(slash + 1);  // perf's "PID/TID"
    int pid = 0;
    if (ws != std::string_view::npos && parse_int(last, pid)) {
        perf_style = true;
        e.cur_pid = pid;
        e.cur_comm = trim(task.substr(0, ws));
    } else {
        size_t dash = task.rfind('-');
        if (dash == std::string_view::npos || !parse_int(task.substr(dash + 1), pid))
            return false;
        perf_style = false;
        e.cur_pid = pid;
        e.cur_comm = task.substr(0, dash);
    }
    if (e.cur_comm == "<idle>" || e.cur_comm.starts_with("swapper"))
        e.cur_pid = 0;
    if (e.cur_pid < 0)
        e.cur_pid = -1;  // perf's ":-1 -1": the running task is not known
    return true;
}

// header_cpus() reads the CPU count of a header line: ftrace's "#P:2",
// trace-cmd's "cpus=2"; 0 when the line has none.
int header_cpus(std::string_view line) {
    int n = 0;
    if (line.starts_with("cpus=") && parse_int(trim(line.substr(5)), n))
        return n;
    if (line.starts_with("#")) {
        size_t p = line.find("#P:");
        if (p != std::string_view::npos && p > 0) {
            std::string_view rest = line.substr(p + 3);
            size_t end = rest.find_first_not_of("0123456789");
            if (parse_int(rest.substr(0, end), n))
                return n;
        }
    }
    return 0;
}

}  // namespace

Trace parse_trace_text(std::string_view text, const std::string& name) {
    Trace out;
    out.name = name;
    trace::TraceBuilder builder(out);
    int declared_cpus = 0;
    bool saw_cpus_header = false, saw_perf = false, saw_compact = false;
    size_t line_no = 0;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        std::string_view line =
            text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
        pos = nl == std::string_view::npos ? text.size() : nl + 1;
        ++line_no;
        if (int n = header_cpus(line); n > 0) {
            declared_cpus = std::max(declared_cpus, n);
            saw_cpus_header |= line.starts_with("cpus=");
            continue;
        }
        if (line.find('\0') != std::string_view::npos)
            throw InputError(
                fmt::format("{}:{}: a NUL byte in a text line; expected a text trace "
                            "(ftrace, trace-cmd report, perf script) or a trace.dat",
                            name, line_no));
        EventName ev;
        if (trim(line).starts_with("#") || !find_event(line, ev))
            continue;
        SchedEvent e;
        e.kind = ev.kind;
        bool perf_style = false;
        size_t prefix_end = ev.perf_system ? ev.begin - 6 : ev.begin;
        if (!parse_prefix(line.substr(0, prefix_end), e, perf_style))
            throw InputError(fmt::format(
                "{}:{}: cannot read the task, CPU and time of this "
                "{} line; expected {}",
                name, line_no, line.substr(ev.begin, ev.end - ev.begin - 1), kLineShape));
        std::string expected;
        std::string_view fields = trim(line.substr(ev.end));
        if (!trace::parse_event_fields(fields, e, expected))
            throw InputError(fmt::format(
                "{}:{}: cannot read the fields of {} '{}'; expected {}", name, line_no,
                line.substr(ev.begin, ev.end - ev.begin - 1), fields.substr(0, 120), expected));
        saw_perf |= ev.perf_system || perf_style;
        saw_compact |= (e.kind == EventKind::Switch || e.kind == EventKind::Wakeup ||
                        e.kind == EventKind::WakeupNew) &&
                       fields.find('=') == std::string_view::npos;
        builder.add(e);
    }
    if (out.events == 0)
        throw InputError(fmt::format(
            "{}: no scheduler event found; expected sched_switch, sched_wakeup, sched_waking, "
            "sched_wakeup_new, sched_process_fork, sched_process_exit or sched_migrate_task "
            "lines (ftrace, trace-cmd report or perf script text)",
            name));
    builder.finish();
    out.num_cpus = std::max(out.num_cpus, declared_cpus);
    out.form = saw_perf                         ? TraceForm::PerfScript
               : saw_cpus_header || saw_compact ? TraceForm::TraceCmdReport
                                                : TraceForm::Ftrace;
    return out;
}

}  // namespace schedkit
