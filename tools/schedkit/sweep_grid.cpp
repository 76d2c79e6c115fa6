#include "sweep_grid.h"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>

#include "compare_split.h"
#include "schedkit/error.h"
#include "schedkit/policy_registry.h"

namespace schedkit::cli {

namespace {

struct Param {
    std::string policy, option;
    std::vector<std::string> values;
};

Param parse_param(const std::string& text) {
    size_t colon = text.find(':'), eq = text.find('=');
    if (colon == std::string::npos || eq == std::string::npos || eq < colon || colon == 0 ||
        eq == colon + 1)
        throw InputError(fmt::format(
            "--param '{}': expected POLICY:OPTION=V1,V2,..., e.g. fair:migration_cost_us=0,250",
            text));
    Param p{text.substr(0, colon), text.substr(colon + 1, eq - colon - 1), {}};
    std::string rest = text.substr(eq + 1);
    size_t pos = 0;
    for (;;) {
        size_t comma = rest.find(',', pos);
        std::string v = rest.substr(pos, comma == std::string::npos ? comma : comma - pos);
        if (v.empty())
            throw InputError(fmt::format("--param '{}': empty value in the list", text));
        p.values.push_back(v);
        if (comma == std::string::npos)
            break;
        pos = comma + 1;
    }
    return p;
}

std::string policy_name(const std::string& spec) {
    return spec.substr(0, spec.find(':'));
}

// Table columns: figure, header, decimals, scale.
struct Column {
    const char* figure;
    const char* header;
    int decimals;
    double scale;
};
constexpr Column kColumns[] = {
    {"makespan_us", "makespan_ms", 3, 1e3},   {"ratio_to_bound", "ratio", 4, 1},
    {"imbalance_ratio", "imbalance", 3, 1},   {"migrations", "migrations", 1, 1},
    {"context_switches", "ctx_switch", 1, 1}, {"wait_p99_us", "wait_p99_us", 1, 1},
    {"response_p99_us", "resp_p99_us", 1, 1}, {"energy_j", "energy_j", 3, 1},
};

}  // namespace

std::vector<SweepPoint> sweep_points(const std::string& policies,
                                     const std::vector<std::string>& param_flags) {
    std::vector<Param> params;
    for (const std::string& text : param_flags)
        params.push_back(parse_param(text));
    std::vector<std::string> bases;
    if (!policies.empty()) {
        bases = split_policies(policies);
    } else {
        for (const Param& p : params)
            if (std::find(bases.begin(), bases.end(), p.policy) == bases.end())
                bases.push_back(p.policy);
    }
    if (bases.empty())
        throw InputError("sweep: expected --policies or at least one --param");
    for (const Param& p : params) {
        bool named = std::any_of(bases.begin(), bases.end(),
                                 [&](const std::string& b) { return policy_name(b) == p.policy; });
        if (!named)
            throw InputError(fmt::format("--param '{}:{}=...': policy '{}' is not in --policies",
                                         p.policy, p.option, p.policy));
    }
    std::vector<SweepPoint> out;
    for (const std::string& base : bases) {
        if (base.empty())
            throw InputError(fmt::format("--policies '{}': empty policy name", policies));
        make_policy(base, "--policies");
        std::vector<const Param*> mine;
        for (const Param& p : params)
            if (p.policy == policy_name(base))
                mine.push_back(&p);
        // Odometer over the values of this policy's parameters.
        std::vector<size_t> at(mine.size(), 0);
        for (;;) {
            SweepPoint point{policy_name(base), base, {}};
            for (size_t i = 0; i < mine.size(); ++i) {
                const std::string& v = mine[i]->values[at[i]];
                point.run_policy += (point.run_policy.find(':') == std::string::npos ? ":" : ",") +
                                    mine[i]->option + "=" + v;
                point.params.emplace_back(mine[i]->policy + ":" + mine[i]->option, v);
            }
            make_policy(point.run_policy, "--param");
            out.push_back(std::move(point));
            size_t i = mine.size();
            while (i > 0 && ++at[i - 1] == mine[i - 1]->values.size())
                at[--i] = 0;
            if (i == 0)
                break;
        }
    }
    return out;
}

Json point_json(size_t index, const SweepPoint& point, const std::vector<const GridRun*>& runs) {
    Json params = Json::object();
    for (const auto& [name, v] : point.params)
        params[name] = v;
    std::vector<Figures> figures;
    Json per_run = Json::array();
    size_t completed = 0;
    for (const GridRun* run : runs) {
        if (!run->ran)
            continue;
        Figures f = figures_of(run->result);
        Json fj = Json::object();
        for (const auto& [name, v] : f)
            fj[name] = std::round(v * 1e6) / 1e6;
        per_run.push_back({{"seed", run->seed},
                           {"completed", run->result.completed},
                           {"interrupted", run->result.interrupted},
                           {"figures", std::move(fj)}});
        if (run->result.interrupted)
            continue;
        completed += run->result.completed ? 1 : 0;
        figures.push_back(std::move(f));
    }
    return {{"point", index},
            {"policy", point.policy},
            {"run_policy", point.run_policy},
            {"params", std::move(params)},
            {"completed", completed},
            {"figures", aggregate(figures)},
            {"runs", std::move(per_run)}};
}

std::string sweep_csv(const Json& sweep) {
    CsvTable csv;
    for (const Json& point : sweep["points"])
        for (const Json& run : point["runs"]) {
            std::vector<std::pair<std::string, std::string>> row = {
                {"workload", sweep["workload"].get<std::string>()},
                {"topology", sweep["topology"].get<std::string>()},
                {"point", std::to_string(point["point"].get<size_t>())},
                {"policy", point["run_policy"].get<std::string>()}};
            for (const Json& name : sweep["sweep"]["param_names"])
                row.emplace_back(name.get<std::string>(),
                                 point["params"].value(name.get<std::string>(), std::string()));
            row.emplace_back("seed", std::to_string(run["seed"].get<uint64_t>()));
            row.emplace_back("completed", run["completed"].get<bool>() ? "true" : "false");
            row.emplace_back("interrupted", run["interrupted"].get<bool>() ? "true" : "false");
            for (const auto& [name, v] : run["figures"].items())
                row.emplace_back(name, csv_number(v.get<double>()));
            csv.add_row(std::move(row));
        }
    return csv.text();
}

void print_estimates(const std::vector<std::string>& labels, const std::vector<Json>& figures,
                     const char* label_header) {
    std::vector<std::vector<std::string>> cells(labels.size());
    std::vector<size_t> width;
    size_t label_width = std::string_view(label_header).size();
    for (const Column& c : kColumns)
        width.push_back(std::string_view(c.header).size());
    for (size_t r = 0; r < labels.size(); ++r) {
        label_width = std::max(label_width, labels[r].size());
        for (size_t ci = 0; ci < std::size(kColumns); ++ci) {
            const Column& c = kColumns[ci];
            cells[r].push_back(plus_minus(estimate_of(figures[r], c.figure), c.decimals, c.scale));
            // "±" is two bytes wide in UTF-8 and one column on screen.
            width[ci] = std::max(width[ci], cells[r].back().size() - 1);
        }
    }
    std::string header = fmt::format("{:<{}}", label_header, label_width);
    for (size_t ci = 0; ci < std::size(kColumns); ++ci)
        header += fmt::format("  {:>{}}", kColumns[ci].header, width[ci]);
    fmt::print("{}\n", header);
    for (size_t r = 0; r < labels.size(); ++r) {
        std::string line = fmt::format("{:<{}}", labels[r], label_width);
        for (size_t ci = 0; ci < std::size(kColumns); ++ci)
            line += fmt::format("  {:>{}}", cells[r][ci], width[ci] + 1);
        fmt::print("{}\n", line);
    }
}

}  // namespace schedkit::cli
