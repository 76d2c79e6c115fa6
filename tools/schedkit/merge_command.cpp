// `schedkit merge`: join the outputs of a sweep's jobs (--emit-jobs) into
// the JSON, table and CSV the same sweep run in one go would give.
#include <fmt/format.h>

#include <fstream>
#include <map>
#include <sstream>

#include "commands.h"
#include "compare_seeds.h"
#include "schedkit/error.h"
#include "sweep_grid.h"

namespace schedkit::cli {

namespace {

struct MergeArgs {
    std::vector<std::string> inputs;
    bool json = false;
    std::string csv_path;
    std::string output;
};

Json read_part(const std::string& path) {
    std::ifstream f(path);
    if (!f)
        throw InputError(
            fmt::format("'{}': cannot read (expected a file from 'schedkit sweep "
                        "--output')",
                        path));
    std::stringstream ss;
    ss << f.rdbuf();
    Json j;
    try {
        j = Json::parse(ss.str());
    } catch (const Json::parse_error& e) {
        throw InputError(
            fmt::format("'{}': not JSON ({}); expected the output of 'schedkit "
                        "sweep --output'",
                        path, e.what()));
    }
    for (const char* key : {"workload", "topology", "cpus", "sweep", "points", "interrupted"})
        if (!j.is_object() || !j.contains(key))
            throw InputError(fmt::format(
                "'{}': no \"{}\" field; expected the output of 'schedkit sweep --output'", path,
                key));
    return j;
}

int run_merge(const MergeArgs& a) {
    check_csv_path(a.csv_path);
    check_csv_path(a.output);
    Json first;
    std::map<size_t, Json> points;
    bool stopped = false;
    for (const std::string& path : a.inputs) {
        Json part = read_part(path);
        if (first.is_null()) {
            first = part;
        } else {
            for (const char* key : {"workload", "topology", "cpus", "sweep"})
                if (part[key] != first[key])
                    throw InputError(fmt::format(
                        "'{}': its \"{}\" differs from '{}' (expected parts of one sweep)", path,
                        key, a.inputs.front()));
        }
        stopped |= part["interrupted"].get<bool>();
        for (Json& p : part["points"]) {
            size_t k = p["point"].get<size_t>();
            if (points.count(k) != 0)
                throw InputError(fmt::format(
                    "'{}': point {} is in another input too (expected each once)", path, k));
            points[k] = std::move(p);
        }
    }
    size_t total = first["sweep"]["points"].get<size_t>();
    std::string missing;
    for (size_t k = 0; k < total; ++k)
        if (points.count(k) == 0)
            missing += (missing.empty() ? "" : ", ") + std::to_string(k);
    if (!missing.empty())
        throw InputError(
            fmt::format("merge: points {} of the sweep's {} are in no input "
                        "(expected the output of every --emit-jobs command)",
                        missing, total));
    Json out = first;
    out["points"] = Json::array();
    for (auto& [k, p] : points)
        out["points"].push_back(std::move(p));
    out["interrupted"] = stopped;
    print_sweep(out, a.json, a.csv_path, a.output);
    return 0;
}

}  // namespace

void add_merge_command(CLI::App& app, Command& run) {
    auto args = std::make_shared<MergeArgs>();
    CLI::App* cmd = app.add_subcommand(
        "merge", "Join the outputs of a sweep's jobs (sweep --emit-jobs) into one result");
    cmd->add_option("inputs", args->inputs, "JSON files written by 'schedkit sweep --output'")
        ->required();
    cmd->add_flag("--json", args->json, "Print one JSON object instead of a table");
    cmd->add_option("--csv", args->csv_path, "Also write one CSV row per run to FILE");
    cmd->add_option("--output", args->output, "Write the merged JSON to FILE");
    cmd->callback([args, &run] { run = [args] { return run_merge(*args); }; });
}

}  // namespace schedkit::cli
