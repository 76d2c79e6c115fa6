// policy_registry.h: policies by name, with typed and validated options.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "schedkit/policy.h"

namespace schedkit {

// OptionType is how an option's text is read and checked.
enum class OptionType : uint8_t { Int, Double, Bool, DurationUs };

// option_type_name() names a type for people: in error messages ("integer",
// "true or false", "microseconds"), or `brief` for tables ("bool", "us").
const char* option_type_name(OptionType t, bool brief = false);

// PolicyOption describes one option: its type, default and meaning.
struct PolicyOption {
    std::string name;
    OptionType type = OptionType::Int;
    std::string default_value;
    std::string help;
    double min = 0;  // inclusive lower bound for numbers
    double max = 1e18;
};

// PolicyOptions are an option set checked against a policy's descriptions;
// every option has a value (its default when not given).
class PolicyOptions {
  public:
    int64_t get_int(const std::string& name) const;
    double get_double(const std::string& name) const;
    bool get_bool(const std::string& name) const;
    uint64_t get_duration_ns(const std::string& name) const;  // DurationUs options

    std::map<std::string, std::string> values;  // validated text per option
};

// PolicyInfo is one registry entry.
struct PolicyInfo {
    std::string name;
    std::string summary;  // one line: what it does
    std::vector<PolicyOption> options;
    std::function<std::unique_ptr<Policy>(const PolicyOptions&)> make;
    bool hidden = false;  // test-only policies are not listed
};

// policy_registry() lists every policy, in a fixed order.
const std::vector<PolicyInfo>& policy_registry();

// make_policy() builds a policy from "name" or "name:opt=value,opt=value".
// `what` names the input in errors (e.g. "--policy"). Throws InputError
// naming the bad policy or option and listing the valid ones.
std::unique_ptr<Policy> make_policy(std::string_view spec, std::string_view what = "--policy");

// Options every policy accepts (common to the Policy base).
std::vector<PolicyOption> common_policy_options();
void apply_common_options(Policy& p, const PolicyOptions& o);

// Entries defined next to each policy.
PolicyInfo static_policy_info();
PolicyInfo dynamic_policy_info();
PolicyInfo fair_policy_info();
PolicyInfo steal_policy_info();
PolicyInfo governor_policy_info();
PolicyInfo failing_policy_info();  // test-only: refuses to start

}  // namespace schedkit
