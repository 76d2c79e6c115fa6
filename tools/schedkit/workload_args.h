// workload_args.h: flags shared by the commands that execute a workload.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "schedkit/budget.h"
#include "schedkit/policy.h"
#include "schedkit/report.h"
#include "schedkit/runtime_workload.h"
#include "schedkit/sim.h"
#include "schedkit/topology.h"
#include "schedkit/workload.h"

namespace schedkit::cli {

// WorkloadArgs are the flags of `sim`, `run`, `compare` and `sweep`; the command
// line is this struct, and load() validates all of it before anything runs.
struct WorkloadArgs {
    std::string spec_path;
    std::string topology;  // empty: the spec's, else the host
    std::string policy = "static";
    std::vector<std::string> switches;  // "200ms=governor"
    std::string seed;                   // empty: the spec's
    std::string until;                  // empty: run to completion
    std::string quantum;                // empty: the policy's
    std::string warmup;                 // empty: no warm-up (sim, compare, sweep)
    std::string switch_cost;            // empty: the spec's, else SimConfig's
    std::string migration_cost;         // "LLC=5us,NUMA=80us"; empty: the spec's
    std::vector<std::string> plugins;   // --plugin PATH.so, loaded before any policy is read
    bool json = false;                  // --json of compare and sweep (sim and run: OutputFlags)
    bool cost_flags = false;            // add_cost_flags() was called: a simulator command
    // Budgets (budget.h, docs/limits.md); empty: the default.
    std::string max_tasks, max_events, max_time, max_spec_bytes;

    // add_to() adds the spec, topology, plugin, seed, time and budget flags;
    // `with_policy` adds --policy and --switch, `with_json` --json.
    void add_to(CLI::App& cmd, bool with_policy, bool with_json);
    // add_cost_flags() adds --switch-cost and --migration-cost (simulator
    // commands only: the runtime pays real costs).
    void add_cost_flags(CLI::App& cmd);
    // add_warmup_flag() adds --warmup (simulator commands).
    void add_warmup_flag(CLI::App& cmd);
};

// add_plugin_option() adds `--plugin PATH` (repeatable) to `cmd`;
// load_plugins() loads them (InputError naming a bad one). docs/plugins.md.
void add_plugin_option(CLI::App& cmd, std::vector<std::string>& plugins);
void load_plugins(const std::vector<std::string>& plugins);

// PolicySwitch is one validated --switch.
struct PolicySwitch {
    uint64_t at_ns = 0;
    std::string policy;  // checked by make_policy
};

// LoadedWorkload is everything a run needs, checked.
struct LoadedWorkload {
    WorkloadSpec spec;
    Topology topo = Topology::flat(1);
    std::vector<PolicySwitch> switches;
    std::optional<uint64_t> seed;
    uint64_t until_ns = 0;
    uint64_t quantum_ns = 0;
    uint64_t warmup_ns = 0;       // --warmup: tasks arriving earlier are left out of the statistics
    uint64_t switch_cost_ns = 0;  // what a context switch costs the run (a quantum must exceed it)
    Budget budget;
};

// load() reads and checks the spec, topology, switches, seed and times;
// cost flags replace the spec's `costs:` entries they name.
// Throws InputError on any bad input.
LoadedWorkload load(const WorkloadArgs& args);

// sim_config() is the simulator configuration a loaded workload asks for:
// its seed, --until, --quantum, --warmup and budgets.
SimConfig sim_config(const LoadedWorkload& w);

// warn_refused_switches() says on stderr, one line each, which policy
// switches of a run were refused (the table and JSON list them too).
void warn_refused_switches(const RunSummary& s);
// host_cpus() are the host CPUs this process may run on (its affinity).
CpuSet host_cpus();

// check_fits_host() refuses (InputError) a topology with more CPUs than the
// real run gets: `cpus` (host CPUs; empty: host_cpus()), unless
// `oversubscribe`. One worker per topology CPU would otherwise time-share
// fewer host CPUs, and every figure would carry that.
void check_fits_host(const Topology& topo, const CpuSet& cpus, bool oversubscribe);

// host_share_line() is the table line saying how much CPU the host gave a
// real run's workers while they executed run steps.
std::string host_share_line(const HostShare& h);

// write_output_atomically() writes text to `path` through an OutputFile
// (schedkit/output_file.h): a temporary file renamed into place, a device or
// FIFO written in place, a directory refused; never a partial file.
void write_output_atomically(const std::string& path, const std::string& text);

// check_policies() checks --policy and every --switch against a machine of
// num_cpus CPUs (an option naming a CPU beyond it is an InputError).
void check_policies(const WorkloadArgs& args, int num_cpus);

// check_quantum() refuses (InputError naming `what` and `text`) a quantum not
// above w.switch_cost_ns; check_policy_quantum() checks a policy's own
// quantum (`quantum_us`) the same way, unless --quantum replaces it.
void check_quantum(const LoadedWorkload& w, uint64_t quantum_ns, const char* what,
                   const std::string& text);
void check_policy_quantum(const LoadedWorkload& w, const std::string& policy, const char* what);

}  // namespace schedkit::cli
