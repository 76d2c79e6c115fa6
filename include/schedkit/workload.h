// workload.h: the YAML workload spec the simulator and the runtime execute.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "schedkit/cpuset.h"
#include "schedkit/topology.h"

namespace schedkit {

// SourceLoc is a place in a spec file (1-based), for error messages.
struct SourceLoc {
    int line = 0;
    int column = 0;
};

// Rng is the one random generator of a run: seeded from the spec or --seed,
// so a run is reproducible.
using Rng = std::mt19937_64;

// Duration is a fixed time or a distribution of times (ns).
struct Duration {
    enum class Kind : uint8_t { Fixed, Exp, Uniform, Normal };
    Kind kind = Kind::Fixed;
    uint64_t a_ns = 0;  // fixed value; exp mean; uniform low; normal mean
    uint64_t b_ns = 0;  // uniform high; normal standard deviation

    // sample() draws a value (never negative; normal is truncated at 0).
    uint64_t sample(Rng& rng) const;
    // mean_ns() is the expected value (for lower bounds).
    double mean_ns() const;
};

// Step is one action of a behavior.
struct Step {
    enum class Kind : uint8_t { Run, Block, Spawn, Exit };
    Kind kind = Kind::Run;
    Duration duration;     // Run: CPU burst; Block: time blocked
    int spawn_group = -1;  // Spawn: index into WorkloadSpec::groups
    int spawn_count = 1;   // Spawn: children per execution of this step
    bool join = false;     // Spawn: block until all these children exited
    SourceLoc loc;
};

// Arrival says when a group's initial tasks appear.
struct Arrival {
    enum class Kind : uint8_t { At, Poisson };
    Kind kind = Kind::At;
    uint64_t at_ns = 0;     // At: all at this time; Poisson: first possible time
    double rate_per_s = 0;  // Poisson: mean arrivals per second
};

// GroupSpec is a group of identical tasks.
struct GroupSpec {
    std::string name;
    int count = 1;  // tasks created by arrival; 0 = created only by spawn steps
    int nice = 0;
    uint32_t weight = 1024;  // from nice unless given
    CpuSet affinity;         // empty = all CPUs
    Arrival arrival;
    int repeat = 1;  // behavior runs this many times, then the task exits
    std::vector<Step> behavior;
    SourceLoc loc;
    SourceLoc affinity_loc;  // for errors found against a topology
};

// WorkloadSpec is a parsed workload file.
struct WorkloadSpec {
    std::string path;                     // file name, for errors and reports
    std::string name;                     // `name:` or the file's stem
    std::optional<std::string> topology;  // `topology:` (hwloc synthetic, XML, host)
    uint64_t seed = 1;
    std::vector<GroupSpec> groups;

    // group_index() finds a group by name, or -1.
    int group_index(std::string_view name) const;
};

// TaskArrival is one initial task of a spec: the `index`-th task of group
// `group`, appearing at `at_ns`.
struct TaskArrival {
    uint64_t at_ns;
    int group;
    int index;
};

// draw_arrivals() draws when every group's initial tasks appear (a Poisson
// group's gaps are exponential), from `rng`, group by group in spec order,
// and returns them in that order: stable-sort by time to start them. The
// simulator and `schedkit run` both draw here, so for one seed both start
// the same tasks at the same times.
std::vector<TaskArrival> draw_arrivals(const WorkloadSpec& spec, Rng& rng);

// parse_workload_file() reads and checks a YAML spec. Throws InputError as
// "file:line:column: what was expected" on any syntax or semantic error
// (unknown key, negative or unitless duration, unknown unit, spawn of an
// undefined group, spawn cycles without a base case are allowed but a group
// spawning itself unconditionally forever is not detected).
WorkloadSpec parse_workload_file(const std::string& path);
// parse_workload() parses YAML text; `path` names it in errors.
WorkloadSpec parse_workload(std::string_view yaml, const std::string& path);
// check_against() validates a spec against the topology it will run on
// (affinity within the machine's CPUs). Throws InputError with file:line:column.
void check_against(const WorkloadSpec& spec, const Topology& topo);
// parse_duration() reads "250us", "3ms", "1s", "10ns", "1.5ms". `what` names
// the input in errors.
uint64_t parse_duration(std::string_view text, std::string_view what);

}  // namespace schedkit
