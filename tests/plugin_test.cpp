// plugin_test.cpp: policy plug-ins (schedkit/plugin.h) in the simulator and
// the runtime: the example loads, runs and unloads; a plug-in for another
// ABI, one that refuses to start and one whose hook throws are rejected or
// isolated with a clear error while the previous policy keeps running and
// nothing is lost.
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <vector>

#include "cli_runner.h"
#include "runtime/runtime_core.h"
#include "runtime_support.h"
#include "schedkit/error.h"
#include "schedkit/plugin_loader.h"
#include "schedkit/policy_registry.h"
#include "schedkit/runtime.h"
#include "schedkit/sim.h"
#include "sim_support.h"

namespace schedkit {
namespace {

using namespace std::chrono_literals;
using namespace schedkit::test;

WorkloadSpec mixed() {
    WorkloadSpec w = spec({group("cpu", 12, {run(4 * kMs), block(kMs)}, 2),
                           group("io", 16, {run(300 * kUs), block(2 * kMs)}, 5),
                           group("heavy", 2, {run(6 * kMs)}, 2)});
    w.groups[2].weight = nice_to_weight(-5);
    return w;
}

void expect_conserved(const SimResult& r, const std::string& what) {
    EXPECT_TRUE(r.completed) << what;
    EXPECT_EQ(r.summary.lost, 0u) << what;
    EXPECT_EQ(r.summary.completed, r.summary.spawned) << what;
}

std::string error_of(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const InputError& e) {
        return e.what();
    }
    return "(no InputError)";
}

TEST(Plugin, ExampleLoadsRunsAndUnloadsInTheSimulator) {
    PluginInfo info = load_plugin(SCHEDKIT_PLUGIN_WRR);
    EXPECT_EQ(info.name, "wrr");
    EXPECT_EQ(load_plugin(SCHEDKIT_PLUGIN_WRR).name, "wrr");  // loading twice is harmless
    {
        auto p = make_policy("wrr:slice_us=1000");
        EXPECT_EQ(p->name(), "wrr");
        // A weighted turn: nice -5 (weight 3121) gets about 3x nice 0's.
        Task t;
        t.weight = 3121;
        EXPECT_EQ(p->time_slice_ns(t), 1000u * 1000 * 3121 / 1024);
        t.weight = 1024;
        EXPECT_EQ(p->time_slice_ns(t), 1'000'000u);
    }
    // Bad options are checked like a built-in policy's.
    EXPECT_NE(error_of([] { make_policy("wrr:slice_us=abc"); }).find("slice_us"),
              std::string::npos);
    WorkloadSpec w = mixed();
    {
        Simulator sim(w, Topology::flat(4), make_policy("wrr"));
        SimResult r = sim.run();
        expect_conserved(r, "wrr");
        EXPECT_EQ(r.summary.policy, "wrr");
        EXPECT_GT(r.summary.migrations, 0u);  // idle CPUs pulled
    }
    {
        // Switched to and away from while work runs.
        Simulator sim(w, Topology::flat(4), make_policy("fair"));
        sim.schedule_switch(3 * kMs, make_policy("wrr"));
        sim.schedule_switch(9 * kMs, make_policy("static"));
        sim.schedule_switch(12 * kMs, make_policy("wrr:pull=false"));
        SimResult r = sim.run();
        expect_conserved(r, "fair -> wrr -> static -> wrr");
        EXPECT_EQ(r.summary.policy, "wrr");
        EXPECT_EQ(sim.scheduler().policy_switches(), 3u);
    }
    EXPECT_TRUE(unload_plugin("wrr"));
    EXPECT_FALSE(unload_plugin("wrr"));
    EXPECT_NE(error_of([] { make_policy("wrr"); }).find("unloaded"), std::string::npos);
    // Loaded again, it works again.
    load_plugin(SCHEDKIT_PLUGIN_WRR);
    EXPECT_EQ(make_policy("wrr")->name(), "wrr");
    EXPECT_TRUE(unload_plugin("wrr"));
}

TEST(Plugin, OtherAbiVersionIsRefusedWithAClearError) {
    std::string e = error_of([] { load_plugin(SCHEDKIT_PLUGIN_BAD_ABI); });
    EXPECT_NE(e.find("ABI version 999, expected 1"), std::string::npos) << e;
    EXPECT_NE(e.find(SCHEDKIT_PLUGIN_BAD_ABI), std::string::npos) << e;
    EXPECT_NE(error_of([] { make_policy("future"); }).find("unknown policy"), std::string::npos);
}

TEST(Plugin, WhatIsNotAPluginIsRefused) {
    std::string missing = error_of([] { load_plugin("/no/such/plugin.so"); });
    EXPECT_NE(missing.find("cannot load it"), std::string::npos) << missing;
    // A shared object without the entry point (the C library is one).
    std::string libc = error_of([] { load_plugin("libc.so.6"); });
    EXPECT_NE(libc.find("schedkit_plugin_register"), std::string::npos) << libc;
}

TEST(Plugin, RefusedStartKeepsThePreviousPolicyInTheSimulator) {
    load_plugin(SCHEDKIT_PLUGIN_REFUSE_START);
    WorkloadSpec w = mixed();
    Simulator sim(w, Topology::flat(4), make_policy("fair"));
    sim.schedule_switch(3 * kMs, make_policy("refuse-start"));
    SimResult r = sim.run();
    expect_conserved(r, "refuse-start");
    EXPECT_EQ(r.summary.policy, "fair");
    auto log = nlohmann::json::parse(r.summary.extra_json)["policy_switches"];
    ASSERT_EQ(log.size(), 1u);
    EXPECT_EQ(log[0]["ok"], false);
    std::string err = log[0]["error"];
    EXPECT_NE(err.find("refuse-start will not start today"), std::string::npos) << err;
    EXPECT_NE(err.find("refused to start"), std::string::npos) << err;
    EXPECT_TRUE(unload_plugin("refuse-start"));
}

// A hook that throws isolates the plug-in and puts back the policy it
// replaced: the run finishes under that one, the switch log says why.
TEST(Plugin, ThrowingHookIsIsolatedAndThePreviousPolicyRestoredInTheSimulator) {
    load_plugin(SCHEDKIT_PLUGIN_THROWING_HOOK);
    WorkloadSpec w = mixed();
    for (const char* p :
         {"throwing-hook:after=20", "throwing-hook:after=1000000,tick_throws=true"}) {
        Simulator sim(w, Topology::flat(4), make_policy("steal"));
        sim.schedule_switch(2 * kMs, make_policy(p));
        SimResult r = sim.run();
        expect_conserved(r, p);
        EXPECT_EQ(r.summary.policy, "steal") << p;  // the one active at the end
        auto log = nlohmann::json::parse(r.summary.extra_json)["policy_switches"];
        ASSERT_EQ(log.size(), 2u) << log.dump();
        EXPECT_EQ(log[0]["to"], "throwing-hook");
        EXPECT_EQ(log[1]["from"], "throwing-hook");
        EXPECT_EQ(log[1]["to"], "steal");
        EXPECT_EQ(log[1]["ok"], true);
        EXPECT_GE(log[1]["at_us"].get<double>(), log[0]["at_us"].get<double>());
        std::string why = log[1]["restored"];
        EXPECT_NE(why.find(std::string(p).find("tick") != std::string::npos
                               ? "hook tick failed: throwing-hook tick broke"
                               : "hook select_cpu failed: throwing-hook select_cpu gave up"),
                  std::string::npos)
            << why;
    }
    // Begun under the plug-in, there is nothing to put back: it stays
    // isolated (tasks stay where they ran) and the run still ends.
    Simulator sim(w, Topology::flat(4), make_policy("throwing-hook:after=10"));
    SimResult r = sim.run();
    expect_conserved(r, "no previous policy");
    auto stats = nlohmann::json::parse(r.summary.policy_stats_json);
    EXPECT_EQ(stats["isolated"], true);
    auto log = nlohmann::json::parse(r.summary.extra_json)["policy_switches"];
    ASSERT_EQ(log.size(), 1u);
    EXPECT_EQ(log[0]["ok"], false);
    EXPECT_NE(log[0]["error"].get<std::string>().find("no previous policy"), std::string::npos);
    EXPECT_TRUE(unload_plugin("throwing-hook"));
}

// The runtime: load, switch to it (from outside and from a task), refused
// and isolated plug-ins, unload; the shared objects are closed only after
// the last policy made from them is freed (after a grace period).
TEST(Plugin, LoadsRunsAndUnloadsInTheRuntime) {
    Watchdog wd(120s);
    {
        Runtime rt(test_config(4, "fair"));
        rt.start();
        EXPECT_EQ(rt.load_plugin(SCHEDKIT_PLUGIN_WRR).name, "wrr");
        rt.load_plugin(SCHEDKIT_PLUGIN_REFUSE_START);
        rt.load_plugin(SCHEDKIT_PLUGIN_THROWING_HOOK);
        std::atomic<bool> stop{false};
        std::atomic<uint64_t> iters{0};
        std::vector<JoinHandle<void>> hs;
        for (int i = 0; i < 16; ++i)
            hs.push_back(rt.spawn([&]() -> Job<void> {
                while (!stop.load()) {
                    iters.fetch_add(1);
                    co_await ((iters.load() % 8 == 0) ? sleep_for(20us) : sleep_for(0us));
                }
            }));
        auto progress = [&] {
            uint64_t before = iters.load();
            return wait_until([&] { return iters.load() > before + 200; });
        };
        SwitchResult r = rt.set_policy("wrr:slice_us=500");
        ASSERT_TRUE(r.ok) << r.error;
        EXPECT_EQ(rt.policy_name(), "wrr");
        EXPECT_TRUE(progress());
        r = rt.set_policy("refuse-start");
        EXPECT_FALSE(r.ok);
        EXPECT_NE(r.error.find("refuse-start will not start today"), std::string::npos) << r.error;
        EXPECT_EQ(rt.policy_name(), "wrr");
        EXPECT_TRUE(progress());
        // From inside a task.
        SwitchResult from_task =
            rt.spawn([&]() -> Job<SwitchResult> { co_return rt.set_policy("static"); }).get();
        EXPECT_TRUE(from_task.ok);
        // A throwing hook isolates the plug-in and puts back the previous
        // policy (static here), once for each hook that can fail.
        for (const char* p :
             {"throwing-hook:after=5", "throwing-hook:after=1000000,tick_throws=true"}) {
            r = rt.set_policy(p);
            ASSERT_TRUE(r.ok) << r.error;
            EXPECT_TRUE(wait_until([&] { return rt.policy_name() == "static"; })) << p;
            EXPECT_TRUE(progress()) << p;
        }
        auto stats = nlohmann::json::parse(rt.stats().json());
        auto log = stats["policy_switches"];
        ASSERT_GE(log.size(), 2u);
        auto last = log[log.size() - 1];
        EXPECT_EQ(last["from"], "throwing-hook");
        EXPECT_EQ(last["to"], "static");
        EXPECT_EQ(last["ok"], true);
        EXPECT_NE(last["restored"].get<std::string>().find("hook tick failed"), std::string::npos)
            << last.dump();
        EXPECT_TRUE(rt.unload_plugin("wrr"));
        EXPECT_THROW(rt.set_policy("wrr"), InputError);
        ASSERT_TRUE(rt.set_policy("fair").ok);
        EXPECT_TRUE(progress());
        stop = true;
        for (auto& h : hs)
            h.get();
        StopReport rep = rt.stop();
        EXPECT_EQ(rep.completed, rep.spawned);
        EXPECT_TRUE(rt.unload_plugin("refuse-start"));
        EXPECT_TRUE(rt.unload_plugin("throwing-hook"));
    }  // ~Runtime waits for the retired policies' grace periods
    EXPECT_EQ(plugin_libraries_open(), 0u);
}

// The CLI: --plugin on sim, compare, run and policies; a bad plug-in is one
// line on stderr and status 2, with nothing on stdout.
TEST(PluginCli, SimCompareRunAndPoliciesTakePlugins) {
    const std::string wrr = SCHEDKIT_PLUGIN_WRR;
    const std::string spec =
        std::string(SCHEDKIT_SOURCE_DIR) + "/examples/workloads/imbalanced.yaml";
    auto sim = run_cli("sim '" + spec + "' --plugin '" + wrr +
                       "' --policy wrr:slice_us=1000 --switch 5ms=fair --switch 9ms=wrr --json");
    ASSERT_EQ(sim.status, 0) << sim.err;
    auto j = nlohmann::json::parse(sim.out);
    EXPECT_EQ(j["policy"], "wrr");
    EXPECT_GT(j["tasks"]["spawned"].get<int>(), 0);
    EXPECT_EQ(j["tasks"]["spawned"], j["tasks"]["completed"]);

    auto cmp =
        run_cli("compare '" + spec + "' --plugin '" + wrr + "' --policies static,wrr --json");
    ASSERT_EQ(cmp.status, 0) << cmp.err;
    EXPECT_NE(cmp.out.find("\"wrr\""), std::string::npos) << cmp.out;

    auto run =
        run_cli("run '" + std::string(SCHEDKIT_SOURCE_DIR) + "/examples/workloads/balanced.yaml' " +
                "--plugin '" + wrr + "' --policy wrr --scale 0.02 --json");
    ASSERT_EQ(run.status, 0) << run.err;
    auto r = nlohmann::json::parse(run.out);
    EXPECT_EQ(r["policy"], "wrr");
    EXPECT_GT(r["tasks"]["spawned"].get<int>(), 0);
    EXPECT_EQ(r["tasks"]["spawned"], r["tasks"]["completed"]);

    auto pol = run_cli("policies --plugin '" + wrr + "' wrr");
    ASSERT_EQ(pol.status, 0) << pol.err;
    EXPECT_NE(pol.out.find("slice_us"), std::string::npos) << pol.out;

    for (const std::string& bad :
         {std::string(SCHEDKIT_PLUGIN_BAD_ABI), std::string("/no/such.so"), spec}) {
        auto b = run_cli("sim '" + spec + "' --plugin '" + bad + "' --json");
        EXPECT_EQ(b.status, 2) << bad;
        EXPECT_TRUE(b.out.empty()) << b.out;
        EXPECT_NE(b.err.find("--plugin '" + bad + "'"), std::string::npos) << b.err;
        EXPECT_EQ(std::count(b.err.begin(), b.err.end(), '\n'), 1) << b.err;
    }
    auto unknown = run_cli("sim '" + spec + "' --policy wrr");  // not loaded: unknown
    EXPECT_EQ(unknown.status, 2);
    EXPECT_NE(unknown.err.find("unknown policy 'wrr'"), std::string::npos) << unknown.err;
}

// Story 4's rule, enforced: a grace-period wait inside a read-side section
// (or from a worker) stops with a message instead of waiting on itself.
TEST(PluginDeathTest, GracePeriodWaitInsideAReadSectionIsCaught) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_DEATH(
        {
            detail::RcuThreadScope scope;
            detail::RcuRead read;
            detail::rcu_flush();
        },
        "inside a read-side section");
}

}  // namespace
}  // namespace schedkit
