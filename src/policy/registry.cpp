#include "schedkit/policy_registry.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <stdexcept>

#include "schedkit/error.h"

namespace schedkit {

const char* option_type_name(OptionType t, bool brief) {
    switch (t) {
        case OptionType::Int:
            return "integer";
        case OptionType::Double:
            return "number";
        case OptionType::Bool:
            return brief ? "bool" : "true or false";
        case OptionType::DurationUs:
            return brief ? "us" : "microseconds";
    }
    return "?";
}

namespace {

// Registry holds the entries; a deque so that an entry never moves once
// added (find_policy() hands out pointers) and entries are never removed.
struct Registry {
    std::shared_mutex mu;
    std::deque<PolicyInfo> entries;  // guarded by mu

    Registry() {
        for (PolicyInfo p :
             {static_policy_info(), fifo_policy_info(), dynamic_policy_info(), fair_policy_info(),
              steal_policy_info(), governor_policy_info(), failing_policy_info()})
            add(std::move(p));
    }
    void add(PolicyInfo p) {
        auto common = common_policy_options();
        p.options.insert(p.options.end(), common.begin(), common.end());
        entries.push_back(std::move(p));
    }
};

Registry& registry() {
    static Registry r;
    return r;
}

// find_policy() returns the entry named `name`, or null. Entries are never
// removed or moved, so the pointer stays valid without the lock.
const PolicyInfo* find_policy(std::string_view name) {
    Registry& r = registry();
    std::shared_lock g(r.mu);
    for (const PolicyInfo& p : r.entries)
        if (p.name == name)
            return &p;
    return nullptr;
}

std::string valid_policies() {
    std::string out;
    for (const PolicyInfo& p : policy_registry())
        if (!p.hidden)
            out += (out.empty() ? "" : ", ") + p.name;
    return out;
}

bool valid_policy_name(std::string_view name) {
    if (name.empty())
        return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_';
    });
}

// check_value() returns an error text, or "" when `text` fits the option.
std::string check_value(const PolicyOption& o, const std::string& text) {
    if (o.type == OptionType::Bool)
        return text == "true" || text == "false" ? "" : "expected true or false";
    double v = 0;
    const char* end = text.data() + text.size();
    if (o.type == OptionType::Double) {
        char* stop = nullptr;
        v = std::strtod(text.c_str(), &stop);
        if (text.empty() || stop != end || !std::isfinite(v))
            return fmt::format("expected a finite {}", option_type_name(o.type));
    } else {
        int64_t i = 0;
        auto [ptr, ec] = std::from_chars(text.data(), end, i);
        if (text.empty() || ec != std::errc{} || ptr != end)
            return o.type == OptionType::DurationUs ? "expected a whole number of microseconds"
                                                    : "expected an integer";
        v = static_cast<double>(i);
    }
    if (v < o.min || v > o.max)
        return fmt::format("expected a value in [{}, {}]", o.min, o.max);
    return "";
}

}  // namespace

int64_t PolicyOptions::get_int(const std::string& name) const {
    return std::strtoll(values.at(name).c_str(), nullptr, 10);
}
double PolicyOptions::get_double(const std::string& name) const {
    return std::strtod(values.at(name).c_str(), nullptr);
}
bool PolicyOptions::get_bool(const std::string& name) const {
    return values.at(name) == "true";
}
uint64_t PolicyOptions::get_duration_ns(const std::string& name) const {
    return static_cast<uint64_t>(get_int(name)) * 1000;
}

std::vector<PolicyOption> common_policy_options() {
    return {{"quantum_us", OptionType::DurationUs, "3000",
             "time slice before a task is preempted when others wait (above the 2 us a simulated "
             "context switch costs)",
             3, 1e9}};
}

void apply_common_options(Policy& p, const PolicyOptions& o) {
    p.quantum_ns = o.get_duration_ns("quantum_us");
}

std::vector<PolicyInfo> policy_registry() {
    Registry& r = registry();
    std::shared_lock g(r.mu);
    return {r.entries.begin(), r.entries.end()};
}

