#include "report_charts.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

namespace schedkit::cli {

namespace {

// At most this many run slices go into a Gantt chart (the earliest ones):
// a browser draws some ten thousand bars smoothly, not millions.
constexpr size_t kMaxSlices = 20000;
constexpr int kBuckets = 200;

Json base_spec(const std::string& title) {
    return {{"$schema", "https://vega.github.io/schema/vega-lite/v6.json"},
            {"title", title},
            {"width", 760}};
}

std::string escape_html(const std::string& s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '&':
                out += "&amp;";
                break;
            case '"':
                out += "&quot;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

double num(const Json& j, const char* key) {
    return j.contains(key) && j[key].is_number() ? j[key].get<double>() : 0.0;
}

}  // namespace

std::vector<Chart> trace_charts(const Json& trace, const std::string& name) {
    struct Slice {
        double start, end;  // us
        int cpu;
        std::string task;
    };
    std::map<int, int> tid_cpu;  // trace thread id -> CPU number
    std::vector<Slice> slices;
    std::vector<std::tuple<double, int, int>> counters;  // (ts, cpu, len)
    for (const Json& e : trace["traceEvents"]) {
        std::string ph = e.value("ph", "");
        if (ph == "M" && e.value("name", "") == "thread_name") {
            std::string n = e["args"].value("name", "");
            if (n.rfind("CPU ", 0) == 0)
                tid_cpu[e.value("tid", -1)] = std::atoi(n.c_str() + 4);
        } else if (ph == "X" && e.value("cat", "") == "run") {
            slices.push_back({num(e, "ts"), num(e, "ts") + num(e, "dur"), e.value("tid", -1),
                              e.value("name", "")});
        } else if (ph == "C") {
            std::string n = e.value("name", "");
            if (n.rfind("runqueue CPU ", 0) == 0)
                counters.emplace_back(num(e, "ts"), std::atoi(n.c_str() + 13),
                                      e["args"].value("len", 0));
        }
    }
    for (Slice& s : slices)
        s.cpu = tid_cpu.count(s.cpu) != 0 ? tid_cpu[s.cpu] : s.cpu;
    std::vector<Chart> out;
    if (slices.empty())
        return out;
    std::sort(slices.begin(), slices.end(),
              [](const Slice& a, const Slice& b) { return a.start < b.start; });
    double end = 0;
    int cpus = static_cast<int>(tid_cpu.size());  // every CPU track, idle ones too
    for (const Slice& s : slices) {
        end = std::max(end, s.end);
        cpus = std::max(cpus, s.cpu + 1);
    }
    // Gantt: the earliest slices, a row per CPU, a colour per task group
    // (the task name before '#').
    size_t shown = std::min(slices.size(), kMaxSlices);
    Json values = Json::array();
    for (size_t i = 0; i < shown; ++i) {
        const Slice& s = slices[i];
        values.push_back({{"cpu", s.cpu},
                          {"start_ms", s.start / 1e3},
                          {"end_ms", s.end / 1e3},
                          {"task", s.task},
                          {"group", s.task.substr(0, s.task.find('#'))}});
    }
    Json gantt = base_spec("Per-CPU timeline: " + name);
    gantt["height"] = std::clamp(cpus * 14, 80, 700);
    gantt["data"] = {{"values", std::move(values)}};
    gantt["mark"] = {{"type", "bar"}, {"tooltip", true}};
    gantt["encoding"] = {
        {"x", {{"field", "start_ms"}, {"type", "quantitative"}, {"title", "time (ms)"}}},
        {"x2", {{"field", "end_ms"}}},
        {"y", {{"field", "cpu"}, {"type", "ordinal"}, {"title", "CPU"}}},
        {"color", {{"field", "group"}, {"type", "nominal"}, {"title", "task group"}}}};
    out.push_back({"Per-CPU timeline (" + name + ")",
                   shown < slices.size()
                       ? fmt::format("The first {} of {} run slices (to {:.3f} ms of {:.3f} ms); "
                                     "the trace file has them all.",
                                     shown, slices.size(), slices[shown - 1].start / 1e3, end / 1e3)
                       : "Every run slice: a row per CPU, a colour per task group.",
                   std::move(gantt)});

    // Utilisation: the busy share of all CPUs per time bucket.
    double width = end / kBuckets;
    std::vector<double> busy(kBuckets, 0);
    for (const Slice& s : slices) {
        int b0 = std::min(kBuckets - 1, static_cast<int>(s.start / width));
        int b1 = std::min(kBuckets - 1, static_cast<int>(s.end / width));
        for (int b = b0; b <= b1; ++b) {
            double lo = std::max(s.start, b * width), hi = std::min(s.end, (b + 1) * width);
            if (hi > lo)
                busy[static_cast<size_t>(b)] += hi - lo;
        }
    }
    Json util = Json::array();
    for (int b = 0; b < kBuckets; ++b)
        util.push_back({{"time_ms", (b + 0.5) * width / 1e3},
                        {"utilisation", busy[static_cast<size_t>(b)] / (width * cpus)}});
    Json uspec = base_spec("CPU utilisation: " + name);
    uspec["height"] = 200;
    uspec["data"] = {{"values", std::move(util)}};
    uspec["mark"] = {{"type", "area"}, {"line", true}, {"opacity", 0.5}};
    uspec["encoding"] = {
        {"x", {{"field", "time_ms"}, {"type", "quantitative"}, {"title", "time (ms)"}}},
        {"y",
         {{"field", "utilisation"},
          {"type", "quantitative"},
          {"title", "busy share of all CPUs"},
          {"scale", {{"domain", {0, 1}}}},
          {"axis", {{"format", "%"}}}}}};
    out.push_back({"Utilisation over time (" + name + ")",
                   fmt::format("Busy time of all {} CPUs per {:.3f} ms bucket.", cpus, width / 1e3),
                   std::move(uspec)});

    // Run-queue length: tasks waiting on all CPUs, sampled per bucket.
    if (!counters.empty()) {
        std::sort(counters.begin(), counters.end());
        std::vector<int> len(static_cast<size_t>(std::max(cpus, 1)), 0);
        int total = 0;
        size_t i = 0;
        Json rq = Json::array();
        for (int b = 0; b < kBuckets; ++b) {
            double t = (b + 1) * width;
            int peak = total;
            while (i < counters.size() && std::get<0>(counters[i]) <= t) {
                auto [ts, cpu, v] = counters[i++];
                if (cpu >= 0 && static_cast<size_t>(cpu) < len.size()) {
                    total += v - len[static_cast<size_t>(cpu)];
                    len[static_cast<size_t>(cpu)] = v;
                    peak = std::max(peak, total);
                }
            }
            rq.push_back({{"time_ms", (b + 0.5) * width / 1e3}, {"queued", total}, {"peak", peak}});
        }
        Json rspec = base_spec("Run-queue length: " + name);
        rspec["height"] = 200;
        rspec["data"] = {{"values", std::move(rq)}};
        rspec["transform"] = {{{"fold", {"queued", "peak"}}, {"as", {"series", "tasks"}}}};
        rspec["mark"] = {{"type", "line"}, {"interpolate", "step-after"}};
        rspec["encoding"] = {
            {"x", {{"field", "time_ms"}, {"type", "quantitative"}, {"title", "time (ms)"}}},
            {"y", {{"field", "tasks"}, {"type", "quantitative"}, {"title", "tasks queued"}}},
            {"color", {{"field", "series"}, {"type", "nominal"}, {"title", "all CPUs"}}}};
        out.push_back({"Run-queue length over time (" + name + ")",
                       "Tasks waiting in all run queues: at each bucket's end, and the bucket's "
                       "peak.",
                       std::move(rspec)});
    }
    return out;
}

std::vector<Chart> summary_charts(const Json& summary, const std::string& name) {
    // A step CDF through the summary's `cdf` (up to 200 quantiles of the raw
    // samples, docs/output.md); a summary without one (written before it
    // existed) gives the percentiles it keeps: p50, p90, p99, max.
    Json values = Json::array();
    bool sampled = summary.contains("cdf") && summary["cdf"].is_object();
    auto add_cdf = [&](const std::string& group, const std::string& what, const Json& cdf) {
        if (!cdf.is_array() || cdf.empty())
            return;
        values.push_back({{"group", group}, {"what", what}, {"us", 0.0}, {"share", 0.0}});
        double k = static_cast<double>(cdf.size());
        for (size_t i = 0; i < cdf.size(); ++i)
            values.push_back({{"group", group},
                              {"what", what},
                              {"us", cdf[i].get<double>()},
                              {"share", static_cast<double>(i + 1) / k}});
    };
    auto add = [&](const std::string& group, const std::string& what, const Json& d) {
        if (!d.is_object())
            return;
        values.push_back({{"group", group}, {"what", what}, {"us", 0.0}, {"share", 0.0}});
        for (auto [key, share] : {std::pair{"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}, {"max", 1.0}})
            values.push_back(
                {{"group", group}, {"what", what}, {"us", num(d, key)}, {"share", share}});
    };
    if (sampled) {
        const Json& cdf = summary["cdf"];
        if (cdf.contains("groups") && !cdf["groups"].empty()) {
            for (const Json& g : cdf["groups"]) {
                add_cdf(g.value("name", "?"), "wait", g["wait_us"]);
                add_cdf(g.value("name", "?"), "response", g["response_us"]);
            }
        } else {
            add_cdf("all tasks", "wait", cdf["wait_us"]);
            add_cdf("all tasks", "response", cdf["response_us"]);
        }
    } else if (summary.contains("groups") && !summary["groups"].empty()) {
        for (const Json& g : summary["groups"]) {
            add(g.value("name", "?"), "wait", g["wait_us"]);
            add(g.value("name", "?"), "response", g["response_us"]);
        }
    } else {
        add("all tasks", "wait", summary["wait_us"]);
        add("all tasks", "response", summary["response_us"]);
    }
    Json spec = base_spec("Wait and response CDFs: " + name);
    spec.erase("width");
    spec["data"] = {{"values", std::move(values)}};
    spec["facet"] = {{"column",
                      {{"field", "what"},
                       {"type", "nominal"},
                       {"title", nullptr},
                       {"sort", {"wait", "response"}}}}};
    spec["resolve"] = {{"scale", {{"x", "independent"}}}};
    spec["spec"] = {
        {"width", 360},
        {"height", 220},
        {"mark", {{"type", "line"}, {"interpolate", "step-after"}, {"point", !sampled}}},
        {"encoding",
         {{"x", {{"field", "us"}, {"type", "quantitative"}, {"title", "time (us)"}}},
          {"y",
           {{"field", "share"},
            {"type", "quantitative"},
            {"title", "share of samples at or below"},
            {"axis", {{"format", "%"}}}}},
          {"color", {{"field", "group"}, {"type", "nominal"}}}}}};
    return {{"Wait and response time (" + name + ")",
             "Cumulative share of samples against time, per group: " +
                 std::string(sampled ? "up to 200 quantiles of the raw samples."
                                     : "through the summary's p50, p90, p99 and max."),
             std::move(spec)}};
}

std::vector<Chart> compare_charts(const Json& compare, const std::string& name) {
    struct Fig {
        const char* key;
        const char* title;
        double scale;
    };
    const Fig figs[] = {{"makespan_us", "makespan (ms)", 1e3},
                        {"wait_p99_us", "p99 wait (us)", 1},
                        {"response_p99_us", "p99 response (us)", 1},
                        {"energy_j", "energy (J)", 1}};
    Json values = Json::array();
    bool with_ci = false;
    for (const Json& p : compare["policies"])
        for (const Fig& f : figs) {
            double mean = 0, ci = 0;
            if (p.contains("figures")) {
                if (!p["figures"].contains(f.key))
                    continue;
                mean = num(p["figures"][f.key], "mean");
                ci = num(p["figures"][f.key], "ci95");
                with_ci = true;
            } else if (p.contains(f.key)) {
                mean = num(p, f.key);
            } else {
                continue;
            }
            values.push_back({{"policy", p.value("policy", "?")},
                              {"figure", f.title},
                              {"mean", mean / f.scale},
                              {"lo", (mean - ci) / f.scale},
                              {"hi", (mean + ci) / f.scale}});
        }
    Json spec = base_spec("Policies compared: " + name);
    spec.erase("width");
    spec["data"] = {{"values", std::move(values)}};
    spec["facet"] = {{"field", "figure"}, {"type", "nominal"}, {"title", nullptr}};
    spec["columns"] = 2;
    spec["resolve"] = {{"scale", {{"y", "independent"}}}};
    Json layers = Json::array();
    layers.push_back(
        {{"mark", {{"type", "bar"}, {"tooltip", true}}},
         {"encoding",
          {{"x", {{"field", "policy"}, {"type", "nominal"}, {"sort", nullptr}}},
           {"y", {{"field", "mean"}, {"type", "quantitative"}, {"title", "mean"}}},
           {"color", {{"field", "policy"}, {"type", "nominal"}, {"legend", nullptr}}}}}});
    if (with_ci)
        layers.push_back({{"mark", {{"type", "rule"}, {"strokeWidth", 2}}},
                          {"encoding",
                           {{"x", {{"field", "policy"}, {"type", "nominal"}, {"sort", nullptr}}},
                            {"y", {{"field", "lo"}, {"type", "quantitative"}}},
                            {"y2", {{"field", "hi"}}}}}});
    spec["spec"] = {{"width", 340}, {"height", 200}, {"layer", std::move(layers)}};
    std::string seeds =
        compare.contains("seeds") ? fmt::format(" over {} seeds", compare["seeds"].size()) : "";
    return {{"Policies compared (" + name + ")",
             with_ci ? "Bars are means" + seeds + ", whiskers the 95% confidence interval."
                     : "One seed: no interval (run compare --seeds N for one).",
             std::move(spec)}};
}

std::vector<Chart> sweep_charts(const Json& sweep, const std::string& name) {
    std::vector<Chart> out;
    const char* figs[][2] = {{"makespan_us", "makespan (us)"},
                             {"response_p99_us", "p99 response (us)"},
                             {"wait_p99_us", "p99 wait (us)"}};
    for (const Json& param : sweep["sweep"]["param_names"]) {
        std::string pname = param.get<std::string>();
        Json values = Json::array();
        for (const Json& p : sweep["points"]) {
            if (!p["params"].contains(pname))
                continue;
            std::string v = p["params"][pname].get<std::string>();
            char* endp = nullptr;
            double x = std::strtod(v.c_str(), &endp);
            if (endp == v.c_str())
                continue;  // not a number: no curve
            // The other parameters of the point tell curves apart.
            std::string series = p.value("policy", "?");
            for (const auto& [k, other] : p["params"].items())
                if (k != pname)
                    series += " " + k + "=" + other.get<std::string>();
            for (const auto& f : figs)
                if (p["figures"].contains(f[0])) {
                    const Json& e = p["figures"][f[0]];
                    values.push_back({{"x", x},
                                      {"series", series},
                                      {"figure", f[1]},
                                      {"mean", num(e, "mean")},
                                      {"lo", num(e, "mean") - num(e, "ci95")},
                                      {"hi", num(e, "mean") + num(e, "ci95")}});
                }
        }
        if (values.empty())
            continue;
        Json spec = base_spec("Sweep of " + pname + ": " + name);
        spec.erase("width");
        spec["data"] = {{"values", std::move(values)}};
        spec["facet"] = {{"field", "figure"}, {"type", "nominal"}, {"title", nullptr}};
        spec["columns"] = 3;
        spec["resolve"] = {{"scale", {{"y", "independent"}}}};
        Json x = {{"field", "x"}, {"type", "quantitative"}, {"title", pname}};
        Json color = {{"field", "series"}, {"type", "nominal"}, {"title", "policy"}};
        spec["spec"] = {{"width", 240},
                        {"height", 200},
                        {"layer",
                         {{{"mark", {{"type", "errorband"}, {"opacity", 0.25}}},
                           {"encoding",
                            {{"x", x},
                             {"y", {{"field", "lo"}, {"type", "quantitative"}, {"title", "mean"}}},
                             {"y2", {{"field", "hi"}}},
                             {"color", color}}}},
                          {{"mark", {{"type", "line"}, {"point", true}, {"tooltip", true}}},
                           {"encoding",
                            {{"x", x},
                             {"y", {{"field", "mean"}, {"type", "quantitative"}}},
                             {"color", color}}}}}}};
        out.push_back({"Sweep of " + pname + " (" + name + ")",
                       "Mean over seeds against the parameter; the band is the 95% confidence "
                       "interval.",
                       std::move(spec)});
    }
    return out;
}

std::string fidelity_table(const Json& sim, const Json& run) {
    std::string rows;
    auto row = [&](const std::string& what, double s, double r, const char* unit) {
        double diff = s != 0 ? 100.0 * (r - s) / s : 0;
        rows += fmt::format(
            "<tr><td>{}</td><td>{:.3f} {}</td><td>{:.3f} {}</td><td>{:+.1f}%</td></tr>\n",
            escape_html(what), s, unit, r, unit, diff);
    };
    row("makespan", num(sim, "makespan_us") / 1e3, num(run, "makespan_us") / 1e3, "ms");
    row("migrations", num(sim, "migrations"), num(run, "migrations"), "");
    row("context switches", num(sim, "context_switches"), num(run, "context_switches"), "");
    for (const char* d : {"wait_us", "response_us"})
        for (const char* p : {"p50", "p99"})
            if (sim.contains(d) && run.contains(d))
                row(fmt::format("{} {}", std::string(d).substr(0, std::string(d).size() - 3), p),
                    num(sim[d], p), num(run[d], p), "us");
    if (sim.contains("cpus") && run.contains("cpus"))
        for (size_t i = 0; i < std::min(sim["cpus"].size(), run["cpus"].size()); ++i)
            row(fmt::format("CPU {} busy", i), num(sim["cpus"][i], "busy_us") / 1e3,
                num(run["cpus"][i], "busy_us") / 1e3, "ms");
    return fmt::format(
        "<table class=\"fidelity\"><thead><tr><th>figure</th><th>sim</th><th>run</th>"
        "<th>run vs sim</th></tr></thead><tbody>\n{}</tbody></table>\n",
        rows);
}

}  // namespace schedkit::cli
