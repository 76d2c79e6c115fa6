// control_test.cpp: the JSON-RPC 2.0 control socket (schedkit/control.h)
// and `schedkit ctl` against a running `schedkit run --control`.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include <unistd.h>

#include "cli_runner.h"
#include "runtime_support.h"
#include "schedkit/control.h"
#include "schedkit/error.h"
#include "schedkit/plugin_loader.h"
#include "schedkit/runtime.h"
#include "schedkit/thread.h"

namespace schedkit {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
using test::run_cli;

std::string temp_socket(const char* tag) {
    return "/tmp/schedkit_ctl_" + std::to_string(getpid()) + "_" + tag + ".sock";
}

json call(const std::string& path, const std::string& req) {
    return json::parse(control_call(path, req));
}

int error_code(const json& resp) {
    return resp.contains("error") ? resp["error"]["code"].get<int>() : 0;
}

// Malformed requests get JSON-RPC errors; the runtime keeps running tasks.
TEST(Control, MalformedRequestsGetJsonRpcErrorsAndDisturbNothing) {
    test::Watchdog wd(60s);
    Runtime rt(test::test_config(2, "static"));
    rt.start();
    ControlServer server(rt, temp_socket("malformed"));
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> iters{0};
    auto worker = rt.spawn([&]() -> Job<void> {
        while (!stop.load()) {
            iters.fetch_add(1);
            co_await yield();
        }
    });
    auto code = [&](const std::string& line) {
        return error_code(json::parse(server.handle(line)));
    };
    EXPECT_EQ(code("not json"), -32700);
    EXPECT_EQ(code("{\"jsonrpc\":\"2.0\""), -32700);  // cut short
    EXPECT_EQ(code("42"), -32600);
    EXPECT_EQ(code("{}"), -32600);
    EXPECT_EQ(code(R"({"jsonrpc":"1.0","method":"get_stats","id":1})"), -32600);
    EXPECT_EQ(code(R"({"jsonrpc":"2.0","method":7,"id":1})"), -32600);
    EXPECT_EQ(code(R"({"jsonrpc":"2.0","method":"get_stats","params":3,"id":1})"), -32600);
    EXPECT_EQ(code(R"({"jsonrpc":"2.0","method":"get_stats","id":{"a":1}})"), -32600);
    EXPECT_EQ(code(R"({"jsonrpc":"2.0","method":"reboot","id":1})"), -32601);
    EXPECT_EQ(code(R"({"jsonrpc":"2.0","method":"set_policy","id":1})"), -32602);
    EXPECT_EQ(code(R"({"jsonrpc":"2.0","method":"set_policy","params":{"policy":5},"id":1})"),
              -32602);
    json bad = json::parse(
        server.handle(R"({"jsonrpc":"2.0","method":"set_policy","params":["nope:x=1"],"id":"a"})"));
    EXPECT_EQ(error_code(bad), -32602);
    EXPECT_EQ(bad["id"], "a");
    EXPECT_NE(bad["error"]["message"].get<std::string>().find("unknown policy 'nope'"),
              std::string::npos);
    EXPECT_EQ(code(R"({"jsonrpc":"2.0","method":"load_plugin","params":["/no/such.so"],"id":1})"),
              -32602);
    EXPECT_EQ(code("[]"), -32600);
    // A notification (no id) is run but not answered; a batch answers each call.
    EXPECT_EQ(server.handle(R"({"jsonrpc":"2.0","method":"get_policy"})"), "");
    json batch = json::parse(server.handle(
        R"([{"jsonrpc":"2.0","method":"get_policy","id":1},{"jsonrpc":"2.0","method":"x","id":2},5])"));
    ASSERT_EQ(batch.size(), 3u);
    EXPECT_EQ(batch[0]["result"]["policy"], "static");
    EXPECT_EQ(error_code(batch[1]), -32601);
    EXPECT_EQ(error_code(batch[2]), -32600);
    // The runtime never noticed.
    EXPECT_EQ(rt.policy_name(), "static");
    uint64_t before = iters.load();
    EXPECT_TRUE(test::wait_until([&] { return iters.load() > before + 100; }));
    stop = true;
    worker.get();
    EXPECT_EQ(rt.stop().completed, 1u);
}

TEST(Control, SocketServesStatsThreadsPoliciesAndPlugins) {
    test::Watchdog wd(60s);
    Runtime rt(test::test_config(2, "static"));
    rt.start();
    auto th = rt.create_thread("ctl-thread");
    std::string path = temp_socket("serve");
    {
        ControlServer server(rt, path);
        struct stat st {};
        ASSERT_EQ(::stat(path.c_str(), &st), 0);
        EXPECT_TRUE(S_ISSOCK(st.st_mode));
        EXPECT_EQ(st.st_mode & 0777, 0600u);  // owner only

        json r = call(
            path, R"({"jsonrpc":"2.0","method":"set_policy","params":{"policy":"fair"},"id":1})");
        EXPECT_EQ(r["result"]["ok"], true);
        EXPECT_EQ(r["result"]["policy"], "fair");
        EXPECT_EQ(rt.policy_name(), "fair");
        r = call(path, R"({"jsonrpc":"2.0","method":"set_policy","params":["failing"],"id":2})");
        EXPECT_EQ(r["result"]["ok"], false);
        EXPECT_NE(r["result"]["error"].get<std::string>().find("refuses to start"),
                  std::string::npos);
        EXPECT_EQ(rt.policy_name(), "fair");
        r = call(path, R"({"jsonrpc":"2.0","method":"get_stats","id":3})");
        EXPECT_EQ(r["result"]["policy"], "fair");
        EXPECT_EQ(r["result"]["workers"].size(), 2u);
        // Listed once it has run on a worker (it may not have yet on a loaded machine).
        bool found = test::wait_until([&] {
            r = call(path, R"({"jsonrpc":"2.0","method":"get_threads","id":4})");
            for (const auto& t : r["result"])
                if (t["name"] == "ctl-thread")
                    return true;
            return false;
        });
        EXPECT_TRUE(found) << r.dump();
        r = call(path, std::string(R"({"jsonrpc":"2.0","method":"load_plugin","params":[")") +
                           SCHEDKIT_PLUGIN_WRR + R"("],"id":5})");
        EXPECT_EQ(r["result"]["name"], "wrr");
        r = call(path, R"({"jsonrpc":"2.0","method":"set_policy","params":["wrr"],"id":6})");
        EXPECT_EQ(r["result"]["ok"], true);
        EXPECT_EQ(rt.policy_name(), "wrr");

