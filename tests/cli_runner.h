// cli_runner.h: run the built schedkit binary and capture status and output.
#pragma once

#include <sys/wait.h>

#include <unistd.h>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace schedkit::test {

struct CliResult {
    int status = -1;
    std::string out;
    std::string err;
};

// kWorkloads is the folder of the shipped example workload specs.
inline const std::string kWorkloads = std::string(SCHEDKIT_SOURCE_DIR) + "/examples/workloads/";

// scratch_file() is `name` inside this test process's own temporary
// folder `prefix`_PID, created on first use.
inline std::string scratch_file(const std::string& prefix, const std::string& name) {
    std::filesystem::path dir =
        std::filesystem::temp_directory_path() / (prefix + "_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    return (dir / name).string();
}

inline std::string slurp(const std::string& path) {
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

// run_cli() runs `schedkit ARGS` through the shell (ARGS may quote) with
// stdout and stderr captured separately.
inline CliResult run_cli(const std::string& args) {
    static int counter = 0;
    std::string base =
        "/tmp/schedkit_cli_" + std::to_string(getpid()) + "_" + std::to_string(counter++);
    std::string cmd =
        std::string(SCHEDKIT_CLI) + " " + args + " >" + base + ".out 2>" + base + ".err </dev/null";
    int raw = std::system(cmd.c_str());
    CliResult r;
    r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    r.out = slurp(base + ".out");
    r.err = slurp(base + ".err");
    std::remove((base + ".out").c_str());
    std::remove((base + ".err").c_str());
    return r;
}

}  // namespace schedkit::test
