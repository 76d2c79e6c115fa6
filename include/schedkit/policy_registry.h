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
    bool names_cpu = false;  // an Int that is a CPU id: checked against the machine
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

// PolicyFactory builds a policy from its validated options (every option
// the entry declares has a value: given, or its default).
using PolicyFactory = std::function<std::unique_ptr<Policy>(const PolicyOptions&)>;

// policy_registry() lists every policy: the built-in ones in a fixed order,
// then registered ones in registration order. A snapshot (thread-safe with
// register_policy()).
std::vector<PolicyInfo> policy_registry();

// register_policy() makes a user's policy available by name everywhere a
// policy spec is read: `--policy` and `--switch` of the CLI, `compare`,
// `policies`, Runtime::Config::policy, Runtime::set_policy(), make_policy().
// `options` are checked and defaulted like a built-in policy's; every
// policy also takes the common `quantum_us`, applied after `factory` runs.
// Throws std::invalid_argument for a name already registered, or one that
// is empty or has characters other than letters, digits, '-' and '_'
// (':' and ',' separate options in a spec), or a null factory.
// Thread-safe; a registration lasts for the process.
void register_policy(std::string name, PolicyFactory factory,
                     std::vector<PolicyOption> options = {}, std::string summary = {});
void register_policy(PolicyInfo info);

// make_policy() builds a policy from "name" or "name:opt=value,opt=value".
// `what` names the input in errors (e.g. "--policy"). Throws InputError
// naming the bad policy or option and listing the valid ones; an option
// given twice, a number that is not finite, or (with num_cpus > 0) a CPU
// option naming a CPU the machine does not have is an error too.
std::unique_ptr<Policy> make_policy(std::string_view spec, std::string_view what = "--policy",
                                    int num_cpus = 0);

// Options every policy accepts (common to the Policy base).
std::vector<PolicyOption> common_policy_options();
void apply_common_options(Policy& p, const PolicyOptions& o);

// Entries defined next to each policy.
PolicyInfo static_policy_info();
PolicyInfo fifo_policy_info();
PolicyInfo dynamic_policy_info();
PolicyInfo fair_policy_info();
PolicyInfo steal_policy_info();
PolicyInfo governor_policy_info();
PolicyInfo failing_policy_info();  // test-only: refuses to start

}  // namespace schedkit
