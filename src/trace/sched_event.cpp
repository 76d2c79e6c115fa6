// Decoding the fields of Linux scheduler events, in the kernel's key=value
// form and in trace-cmd's compact form.
#include "trace/sched_event.h"

#include <charconv>
#include <cstring>

namespace schedkit::trace {

std::string_view trim(std::string_view s) {
    size_t b = s.find_first_not_of(" \t\r\n");
    if (b == std::string_view::npos)
        return {};
    size_t e = s.find_last_not_of(" \t\r\n");
    return s.substr(b, e - b + 1);
}

bool parse_int(std::string_view text, int& value) {
    if (text.empty())
        return false;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    return ec == std::errc() && p == text.data() + text.size();
}

bool parse_timestamp(std::string_view text, uint64_t& ns) {
    size_t dot = text.find('.');
    std::string_view secs = text.substr(0, dot);
    std::string_view frac =
        dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
    if (secs.empty() || secs.size() > 10 || frac.size() > 9 ||
        (dot != std::string_view::npos && frac.empty()))
        return false;
    uint64_t s = 0;
    auto [p, ec] = std::from_chars(secs.data(), secs.data() + secs.size(), s);
    if (ec != std::errc() || p != secs.data() + secs.size())
        return false;
    uint64_t f = 0;
    for (char c : frac) {
        if (c < '0' || c > '9')
            return false;
        f = f * 10 + static_cast<uint64_t>(c - '0');
    }
    for (size_t i = frac.size(); i < 9; ++i)
        f *= 10;
    ns = s * 1'000'000'000ULL + f;
    return true;
}

bool event_kind(std::string_view name, EventKind& kind) {
    static constexpr std::pair<std::string_view, EventKind> kNames[] = {
        {"sched_switch", EventKind::Switch},        {"sched_wakeup", EventKind::Wakeup},
        {"sched_waking", EventKind::Waking},        {"sched_wakeup_new", EventKind::WakeupNew},
        {"sched_process_fork", EventKind::Fork},    {"sched_process_exit", EventKind::Exit},
        {"sched_migrate_task", EventKind::Migrate},
    };
    for (const auto& [n, k] : kNames)
        if (n == name) {
            kind = k;
            return true;
        }
    return false;
}

namespace {

// KeyValues splits "a=1 b=two words c=3" into keys and values; a value runs
// up to the next " key=" (comm values may hold spaces). "==>" is dropped.
struct KeyValues {
    std::vector<std::pair<std::string_view, std::string_view>> items;

    static bool is_key_token(std::string_view tok, size_t& eq) {
        eq = tok.find('=');
        if (eq == std::string_view::npos || eq == 0)
            return false;
        for (size_t i = 0; i < eq; ++i)
            if (!(tok[i] == '_' || (tok[i] >= 'a' && tok[i] <= 'z') ||
                  (tok[i] >= '0' && tok[i] <= '9')))
                return false;
        return true;
    }

    explicit KeyValues(std::string_view text) {
        size_t i = 0;
        const char* value_begin = nullptr;
        const char* value_end = nullptr;
        auto flush = [&] {
            if (!items.empty() && value_begin != nullptr)
                items.back().second = std::string_view(value_begin, value_end - value_begin);
        };
        while (i < text.size()) {
            while (i < text.size() && (text[i] == ' ' || text[i] == '\t'))
                ++i;
            size_t j = i;
            while (j < text.size() && text[j] != ' ' && text[j] != '\t')
                ++j;
            if (j == i)
                break;
            std::string_view tok = text.substr(i, j - i);
            size_t eq = 0;
            if (tok == "==>") {
                flush();
                value_begin = nullptr;
            } else if (is_key_token(tok, eq)) {
                flush();
                items.emplace_back(tok.substr(0, eq), tok.substr(eq + 1));
                value_begin = tok.data() + eq + 1;
                value_end = tok.data() + tok.size();
            } else if (value_begin != nullptr) {
                value_end = tok.data() + tok.size();
            }
            i = j;
        }
        flush();
    }

