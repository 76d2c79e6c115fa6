// `schedkit policies`: the registry's policies, their options and defaults.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "output_flags.h"
#include "schedkit/policy_registry.h"
#include "schedkit/topology.h"
#include "workload_args.h"

namespace schedkit::cli {

namespace {

struct PoliciesArgs {
    std::string spec;  // empty: all
    std::vector<std::string> plugins;
    std::string topology = "host";  // CPU options are checked against it
    OutputFlags output;
};

int run_policies(const PoliciesArgs& args) {
    load_plugins(args.plugins);
    args.output.check();
    std::string only;
    if (!args.spec.empty()) {
        // A bad name or option, or a CPU the machine lacks: InputError, status 2.
        make_policy(args.spec, "policy", Topology::load(args.topology).num_cpus());
        only = args.spec.substr(0, args.spec.find(':'));
    }
    nlohmann::json out = nlohmann::json::array();
    std::string text;
    for (const PolicyInfo& p : policy_registry()) {
        if (p.hidden || (!only.empty() && p.name != only))
            continue;
        nlohmann::json opts = nlohmann::json::array();
        text += fmt::format("{:<10} {}\n", p.name, p.summary);
        for (const PolicyOption& o : p.options) {
            opts.push_back({{"name", o.name},
                            {"type", option_type_name(o.type, true)},
                            {"default", o.default_value},
                            {"help", o.help}});
            text += fmt::format("  {:<18} {:<8} default {:<8} {}\n", o.name,
                                option_type_name(o.type, true), o.default_value, o.help);
        }
        out.push_back({{"name", p.name}, {"summary", p.summary}, {"options", opts}});
    }
    // Converted as it is (keys sorted, as the JSON always printed them).
    args.output.emit(nlohmann::ordered_json(nlohmann::json{{"policies", out}}),
                     text + "usage: --policy NAME[:OPTION=VALUE,...], e.g. fair:nr_migrate=16\n",
                     "policies", -1);
    return 0;
}

}  // namespace

void add_policies_command(CLI::App& app, Command& run) {
    auto args = std::make_shared<PoliciesArgs>();
    CLI::App* cmd = app.add_subcommand("policies", "List the policies, their options and defaults");
    cmd->add_option("policy", args->spec,
                    "Show (and check) one policy, e.g. fair or fair:nr_migrate=16");
    add_plugin_option(*cmd, args->plugins);
    cmd->add_option("--topology", args->topology,
                    "The machine CPU options are checked against (as for sim)")
        ->capture_default_str();
    args->output.add_to(*cmd, false);
    cmd->callback([args, &run] { run = [args] { return run_policies(*args); }; });
}

}  // namespace schedkit::cli
