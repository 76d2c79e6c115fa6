// replay_trace(): a trace's threads simulated under a policy and topology.
#include "schedkit/error.h"
#include "schedkit/policy_registry.h"
#include "schedkit/trace_replay.h"

namespace schedkit {

std::unique_ptr<TraceReplay> replay_trace(const Trace& trace, const ReplayOptions& opts) {
    bool as_traced = opts.policy == "as-traced";
    if (!as_traced && !opts.make_policy)
        make_policy(opts.policy, "--policy");  // validates before any work is done
    TraceImportOptions import;
    import.comm_regex = opts.comm_regex;
    // as-traced follows the trace's own timing (traced gaps, one placement
    // per burst); any other policy gets the traced causality.
    import.causal = !as_traced;
    import.split_bursts = as_traced;
    auto r = std::make_unique<TraceReplay>();
    r->imported = trace_to_spec(trace, import);
    WorkloadSpec& spec = r->imported.spec;
    spec.name = trace.name.substr(trace.name.find_last_of('/') + 1);
    Topology topo = Topology::load(!opts.topology.empty() ? opts.topology : spec.topology.value());
    check_against(spec, topo);
    std::unique_ptr<Policy> policy =
        opts.make_policy ? opts.make_policy(topo)
        : as_traced      ? make_as_traced_policy(trace, r->imported, topo.num_cpus())
                         : make_policy(opts.policy, "--policy");
    SimConfig cfg;
    cfg.keep_trace = opts.keep_trace;
    cfg.keep_task_stats = true;  // the JSON's task_stats
    cfg.progress = opts.progress;
    cfg.stop = opts.stop;
    if (as_traced) {
        // The traced bursts already include what switching and migrating cost.
        cfg.context_switch_ns = 0;
        cfg.migration_cost_ns.fill(0);
    }
    SimListeners fan;  // used only during run()
    fan.add(&r->stats);
    fan.add(opts.listener);
    cfg.listener = &fan;
    r->sim = std::make_unique<Simulator>(spec, topo, std::move(policy), cfg);
    r->result = r->sim->run();
    r->sim->clear_listener();
    r->fidelity_json = fidelity_json(trace, r->imported, r->stats, r->result.summary.makespan_us);
    return r;
}

}  // namespace schedkit
