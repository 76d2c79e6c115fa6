// workload.cpp: reading and checking YAML workload specs.
#include "schedkit/workload.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

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

#include "schedkit/error.h"
#include "schedkit/task.h"

namespace schedkit {

namespace {

// Linux's largest weight (nice -20) is 88761; far beyond that is a typo, and
// a bound keeps sums of weights over many tasks far from overflow.
constexpr long long kMaxWeight = 1 << 20;

constexpr std::string_view kDurationForms =
    "a duration like 3ms or a distribution {exp: 2ms}, {uniform: [1ms, 3ms]}, "
    "{normal: [2ms, 500us]}";

SourceLoc loc_of(const YAML::Node& n) {
    YAML::Mark m = n.Mark();
    if (m.line < 0)
        return {1, 1};  // yaml-cpp's null mark, e.g. for an empty document
    return {m.line + 1, m.column + 1};
}

std::string_view kind_name(const YAML::Node& n) {
    if (n.IsMap())
        return "a map";
    if (n.IsSequence())
        return "a list";
    if (n.IsScalar())
        return "a scalar";
    return "empty";
}

// Entry is one `key: value` of a YAML map.
struct Entry {
    std::string key;
    YAML::Node key_node;
    YAML::Node value;

    SourceLoc key_loc() const { return loc_of(key_node); }
    // value_loc() points at the key when the value is empty: yaml-cpp marks
    // an empty value at whatever token follows it, often on the next line.
    SourceLoc value_loc() const { return value.IsNull() ? key_loc() : loc_of(value); }
};

// SpawnRef is a spawn step whose group name is resolved once all groups are known.
struct SpawnRef {
    size_t group = 0;
    size_t step = 0;
    std::string target;
    SourceLoc loc;
};

// SpecParser turns a YAML tree into a WorkloadSpec, failing on the first
// problem with the place it was found.
class SpecParser {
  public:
    explicit SpecParser(std::string path) : path_(std::move(path)) {}

    WorkloadSpec parse(const YAML::Node& root);

  private:
    [[noreturn]] void fail(SourceLoc at, std::string_view wrong, std::string_view expected) const {
        throw InputError(
            fmt::format("{}:{}:{}: {}; expected {}", path_, at.line, at.column, wrong, expected));
    }
    std::string where(SourceLoc at) const {
        return fmt::format("{}:{}:{}", path_, at.line, at.column);
    }

    std::vector<Entry> entries(const YAML::Node& map, std::string_view context,
                               std::initializer_list<std::string_view> allowed) const;
    void require(const YAML::Node& n, YAML::NodeType::value type, SourceLoc at,
                 std::string_view what, std::string_view expected) const;
    std::string scalar(const Entry& e, std::string_view expected) const;
    long long integer(const Entry& e, long long lo, long long hi, std::string_view expected) const;
    bool boolean(const Entry& e) const;
    uint64_t duration_value(const YAML::Node& n, SourceLoc at, std::string_view what) const;
    Duration duration(const Entry& e) const;
    Duration distribution(const Entry& e) const;
    Arrival arrival(const Entry& e) const;
    Step step(const YAML::Node& n, size_t group, size_t index);
    Step spawn_step(const Entry& e, size_t group, size_t index);
    GroupSpec group(const YAML::Node& n, size_t index);
    void resolve_spawns(WorkloadSpec& spec) const;
    void check_reachable(const WorkloadSpec& spec) const;

