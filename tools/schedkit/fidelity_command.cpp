// `schedkit fidelity`: one spec simulated on the host's own CPUs and run for
// real on the same CPUs, side by side, with the host's contention measured.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "output_flags.h"
#include "schedkit/error.h"
#include "schedkit/policy_registry.h"
#include "schedkit/runtime_workload.h"
#include "schedkit/sim.h"
#include "workload_args.h"

namespace schedkit::cli {

namespace {

using Json = nlohmann::ordered_json;

struct FidelityArgs {
    std::string spec_path;
    std::string policy = "static";
    std::string cpus;  // host CPUs; empty: those this process may use
    int repeat = 1;
    std::string scale = "1";
    std::string seed;
    std::string quantum;
    std::vector<std::string> plugins;  // --plugin PATH.so (docs/plugins.md)
    OutputFlags output;
};

double parse_positive(const std::string& text, const char* flag, double max) {
    double v = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || ptr != text.data() + text.size() || !(v > 0) || v > max)
        throw InputError(fmt::format("{} '{}': expected a number greater than 0 and at most {}",
                                     flag, text, max));
    return v;
}

// Stat is one figure: the simulation's value and the real runs' values.
struct Stat {
    double sim = 0;
    std::vector<double> runs;

    double mean() const {
        double s = 0;
        for (double r : runs)
            s += r;
        return runs.empty() ? 0 : s / static_cast<double>(runs.size());
    }
    double min() const { return runs.empty() ? 0 : *std::min_element(runs.begin(), runs.end()); }
    double max() const { return runs.empty() ? 0 : *std::max_element(runs.begin(), runs.end()); }
    double diff() const { return mean() - sim; }
    // diff_pct() is the real runs' mean against the simulation, in %.
    double diff_pct() const { return sim != 0 ? 100.0 * diff() / sim : 0; }

    Json json() const {
        Json j{{"sim", sim},       {"run_mean", mean()}, {"run_min", min()},
               {"run_max", max()}, {"diff", diff()},     {"diff_pct", diff_pct()}};
        j["runs"] = runs;
        return j;
    }
};

// Row is a named Stat in the table and the JSON.
struct Row {
    std::string key;    // JSON key
    std::string label;  // table label
    std::string unit;   // "ms", "us" or ""
    Stat stat;
};

double num(const Json& j, std::initializer_list<const char*> path) {
    const Json* at = &j;
    for (const char* key : path) {
        if (!at->contains(key))
            return 0;
        at = &(*at)[key];
    }
    return at->is_number() ? at->get<double>() : 0;
}

// Comparison gathers the rows from the simulation's and the runs' summaries.
class Comparison {
  public:
    Comparison(const Json& sim, const std::vector<Json>& runs) : sim_(sim), runs_(runs) {}

    void add(std::string key, std::string label, std::string unit,
             const std::function<double(const Json&)>& get) {
        Row r{std::move(key), std::move(label), std::move(unit), {}};
        r.stat.sim = get(sim_);
        for (const Json& run : runs_)
            r.stat.runs.push_back(get(run));
        rows_.push_back(std::move(r));
    }
    const std::vector<Row>& rows() const { return rows_; }
    const Row& row(const std::string& key) const {
        for (const Row& r : rows_)
            if (r.key == key)
                return r;
        throw std::logic_error("fidelity: no row " + key);
    }

