// The one-result commands' shared output flags from the command line: --csv
// (parsed back and checked against --json), --per-task, --warmup, and bad
// output paths refused with status 2 and no file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "cli_runner.h"

namespace schedkit {
namespace {

using test::kWorkloads;
using test::run_cli;
using test::slurp;
namespace fs = std::filesystem;
using Json = nlohmann::json;

const std::string kTraces = std::string(SCHEDKIT_TEST_DATA) + "/traces/";

std::string tmp(const std::string& name) {
    return "/tmp/schedkit_output_cli_" + std::to_string(getpid()) + "_" + name;
}

// parse_csv() reads RFC 4180 CSV: rows of fields, quotes doubled inside.
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
    std::vector<std::vector<std::string>> rows(1);
    std::string field;
    bool quoted = false;
    for (size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (quoted) {
            if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
                field += '"';
                ++i;
            } else if (c == '"') {
                quoted = false;
            } else {
                field += c;
            }
        } else if (c == '"') {
            quoted = true;
        } else if (c == ',') {
            rows.back().push_back(field);
            field.clear();
        } else if (c == '\n') {
            rows.back().push_back(field);
            field.clear();
            rows.emplace_back();
        } else {
            field += c;
        }
    }
    EXPECT_TRUE(rows.back().empty()) << "the CSV must end with a newline";
    rows.pop_back();
    return rows;
}

// Csv is a tidy result CSV keyed by (record, key, metric).
struct Csv {
    std::map<std::tuple<std::string, std::string, std::string>, std::string> cells;
    std::set<std::string> keys(const std::string& record) const {
        std::set<std::string> out;
        for (const auto& [k, v] : cells)
            if (std::get<0>(k) == record)
                out.insert(std::get<1>(k));
        return out;
    }
    const std::string& at(const std::string& r, const std::string& k, const std::string& m) const {
        static const std::string none = "<missing>";
        auto it = cells.find({r, k, m});
        return it == cells.end() ? none : it->second;
    }
};

Csv read_csv(const std::string& path) {
    auto rows = parse_csv(slurp(path));
    Csv out;
    EXPECT_FALSE(rows.empty());
    if (rows.empty())
        return out;
    EXPECT_EQ(rows[0], (std::vector<std::string>{"record", "key", "metric", "value"}));
    for (size_t i = 1; i < rows.size(); ++i) {
        EXPECT_EQ(rows[i].size(), 4u) << "row " << i;
        if (rows[i].size() == 4)
            out.cells[{rows[i][0], rows[i][1], rows[i][2]}] = rows[i][3];
    }
    return out;
}

double num(const std::string& s) {
    return std::stod(s);
}

TEST(OutputCli, SimCsvHoldsWhatTheJsonSays) {
    std::string csv = tmp("sim.csv");
    auto r = run_cli("sim " + kWorkloads +
                     "io.yaml --topology 'pack:1 core:4 pu:1' --policy fair "
                     "--json --per-task --csv " +
                     csv);
    ASSERT_EQ(r.status, 0) << r.err;
    Json j = Json::parse(r.out);
    Csv c = read_csv(csv);
    fs::remove(csv);
    EXPECT_EQ(c.at("run", "", "workload"), "io");
    EXPECT_EQ(c.at("run", "", "policy"), "fair");
    EXPECT_DOUBLE_EQ(num(c.at("run", "", "makespan_us")), j["makespan_us"].get<double>());
    EXPECT_EQ(c.at("run", "", "migrations"), std::to_string(j["migrations"].get<uint64_t>()));
    EXPECT_DOUBLE_EQ(num(c.at("run", "", "wait_us.p99")), j["wait_us"]["p99"].get<double>());
    EXPECT_EQ(c.at("run", "", "tasks.spawned"), "26");
    EXPECT_EQ(c.keys("cpus").size(), 4u);
    EXPECT_DOUBLE_EQ(num(c.at("cpus", "2", "busy_us")), j["cpus"][2]["busy_us"].get<double>());
    EXPECT_EQ(c.keys("groups"), (std::set<std::string>{"0", "1"}));
    EXPECT_EQ(c.at("groups", "1", "name"), "cruncher");
    // --per-task: a row set per task, keyed by task id.
    ASSERT_EQ(j["task_stats"].size(), 26u);
    EXPECT_EQ(c.keys("task_stats").size(), 26u);
    const Json& t = j["task_stats"][3];
    std::string id = std::to_string(t["id"].get<uint64_t>());
    EXPECT_EQ(c.at("task_stats", id, "name"), t["name"].get<std::string>());
    EXPECT_EQ(c.at("task_stats", id, "migrations"), std::to_string(t["migrations"].get<int>()));
    EXPECT_DOUBLE_EQ(num(c.at("task_stats", id, "wait_max_us")), t["wait_max_us"].get<double>());
    EXPECT_EQ(c.at("schedule.cpus", "0", "string"), j["schedule"]["cpus"][0]["string"]);
}

