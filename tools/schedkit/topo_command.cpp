// `schedkit topo`: print the CPUs and the sched-domain tree of a topology.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "output_flags.h"
#include "schedkit/domain.h"
#include "schedkit/topology.h"

namespace schedkit::cli {

namespace {

struct TopoOptions {
    std::string topology = "host";
    OutputFlags output;
};

nlohmann::ordered_json topo_json(const Topology& topo, const DomainTree& tree) {
    nlohmann::ordered_json levels = nlohmann::ordered_json::array();
    for (const DomainLevel& l : tree.levels()) {
        nlohmann::ordered_json j;
        j["name"] = l.name;
        j["span"] = l.span_weight();
        j["groups"] = l.domains.front().groups.size();
        j["domains"] = l.domains.size();
        j["balance_interval_ms"] = l.params.balance_interval_ms;
        j["max_interval_ms"] = l.params.max_interval_ms;
        j["busy_factor"] = l.params.busy_factor;
        j["imbalance_pct"] = l.params.imbalance_pct;
        j["cache_nice_tries"] = l.params.cache_nice_tries;
        if (l.kind == LevelKind::NUMA)
            j["numa_distance"] = l.numa_distance;
        levels.push_back(std::move(j));
    }
    nlohmann::ordered_json out;
    out["topology"] = topo.source();
    out["cpus"] = topo.num_cpus();
    out["numa_nodes"] = topo.num_numa_nodes();
    out["levels"] = std::move(levels);
    return out;
}

std::string table(const Topology& topo, const DomainTree& tree) {
    std::string out = fmt::format("topology {}: {} CPUs, {} NUMA node(s)\n", topo.source(),
                                  topo.num_cpus(), topo.num_numa_nodes());
    out +=
        fmt::format("{:<8} {:>6} {:>7} {:>8} {:>12} {:>10} {:>10}  {}\n", "level", "span", "groups",
                    "domains", "interval_ms", "imb_pct", "nice_tries", "cpu 0's groups");
    for (const DomainLevel& l : tree.levels()) {
        std::string groups;
        for (const CpuSet& g : l.of(0).groups)
            groups += (groups.empty() ? "" : " ") + ("{" + g.to_string() + "}");
        out += fmt::format("{:<8} {:>6} {:>7} {:>8} {:>12} {:>10} {:>10}  {}\n", l.name,
                           l.span_weight(), l.domains.front().groups.size(), l.domains.size(),
                           l.params.balance_interval_ms, l.params.imbalance_pct,
                           l.params.cache_nice_tries, groups);
    }
    if (tree.num_levels() == 0)
        out += "(one CPU: no sched domains)\n";
    return out;
}

}  // namespace

void add_topo_command(CLI::App& app, Command& run) {
    auto opts = std::make_shared<TopoOptions>();
    CLI::App* cmd = app.add_subcommand("topo", "Show a topology's CPUs and sched-domain tree");
    cmd->add_option("--topology", opts->topology,
                    "host, an hwloc synthetic string ('pack:2 l3:2 core:4 pu:2') or an XML file")
        ->capture_default_str();
    opts->output.add_to(*cmd, false);
    cmd->callback([opts, &run] {
        run = [opts] {
            opts->output.check();
            Topology topo = Topology::load(opts->topology);
            DomainTree tree = DomainTree::build(topo);
            opts->output.emit(topo_json(topo, tree), table(topo, tree), "topology", -1);
            return 0;
        };
    });
}

}  // namespace schedkit::cli
