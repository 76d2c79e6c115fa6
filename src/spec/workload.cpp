// workload.cpp: reading and checking YAML workload specs.
#include "schedkit/workload.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "schedkit/budget.h"
#include "schedkit/error.h"
#include "schedkit/task.h"
#include "spec/spec_parser.h"
#include "spec/yaml_guard.h"

namespace schedkit {

namespace spec_detail {

// Linux's largest weight (nice -20) is 88761; far beyond that is a typo, and
// a bound keeps sums of weights over many tasks far from overflow.
constexpr long long kMaxWeight = 1 << 20;

std::vector<Entry> SpecParser::entries(const YAML::Node& map, std::string_view context,
                                       std::initializer_list<std::string_view> allowed) const {
    std::vector<Entry> out;
    for (const auto& kv : map) {
        YAML::Node k = kv.first;
        if (!k.IsScalar())
            fail(loc_of(k), fmt::format("{} key in {}", kind_name(k), context),
                 "plain names as keys");
        std::string key = k.Scalar();
        bool known = false;
        for (std::string_view a : allowed)
            known = known || a == key;
        if (!known)
            fail(loc_of(k), fmt::format("unknown key '{}' in {}", key, context),
                 fmt::format("one of {}", fmt::join(allowed, ", ")));
        // yaml-cpp keeps both copies of a repeated key; which one would win is
        // not something a spec author should have to know.
        for (const Entry& prev : out)
            if (prev.key == key)
                fail(loc_of(k),
                     fmt::format("duplicate key '{}' in {} (first at line {})", key, context,
                                 prev.key_loc().line),
                     "each key once");
        out.push_back({std::move(key), k, kv.second});
    }
    return out;
}

void SpecParser::require(const YAML::Node& n, YAML::NodeType::value type, SourceLoc at,
                         std::string_view what, std::string_view expected) const {
    if (n.Type() != type)
        fail(at, fmt::format("{} is {}", what, kind_name(n)), expected);
}

std::string SpecParser::scalar(const Entry& e, std::string_view expected) const {
    if (!e.value.IsScalar())
        fail(e.value_loc(), fmt::format("'{}' is {}", e.key, kind_name(e.value)), expected);
    return e.value.Scalar();
}

long long SpecParser::integer(const Entry& e, long long lo, long long hi,
                              std::string_view expected) const {
    std::string text = scalar(e, expected);
    long long v = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || ptr != text.data() + text.size())
        fail(e.value_loc(), fmt::format("{} '{}' is not an integer", e.key, text), expected);
    if (v < lo || v > hi)
        fail(e.value_loc(), fmt::format("{} {} is out of range", e.key, v), expected);
    return v;
}

bool SpecParser::boolean(const Entry& e) const {
    constexpr std::string_view kExpected = "true or false";
    std::string text = scalar(e, kExpected);
    if (text == "true" || text == "True" || text == "TRUE")
        return true;
    if (text == "false" || text == "False" || text == "FALSE")
        return false;
    fail(e.value_loc(), fmt::format("{} '{}' is not a boolean", e.key, text), kExpected);
}

uint64_t SpecParser::duration_value(const YAML::Node& n, SourceLoc at,
                                    std::string_view what) const {
    if (!n.IsScalar())
        fail(at, fmt::format("{} is {}", what, kind_name(n)), "a duration like 250us or 3ms");
    // parse_duration() names its input first, so handing it the location
    // yields the usual "file:line:column: ...; expected ..." message.
    return parse_duration(n.Scalar(), where(at));
}

Duration SpecParser::duration(const Entry& e) const {
    if (e.value.IsMap())
        return distribution(e);
    if (!e.value.IsScalar())
        fail(e.value_loc(), fmt::format("'{}' is {}", e.key, kind_name(e.value)), kDurationForms);
    return Duration{Duration::Kind::Fixed, duration_value(e.value, e.value_loc(), e.key), 0};
}

Step SpecParser::spawn_step(const Entry& e, size_t group, size_t index) {
    constexpr std::string_view kForm = "{group: <name>, count: <n>, join: <true|false>}";
    require(e.value, YAML::NodeType::Map, e.value_loc(), "'spawn'", kForm);
    Step s;
    s.kind = Step::Kind::Spawn;
    s.loc = e.key_loc();
    bool named = false;
    for (const Entry& x : entries(e.value, "a spawn step", {"group", "count", "join"})) {
        if (x.key == "group") {
            spawns_.push_back({group, index, scalar(x, "the name of a group"), x.value_loc()});
            named = true;
        } else if (x.key == "count") {
            s.spawn_count = static_cast<int>(integer(x, 1, INT_MAX, "an integer >= 1"));
        } else {
            s.join = boolean(x);
        }
    }
    if (!named)
        fail(e.value_loc(), "spawn step has no 'group'", kForm);
    return s;
}

Step SpecParser::step(const YAML::Node& n, size_t group, size_t index) {
    constexpr std::string_view kForms =
        "one of run: <duration>, block: <duration>, spawn: {...}, send: {...}, "
        "close: {...}, wait: <event>, notify: <event>, or the word exit";
    Step s;
    s.loc = loc_of(n);
    if (n.IsScalar()) {
        if (n.Scalar() != "exit")
            fail(s.loc, fmt::format("unknown step '{}'", n.Scalar()), kForms);
        s.kind = Step::Kind::Exit;
        return s;
    }
    require(n, YAML::NodeType::Map, s.loc, "a step", kForms);
    std::vector<Entry> es =
        entries(n, "a step", {"run", "block", "spawn", "exit", "send", "close", "wait", "notify"});
    if (es.empty())
        fail(s.loc, "empty step", kForms);
    if (es.size() > 1)
        fail(es[1].key_loc(),
             fmt::format("step has two kinds ('{}' and '{}')", es[0].key, es[1].key),
             "exactly one of run, block, spawn, send, close, exit, wait, notify per step");
    const Entry& e = es[0];
    if (e.key == "exit")
        fail(e.key_loc(), "'exit' takes no value", "a bare '- exit' list item");
    if (e.key == "spawn")
        return spawn_step(e, group, index);
    if (e.key == "send")
        return send_step(e, group, index);
    if (e.key == "close")
        return close_step(e, group, index);
    if (e.key == "wait" || e.key == "notify") {
        constexpr std::string_view kEvent = "an event name of letters, digits, '_' and '-'";
        std::string name = scalar(e, kEvent);
        bool ok = !name.empty();
        for (char c : name)
            ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-');
        if (!ok)
            fail(e.value_loc(), fmt::format("bad event name '{}'", name), kEvent);
        s.kind = e.key == "wait" ? Step::Kind::Wait : Step::Kind::Notify;
        s.loc = e.key_loc();
        auto it = std::find(events_.begin(), events_.end(), name);
        s.event = static_cast<int>(it - events_.begin());
        if (it == events_.end())
            events_.push_back(name);
        return s;
    }
    s.kind = e.key == "run" ? Step::Kind::Run : Step::Kind::Block;
    s.loc = e.key_loc();
    s.duration = duration(e);
    return s;
}

GroupSpec SpecParser::group(const YAML::Node& n, size_t index) {
    GroupSpec g;
    g.loc = loc_of(n);
    require(n, YAML::NodeType::Map, g.loc, "a group", "a map with name, behavior and options");
    count_locs_.push_back(g.loc);
    const Entry* nice = nullptr;
    const Entry* weight = nullptr;
    const Entry* count = nullptr;
    bool has_behavior = false;
    bool from_trace = false;
    std::vector<Entry> es = entries(n, "a group",
                                    {"name", "count", "nice", "weight", "affinity", "arrival",
                                     "repeat", "behavior", "thread", "pollers"});
    const Entry* thread_key = nullptr;
    const Entry* pollers_key = nullptr;
    const Entry* arrival_key = nullptr;
    const Entry* repeat_key = nullptr;
    for (const Entry& e : es) {
        if (e.key == "name") {
            constexpr std::string_view kName = "a name of letters, digits, '_' and '-'";
            g.name = scalar(e, kName);
            bool ok = !g.name.empty();
            for (char c : g.name)
                ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-');
            if (!ok)
                fail(e.value_loc(), fmt::format("bad group name '{}'", g.name), kName);
            auto [it, fresh] = group_names_.emplace(g.name, e.value_loc());
            if (!fresh)
                fail(e.value_loc(),
                     fmt::format("duplicate group name '{}' (first at line {})", g.name,
                                 it->second.line),
                     "a unique name per group");
        } else if (e.key == "count") {
            g.count = static_cast<int>(integer(e, 0, INT_MAX, "an integer >= 0"));
            count_locs_.back() = e.value_loc();
            count = &e;
        } else if (e.key == "nice" || e.key == "weight") {
            (e.key == "nice" ? nice : weight) = &e;
            if (nice && weight)
                fail(e.key_loc(), "both 'nice' and 'weight' given",
                     "one of them (weight defaults to the weight of nice)");
            if (nice == &e)
                g.nice = static_cast<int>(integer(e, -20, 19, "an integer from -20 to 19"));
            else
                g.weight = static_cast<uint32_t>(
                    integer(e, 1, kMaxWeight, fmt::format("an integer from 1 to {}", kMaxWeight)));
        } else if (e.key == "affinity") {
            constexpr std::string_view kList = "a Linux CPU list like 0-3,8,10-11";
            std::string text = scalar(e, kList);
            if (text.empty())
                fail(e.value_loc(), "empty affinity (leave the key out for all CPUs)", kList);
            g.affinity_loc = e.value_loc();
            g.affinity = CpuSet::parse(text, where(g.affinity_loc) + ": affinity");
        } else if (e.key == "arrival") {
            g.arrival = arrival(e, from_trace);
            arrival_key = &e;
        } else if (e.key == "repeat") {
            g.repeat = static_cast<int>(integer(e, 1, INT_MAX, "an integer >= 1"));
            repeat_key = &e;
        } else if (e.key == "thread") {
            g.thread = boolean(e);
            thread_key = &e;
        } else if (e.key == "pollers") {
            g.pollers = pollers(e);
            pollers_key = &e;
        } else {
            require(e.value, YAML::NodeType::Sequence, e.value_loc(), "'behavior'",
                    "a non-empty list of steps");
            if (e.value.size() == 0)
                fail(e.value_loc(), "'behavior' is empty", "a non-empty list of steps");
            for (size_t i = 0; i < e.value.size(); ++i)
                g.behavior.push_back(step(e.value[i], index, i));
            has_behavior = true;
        }
    }
    if (g.name.empty())
        fail(g.loc, "group has no 'name'", "a unique name per group");
    if (!has_behavior)
        fail(g.loc, fmt::format("group '{}' has no 'behavior'", g.name),
             "a non-empty list of steps");
    if (!weight)
        g.weight = nice_to_weight(g.nice);
    check_thread_group(g, thread_key, pollers_key, arrival_key, repeat_key);
    if (from_trace) {
        // A trace gives the count; a smaller `count` takes its first times.
        auto stamps = static_cast<long long>(g.arrival.times->size());
        if (!count)
            g.count = static_cast<int>(std::min<long long>(stamps, INT_MAX));
        else if (g.count > stamps)
            fail(count->value_loc(),
                 fmt::format("count {} is more than the {} timestamps of the trace", g.count,
                             stamps),
                 fmt::format("a count up to {} (or no count: one task per timestamp)", stamps));
    }
    return g;
}

// group_indices() maps names to indices once: a lookup per spawn step
// through group_index() made parsing quadratic in the number of groups.
std::map<std::string_view, int> group_indices(const WorkloadSpec& spec) {
    std::map<std::string_view, int> out;
    for (size_t i = 0; i < spec.groups.size(); ++i)
        out.emplace(spec.groups[i].name, static_cast<int>(i));
    return out;
}

void SpecParser::resolve_spawns(WorkloadSpec& spec) const {
    const auto index = group_indices(spec);
    for (const SpawnRef& r : spawns_) {
        auto it = index.find(r.target);
        int target = it == index.end() ? -1 : it->second;
        if (target < 0)
            fail(
                r.loc,
                fmt::format("{} undefined group '{}'", r.close ? "close of" : "spawn of", r.target),
                "the name of a group in this file");
        bool to_thread = spec.groups[static_cast<size_t>(target)].thread;
        if (r.send && !to_thread)
            fail(r.loc,
                 fmt::format("{} group '{}', which is not a thread group",
                             r.close ? "close of" : "send to", r.target),
                 "the name of a group with thread: true");
        if (!r.send && to_thread)
            fail(r.loc, fmt::format("spawn of thread group '{}'", r.target),
                 "a group without thread: true (threads start with the run; send them messages)");
        spec.groups[r.group].behavior[r.step].spawn_group = target;
    }
}

// check_reachable() rejects groups that would never have a task: count 0 and
// not spawned by any group that itself ever runs.
void SpecParser::check_reachable(const WorkloadSpec& spec) const {
    const size_t n = spec.groups.size();
    std::vector<bool> reached(n, false), named(n, false);
    std::vector<size_t> todo;
    for (size_t i = 0; i < n; ++i)
        if (spec.groups[i].count > 0) {
            reached[i] = true;
            todo.push_back(i);
        }
    while (!todo.empty()) {
        size_t g = todo.back();
        todo.pop_back();
        for (const Step& s : spec.groups[g].behavior) {
            if (s.kind != Step::Kind::Spawn)
                continue;
            auto t = static_cast<size_t>(s.spawn_group);
            if (!reached[t]) {
                reached[t] = true;
                todo.push_back(t);
            }
        }
    }
    const auto index = group_indices(spec);
    for (const SpawnRef& r : spawns_)
        named[static_cast<size_t>(index.at(r.target))] = true;
    for (size_t i = 0; i < n; ++i) {
        if (reached[i])
            continue;
        const std::string& name = spec.groups[i].name;
        if (!named[i])
            fail(count_locs_[i],
                 fmt::format("group '{}' has count 0 and no spawn step creates it", name),
                 fmt::format("count >= 1 or a spawn step naming '{}'", name));
        fail(count_locs_[i],
             fmt::format("group '{}' has count 0 and is spawned only by groups that never run",
                         name),
             "count >= 1 on a group up its spawn chain");
    }
}

WorkloadSpec SpecParser::parse(const YAML::Node& root) {
    constexpr std::string_view kTop =
        "a map with 'groups' and optionally name, topology, seed, costs";
    WorkloadSpec spec;
    spec.path = path_;
    if (root.IsNull())
        fail({1, 1}, "the spec is empty", kTop);
    require(root, YAML::NodeType::Map, loc_of(root), "the spec", kTop);
    bool has_groups = false;
    for (const Entry& e :
         entries(root, "the spec", {"name", "topology", "seed", "costs", "groups"})) {
        if (e.key == "name" || e.key == "topology") {
            std::string text = scalar(e, "a non-empty string");
            if (text.empty())
                fail(e.value_loc(), fmt::format("empty '{}'", e.key), "a non-empty string");
            (e.key == "name" ? spec.name : spec.topology.emplace()) = text;
            if (e.key == "topology")
                spec.topology_loc = e.value_loc();
        } else if (e.key == "seed") {
            std::string text = scalar(e, "a non-negative integer");
            auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), spec.seed);
            if (ec != std::errc{} || ptr != text.data() + text.size())
                fail(e.value_loc(), fmt::format("seed '{}' is not a 64-bit unsigned integer", text),
                     "a non-negative integer");
        } else if (e.key == "costs") {
            spec.costs = costs(e);
        } else {
            require(e.value, YAML::NodeType::Sequence, e.value_loc(), "'groups'",
                    "a non-empty list of groups");
            if (e.value.size() == 0)
                fail(e.value_loc(), "'groups' is empty", "a non-empty list of groups");
            for (size_t i = 0; i < e.value.size(); ++i)
                spec.groups.push_back(group(e.value[i], i));
            has_groups = true;
        }
    }
    if (!has_groups)
        fail(loc_of(root), "the spec has no 'groups'", "a non-empty list of groups");
    if (spec.name.empty()) {
        spec.name = std::filesystem::path(path_).stem().string();
        if (spec.name.empty())
            spec.name = "workload";
    }
    resolve_spawns(spec);
    check_reachable(spec);
    spec.events = events_;
    return spec;
}

}  // namespace spec_detail

