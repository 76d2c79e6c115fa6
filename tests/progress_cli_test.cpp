// Progress line and interruption end to end: a pseudo-terminal (script(1))
// shows the line, --progress/--quiet force it, SIGINT and SIGTERM end sim,
// compare, replay and sweep with a partial summary marked interrupted and no corrupt file.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <regex>

#include "cli_runner.h"

using schedkit::test::kWorkloads;
using schedkit::test::run_cli;
using schedkit::test::slurp;
namespace fs = std::filesystem;

namespace {

const std::string kCli = SCHEDKIT_CLI;
fs::path scratch() {
    fs::path dir = fs::temp_directory_path() / ("schedkit_progress_" + std::to_string(getpid()));
    fs::create_directories(dir);
    return dir;
}

// A spec that would run for minutes: 64 tasks, each a million run/block rounds.
std::string long_spec() {
    std::string path = (scratch() / "long.yaml").string();
    std::ofstream(path) << "name: long\n"
                           "topology: \"pack:1 core:4 pu:1\"\n"
                           "groups:\n"
                           "  - name: worker\n"
                           "    count: 64\n"
                           "    repeat: 1000000\n"
                           "    behavior:\n"
                           "      - run: {exp: 100us}\n"
                           "      - block: 10us\n";
    return path;
}

// shell() runs a /bin/sh command line and returns its exit status.
int shell(const std::string& cmd) {
    int raw = std::system(cmd.c_str());
    return WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
}

// interrupt() starts `cmd` (stdout and stderr already redirected by it),
// sends `sig` `after_s` seconds after it has installed its SIGINT handler,
// and returns the command's status. With
// `pty`, the command runs under script(1), its terminal output in `log`.
int interrupt(const std::string& cmd, const char* sig, double after_s, bool pty,
              const std::string& log = "/dev/null") {
    fs::path pid = scratch() / "pid", script = scratch() / "run.sh";
    fs::remove(pid);
    std::ofstream(script) << "echo $$ > " << pid.string() << "\nexec " << cmd << "\n";
    std::string run = pty ? "script -qfec 'sh " + script.string() + "' " + log + " >/dev/null"
                          : "sh " + script.string();
    // The clock starts once the command catches SIGINT (bit 2 of SigCgt in
    // /proc/PID/status), so a slow start on a loaded machine is not
    // mistaken for the run: up to 10 s, then the signal goes anyway.
    std::string caught = "p=$(cat " + pid.string() +
                         " 2>/dev/null); m=$(awk '/^SigCgt/{print $2}' /proc/$p/status "
                         "2>/dev/null); [ -n \"$m\" ] && [ $((0x$m & 2)) -ne 0 ]";
    std::string driver = run + " </dev/null & job=$!; for i in $(seq 500); do " + caught +
                         " && break; sleep 0.02; done; sleep " + std::to_string(after_s) +
                         "; kill -" + sig + " $(cat " + pid.string() +
                         "); wait $job; st=$?; kill -KILL $(cat " + pid.string() +
                         ") 2>/dev/null; exit $st";
    return shell(driver);
}

bool leftovers(const fs::path& dir) {
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().extension() == ".tmp")
            return true;
    return false;
}

// A trace-cmd report of 64 threads taking turns on 2 CPUs, `switches` long:
// big enough that reading and replaying it takes a good fraction of a second.
std::string long_trace(int switches) {
    std::string path = (scratch() / "long.report").string();
    std::ofstream f(path);
    f << "cpus=2\n";
    int cur[2] = {1000, 1001};
    int k = 2;
    uint64_t t_us = 1000000000;
    for (int i = 0; i < switches; ++i) {
        int c = i % 2;
        int next = 1000 + k++ % 64;
        if (next == cur[0] || next == cur[1])
            next = 1000 + k++ % 64;
        int prev = cur[c];
        t_us += 10;
        f << "        w-" << prev << " [00" << c << "] " << t_us / 1000000 << '.' << std::setw(6)
          << std::setfill('0') << t_us % 1000000 << std::setfill(' ')
          << ": sched_switch:         w:" << prev << " [120] S ==> w:" << next << " [120]\n";
        cur[c] = next;
        t_us += 1;
        f << "        w-" << next << " [00" << c << "] " << t_us / 1000000 << '.' << std::setw(6)
          << std::setfill('0') << t_us % 1000000 << std::setfill(' ')
          << ": sched_wakeup:         w:" << prev << " [120] CPU:00" << c << "\n";
    }
    return path;
}

}  // namespace

