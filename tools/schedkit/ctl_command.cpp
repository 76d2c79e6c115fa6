// `schedkit ctl SOCKET METHOD [ARGS...]`: one JSON-RPC 2.0 call to the
// control socket of a running `schedkit run --control SOCKET`
// (docs/control.md). The result is printed as one JSON line.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "schedkit/control.h"
#include "schedkit/error.h"

namespace schedkit::cli {

namespace {

struct CtlArgs {
    std::string socket;
    std::string method;
    std::vector<std::string> args;  // params: strings in order, or one JSON object/array
    double timeout_s = 10;
};

int run_ctl(const CtlArgs& a) {
    nlohmann::json params = nlohmann::json::array();
    if (a.args.size() == 1 && !a.args[0].empty() && (a.args[0][0] == '{' || a.args[0][0] == '[')) {
        params = nlohmann::json::parse(a.args[0], nullptr, false);
        if (params.is_discarded())
            throw InputError(
                fmt::format("ctl params '{}': expected a JSON object or array", a.args[0]));
    } else {
        for (const std::string& s : a.args)
            params.push_back(s);
    }
    nlohmann::json req{{"jsonrpc", "2.0"}, {"method", a.method}, {"params", params}, {"id", 1}};
    if (!(a.timeout_s > 0) || a.timeout_s > 3600)
        throw InputError(fmt::format("--timeout '{}': expected seconds in (0, 3600]", a.timeout_s));
    std::string line = control_call(
        a.socket, req.dump(), std::chrono::milliseconds(static_cast<int64_t>(a.timeout_s * 1000)));
    nlohmann::json resp = nlohmann::json::parse(line, nullptr, false);
    if (resp.is_discarded() || !resp.is_object())
        throw InputError(fmt::format("control socket '{}': the answer is not JSON-RPC", a.socket));
    if (resp.contains("error")) {
        const auto& e = resp["error"];
        throw InputError(fmt::format("ctl {}: {} (JSON-RPC error {})", a.method,
                                     e.value("message", std::string("?")), e.value("code", 0)));
    }
    const auto& result = resp["result"];
    fmt::print("{}\n", result.dump());
    // A refused switch is an answer, not an error: print it, exit 1.
    return result.is_object() && result.contains("ok") && result["ok"] == false ? 1 : 0;
}

}  // namespace

void add_ctl_command(CLI::App& app, Command& run) {
    auto args = std::make_shared<CtlArgs>();
    CLI::App* cmd = app.add_subcommand(
        "ctl", "Call a running `schedkit run --control SOCKET` (JSON-RPC 2.0, docs/control.md)");
    cmd->add_option("socket", args->socket, "The control socket's path")->required();
    cmd->add_option("method", args->method,
                    "get_stats, get_threads, get_policy, set_policy POLICY, load_plugin PATH, "
                    "unload_plugin NAME")
        ->required();
    cmd->add_option("args", args->args, "The method's arguments, or one JSON object/array");
    cmd->add_option("--timeout", args->timeout_s, "Seconds to wait for the answer")
        ->capture_default_str();
    cmd->callback([args, &run] { run = [args] { return run_ctl(*args); }; });
}

}  // namespace schedkit::cli