    std::string path_;
    std::map<std::string, SourceLoc, std::less<>> group_names_;
    std::vector<SourceLoc> count_locs_;  // per group: where its count is (or the group)
    std::vector<SpawnRef> spawns_;
};

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

Duration SpecParser::distribution(const Entry& e) const {
    std::vector<Entry> es = entries(e.value, "a distribution", {"exp", "uniform", "normal"});
    if (es.empty())
        fail(e.value_loc(), fmt::format("'{}' is an empty map", e.key), kDurationForms);
    if (es.size() > 1)
        fail(es[1].key_loc(),
             fmt::format("distribution has two kinds ('{}' and '{}')", es[0].key, es[1].key),
             "exactly one of exp, uniform, normal");
    const Entry& d = es[0];
    if (d.key == "exp")
        return Duration{Duration::Kind::Exp, duration_value(d.value, d.value_loc(), "exp mean"), 0};

    bool uniform = d.key == "uniform";
    std::string expected = uniform ? "[low, high], e.g. uniform: [1ms, 3ms]"
                                   : "[mean, stddev], e.g. normal: [2ms, 500us]";
    if (!d.value.IsSequence() || d.value.size() != 2)
        fail(d.value_loc(),
             d.value.IsSequence() ? fmt::format("'{}' is a list of {}", d.key, d.value.size())
                                  : fmt::format("'{}' is {}", d.key, kind_name(d.value)),
             expected);
    YAML::Node first = d.value[0], second = d.value[1];
    uint64_t a = duration_value(first, loc_of(first), d.key);
    uint64_t b = duration_value(second, loc_of(second), d.key);
    if (uniform && a > b)
        fail(loc_of(second),
             fmt::format("uniform high '{}' is below low '{}'", second.Scalar(), first.Scalar()),
             "low <= high");
    return Duration{uniform ? Duration::Kind::Uniform : Duration::Kind::Normal, a, b};
}

Arrival SpecParser::arrival(const Entry& e) const {
    constexpr std::string_view kForms =
        "{at: <duration>} or {rate: <tasks per second>, start: <duration>}";
    require(e.value, YAML::NodeType::Map, e.value_loc(), "'arrival'", kForms);
    Arrival a;
    const Entry* at = nullptr;
    const Entry* rate = nullptr;
    const Entry* start = nullptr;
    std::vector<Entry> es = entries(e.value, "an arrival", {"at", "rate", "start"});
    for (const Entry& x : es) {
        (x.key == "at" ? at : x.key == "rate" ? rate : start) = &x;
        if (at && (rate || start))
            fail(x.key_loc(), "arrival mixes 'at' with 'rate'/'start'", kForms);
    }
    if (rate) {
        a.kind = Arrival::Kind::Poisson;
        std::string text = scalar(*rate, "a rate in tasks per second above 0");
        double r = 0;
        auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), r);
        if (ec != std::errc{} || ptr != text.data() + text.size() || !std::isfinite(r))
            fail(rate->value_loc(), fmt::format("rate '{}' is not a number", text),
                 "a rate in tasks per second above 0");
        if (r <= 0)
            fail(rate->value_loc(), fmt::format("rate {} is not positive", text),
                 "a rate in tasks per second above 0");
        a.rate_per_s = r;
        if (start)
            a.at_ns = duration_value(start->value, start->value_loc(), "start");
    } else if (start) {
        fail(start->key_loc(), "'start' without 'rate'", kForms);
    } else if (at) {
        a.at_ns = duration_value(at->value, at->value_loc(), "at");
    } else {
        fail(e.value_loc(), "arrival has neither 'at' nor 'rate'", kForms);
    }
    return a;
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
        "one of run: <duration>, block: <duration>, spawn: {...}, "
        "or the word exit";
    Step s;
    s.loc = loc_of(n);
    if (n.IsScalar()) {
        if (n.Scalar() != "exit")
            fail(s.loc, fmt::format("unknown step '{}'", n.Scalar()), kForms);
        s.kind = Step::Kind::Exit;
        return s;
    }
    require(n, YAML::NodeType::Map, s.loc, "a step", kForms);
    std::vector<Entry> es = entries(n, "a step", {"run", "block", "spawn", "exit"});
    if (es.empty())
        fail(s.loc, "empty step", kForms);
    if (es.size() > 1)
        fail(es[1].key_loc(),
             fmt::format("step has two kinds ('{}' and '{}')", es[0].key, es[1].key),
             "exactly one of run, block, spawn, exit per step");
    const Entry& e = es[0];
    if (e.key == "exit")
        fail(e.key_loc(), "'exit' takes no value", "a bare '- exit' list item");
    if (e.key == "spawn")
        return spawn_step(e, group, index);
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
    bool has_behavior = false;
    std::vector<Entry> es =
        entries(n, "a group",
                {"name", "count", "nice", "weight", "affinity", "arrival", "repeat", "behavior"});
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
            g.arrival = arrival(e);
        } else if (e.key == "repeat") {
            g.repeat = static_cast<int>(integer(e, 1, INT_MAX, "an integer >= 1"));
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
    return g;
}

void SpecParser::resolve_spawns(WorkloadSpec& spec) const {
    for (const SpawnRef& r : spawns_) {
        int target = spec.group_index(r.target);
        if (target < 0)
            fail(r.loc, fmt::format("spawn of undefined group '{}'", r.target),
                 "the name of a group in this file");
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
    for (const SpawnRef& r : spawns_)
        named[static_cast<size_t>(spec.group_index(r.target))] = true;
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
    constexpr std::string_view kTop = "a map with 'groups' and optionally name, topology, seed";
    WorkloadSpec spec;
    spec.path = path_;
    if (root.IsNull())
        fail({1, 1}, "the spec is empty", kTop);
    require(root, YAML::NodeType::Map, loc_of(root), "the spec", kTop);
    bool has_groups = false;
    for (const Entry& e : entries(root, "the spec", {"name", "topology", "seed", "groups"})) {
        if (e.key == "name" || e.key == "topology") {
            std::string text = scalar(e, "a non-empty string");
            if (text.empty())
                fail(e.value_loc(), fmt::format("empty '{}'", e.key), "a non-empty string");
            (e.key == "name" ? spec.name : spec.topology.emplace()) = text;
        } else if (e.key == "seed") {
            std::string text = scalar(e, "a non-negative integer");
            auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), spec.seed);
            if (ec != std::errc{} || ptr != text.data() + text.size())
                fail(e.value_loc(), fmt::format("seed '{}' is not a 64-bit unsigned integer", text),
                     "a non-negative integer");
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
    return spec;
}

}  // namespace

int WorkloadSpec::group_index(std::string_view group_name) const {
    for (size_t i = 0; i < groups.size(); ++i)
        if (groups[i].name == group_name)
            return static_cast<int>(i);
    return -1;
}

WorkloadSpec parse_workload(std::string_view yaml, const std::string& path) {
    YAML::Node root;
    try {
        root = YAML::Load(std::string(yaml));
    } catch (const YAML::Exception& e) {
        SourceLoc at =
            e.mark.line < 0 ? SourceLoc{1, 1} : SourceLoc{e.mark.line + 1, e.mark.column + 1};
        throw InputError(fmt::format("{}:{}:{}: YAML syntax error: {}; expected well-formed YAML",
                                     path, at.line, at.column, e.msg));
    }
    return SpecParser(path).parse(root);
}

WorkloadSpec parse_workload_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw InputError(fmt::format("{}: cannot open ({}); expected a readable workload file",
                                     path, std::strerror(errno)));
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad() || std::filesystem::is_directory(path))
        throw InputError(fmt::format("{}: cannot read; expected a readable workload file", path));
    return parse_workload(text.str(), path);
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