TEST(ProgressCli, TerminalShowsTheLineAndSigintEndsWithAPartialSummary) {
    fs::path dir = scratch();
    std::string out = (dir / "pty.json").string(), log = (dir / "pty.log").string();
    int status = interrupt(kCli + " sim " + long_spec() + " --json >" + out, "INT", 3.5, true, log);
    EXPECT_EQ(status, 130);
    // The terminal saw the progress line redrawn in place (after 2 s).
    std::string tty = slurp(log);
    EXPECT_TRUE(std::regex_search(
        tty, std::regex("\rsim long: [0-9.]+[kMG]? events, virtual [0-9.]+ m?s, [0-9.]+%, "
                        "[0-9.]+[kMG]? events/s, ETA")))
        << tty;
    EXPECT_NE(tty.find("interrupted"), std::string::npos) << tty;
    auto j = nlohmann::json::parse(slurp(out));  // whole, valid JSON
    EXPECT_TRUE(j["interrupted"].get<bool>());
    EXPECT_GT(j["events"].get<uint64_t>(), 0u);
    EXPECT_EQ(j["tasks"]["spawned"], 64);
    EXPECT_EQ(j["unfinished"].get<uint64_t>() + j["tasks"]["completed"].get<uint64_t>(), 64u);
    EXPECT_EQ(j["tasks"]["lost"], 0);
}

TEST(ProgressCli, SigtermEndsSimWithAWholeTrace) {
    fs::path dir = scratch() / "trace";
    fs::create_directories(dir);
    std::string trace = (dir / "t.json").string(), out = (dir / "out.txt").string();
    int status = interrupt(kCli + " sim " + long_spec() + " --trace " + trace + " >" + out + " 2>" +
                               (dir / "err").string(),
                           "TERM", 0.3, false);
    EXPECT_EQ(status, 143);
    EXPECT_NE(slurp(out).find("interrupted yes"), std::string::npos) << slurp(out);
    // Whole, valid JSON (checked without building it: it is ~100 MB).
    std::string text = slurp(trace);
    EXPECT_GT(text.size(), 1000u);
    EXPECT_TRUE(nlohmann::json::accept(text));
    EXPECT_FALSE(leftovers(dir));
    fs::remove(trace);
}

TEST(ProgressCli, SigtermEndsCompareWithTheRowsSoFar) {
    fs::path dir = scratch();
    std::string out = (dir / "cmp.json").string(), err = (dir / "cmp.err").string();
    int status =
        interrupt(kCli + " compare " + long_spec() + " --json --quiet >" + out + " 2>" + err,
                  "TERM", 1.0, false);
    EXPECT_EQ(status, 143);
    auto j = nlohmann::json::parse(slurp(out));
    EXPECT_TRUE(j["interrupted"].get<bool>());
    ASSERT_EQ(j["policies"].size(), 1u);  // the first policy, cut short
    EXPECT_TRUE(j["policies"][0]["interrupted"].get<bool>());
    // --quiet: no progress line, only the one line saying what happened.
    EXPECT_EQ(slurp(err), "schedkit: interrupted; the table covers the runs so far\n");
}