    bool get(std::string_view key, std::string_view& value) const {
        for (const auto& [k, v] : items)
            if (k == key) {
                value = v;
                return true;
            }
        return false;
    }
    bool get_int(std::string_view key, int& value) const {
        std::string_view v;
        return get(key, v) && parse_int(v, value);
    }
};

// Prev state "R" or "R+" is runnable (preempted); anything else ("S", "D",
// "I", "D|K", "X", "Z", ...) left the CPU not runnable.
bool parse_state(std::string_view state, bool& runnable) {
    state = trim(state);
    if (state.empty())
        return false;
    runnable = state == "R" || state == "R+";
    return true;
}

// parse_comm_pid() reads trace-cmd's "COMM:PID [PRIO]" (COMM may hold ':'
// and spaces); `rest` is what follows the "[PRIO]".
bool parse_comm_pid(std::string_view text, std::string_view& comm, int& pid,
                    std::string_view& rest) {
    text = trim(text);
    size_t open = text.rfind(" [");
    if (open == std::string_view::npos)
        return false;
    size_t close = text.find(']', open);
    if (close == std::string_view::npos)
        return false;
    rest = trim(text.substr(close + 1));
    std::string_view who = trim(text.substr(0, open));
    size_t colon = who.rfind(':');
    if (colon == std::string_view::npos || !parse_int(who.substr(colon + 1), pid))
        return false;
    comm = who.substr(0, colon);
    return true;
}

bool parse_compact(std::string_view fields, SchedEvent& e) {
    std::string_view rest;
    if (e.kind == EventKind::Switch) {
        size_t arrow = fields.find(" ==> ");
        if (arrow == std::string_view::npos)
            return false;
        std::string_view state;
        if (!parse_comm_pid(fields.substr(0, arrow), e.prev_comm, e.prev_pid, state) ||
            !parse_state(state, e.prev_runnable))
            return false;
        return parse_comm_pid(fields.substr(arrow + 5), e.next_comm, e.next_pid, rest);
    }
    if (e.kind == EventKind::Wakeup || e.kind == EventKind::Waking ||
        e.kind == EventKind::WakeupNew)
        return parse_comm_pid(fields, e.comm, e.pid, rest);
    return false;
}

}  // namespace

bool parse_event_fields(std::string_view fields, SchedEvent& e, std::string& expected) {
    KeyValues kv(fields);
    bool ok = false;
    switch (e.kind) {
        case EventKind::Switch: {
            expected =
                "prev_comm=C prev_pid=N prev_prio=P prev_state=S ==> next_comm=C next_pid=N "
                "next_prio=P, or C:N [P] S ==> C:N [P]";
            std::string_view state;
            if (kv.get_int("prev_pid", e.prev_pid)) {
                ok = kv.get_int("next_pid", e.next_pid) && kv.get("prev_state", state) &&
                     parse_state(state, e.prev_runnable);
                kv.get("prev_comm", e.prev_comm);
                kv.get("next_comm", e.next_comm);
            } else {
                ok = parse_compact(fields, e);
            }
            break;
        }
        case EventKind::Wakeup:
        case EventKind::Waking:
        case EventKind::WakeupNew:
            expected = "comm=C pid=N prio=P target_cpu=N, or C:N [P] CPU:N";
            if (kv.get_int("pid", e.pid)) {
                ok = true;
                kv.get("comm", e.comm);
            } else {
                ok = parse_compact(fields, e);
            }
            break;
        case EventKind::Fork:
            expected = "comm=C pid=N child_comm=C child_pid=N";
            ok = kv.get_int("pid", e.pid) && kv.get_int("child_pid", e.child_pid);
            kv.get("comm", e.comm);
            kv.get("child_comm", e.child_comm);
            break;
        case EventKind::Exit:
        case EventKind::Migrate:
            expected = e.kind == EventKind::Exit ? "comm=C pid=N prio=P"
                                                 : "comm=C pid=N prio=P orig_cpu=N dest_cpu=N";
            ok = kv.get_int("pid", e.pid);
            kv.get("comm", e.comm);
            break;
    }
    if (e.kind == EventKind::Switch)
        ok = ok && e.prev_pid >= 0 && e.next_pid >= 0;
    else
        ok = ok && e.pid >= 0 && (e.kind != EventKind::Fork || e.child_pid >= 0);
    return ok;
}

}  // namespace schedkit::trace
