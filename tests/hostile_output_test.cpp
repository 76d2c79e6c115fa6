// hostile_output_test.cpp: output files (issue 13 item 4, first bullet).
// A trace never replaces a device node, a FIFO or a symbolic link with a
// regular file; a directory is refused before any simulation runs; an
// existing file survives a failed or interrupted run; nothing partial stays.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "hostile_support.h"
#include "schedkit/error.h"
#include "schedkit/output_file.h"

namespace schedkit {
namespace {

namespace fs = std::filesystem;
using test::expect_rejected;
using test::kWorkloads;
using test::run_cli;
using test::scratch;
using test::slurp;

// leftovers() lists the files of `dir` other than `keep`: temporaries a
// writer failed to clean up.
std::vector<std::string> leftovers(const fs::path& dir, const std::set<std::string>& keep) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir))
        if (!keep.count(e.path().filename().string()))
            out.push_back(e.path().filename().string());
    return out;
}

fs::path fresh_dir(const std::string& name) {
    fs::path d = scratch(name);
    fs::remove_all(d);
    fs::create_directories(d);
    return d;
}

TEST(HostileOutput, DevNullStaysACharacterDevice) {
    auto r = run_cli("sim " + kWorkloads + "balanced.yaml --trace /dev/null --json");
    ASSERT_EQ(r.status, 0) << r.err;
    struct stat st {};
    ASSERT_EQ(::lstat("/dev/null", &st), 0);
    EXPECT_TRUE(S_ISCHR(st.st_mode)) << "/dev/null was replaced";
    EXPECT_FALSE(fs::exists("/dev/.null.tmp"));
}

TEST(HostileOutput, FifoIsWrittenInPlaceNotReplaced) {
    fs::path dir = fresh_dir("fifo");
    std::string fifo = (dir / "trace.pipe").string();
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    // The reader opens the FIFO and drains it while the simulation writes.
    auto reader = std::async(std::launch::async, [&] {
        std::ifstream in(fifo, std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    });
    auto r = run_cli("sim " + kWorkloads + "io.yaml --trace " + fifo);
    ASSERT_EQ(r.status, 0) << r.err;
    std::string text = reader.get();
    EXPECT_TRUE(nlohmann::json::parse(text).contains("traceEvents"));
    struct stat st {};
    ASSERT_EQ(::lstat(fifo.c_str(), &st), 0);
    EXPECT_TRUE(S_ISFIFO(st.st_mode)) << "the FIFO was replaced by a regular file";
    EXPECT_TRUE(leftovers(dir, {"trace.pipe"}).empty());
}

TEST(HostileOutput, SymlinkStaysALinkAndItsTargetIsWritten) {
    fs::path dir = fresh_dir("link");
    fs::path target = dir / "real.json", link = dir / "link.json";
    std::ofstream(target) << "old";
    fs::create_symlink(target, link);
    auto r = run_cli("sim " + kWorkloads + "io.yaml --trace " + link.string());
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(fs::is_symlink(link));
    EXPECT_TRUE(nlohmann::json::parse(slurp(target.string())).contains("traceEvents"));
    EXPECT_TRUE(leftovers(dir, {"real.json", "link.json"}).empty());

    fs::path dangling = dir / "dangling.json";
    fs::create_symlink(dir / "nowhere" / "x.json", dangling);
    expect_rejected("sim " + kWorkloads + "io.yaml --trace " + dangling.string(), "link");
    EXPECT_TRUE(fs::is_symlink(dangling));
}

TEST(HostileOutput, DirectoryRefusedBeforeSimulatingAndLeavesNothing) {
    fs::path dir = fresh_dir("dir");
    fs::create_directories(dir / "out");
    for (const char* cmd : {"sim", "run"}) {
        auto start = std::chrono::steady_clock::now();
        // imbalanced.yaml takes seconds to simulate with a trace; refusing
        // the path first takes milliseconds.
        // (run: io.yaml, which has no 32-CPU topology that run would refuse first.)
        std::string spec = std::string(cmd) == "sim" ? "imbalanced.yaml" : "io.yaml";
        expect_rejected(
            std::string(cmd) + " " + kWorkloads + spec + " --trace " + (dir / "out").string(),
            "is a directory");
        EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2)) << cmd;
        EXPECT_TRUE(fs::is_directory(dir / "out"));
        EXPECT_TRUE(leftovers(dir, {"out"}).empty()) << cmd;
        EXPECT_TRUE(fs::is_empty(dir / "out"));
    }
}

TEST(HostileOutput, BlockDeviceAndMissingDirectoryRefused) {
    fs::path dir = fresh_dir("missing");
    expect_rejected("sim " + kWorkloads + "io.yaml --trace " + (dir / "no" / "t.json").string(),
                    "does not exist");
    expect_rejected("sim " + kWorkloads + "io.yaml --trace ''", "expected a file path");
    for (const auto& e : fs::directory_iterator("/dev"))
        if (e.is_block_file()) {
            expect_rejected("sim " + kWorkloads + "io.yaml --trace " + e.path().string(),
                            "block device");
            EXPECT_TRUE(fs::is_block_file(e.path()));
            return;
        }
}

TEST(HostileOutput, InterruptedRunKeepsTheExistingTrace) {
    fs::path dir = fresh_dir("interrupted");
    std::string trace = (dir / "t.json").string();
    std::ofstream(trace) << "the previous trace";
    // balanced.yaml runs for about a second of real time on 2 CPUs at scale
    // 0.5; the kill lands mid-run.
    std::string cmd = "timeout -s KILL 0.4 " + std::string(SCHEDKIT_CLI) + " run " + kWorkloads +
                      "balanced.yaml --cpus 0 --scale 0.5 --trace " + trace + " >/dev/null 2>&1";
    int raw = std::system(cmd.c_str());
    ASSERT_TRUE(WIFEXITED(raw));
    ASSERT_EQ(WEXITSTATUS(raw), 137) << "the run ended before the kill; lengthen it";
    EXPECT_EQ(slurp(trace), "the previous trace");
}

TEST(HostileOutput, UncommittedOutputFileLeavesTheOldFileAndNoTemporary) {
    fs::path dir = fresh_dir("unit");
    std::string path = (dir / "out.txt").string();
    std::ofstream(path) << "old";
    ::chmod(path.c_str(), 0640);
    {
        OutputFile f(path, "--out");
        f.write("new and partial");
        EXPECT_EQ(slurp(path), "old");  // untouched until commit
    }
    EXPECT_EQ(slurp(path), "old");
    EXPECT_TRUE(leftovers(dir, {"out.txt"}).empty());
    write_output_file(path, "new", "--out");
    EXPECT_EQ(slurp(path), "new");
    EXPECT_EQ(fs::status(path).permissions() & fs::perms::all,
              fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
    EXPECT_TRUE(leftovers(dir, {"out.txt"}).empty());
    EXPECT_THROW(OutputFile::check(dir.string(), "--out"), InputError);
}

TEST(HostileOutput, EchoedControlBytesStayOnOneLine) {
    // A spec path holding a newline, a tab and an escape byte is echoed in
    // the error; the line stays one line and shows the bytes escaped.
    // (run_cli goes through /bin/sh, so printf makes the bytes.)
    expect_rejected("sim \"$(printf 'bad\\nname\\t\\033.yaml')\"", "bad\\nname\\t\\x1b.yaml");
    EXPECT_EQ(one_line("a\nb\x01"), "a\\nb\\x01");
}

}  // namespace
}  // namespace schedkit
