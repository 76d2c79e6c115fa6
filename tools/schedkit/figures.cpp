#include "figures.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "schedkit/report.h"

namespace schedkit::cli {

namespace {

double round6(double v) {
    return std::round(v * 1e6) / 1e6;
}

// add_distribution() adds NAME_mean_us (when the summary has a mean),
// NAME_p50_us and NAME_p99_us from a {p50, p99, mean?} object.
void add_distribution(Figures& f, const std::string& prefix, const Json& d, const char* unit) {
    if (!d.is_object())
        return;
    if (d.contains("mean"))
        f.emplace_back(prefix + "_mean" + unit, d["mean"].get<double>());
    f.emplace_back(prefix + "_p50" + unit, d.value("p50", 0.0));
    f.emplace_back(prefix + "_p99" + unit, d.value("p99", 0.0));
}

}  // namespace

Figures figures_of(const SimResult& r) {
    const RunSummary& s = r.summary;
    Json j = Json::parse(summary_json(s));
    Figures f;
    f.emplace_back("makespan_us", s.makespan_us);
    f.emplace_back("lower_bound_us", r.lower_bound_us);
    f.emplace_back("ratio_to_bound",
                   r.lower_bound_us > 0 ? round6(s.makespan_us / r.lower_bound_us) : 0);
    f.emplace_back("imbalance_ratio", s.imbalance_ratio);
    f.emplace_back("migrations", static_cast<double>(s.migrations));
    f.emplace_back("context_switches", static_cast<double>(s.context_switches));
    add_distribution(f, "wait", j["wait_us"], "_us");
    add_distribution(f, "response", j["response_us"], "_us");
    f.emplace_back("energy_j", round6(r.energy_j));
    if (j.contains("groups"))
        for (const Json& g : j["groups"]) {
            std::string prefix = "group:" + g.value("name", std::string("?")) + ":";
            add_distribution(f, prefix + "wait", g["wait_us"], "_us");
            add_distribution(f, prefix + "response", g["response_us"], "_us");
            if (g.contains("slowdown"))
                add_distribution(f, prefix + "slowdown", g["slowdown"], "");
        }
    return f;
}

Json aggregate(const std::vector<Figures>& runs) {
    std::vector<std::string> order;
    std::vector<std::vector<double>> values;
    for (const Figures& run : runs)
        for (const auto& [name, v] : run) {
            auto it = std::find(order.begin(), order.end(), name);
            if (it == order.end()) {
                order.push_back(name);
                values.emplace_back();
                it = order.end() - 1;
            }
            values[static_cast<size_t>(it - order.begin())].push_back(v);
        }
    Json out = Json::object();
    for (size_t i = 0; i < order.size(); ++i) {
        Estimate e = estimate(values[i]);
        Json vs = Json::array();
        for (double v : e.values)
            vs.push_back(round6(v));
        out[order[i]] = {{"mean", round6(e.mean)},
                         {"ci95", round6(e.ci95)},
                         {"n", e.n},
                         {"values", std::move(vs)}};
    }
    return out;
}

Estimate estimate_of(const Json& aggregated, const std::string& figure) {
    Estimate e;
    if (!aggregated.contains(figure))
        return e;
    const Json& j = aggregated[figure];
    e.mean = j["mean"].get<double>();
    e.ci95 = j["ci95"].get<double>();
    e.n = j["n"].get<size_t>();
    e.values = j["values"].get<std::vector<double>>();
    return e;
}

std::string csv_field(const std::string& text) {
    if (text.find_first_of(",\"\n\r") == std::string::npos)
        return text;
    std::string out = "\"";
    for (char c : text) {
        if (c == '"')
            out += '"';
        out += c;
    }
    return out + "\"";
}

std::string csv_number(double v) {
    std::string s = fmt::format("{:.6f}", round6(v));
    s.erase(s.find_last_not_of('0') + 1);
    if (!s.empty() && s.back() == '.')
        s.pop_back();
    return s == "-0" ? "0" : s;
}

void CsvTable::add_row(std::vector<std::pair<std::string, std::string>> row) {
    for (const auto& [column, value] : row)
        if (std::find(columns_.begin(), columns_.end(), column) == columns_.end())
            columns_.push_back(column);
    rows_.push_back(std::move(row));
}

std::string CsvTable::text() const {
    std::string out;
    for (size_t i = 0; i < columns_.size(); ++i)
        out += (i == 0 ? "" : ",") + csv_field(columns_[i]);
    out += '\n';
    for (const auto& row : rows_) {
        for (size_t i = 0; i < columns_.size(); ++i) {
            if (i > 0)
                out += ',';
            for (const auto& [column, value] : row)
                if (column == columns_[i]) {
                    out += csv_field(value);
                    break;
                }
        }
        out += '\n';
    }
    return out;
}

}  // namespace schedkit::cli
