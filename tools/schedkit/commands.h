// commands.h: each schedkit subcommand registers itself on the CLI11 app.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace schedkit::cli {

// A Command runs after parsing and returns the process exit status. It may
// throw InputError for bad input; main() turns that into status 2.
using Command = std::function<int()>;

// Each add_*_command() adds a subcommand and sets `run` when it is chosen.
void add_topo_command(CLI::App& app, Command& run);
void add_sim_command(CLI::App& app, Command& run);
void add_policies_command(CLI::App& app, Command& run);
void add_compare_command(CLI::App& app, Command& run);
void add_run_command(CLI::App& app, Command& run);
void add_fidelity_command(CLI::App& app, Command& run);
void add_ctl_command(CLI::App& app, Command& run);
void add_sweep_command(CLI::App& app, Command& run);
void add_merge_command(CLI::App& app, Command& run);
void add_report_command(CLI::App& app, Command& run);
void add_import_command(CLI::App& app, Command& run);
void add_replay_command(CLI::App& app, Command& run);

}  // namespace schedkit::cli
