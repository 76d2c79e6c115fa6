// schedkit: the command-line front end (topology, simulation, comparison, runs).
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "commands.h"
#include "schedkit/error.h"
#include "schedkit/version.h"

namespace {

// Bad input of any kind exits with this status, after one line on stderr.
constexpr int kBadInput = 2;

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"schedkit: a multicore scheduler you can run and simulate with the same code",
                 "schedkit"};
    app.set_version_flag("--version", std::string("schedkit ") + schedkit::kVersion);
    app.require_subcommand(0, 1);
    schedkit::cli::Command run;
    schedkit::cli::add_topo_command(app, run);
    schedkit::cli::add_sim_command(app, run);
    schedkit::cli::add_run_command(app, run);
    schedkit::cli::add_compare_command(app, run);
    schedkit::cli::add_fidelity_command(app, run);
    schedkit::cli::add_sweep_command(app, run);
    schedkit::cli::add_merge_command(app, run);
    schedkit::cli::add_report_command(app, run);
    schedkit::cli::add_policies_command(app, run);
    schedkit::cli::add_ctl_command(app, run);
    schedkit::cli::add_import_command(app, run);
    schedkit::cli::add_replay_command(app, run);
    std::string names;
    bool known = false;
    for (const CLI::App* sub : app.get_subcommands({})) {
        names += (names.empty() ? "" : ", ") + sub->get_name();
        known |= argc > 1 && sub->get_name() == argv[1];
    }
    if (argc > 1 && argv[1][0] != '-' && !known) {
        fmt::print(stderr, "schedkit: error: unknown command '{}' (expected one of: {})\n", argv[1],
                   names);
        return kBadInput;
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        // Point at the help of the command the flag was given to.
        std::string help = known ? fmt::format("schedkit {} --help", argv[1]) : "schedkit --help";
        fmt::print(stderr, "schedkit: error: {} (see '{}')\n", e.what(), help);
        return kBadInput;
    }
    if (!run) {
        fmt::print(stderr, "schedkit: error: a command is required (expected one of: {})\n", names);
        return kBadInput;
    }
    try {
        return run();
    } catch (const schedkit::InputError& e) {
        fmt::print(stderr, "schedkit: error: {}\n", e.what());
        return kBadInput;
    }
}