  private:
    const Json& sim_;
    const std::vector<Json>& runs_;
    std::vector<Row> rows_;
};

// group_stat() reads groups[name].wait_us.<field>, as `sim` and `run`
// report per-group statistics (0 when a summary has none).
double group_stat(const Json& s, const std::string& name, const char* what, const char* field) {
    if (!s.contains("groups"))
        return 0;
    for (const Json& g : s["groups"])
        if (g.value("name", "") == name)
            return num(g, {what, field});
    return 0;
}

int run_fidelity(const FidelityArgs& args) {
    double scale = parse_positive(args.scale, "--scale", 1000);
    if (args.repeat < 1 || args.repeat > 1000)
        throw InputError(
            fmt::format("--repeat '{}': expected a whole number from 1 to 1000", args.repeat));
    WorkloadArgs wa;
    wa.spec_path = args.spec_path;
    wa.policy = args.policy;
    wa.seed = args.seed;
    wa.quantum = args.quantum;
    wa.plugins = args.plugins;
    wa.topology = "host";  // the spec's own machine is not the one we run on
    LoadedWorkload w = load(wa);
    args.output.check();  // before the runs
    CpuSet cpus = args.cpus.empty() ? host_cpus() : CpuSet::parse(args.cpus, "--cpus");
    if (!cpus.is_subset_of(host_cpus()))
        throw InputError(
            fmt::format("--cpus '{}': this process may run only on CPUs {}; "
                        "expected a subset of them",
                        args.cpus, host_cpus().to_string()));
    Topology topo = w.topo.restrict_to(cpus, "--cpus");
    check_against(w.spec, topo);

    SimConfig sc;
    sc.seed = w.seed;
    sc.quantum_ns = w.quantum_ns;
    sc.scale = scale;
    SimResult sim = Simulator(w.spec, topo, make_policy(args.policy, "--policy"), sc).run();
    Json sim_json = Json::parse(summary_json(sim.summary));

    std::vector<Json> runs;
    std::vector<HostShare> hosts;
    for (int i = 0; i < args.repeat; ++i) {
        RealRunConfig rc;
        rc.runtime.cpus = cpus;
        rc.runtime.topology = topo;
        rc.runtime.workers = topo.num_cpus();
        rc.runtime.policy = args.policy;
        rc.runtime.quantum_ns = w.quantum_ns;
        rc.runtime.bind = true;  // as `schedkit run`: each worker on its own CPU
        rc.seed = w.seed;
        rc.scale = scale;
        RealRunResult r = run_workload(w.spec, rc);
        runs.push_back(Json::parse(summary_json(r.summary)));
        hosts.push_back(r.host);
    }

    Comparison c(sim_json, runs);
    c.add("makespan_ms", "makespan", "ms",
          [](const Json& s) { return num(s, {"makespan_us"}) / 1e3; });
    const size_t ncpu = static_cast<size_t>(topo.num_cpus());
    for (size_t i = 0; i < ncpu; ++i)
        c.add(fmt::format("cpu{}_busy_ms", i),
              fmt::format("CPU {} (host {}) busy", i, topo.cpu(static_cast<int>(i)).os_index), "ms",
              [i](const Json& s) {
                  return s["cpus"].size() > i ? num(s["cpus"][i], {"busy_us"}) / 1e3 : 0;
              });
    c.add("wait_p50_us", "wait p50", "us", [](const Json& s) {
        return num(s, {"wait_us", "p50"});
    });
    c.add("wait_p99_us", "wait p99", "us", [](const Json& s) {
        return num(s, {"wait_us", "p99"});
    });
    if (sim_json.contains("groups"))
        for (const Json& g : sim_json["groups"]) {
            std::string name = g.value("name", "");
            for (const char* field : {"mean", "p99"})
                c.add(fmt::format("group_{}_wait_{}_us", name, field),
                      fmt::format("{} wait {}", name, field), "us", [name, field](const Json& s) {
                          return group_stat(s, name, "wait_us", field);
                      });
        }
    c.add("migrations", "migrations", "", [](const Json& s) { return num(s, {"migrations"}); });
    c.add("context_switches", "context switches", "",
          [](const Json& s) { return num(s, {"context_switches"}); });

    // Host contention: the time the workers spun without getting a CPU,
    // spread over the workers, against the makespan gap.
    double share = 0, waited_ms = 0, run_cpu_ms = 0, run_wall_ms = 0;
    for (const HostShare& h : hosts) {
        share += h.cpu_share;
        waited_ms +=
            static_cast<double>(h.run_wall_ns - std::min(h.run_cpu_ns, h.run_wall_ns)) / 1e6;
        run_cpu_ms += static_cast<double>(h.run_cpu_ns) / 1e6;
        run_wall_ms += static_cast<double>(h.run_wall_ns) / 1e6;
    }
    const double n = static_cast<double>(hosts.size());
    share /= n;
    waited_ms /= n;
    run_cpu_ms /= n;
    run_wall_ms /= n;
    double per_worker_ms = waited_ms / static_cast<double>(ncpu);
    double gap_ms = c.row("makespan_ms").stat.diff();
    double explained = gap_ms > 0 ? std::min(1.0, per_worker_ms / gap_ms) : 0;

    {
        Json out;
        out["workload"] = w.spec.name;
        out["policy"] = args.policy;
        out["cpus"] = cpus.to_string();
        out["topology"] = topo.source();
        out["spec_topology"] = w.spec.topology ? Json(*w.spec.topology) : Json(nullptr);
        out["repeat"] = args.repeat;
        out["scale"] = scale;
        Json diff = Json::object();
        for (const Row& r : c.rows())
            diff[r.key] = r.stat.json();
        out["compare"] = std::move(diff);
        out["host"] = Json{{"cpu_share", share},
                           {"run_wall_ms", run_wall_ms},
                           {"run_cpu_ms", run_cpu_ms},
                           {"waited_ms", waited_ms},
                           {"waited_per_cpu_ms", per_worker_ms},
                           {"makespan_gap_ms", gap_ms},
                           {"gap_share_from_contention", explained}};
        out["sim"] = sim_json;
        out["runs"] = runs;
        args.output.write_csv(out, "fidelity");
        if (args.output.json) {
            fmt::print("{}\n", out.dump());
            return 0;
        }
    }
    fmt::print("fidelity    {} under {} on host CPUs {} ({} CPUs), scale {}, {} real run{}\n",
               w.spec.name, args.policy, cpus.to_string(), ncpu, scale, args.repeat,
               args.repeat == 1 ? "" : "s");
    if (w.spec.topology)
        fmt::print("            (the spec's topology '{}' is not used: both ran on these CPUs)\n",
                   *w.spec.topology);
    fmt::print("\n{:<28} {:>12} {:>12} {:>12} {:>8}\n", "figure", "sim", "run", "run - sim", "%");
    for (const Row& r : c.rows()) {
        std::string unit = r.unit.empty() ? "" : " " + r.unit;
        int dec = r.unit.empty() ? 0 : (r.unit == "ms" ? 3 : 1);
        fmt::print("{:<28} {:>12} {:>12} {:>12} {:>8}\n", r.label + (unit.empty() ? "" : unit),
                   fmt::format("{:.{}f}", r.stat.sim, dec),
                   fmt::format("{:.{}f}", r.stat.mean(), r.unit.empty() && n > 1 ? 1 : dec),
                   fmt::format("{:+.{}f}", r.stat.diff(), r.unit.empty() && n > 1 ? 1 : dec),
                   r.stat.sim != 0 ? fmt::format("{:+.1f}", r.stat.diff_pct()) : "-");
    }
    fmt::print(
        "\nhost        the workers got {:.1f}% of the CPU time they spun for ({:.3f} ms of CPU in "
        "{:.3f} ms of wall time{})\n",
        100 * share, run_cpu_ms, run_wall_ms, n > 1 ? ", mean over the runs" : "");
    if (gap_ms > 0)
        fmt::print(
            "contention  {:.3f} ms waited for a host CPU, {:.3f} ms per CPU: about {:.0f}% of the "
            "{:.3f} ms makespan gap is host contention, the rest is the runtime and scheduler\n",
            waited_ms, per_worker_ms, 100 * explained, gap_ms);
    else
        fmt::print(
            "contention  {:.3f} ms waited for a host CPU, {:.3f} ms per CPU; the real run was not "
            "slower than the simulation\n",
            waited_ms, per_worker_ms);
    return 0;
}

}  // namespace

