// `schedkit report`: one self-contained HTML file (plots by Vega-Lite, its
// JavaScript inlined, so it opens offline) from the JSON files schedkit
// writes: traces, sim/run summaries, compare and sweep results.
#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "commands.h"
#include "report_charts.h"
#include "schedkit/error.h"
#include "schedkit/version.h"
#include "workload_args.h"

namespace schedkit::cli {

namespace {

struct ReportArgs {
    std::vector<std::string> inputs;
    std::string output;
    std::string title = "schedkit report";
};

std::string read_text(const std::string& path, const std::string& what) {
    std::ifstream f(path, std::ios::binary);
    if (!f)
        throw InputError(fmt::format("'{}': cannot read ({})", path, what));
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

// js_dir() is where `npm ci` put the pinned Vega packages
// (scripts/install-deps.sh): $SCHEDKIT_JS_DIR, else the source tree's.
std::string js_dir() {
    if (const char* env = std::getenv("SCHEDKIT_JS_DIR"); env != nullptr && *env != '\0')
        return env;
    return SCHEDKIT_JS_DIR;
}

std::string inline_script(const std::string& rel) {
    std::string path = js_dir() + "/" + rel;
    if (!std::filesystem::exists(path))
        throw InputError(fmt::format(
            "'{}': missing (expected the Vega packages of third_party/js; run "
            "scripts/install-deps.sh, or set SCHEDKIT_JS_DIR to a node_modules directory)",
            path));
    std::string js = read_text(path, "a JavaScript file");
    // Inside <script>, only "</script" ends the element; no minified build
    // has one, but a future one must not break the page.
    for (size_t at = js.find("</script"); at != std::string::npos; at = js.find("</script", at))
        js.replace(at, 2, "<\\/");
    return "<script>" + js + "</script>\n";
}

std::string escape_html(const std::string& s) {
    std::string out;
    for (char c : s)
        out += c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '&' ? "&amp;" : std::string(1, c);
    return out;
}

// Kind of input file, told by its fields.
enum class Kind { Trace, Summary, Compare, Sweep };

Kind kind_of(const Json& j, const std::string& path) {
    if (j.is_object() && j.contains("traceEvents"))
        return Kind::Trace;
    if (j.is_object() && j.contains("sweep") && j.contains("points"))
        return Kind::Sweep;
    if (j.is_object() && j.contains("policies") && j["policies"].is_array())
        return Kind::Compare;
    if (j.is_object() && j.contains("makespan_us") && j.contains("cpus"))
        return Kind::Summary;
    throw InputError(fmt::format(
        "'{}': not a schedkit result (expected the JSON of sim/run --json or --trace, compare "
        "--json or sweep --json)",
        path));
}

int run_report(const ReportArgs& a) {
    std::vector<Chart> charts;
    std::vector<std::string> tables;
    const Json* sim = nullptr;
    const Json* real = nullptr;
    std::vector<Json> docs;
    docs.reserve(a.inputs.size());
    for (const std::string& path : a.inputs) {
        std::string text = read_text(path, "expected a JSON file schedkit wrote");
        try {
            docs.push_back(Json::parse(text));
        } catch (const Json::parse_error& e) {
            throw InputError(fmt::format("'{}': not JSON ({})", path, e.what()));
        }
        const Json& j = docs.back();
        std::string name = std::filesystem::path(path).filename().string();
        std::vector<Chart> more;
        switch (kind_of(j, path)) {
            case Kind::Trace:
                more = trace_charts(j, name);
                if (more.empty())
                    throw InputError(fmt::format("'{}': a trace without run slices", path));
                break;
            case Kind::Summary:
                more = summary_charts(j, name);
                if (j.value("executor", "") == "runtime")
                    real = &j;
                else
                    sim = &j;
                break;
            case Kind::Compare:
                more = compare_charts(j, name);
                break;
            case Kind::Sweep:
                more = sweep_charts(j, name);
                break;
        }
        for (Chart& c : more)
            charts.push_back(std::move(c));
    }
    if (sim != nullptr && real != nullptr)
        tables.push_back(
            "<h2>Simulation vs real run</h2>\n<p>" +
            escape_html(fmt::format("{} under {}: the simulator's prediction beside "
                                    "the runtime's measurement.",
                                    sim->value("workload", "?"), sim->value("policy", "?"))) +
            "</p>\n" + fidelity_table(*sim, *real));
    if (charts.empty() && tables.empty())
        throw InputError("report: the inputs give nothing to plot");

    std::string html = fmt::format(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>{0}</title>\n"
        "<style>body{{font-family:sans-serif;margin:2em;max-width:1100px;color:#222}}"
        "h2{{margin-top:2em;border-bottom:1px solid #ccc}}p.note{{color:#555}}"
        "table.fidelity{{border-collapse:collapse}}table.fidelity td,table.fidelity th"
        "{{border:1px solid #ccc;padding:3px 8px;text-align:right}}</style>\n",
        escape_html(a.title));
    html += inline_script("vega/build/vega.min.js");
    html += inline_script("vega-lite/build/vega-lite.min.js");
    html += inline_script("vega-embed/build/vega-embed.min.js");
    html += fmt::format(
        "</head><body>\n<h1>{}</h1>\n<p class=\"note\">schedkit {}; inputs: {}</p>\n",
        escape_html(a.title), kVersion, escape_html([&] {
            std::string s;
            for (const std::string& p : a.inputs)
                s += (s.empty() ? "" : ", ") + std::filesystem::path(p).filename().string();
            return s;
        }()));
    html += "<div id=\"status\" data-status=\"rendering\"></div>\n";
    for (const std::string& t : tables)
        html += t;
    Json specs = Json::array();
    for (size_t i = 0; i < charts.size(); ++i) {
        html += fmt::format("<h2>{}</h2>\n<p class=\"note\">{}</p>\n<div id=\"plot{}\"></div>\n",
                            escape_html(charts[i].title), escape_html(charts[i].note), i);
        specs.push_back(std::move(charts[i].spec));
    }
    // Render every plot; the status element says when all are drawn, and
    // whether any failed or came out empty (what the browser test reads).
    std::string data = specs.dump(-1, ' ', false, Json::error_handler_t::replace);
    for (size_t at = data.find("</"); at != std::string::npos; at = data.find("</", at))
        data.replace(at, 2, "<\\/");
    html += "<script>\nconst specs = " + data + ";\n" + R"JS(
const status = document.getElementById('status');
const problems = [];
function fail(what) { problems.push(what); console.error(what); }
window.addEventListener('error', e => fail('error: ' + e.message));
Promise.all(specs.map((spec, i) =>
  vegaEmbed('#plot' + i, spec, {actions: false, renderer: 'svg'}).then(r => {
    const marks = document.querySelectorAll('#plot' + i + ' svg .role-mark > *').length;
    if (marks === 0) fail('plot ' + i + ' rendered empty');
    return marks;
  }).catch(e => fail('plot ' + i + ': ' + e))
)).then(() => {
  status.dataset.status = problems.length ? 'failed' : 'ok';
  status.dataset.plots = String(specs.length);
  status.textContent = problems.join('; ');
});
</script>
</body></html>
)JS";
    write_output_atomically(a.output, html);
    fmt::print("report: wrote {} ({} plots{})\n", a.output, specs.size(),
               tables.empty() ? "" : ", a sim vs run table");
    return 0;
}

}  // namespace

void add_report_command(CLI::App& app, Command& run) {
    auto args = std::make_shared<ReportArgs>();
    CLI::App* cmd = app.add_subcommand(
        "report", "Write one self-contained HTML report (plots) from schedkit's JSON outputs");
    cmd->add_option("inputs", args->inputs,
                    "JSON files: sim/run --json or --trace, compare --json, sweep --json")
        ->required();
    cmd->add_option("-o,--output", args->output, "The HTML file to write")->required();
    cmd->add_option("--title", args->title, "The report's heading")->capture_default_str();
    cmd->callback([args, &run] { run = [args] { return run_report(*args); }; });
}

}  // namespace schedkit::cli
