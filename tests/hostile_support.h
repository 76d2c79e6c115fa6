// hostile_support.h: helpers for the hostile-input tests (issue 13 item 4):
// scratch files, and the one assertion they share, "status 2, one line".
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "cli_runner.h"

namespace schedkit::test {

// scratch() is a path in a per-process directory under the temp directory.
inline std::string scratch(const std::string& name) {
    return scratch_file("schedkit_hostile", name);
}

inline std::string write_file(const std::string& name, const std::string& text) {
    std::string path = scratch(name);
    std::ofstream(path, std::ios::binary) << text;
    return path;
}

// expect_rejected() checks that a run ended the way bad input must: status
// 2, nothing on stdout, exactly one line on stderr holding `fragment`.
inline void expect_rejected(const CliResult& r, const std::string& fragment,
                            const std::string& what) {
    EXPECT_EQ(r.status, 2) << what << ": " << r.err;
    EXPECT_TRUE(r.out.empty()) << what << ": " << r.out.substr(0, 200);
    ASSERT_FALSE(r.err.empty()) << what;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << what << ": not one line: " << r.err;
    EXPECT_EQ(r.err.rfind("schedkit: error: ", 0), 0u) << what << ": " << r.err;
    EXPECT_NE(r.err.find(fragment), std::string::npos)
        << what << ": expected '" << fragment << "' in: " << r.err;
}

// run_prefixed() runs `PREFIX schedkit ARGS` (e.g. PREFIX "taskset -c 0").
inline CliResult run_prefixed(const std::string& prefix, const std::string& args) {
    std::string out = scratch("prefixed.out"), err = scratch("prefixed.err");
    std::string cmd =
        prefix + " " + SCHEDKIT_CLI + " " + args + " >" + out + " 2>" + err + " </dev/null";
    int raw = std::system(cmd.c_str());
    CliResult r;
    r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
}

inline CliResult expect_rejected(const std::string& args, const std::string& fragment) {
    CliResult r = run_cli(args);
    expect_rejected(r, fragment, args);
    return r;
}

}  // namespace schedkit::test
