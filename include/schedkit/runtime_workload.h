// runtime_workload.h: execute a workload spec for real on the runtime, the
// counterpart of the simulator (`schedkit run` versus `schedkit sim`).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "schedkit/budget.h"
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
    // control_socket, when set, serves the JSON-RPC control socket there
    // (schedkit/control.h) from before the first arrival until the run
    // ends; a path that cannot be served throws InputError before the run.
    std::string control_socket;
    // max_tasks bounds the tasks alive at once (budget.h): a spec whose
    // spawns would go over it stops spawning, the run ends, and
    // run_workload() throws BudgetError naming --max-tasks.
    uint64_t max_tasks = Budget{}.max_tasks;
};

// HostShare is how much CPU the host actually gave the run's workers while
// they executed `run` steps: each worker's wall time spinning next to the
// CPU time its thread got meanwhile (CLOCK_THREAD_CPUTIME_ID). On an
// otherwise idle host the two agree; when other processes compete, or the
// workers outnumber the CPUs, the wall time is longer by the time the
// thread waited for a host CPU, and the run's figures carry that delay.
struct HostShare {
    struct Worker {
        int cpu = 0;        // the scheduler's CPU (worker index)
        int host_cpu = -1;  // the host CPU it is bound to, or -1
        uint64_t run_wall_ns = 0;
        uint64_t run_cpu_ns = 0;
    };
    std::vector<Worker> workers;
    uint64_t run_wall_ns = 0;  // sums over the workers
    uint64_t run_cpu_ns = 0;
    // cpu_share is run_cpu_ns / run_wall_ns: the share of the time the run
    // wanted a CPU that it got one (1 when nothing was spun).
    double cpu_share = 1;
    // process_cpu_ns is the whole process's CPU time over the run (workers,
    // driver, timers), wall_ns the run's length: process_cpu_ns / (wall_ns
    // x workers) is the share of its CPUs the run used, idle or not.
    uint64_t process_cpu_ns = 0;
    uint64_t wall_ns = 0;

    // json() is the "host" object of `schedkit run --json` (docs/output.md).
    std::string json() const;
};

// RealRunResult is a finished real run.
struct RealRunResult {
    RunSummary summary;  // the simulator's shape: print with summary_json()
    HostShare host;      // also in summary.extra_json as "host"
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