TEST(OutputCli, PerTaskTableAndJson) {
    auto r = run_cli("sim " + kWorkloads + "io.yaml --topology 'pack:1 core:2 pu:1' --per-task");
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("per task (26 tasks"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("wait max us"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("schedule (a letter per task switched in, _ idle"), std::string::npos);
    EXPECT_NE(r.out.find("\n    1  "), std::string::npos) << r.out;
    // Without the flag: neither in the table nor in the JSON.
    auto plain = run_cli("sim " + kWorkloads + "io.yaml --topology 'pack:1 core:2 pu:1' --json");
    ASSERT_EQ(plain.status, 0) << plain.err;
    EXPECT_FALSE(Json::parse(plain.out).contains("task_stats"));
    // The real runtime reports the same records.
    auto real = run_cli("run " + kWorkloads + "io.yaml --cpus 0 --scale 0.05 --json --per-task");
    ASSERT_EQ(real.status, 0) << real.err;
    Json rj = Json::parse(real.out);
    ASSERT_EQ(rj["task_stats"].size(), 26u);
    uint64_t runs = 0;
    for (const Json& t : rj["task_stats"]) {
        EXPECT_TRUE(t["exited"].get<bool>());
        EXPECT_EQ(t["switches"], t["voluntary"].get<int>() + t["involuntary"].get<int>());
        runs += t["switches"].get<uint64_t>();
    }
    EXPECT_EQ(runs, rj["context_switches"].get<uint64_t>());
}

TEST(OutputCli, EveryOneResultCommandWritesCsv) {
    std::string csv = tmp("each.csv");
    struct Case {
        std::string args, record, key, metric;
    };
    std::vector<Case> cases = {
        {"topo --topology 'pack:2 core:2 pu:1'", "topology", "", "cpus"},
        {"policies fair", "policies", "fair", "summary"},
        {"replay " + kTraces + "trace-cmd-hackbench.report --policy fair", "fidelity.threads", "",
         "traced_cpu_us"},
        {"run " + kWorkloads + "balanced.yaml --cpus 0 --scale 0.01", "run", "", "makespan_us"},
        {"fidelity " + kWorkloads + "balanced.yaml --cpus 0 --scale 0.01", "fidelity", "",
         "compare.makespan_ms.sim"},
    };
    for (const Case& k : cases) {
        SCOPED_TRACE(k.args);
        auto table = run_cli(k.args + " --csv " + csv);
        ASSERT_EQ(table.status, 0) << table.err;
        Csv c = read_csv(csv);
        auto j = run_cli(k.args + " --json");
        ASSERT_EQ(j.status, 0) << j.err;
        Json js = Json::parse(j.out);
        if (k.key.empty() && k.record == "fidelity.threads") {
            // A row set per replayed thread, keyed by tid.
            EXPECT_EQ(c.keys(k.record).size(), js["fidelity"]["threads"].size());
        } else {
            EXPECT_NE(c.at(k.record, k.key, k.metric), "<missing>");
        }
        fs::remove(csv);
    }
}

TEST(OutputCli, BadCsvPathIsRefusedBeforeTheRunWithNoFile) {
    fs::path dir = tmp("dir");
    fs::create_directories(dir);
    for (const std::string& cmd : std::vector<std::string>{
             "sim " + kWorkloads + "io.yaml", "topo", "replay " + kTraces + "perf-script-xz.txt",
             "run " + kWorkloads + "balanced.yaml --cpus 0"}) {
        SCOPED_TRACE(cmd);
        auto r = run_cli(cmd + " --csv " + dir.string());
        EXPECT_EQ(r.status, 2) << r.err;
        EXPECT_NE(r.err.find("--csv"), std::string::npos) << r.err;
        EXPECT_EQ(r.out, "");
        auto e = run_cli(cmd + " --csv ''");
        EXPECT_EQ(e.status, 2);
        EXPECT_NE(e.err.find("--csv '': expected a file path"), std::string::npos) << e.err;
    }
    EXPECT_TRUE(fs::is_empty(dir));
    fs::remove_all(dir);
}

// --warmup T leaves out exactly the tasks that arrived before T: their
// waits, responses and per-task records.
TEST(OutputCli, WarmupExcludesExactlyTheEarlyTasks) {
    std::string spec = kWorkloads + "service.yaml";
    auto all = run_cli("sim " + spec + " --json --per-task");
    ASSERT_EQ(all.status, 0) << all.err;
    Json a = Json::parse(all.out);
    double warmup_us = a["makespan_us"].get<double>() / 3;
    std::set<uint64_t> late;
    uint64_t late_runs = 0;
    for (const Json& t : a["task_stats"])
        if (t["arrival_us"].get<double>() >= warmup_us) {
            late.insert(t["id"].get<uint64_t>());
            late_runs += t["switches"].get<uint64_t>();
        }
    ASSERT_GT(late.size(), 0u);
    ASSERT_LT(late.size(), a["task_stats"].size());
    std::string flag = " --warmup " + std::to_string(static_cast<uint64_t>(warmup_us)) + "us";
    auto warm = run_cli("sim " + spec + " --json --per-task" + flag);
    ASSERT_EQ(warm.status, 0) << warm.err;
    Json w = Json::parse(warm.out);
    std::set<uint64_t> kept;
    for (const Json& t : w["task_stats"])
        kept.insert(t["id"].get<uint64_t>());
    EXPECT_EQ(kept, late);
    EXPECT_EQ(w["response_us"]["n"].get<uint64_t>(), late.size());
    EXPECT_EQ(w["wait_us"]["n"].get<uint64_t>(), late_runs);
    // Whole-run figures are the same run's.
    EXPECT_EQ(w["makespan_us"], a["makespan_us"]);
    EXPECT_EQ(w["tasks"], a["tasks"]);
    EXPECT_DOUBLE_EQ(w["warmup_us"].get<double>(),
                     static_cast<double>(static_cast<uint64_t>(warmup_us)));
    // compare and sweep take it too, and their figures change with it.
    auto c0 = run_cli("compare " + spec + " --policies fair --json");
    auto c1 = run_cli("compare " + spec + " --policies fair --json" + flag);
    ASSERT_EQ(c0.status, 0) << c0.err;
    ASSERT_EQ(c1.status, 0) << c1.err;
    EXPECT_NE(Json::parse(c0.out)["policies"][0]["wait_p99_us"],
              Json::parse(c1.out)["policies"][0]["wait_p99_us"]);
    // Each experiment's JSON says the warm-up its figures leave out.
    double given_us = static_cast<double>(static_cast<uint64_t>(warmup_us));
    EXPECT_FALSE(Json::parse(c0.out).contains("warmup_us"));
    EXPECT_DOUBLE_EQ(Json::parse(c1.out)["warmup_us"].get<double>(), given_us);
    auto c2 = run_cli("compare " + spec + " --policies fair --seeds 2 --json" + flag);
    ASSERT_EQ(c2.status, 0) << c2.err;
    EXPECT_DOUBLE_EQ(Json::parse(c2.out)["warmup_us"].get<double>(), given_us);
    auto s1 = run_cli("sweep " + spec + " --policies fair --seeds 2 --json --quiet" + flag);
    ASSERT_EQ(s1.status, 0) << s1.err;
    EXPECT_DOUBLE_EQ(Json::parse(s1.out)["sweep"]["warmup_us"].get<double>(), given_us);
    auto bad = run_cli("sim " + spec + " --warmup soon");
    EXPECT_EQ(bad.status, 2);
    EXPECT_NE(bad.err.find("--warmup"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace schedkit
