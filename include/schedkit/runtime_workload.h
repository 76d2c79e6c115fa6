// runtime_workload.h: execute a workload spec for real on the runtime, the
// counterpart of the simulator (`schedkit run` versus `schedkit sim`).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "schedkit/report.h"
#include "schedkit/runtime.h"
#include "schedkit/workload.h"

namespace schedkit {

// RealRunConfig says how to run a spec on real workers.
struct RealRunConfig {
    // runtime: workers, topology, CPUs, policy, quantum, trace.
    Runtime::Config runtime;
    // switches: (time since start, policy spec), applied with set_policy().
    std::vector<std::pair<uint64_t, std::string>> switches;
    // seed overrides the spec's.
    std::optional<uint64_t> seed;
    // until_ns stops the run at this time (0: run to completion); tasks
    // still alive are cancelled and reported as unfinished.
    uint64_t until_ns = 0;
    // scale multiplies every duration of the spec (run, block, arrival
    // times), so a spec written for seconds can be checked in milliseconds.
    double scale = 1.0;
    // trace_path, when set, receives the Perfetto trace (written through a
    // temporary file and a rename).
    std::string trace_path;
};

// RealRunResult is a finished real run.
struct RealRunResult {
    RunSummary summary;  // the simulator's shape: print with summary_json()
    StopReport stop;
    bool completed = false;  // every task exited before until_ns
    uint64_t unfinished = 0;
};

// run_workload() executes `spec`: each task is a coroutine that spins on
// its worker for every `run` step (CPU time, yielding at the policy's time
// slice so the policy can act), sleeps through the runtime's timers for
// every `block` step, and spawns and joins real tasks for `spawn` steps.
// Arrivals follow the spec's times (the same draws the simulator makes).
// Throws InputError for a spec that does not fit the runtime's topology.
RealRunResult run_workload(const WorkloadSpec& spec, const RealRunConfig& config);

}  // namespace schedkit
