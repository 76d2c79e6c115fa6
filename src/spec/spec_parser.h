// spec_parser.h: the workload spec parser's internals, shared by the files
// that implement it (workload.cpp: the spec, groups and steps;
// spec_forms.cpp: distributions, arrivals and files of samples).
#pragma once

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "schedkit/error.h"
#include "schedkit/workload.h"

namespace schedkit::spec_detail {

inline constexpr std::string_view kDurationForms =
    "a duration like 3ms or a distribution {exp: 2ms}, {uniform: [1ms, 3ms]}, "
    "{normal: [2ms, 500us]}, {lognormal: [2ms, 1ms]}, {pareto: {min: 1ms, shape: 2}}, "
    "{empirical: [1ms, 5ms]}, {bimodal: {low: 1ms, high: 9ms, p_high: 0.1}}";

inline SourceLoc loc_of(const YAML::Node& n) {
    YAML::Mark m = n.Mark();
    if (m.line < 0)
        return {1, 1};  // yaml-cpp's null mark, e.g. for an empty document
    return {m.line + 1, m.column + 1};
}

inline std::string_view kind_name(const YAML::Node& n) {
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
    bool send = false;   // a send or close step (its target must be a thread group)
    bool close = false;  // a close step
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
    // real() reads a finite number within [lo, hi] (above lo when lo_open).
    double real(const YAML::Node& n, SourceLoc at, std::string_view what, double lo, bool lo_open,
                double hi, std::string_view expected) const;
    // resolve_file() is `name` relative to the spec's directory.
    std::string resolve_file(const std::string& name) const;
    // duration_file() reads the file `n` names: one duration per line, '#'
    // comments and blank lines skipped; `sorted` requires non-decreasing
    // values. Errors in the file name the file's own line and column.
    std::vector<uint64_t> duration_file(const YAML::Node& n, SourceLoc at, std::string_view what,
                                        bool sorted) const;
    Duration distribution(const Entry& e) const;
    Duration pareto(const Entry& d) const;
    Duration empirical(const Entry& d) const;
    Duration bimodal(const Entry& d) const;
    // arrival() sets `from_trace` when the count comes from a trace file.
    Arrival arrival(const Entry& e, bool& from_trace) const;
    void mmpp(const Entry& rates, const Entry* dwell, Arrival& a) const;
    // Lightweight threads (spec_threads.cpp).
    Step send_step(const Entry& e, size_t group, size_t index);
    Step close_step(const Entry& e, size_t group, size_t index);
    std::vector<Poller> pollers(const Entry& e) const;
    // check_thread_group() checks a group's thread settings (`thread_key`:
    // its `thread` entry or null; `pollers_key` likewise).
    void check_thread_group(const GroupSpec& g, const Entry* thread_key, const Entry* pollers_key,
                            const Entry* arrival_key, const Entry* repeat_key) const;
    CostSpec costs(const Entry& e) const;  // costs.cpp
    Step step(const YAML::Node& n, size_t group, size_t index);
    Step spawn_step(const Entry& e, size_t group, size_t index);
    GroupSpec group(const YAML::Node& n, size_t index);
    void resolve_spawns(WorkloadSpec& spec) const;
    void check_reachable(const WorkloadSpec& spec) const;

    std::string path_;
    std::map<std::string, SourceLoc, std::less<>> group_names_;
    std::vector<SourceLoc> count_locs_;  // per group: where its count is (or the group)
    std::vector<SpawnRef> spawns_;
    std::vector<std::string> events_;  // wait/notify names, in order of first use
};

}  // namespace schedkit::spec_detail
