// spec_threads.cpp: lightweight threads in specs: `thread: true` groups,
// their pollers, and send and close steps.
#include <fmt/format.h>

#include <climits>

#include "spec/spec_parser.h"

namespace schedkit::spec_detail {

Step SpecParser::send_step(const Entry& e, size_t group, size_t index) {
    constexpr std::string_view kForm = "{group: <thread group>, count: <n>}";
    require(e.value, YAML::NodeType::Map, e.value_loc(), "'send'", kForm);
    Step s;
    s.kind = Step::Kind::Send;
    s.loc = e.key_loc();
    bool named = false;
    for (const Entry& x : entries(e.value, "a send step", {"group", "count"})) {
        if (x.key == "group") {
            spawns_.push_back(
                {group, index, scalar(x, "the name of a thread group"), x.value_loc(), true});
            named = true;
        } else {
            s.spawn_count = static_cast<int>(integer(x, 1, INT_MAX, "an integer >= 1"));
        }
    }
    if (!named)
        fail(e.value_loc(), "send step has no 'group'", kForm);
    return s;
}

Step SpecParser::close_step(const Entry& e, size_t group, size_t index) {
    constexpr std::string_view kForm = "{group: <thread group>, mode: drain|cancel, count: <n>}";
    require(e.value, YAML::NodeType::Map, e.value_loc(), "'close'", kForm);
    Step s;
    s.kind = Step::Kind::Close;
    s.loc = e.key_loc();
    bool named = false;
    for (const Entry& x : entries(e.value, "a close step", {"group", "mode", "count"})) {
        if (x.key == "group") {
            SpawnRef r{group, index, scalar(x, "the name of a thread group"), x.value_loc(), true};
            r.close = true;
            spawns_.push_back(std::move(r));
            named = true;
        } else if (x.key == "mode") {
            std::string mode = scalar(x, "drain or cancel");
            if (mode != "drain" && mode != "cancel")
                fail(x.value_loc(), fmt::format("unknown close mode '{}'", mode),
                     "drain (queued messages run, then the thread exits) or cancel (they are "
                     "handed back)");
            s.cancel = mode == "cancel";
        } else {
            s.spawn_count = static_cast<int>(integer(x, 1, INT_MAX, "an integer >= 1"));
        }
    }
    if (!named)
        fail(e.value_loc(), "close step has no 'group'", kForm);
    return s;
}

std::vector<Poller> SpecParser::pollers(const Entry& e) const {
    constexpr std::string_view kForm = "a list of {every: <duration>, run: <duration>}";
    require(e.value, YAML::NodeType::Sequence, e.value_loc(), "'pollers'", kForm);
    std::vector<Poller> out;
    for (size_t i = 0; i < e.value.size(); ++i) {
        YAML::Node n = e.value[i];
        require(n, YAML::NodeType::Map, loc_of(n), "a poller", kForm);
        Poller p;
        p.loc = loc_of(n);
        bool every = false, run = false;
        for (const Entry& x : entries(n, "a poller", {"every", "run"})) {
            if (x.key == "every") {
                p.every_ns = duration_value(x.value, x.value_loc(), "every");
                if (p.every_ns == 0)
                    fail(x.value_loc(), "poller period is 0",
                         "a period above 0 (a thread polling without pause never idles)");
                every = true;
            } else {
                p.run = duration(x);
                run = true;
            }
        }
        if (!every || !run)
            fail(p.loc, fmt::format("poller has no '{}'", every ? "run" : "every"), kForm);
        out.push_back(p);
    }
    return out;
}

void SpecParser::check_thread_group(const GroupSpec& g, const Entry* thread_key,
                                    const Entry* pollers_key, const Entry* arrival_key,
                                    const Entry* repeat_key) const {
    if (!g.thread) {
        if (pollers_key)
            fail(pollers_key->key_loc(),
                 fmt::format("group '{}' has pollers but is no thread", g.name),
                 "thread: true beside pollers");
        return;
    }
    if (g.count < 1)
        fail(thread_key->key_loc(), fmt::format("thread group '{}' has count 0", g.name),
             "count >= 1 (threads are not spawned: they start with the run)");
    (void)arrival_key;  // threads are created at their arrivals (time 0 by default)
    if (repeat_key)
        fail(repeat_key->key_loc(), fmt::format("thread group '{}' has a repeat", g.name),
             "no repeat: the behavior runs once per message");
    for (const Step& s : g.behavior) {
        if (s.kind == Step::Kind::Run || s.kind == Step::Kind::Send || s.kind == Step::Kind::Close)
            continue;
        constexpr const char* kNames[] = {"run",  "block", "spawn", "exit",
                                          "send", "wait",  "notify"};
        auto k = static_cast<size_t>(s.kind);
        fail(s.loc,
             fmt::format("a message of thread group '{}' cannot {}", g.name,
                         k < std::size(kNames) ? kNames[k] : "do this step"),
             "run, send and close steps only (a message runs to completion on its thread)");
    }
}

}  // namespace schedkit::spec_detail