void add_fidelity_command(CLI::App& app, Command& run) {
    auto args = std::make_shared<FidelityArgs>();
    CLI::App* cmd = app.add_subcommand(
        "fidelity", "Simulate a spec on the host's CPUs and run it for real on them, side by side");
    cmd->add_option("spec", args->spec_path, "Workload spec (YAML), see docs/workload-format.md")
        ->required();
    cmd->add_option("--policy", args->policy, "Policy and options, e.g. fair:nr_migrate=16")
        ->capture_default_str();
    cmd->add_option("--cpus", args->cpus,
                    "Host CPUs for both, e.g. 0-1 (default: every CPU this process may use)");
    cmd->add_option("--repeat", args->repeat, "Real runs to average (the simulation is exact)")
        ->capture_default_str();
    cmd->add_option("--scale", args->scale,
                    "Multiply every duration of the spec by this factor, in both")
        ->capture_default_str();
    cmd->add_option("--seed", args->seed, "Random seed (default: the spec's)");
    cmd->add_option("--quantum", args->quantum, "Time slice for the policy, e.g. 3ms");
    add_plugin_option(*cmd, args->plugins);
    args->output.add_to(*cmd, false);
    cmd->callback([args, &run] { run = [args] { return run_fidelity(*args); }; });
}

}  // namespace schedkit::cli
