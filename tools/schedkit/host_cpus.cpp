// host_cpus.cpp: the host CPUs a real run gets, and the check that a
// topology fits on them.
#include <fmt/format.h>
#include <sched.h>

#include "schedkit/error.h"
#include "workload_args.h"

namespace schedkit::cli {

CpuSet host_cpus() {
    CpuSet out;
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        for (int c = 0; c < CPU_SETSIZE; ++c)
            if (CPU_ISSET(c, &set))
                out.set(c);
    }
    if (out.empty()) {
        Topology host = Topology::host();
        for (const CpuInfo& c : host.cpus())
            out.set(c.os_index);
    }
    return out;
}

void check_fits_host(const Topology& topo, const CpuSet& cpus, bool oversubscribe) {
    CpuSet have = cpus.empty() ? host_cpus() : cpus;
    if (oversubscribe || topo.num_cpus() <= have.count())
        return;
    throw InputError(fmt::format(
        "topology '{}' has {} CPUs but the run has {} (host CPUs {}); expected a topology of at "
        "most {} CPUs (--topology, or --cpus with more CPUs), or --oversubscribe to time-share "
        "them",
        topo.source(), topo.num_cpus(), have.count(), have.to_string(), have.count()));
}

std::string host_share_line(const HostShare& h) {
    return fmt::format(
        "host        the workers got {:.1f}% of the CPU time they spun for ({:.3f} ms of CPU in "
        "{:.3f} ms of wall time); the rest went to other processes (host contention)",
        100 * h.cpu_share, static_cast<double>(h.run_cpu_ns) / 1e6,
        static_cast<double>(h.run_wall_ns) / 1e6);
}

}  // namespace schedkit::cli
