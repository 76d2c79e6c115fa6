// schedkit: the command-line front end (topology, simulation, comparison, runs).
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <new>
#include <string_view>

#include "commands.h"
#include "schedkit/error.h"
#include "schedkit/policy.h"
#include "schedkit/version.h"

namespace {

// Bad input of any kind exits with this status, after one line on stderr.
constexpr int kBadInput = 2;

// fail() prints one line, whatever the message holds (echoed input may have
// newlines or control bytes; a huge one is cut), and returns kBadInput.
int fail(std::string_view message) {
    constexpr size_t kMaxChars = 2000;
    std::string line = schedkit::one_line(message);
    if (line.size() > kMaxChars)
        line = line.substr(0, kMaxChars) + "... (cut)";
    fmt::print(stderr, "schedkit: error: {}\n", line);
    return kBadInput;
}

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
        return fail(fmt::format("unknown command '{}' (expected one of: {})", argv[1], names));
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
        return fail(fmt::format("{} (see '{}')", e.what(), help));
    }
    if (!run) {
        return fail(fmt::format("a command is required (expected one of: {})", names));
    }
    // Whatever a command throws ends as one line and status 2, never an
    // abort: bad input is an InputError, a policy that refuses the machine a
    // PolicyError; anything else (out of memory, a library's exception) is
    // still reported, not a crash with a core dump.
    try {
        return run();
    } catch (const schedkit::InputError& e) {
        return fail(e.what());
    } catch (const schedkit::PolicyError& e) {
        return fail(fmt::format("policy refused to start: {}", e.what()));
    } catch (const std::bad_alloc&) {
        return fail(
            "out of memory (the input needs more than this machine has; docs/limits.md lists "
            "the budgets that bound a run)");
    } catch (const std::exception& e) {
        return fail(e.what());
    }
}
