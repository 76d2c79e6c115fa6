// sim_result.cpp: the summary of a finished (or stopped) simulation.
#include "sim/sim_impl.h"

#include <fmt/format.h>

#include "sim/sim_stats.h"

namespace schedkit {

SimResult Simulator::Impl::finish_run(bool stopped, double wall_s) {
    SimResult r;
    r.messages = threads->counts();
    sim::check_messages(r.messages, !stopped);
    if (!stopped)
        sched.check_invariants();
    RunSummary& s = r.summary;
    uint64_t end = stopped ? now : last_exit_ns;
    s.workload = spec.name;
    s.topology = sched.topology().source();
    s.policy = sched.policy().name();
    s.seed = cfg.seed.value_or(spec.seed);
    s.events = processed;
    s.wall_s = wall_s;
    s.events_per_s = wall_s > 0 ? static_cast<double>(processed) / wall_s : 0;
    uint64_t not_exited = 0;
    for (size_t i = 0; i < tasks.size(); ++i)
        if (tasks[i].task.state != TaskState::Exited && tasks[i].task.state != TaskState::New) {
            ++not_exited;
            recorder.on_unfinished(tasks[i].task);
        }
    recorder.summarize(s, end);
    s.spawned = sched.spawned();
    s.completed = exited_seen;
    r.unfinished = not_exited;
    s.lost = s.spawned - s.completed - not_exited;
    r.completed = !stopped && not_exited == 0;
    r.interrupted = interrupted;
    s.policy_stats_json = sched.policy().stats_json();
    sim::EnergyAccount energy = sim::account_energy(cpus, cfg.power, now, end, s.cpus);
    r.energy_j = energy.energy_j;
    r.sleep_us = static_cast<double>(energy.sleep_ns) / 1e3;
    r.work_us = static_cast<double>(work_ns) / 1e3;
    r.critical_path_us = static_cast<double>(critical_path_ns) / 1e3;
    r.lower_bound_us =
        std::max(r.work_us / static_cast<double>(sched.num_cpus()), r.critical_path_us);
    std::string cpu_sleep;
    for (size_t i = 0; i < energy.cpu_sleep_us.size(); ++i)
        cpu_sleep += fmt::format("{}{:.3f}", i == 0 ? "" : ",", energy.cpu_sleep_us[i]);
    s.extra_json = fmt::format(
        R"({{"unfinished":{},"policy_switches":[{}],"energy_j":{:.6f},"sleep_us":{:.3f},)"
        R"("cpu_sleep_us":[{}],"work_us":{:.3f},"critical_path_us":{:.3f},)"
        R"("lower_bound_us":{:.3f},"interrupted":{}}})",
        not_exited, switch_log, r.energy_j, r.sleep_us, cpu_sleep, r.work_us, r.critical_path_us,
        r.lower_bound_us, interrupted);
    if (threads->any()) {
        const MessageCounts& m = r.messages;
        s.extra_json.insert(
            s.extra_json.size() - 1,
            fmt::format(R"(,"messages":{{"sent":{},"delivered":{},"refused":{},"returned":{},)"
                        R"("pending":{},"threads":{},"closed":{}}})",
                        m.sent, m.delivered, m.refused, m.returned, m.pending, m.threads,
                        m.closed));
    }
    if (cfg.warmup_ns > 0)
        s.extra_json.insert(
            s.extra_json.size() - 1,
            fmt::format(R"(,"warmup_us":{:.3f})", static_cast<double>(cfg.warmup_ns) / 1e3));
    return r;
}

}  // namespace schedkit