        // Garbage and an over-long line cost the client its connection, not
        // the server: the next client is answered.
        EXPECT_THROW(control_call(path, std::string(2 << 20, 'x'), 5s), InputError);
        EXPECT_EQ(error_code(json::parse(control_call(path, "\x01\x02\xff"))), -32700);
        EXPECT_EQ(
            call(path, R"({"jsonrpc":"2.0","method":"get_policy","id":7})")["result"]["policy"],
            "wrr");

        // The path is taken while the server lives.
        EXPECT_THROW(ControlServer(rt, path), InputError);
    }
    EXPECT_NE(::access(path.c_str(), F_OK), 0);  // removed with the server
    // A path that is not a socket is refused and left alone.
    std::string plain = temp_socket("plain");
    std::ofstream(plain) << "keep me";
    EXPECT_THROW(ControlServer(rt, plain), InputError);
    EXPECT_EQ(test::slurp(plain), "keep me");
    std::remove(plain.c_str());
    EXPECT_THROW(ControlServer(rt, std::string(200, 'a')), InputError);  // too long
    EXPECT_THROW(control_call(path, "{}"), InputError);                  // nobody there
    th->close();
    rt.stop();
    rt.set_policy("static");
    unload_plugin("wrr");
}

// Done when: `schedkit ctl` switches the policy of a running `schedkit run`
// and reads its stats.
TEST(ControlCli, CtlSwitchesTheRunningRunAndReadsItsStats) {
    std::string path = temp_socket("cli");
    std::string spec = std::string(SCHEDKIT_SOURCE_DIR) + "/examples/workloads/balanced.yaml";
    std::string out = path + ".out";
    // The run, in the background (a few seconds of real work).
    std::string cmd = std::string(SCHEDKIT_CLI) + " run '" + spec + "' --policy static --scale 3 " +
                      "--control " + path + " --json >" + out + " 2>&1 &";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    ASSERT_TRUE(test::wait_until([&] { return ::access(path.c_str(), F_OK) == 0; }, 20s));
    auto sw = run_cli("ctl " + path + " set_policy fair:tick_us=500");
    ASSERT_EQ(sw.status, 0) << sw.err;
    json r = json::parse(sw.out);
    EXPECT_EQ(r["ok"], true);
    EXPECT_EQ(r["policy"], "fair");
    auto stats = run_cli("ctl " + path + " get_stats");
    ASSERT_EQ(stats.status, 0) << stats.err;
    json s = json::parse(stats.out);
    EXPECT_EQ(s["policy"], "fair");
    EXPECT_TRUE(s.contains("workers"));
    auto threads = run_cli("ctl " + path + " get_threads");
    EXPECT_EQ(threads.status, 0) << threads.err;
    // Bad calls: one line, status 2 (refused switch: status 1 with the answer).
    auto bad = run_cli("ctl " + path + " reboot");
    EXPECT_EQ(bad.status, 2);
    EXPECT_NE(bad.err.find("method 'reboot' not found"), std::string::npos) << bad.err;
    auto refused = run_cli("ctl " + path + " set_policy failing");
    EXPECT_EQ(refused.status, 1);
    EXPECT_NE(refused.out.find("refuses to start"), std::string::npos) << refused.out;
    auto badpol = run_cli("ctl " + path + " set_policy nope");
    EXPECT_EQ(badpol.status, 2);
    EXPECT_NE(badpol.err.find("unknown policy 'nope'"), std::string::npos) << badpol.err;
    // The run ends on its own, under the policy ctl chose, nothing lost.
    ASSERT_TRUE(test::wait_until([&] { return ::access(path.c_str(), F_OK) != 0; }, 120s));
    json done;
    ASSERT_TRUE(test::wait_until(
        [&] {
            done = json::parse(test::slurp(out), nullptr, false);
            return !done.is_discarded() && done.is_object();
        },
        30s));
    EXPECT_EQ(done["policy"], "fair");
    EXPECT_GT(done["tasks"]["spawned"].get<int>(), 0);
    EXPECT_EQ(done["tasks"]["spawned"], done["tasks"]["completed"]);
    std::remove(out.c_str());
    auto gone = run_cli("ctl " + path + " get_stats");
    EXPECT_EQ(gone.status, 2);
    EXPECT_NE(gone.err.find("cannot connect"), std::string::npos) << gone.err;
}

}  // namespace
}  // namespace schedkit
