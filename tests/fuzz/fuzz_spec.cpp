// fuzz_spec: workload specs. Parse, check against a 4-CPU machine and the
// budgets, then simulate under tight budgets: any input must end in a spec,
// an InputError, or a finished run; never a crash, a hang, a sanitizer
// report or another exception.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "schedkit/budget.h"
#include "schedkit/error.h"
#include "schedkit/policy_registry.h"
#include "schedkit/sim.h"
#include "schedkit/workload.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace schedkit;
    std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        // The path names no directory: file forms (empirical samples, trace
        // arrivals) resolve against the current one, where the corpus is
        // not; the fuzzer explores their errors, not the file system.
        WorkloadSpec spec = parse_workload(text, "fuzz.yaml");
        static const Topology topo = Topology::flat(4);
        check_against(spec, topo);
        Budget budget;
        budget.max_tasks = 2'000;
        check_spec_budget(spec, budget, true);
        (void)tasks_created(spec);
        SimConfig cfg;
        cfg.max_tasks = budget.max_tasks;
        cfg.max_events = 20'000;
        Simulator sim(spec, topo, make_policy("fair"), cfg);
        sim.schedule_switch(1'000'000, make_policy("steal"));
        (void)sim.run();
    } catch (const InputError&) {
    }
    return 0;
}