void register_policy(PolicyInfo info) {
    if (!valid_policy_name(info.name))
        throw std::invalid_argument(
            fmt::format("register_policy: bad policy name '{}' (expected letters, digits, '-' "
                        "and '_')",
                        info.name));
    if (!info.make)
        throw std::invalid_argument(
            fmt::format("register_policy: policy '{}' has no factory", info.name));
    for (const PolicyOption& o : info.options)
        if (!valid_policy_name(o.name) || o.name == "quantum_us")
            throw std::invalid_argument(
                fmt::format("register_policy: policy '{}': bad option name '{}' (expected "
                            "letters, digits, '-' and '_'; quantum_us is every policy's)",
                            info.name, o.name));
    Registry& r = registry();
    std::unique_lock g(r.mu);
    for (const PolicyInfo& p : r.entries)
        if (p.name == info.name)
            throw std::invalid_argument(fmt::format(
                "register_policy: a policy named '{}' is already registered", info.name));
    r.add(std::move(info));
}

void register_policy(std::string name, PolicyFactory factory, std::vector<PolicyOption> options,
                     std::string summary) {
    register_policy(
        PolicyInfo{std::move(name), std::move(summary), std::move(options), std::move(factory)});
}

std::unique_ptr<Policy> make_policy(std::string_view spec, std::string_view what, int num_cpus) {
    std::string_view name = spec.substr(0, spec.find(':'));
    const PolicyInfo* info = find_policy(name);
    if (info == nullptr)
        throw InputError(fmt::format("{} '{}': unknown policy '{}' (expected one of: {})", what,
                                     spec, name, valid_policies()));
    PolicyOptions opts;
    for (const PolicyOption& o : info->options)
        opts.values[o.name] = o.default_value;
    std::set<std::string> given;
    if (name.size() < spec.size()) {
        std::string_view rest = spec.substr(name.size() + 1);
        size_t col = name.size() + 2;  // 1-based column of the first option
        while (true) {
            std::string_view item = rest.substr(0, rest.find(','));
            size_t eq = item.find('=');
            std::string key(item.substr(0, eq));
            auto it = std::find_if(info->options.begin(), info->options.end(),
                                   [&](const PolicyOption& o) { return o.name == key; });
            if (it == info->options.end()) {
                std::string valid;
                for (const PolicyOption& o : info->options)
                    valid += (valid.empty() ? "" : ", ") + o.name;
                throw InputError(fmt::format(
                    "{} '{}': column {}: unknown option '{}' for policy '{}' (expected one of: {})",
                    what, spec, col, key, name, valid));
            }
            if (eq == std::string_view::npos)
                throw InputError(
                    fmt::format("{} '{}': column {}: option '{}' has no value "
                                "(expected {}=<{}>)",
                                what, spec, col, key, key, option_type_name(it->type)));
            std::string value(item.substr(eq + 1));
            std::string err = check_value(*it, value);
            if (!err.empty())
                throw InputError(fmt::format("{} '{}': column {}: bad value '{}' for {}: {}", what,
                                             spec, col + eq + 1, value, key, err));
            if (it->names_cpu && num_cpus > 0 && std::stoll(value) >= num_cpus)
                throw InputError(
                    fmt::format("{} '{}': column {}: {}={} names a CPU the machine does not have "
                                "(expected 0 to {})",
                                what, spec, col + eq + 1, key, value, num_cpus - 1));
            if (!given.insert(key).second)
                throw InputError(fmt::format("{} '{}': column {}: option '{}' given twice", what,
                                             spec, col, key));
            opts.values[key] = value;
            if (item.size() == rest.size())
                break;
            col += item.size() + 1;
            rest = rest.substr(item.size() + 1);
        }
    }
    std::unique_ptr<Policy> p = info->make(opts);
    if (p == nullptr)
        throw InputError(fmt::format("{} '{}': policy '{}' built no policy", what, spec, name));
    apply_common_options(*p, opts);
    return p;
}

}  // namespace schedkit