TEST(ProgressCli, ProgressFlagWritesLinesIntoAFileAndQuietNone) {
    auto forced = run_cli("sim " + kWorkloads + "imbalanced.yaml --json --progress");
    ASSERT_EQ(forced.status, 0) << forced.err;
    EXPECT_NE(forced.err.find("sim imbalanced: "), std::string::npos) << forced.err;
    EXPECT_EQ(forced.err.find('\r'), std::string::npos);  // not a terminal: whole lines
    EXPECT_FALSE(nlohmann::json::parse(forced.out)["interrupted"].get<bool>());
    auto quiet = run_cli("sim " + kWorkloads + "imbalanced.yaml --json --quiet");
    ASSERT_EQ(quiet.status, 0);
    EXPECT_EQ(quiet.err, "");
    // Not a terminal and not forced: nothing either.
    EXPECT_EQ(run_cli("compare " + kWorkloads + "imbalanced.yaml").err, "");
    EXPECT_EQ(run_cli("sim x.yaml --progress --quiet").status, 2);
}

TEST(ProgressCli, TableShowsUnfinishedTasksAndRefusedSwitches) {
    auto r = run_cli("sim " + kWorkloads + "imbalanced.yaml --until 100ms --switch 50ms=failing");
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(std::regex_search(
        r.out, std::regex("tasks +[0-9]+ spawned, [0-9]+ completed, [1-9][0-9]* unfinished")))
        << r.out;
    EXPECT_NE(r.out.find("static -> failing: REFUSED"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("ctx switch"), std::string::npos) << r.out;
    EXPECT_NE(r.err.find("--switch at 50.000 ms to 'failing' was refused"), std::string::npos)
        << r.err;
}

TEST(ProgressCli, UnknownFlagPointsAtTheCommandsHelp) {
    auto r = run_cli("compare " + kWorkloads + "imbalanced.yaml --bogus");
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("(see 'schedkit compare --help')"), std::string::npos) << r.err;
}

TEST(ProgressCli, ReplayShowsProgressAndSigintEndsItWithAPartialSummary) {
    fs::path dir = scratch() / "replay";
    fs::create_directories(dir);
    std::string trace = long_trace(200000);
    // --progress: lines into a file while the replay runs.
    std::string err = (dir / "err").string();
    int ok = shell(kCli + " replay " + trace + " --json --progress >/dev/null 2>" + err);
    EXPECT_EQ(ok, 0);
    EXPECT_TRUE(
        std::regex_search(slurp(err), std::regex("replay long.report: [0-9.]+[kMG]? events")))
        << slurp(err);
    // SIGINT on a terminal while it reads and replays: a whole JSON summary
    // marked interrupted, a whole trace file, status 130.
    std::string out = (dir / "out.json").string(), log = (dir / "pty.log").string();
    std::string perfetto = (dir / "t.json").string();
    int status = interrupt(kCli + " replay " + trace + " --json --trace " + perfetto + " >" + out,
                           "INT", 0.2, true, log);
    EXPECT_EQ(status, 130);
    auto j = nlohmann::json::parse(slurp(out));
    EXPECT_TRUE(j["interrupted"].get<bool>());
    EXPECT_TRUE(nlohmann::json::accept(slurp(perfetto)));
    EXPECT_NE(slurp(log).find("interrupted"), std::string::npos) << slurp(log);
    EXPECT_FALSE(leftovers(dir));
    fs::remove(trace);
}

TEST(ProgressCli, SigintEndsSweepWithTheRunsSoFarAndNoCorruptFiles) {
    fs::path dir = scratch() / "sweep";
    fs::create_directories(dir);
    std::string out = (dir / "out.json").string(), csv = (dir / "s.csv").string();
    std::string log = (dir / "pty.log").string();
    int status =
        interrupt(kCli + " sweep " + long_spec() +
                      " --param fair:nr_migrate=8,32 --seeds 2 --json --csv " + csv + " >" + out,
                  "INT", 2.5, true, log);
    EXPECT_EQ(status, 130);
    auto j = nlohmann::json::parse(slurp(out));
    EXPECT_TRUE(j["interrupted"].get<bool>());
    EXPECT_NE(slurp(csv).find("interrupted"), std::string::npos);  // whole CSV, header first
    EXPECT_NE(slurp(log).find("interrupted"), std::string::npos) << slurp(log);
    EXPECT_FALSE(leftovers(dir));
}
