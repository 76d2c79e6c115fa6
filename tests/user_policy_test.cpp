// user_policy_test.cpp: a policy defined here, outside the library, runs in
// the simulator (as an object), on the runtime (Config::policy_factory and
// set_policy(unique_ptr)) and, once registered with register_policy(),
// through the name syntax everywhere a policy spec is read.
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "runtime_support.h"
#include "schedkit/error.h"
#include "schedkit/policy_registry.h"
#include "schedkit/runtime.h"
#include "schedkit/runtime_workload.h"
#include "schedkit/scheduler.h"
#include "schedkit/sim.h"
#include "sim_support.h"

namespace schedkit {
namespace {

using namespace std::chrono_literals;
using test::kMs;

// PinPolicy is a user's policy: every task goes to one CPU (within its
// affinity), FIFO with the base class's quantum.
class PinPolicy final : public Policy {
  public:
    explicit PinPolicy(int cpu) : cpu_(cpu) {}
    std::string name() const override { return "user-pin"; }
    int select_cpu(Scheduler& sched, const Task& task, PlaceReason) override {
        int c = std::min(cpu_, sched.num_cpus() - 1);
        return task.allowed_on(c) ? c : task.affinity.first();
    }

  private:
    int cpu_;
};

// Registered once per process (gtest may run the tests in any order).
void register_pin_once() {
    static bool done = [] {
        register_policy(
            "user-pin",
            [](const PolicyOptions& o) {
                return std::make_unique<PinPolicy>(static_cast<int>(o.get_int("cpu")));
            },
            {{"cpu", OptionType::Int, "1", "the CPU every task runs on", 0, 4096}},
            "test: every task on one CPU");
        return true;
    }();
    (void)done;
}

WorkloadSpec three_tasks() {
    return test::spec({test::group("work", 3, {test::run(2 * kMs)})});
}

RunSummary simulate(std::unique_ptr<Policy> p) {
    WorkloadSpec spec = three_tasks();  // the simulator keeps a reference
    Simulator sim(spec, Topology::flat(2), std::move(p));
    SimResult r = sim.run();
    EXPECT_TRUE(r.completed);
    return r.summary;
}

RunSummary run_real(Runtime::Config cfg) {
    RealRunConfig c;
    c.runtime = cfg.with_workers(2).with_topology(Topology::flat(2)).with_bind(false);
    RealRunResult r = run_workload(three_tasks(), c);
    EXPECT_TRUE(r.completed);
    return r.summary;
}

TEST(UserPolicy, RunsInTheSimulatorAsAnObject) {
    RunSummary s = simulate(std::make_unique<PinPolicy>(1));
    EXPECT_EQ(s.completed, 3u);
    EXPECT_EQ(s.policy, "user-pin");
    EXPECT_EQ(s.cpus[0].busy_us, 0.0);
    EXPECT_GT(s.cpus[1].busy_us, 5000.0);
}

TEST(UserPolicy, RunsOnTheRuntimeFromAFactory) {
    test::Watchdog wd(60s);
    RunSummary s = run_real(
        Runtime::Config{}.with_policy_factory([] { return std::make_unique<PinPolicy>(0); }));
    EXPECT_EQ(s.completed, 3u);
    EXPECT_EQ(s.policy, "user-pin");
    EXPECT_GT(s.cpus[0].busy_us, 5000.0);
    EXPECT_EQ(s.cpus[1].busy_us, 0.0);
}

TEST(UserPolicy, RuntimeSwitchesToAPolicyObject) {
    test::Watchdog wd(60s);
    Runtime rt(test::test_config(2, "fair"));
    rt.start();
    SwitchResult r = rt.set_policy(std::make_unique<PinPolicy>(1));
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(rt.policy_name(), "user-pin");
    EXPECT_THROW(rt.set_policy(std::unique_ptr<Policy>()), std::invalid_argument);
    // Every task now runs on worker 1; worker 0 runs none.
    RuntimeStats before = rt.stats();
    for (int i = 0; i < 5; ++i)
        rt.block_on([]() -> Job<void> { co_return; }());
    RuntimeStats after = rt.stats();
    EXPECT_EQ(after.workers[0].slices, before.workers[0].slices);
    EXPECT_GE(after.workers[1].slices, before.workers[1].slices + 5);
    rt.stop();
}

TEST(UserPolicy, RegisteredPolicyWorksByNameEverywhere) {
    test::Watchdog wd(60s);
    register_pin_once();
    bool listed = false;
    for (const PolicyInfo& p : policy_registry())
        listed |= p.name == "user-pin" && p.summary == "test: every task on one CPU";
    EXPECT_TRUE(listed);
    // The simulator through make_policy(), with an option and the common quantum.
    auto p = make_policy("user-pin:cpu=0,quantum_us=500");
    EXPECT_EQ(p->quantum_ns, 500'000u);
    RunSummary sim = simulate(std::move(p));
    EXPECT_GT(sim.cpus[0].busy_us, 5000.0);
    EXPECT_EQ(sim.cpus[1].busy_us, 0.0);
    // The runtime's Config::policy and set_policy() by name.
    RunSummary real = run_real(Runtime::Config{}.with_policy("user-pin:cpu=1"));
    EXPECT_EQ(real.cpus[0].busy_us, 0.0);
    EXPECT_GT(real.cpus[1].busy_us, 5000.0);
    Runtime rt(test::test_config(2, "static"));
    rt.start();
    EXPECT_TRUE(rt.set_policy("user-pin:cpu=0").ok);
    EXPECT_EQ(rt.policy_name(), "user-pin");
    rt.stop();
}

TEST(UserPolicy, RegisteredOptionsAreCheckedLikeBuiltInOnes) {
    register_pin_once();
    try {
        make_policy("user-pin:cpu=x", "--policy");
        FAIL() << "bad option value accepted";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("bad value 'x' for cpu: expected an integer"),
                  std::string::npos)
            << e.what();
    }
    EXPECT_THROW(make_policy("user-pin:speed=1"), InputError);
}

TEST(UserPolicy, RegistrationRefusesDuplicatesAndBadNames) {
    register_pin_once();
    auto make = [](const PolicyOptions&) { return std::make_unique<PinPolicy>(0); };
    EXPECT_THROW(register_policy("user-pin", make), std::invalid_argument);
    EXPECT_THROW(register_policy("static", make), std::invalid_argument);
    EXPECT_THROW(register_policy("bad:name", make), std::invalid_argument);
    EXPECT_THROW(register_policy("", make), std::invalid_argument);
    EXPECT_THROW(register_policy("no-factory", PolicyFactory{}), std::invalid_argument);
    EXPECT_THROW(
        register_policy("dup-quantum", make, {{"quantum_us", OptionType::Int, "1", "", 0, 10}}),
        std::invalid_argument);
}

}  // namespace
}  // namespace schedkit