using spec_detail::SpecParser;

int WorkloadSpec::group_index(std::string_view group_name) const {
    for (size_t i = 0; i < groups.size(); ++i)
        if (groups[i].name == group_name)
            return static_cast<int>(i);
    return -1;
}

WorkloadSpec parse_workload(std::string_view yaml, const std::string& path, uint64_t max_nodes) {
    // Bound what yaml-cpp may build (a few hundred bytes a node) and what
    // aliases may expand to, and refuse a second document, before Load.
    detail::check_yaml_shape(yaml, path, max_nodes);
    YAML::Node root;
    try {
        root = YAML::Load(std::string(yaml));
    } catch (const YAML::Exception& e) {
        SourceLoc at =
            e.mark.line < 0 ? SourceLoc{1, 1} : SourceLoc{e.mark.line + 1, e.mark.column + 1};
        throw InputError(fmt::format("{}:{}:{}: YAML syntax error: {}; expected well-formed YAML",
                                     path, at.line, at.column, one_line(e.msg)));
    }
    return SpecParser(path).parse(root);
}

WorkloadSpec parse_workload_file(const std::string& path, uint64_t max_bytes) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
        throw InputError(
            fmt::format("{}: is a directory; expected a readable workload file", path));
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw InputError(fmt::format("{}: cannot open ({}); expected a readable workload file",
                                     path, std::strerror(errno)));
    // Read at most one byte past the budget: a huge file, or /dev/zero, is
    // refused without reading it all.
    std::string text;
    char buf[1 << 16];
    while (text.size() <= max_bytes && in.read(buf, sizeof buf).gcount() > 0)
        text.append(buf, static_cast<size_t>(in.gcount()));
    if (in.bad())
        throw InputError(fmt::format("{}: cannot read; expected a readable workload file", path));
    if (text.size() > max_bytes)
        budget_exceeded(fmt::format("{}: the spec is larger than {} bytes", path, max_bytes),
                        "--max-spec-bytes", max_bytes);
    return parse_workload(text, path, max_bytes / kSpecBytesPerNode);
}

void check_against(const WorkloadSpec& spec, const Topology& topo) {
    for (const GroupSpec& g : spec.groups) {
        if (g.affinity.empty() || g.affinity.last() < topo.num_cpus())
            continue;
        throw InputError(fmt::format(
            "{}:{}:{}: affinity of group '{}' names CPU {} but topology '{}' has {} CPUs; "
            "expected CPUs within {}",
            spec.path, g.affinity_loc.line, g.affinity_loc.column, g.name, g.affinity.last(),
            topo.source(), topo.num_cpus(), topo.all().to_string()));
    }
}

}  // namespace schedkit
