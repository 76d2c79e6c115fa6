// workload.h: the YAML workload spec the simulator and the runtime execute.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "schedkit/cpuset.h"
#include "schedkit/domain.h"
#include "schedkit/rng.h"
#include "schedkit/topology.h"

namespace schedkit {

// SourceLoc is a place in a spec file (1-based), for error messages.
struct SourceLoc {
    int line = 0;
    int column = 0;
};

// Rng (rng.h) is xoshiro256**: each group's arrivals and each task draw from
// their own stream, all derived from the spec's seed or --seed,
// so a run is reproducible.

// Duration is a fixed time or a distribution of times (ns).
struct Duration {
    enum class Kind : uint8_t {
        Fixed,
        Exp,
        Uniform,
        Normal,
        Pareto,     // a_ns: minimum (scale); b_ns: cap (0: none); shape: alpha
        Lognormal,  // a_ns: mean; b_ns: standard deviation; mu, sigma: of the log
        Empirical,  // samples: drawn uniformly (a bootstrap of the given values)
        Bimodal,    // a_ns with probability 1 - p, b_ns with probability p
    };
    Kind kind = Kind::Fixed;
    uint64_t a_ns = 0;  // fixed value; exp mean; uniform low; normal mean; see Kind
    uint64_t b_ns = 0;  // uniform high; normal standard deviation; see Kind
    double shape = 0;   // Pareto: alpha; Bimodal: probability of b_ns
    double mu = 0;      // Lognormal: mean of the log
    double sigma = 0;   // Lognormal: standard deviation of the log
    std::shared_ptr<const std::vector<uint64_t>> samples;  // Empirical

    Duration() = default;
    // A fixed, exponential, uniform or normal duration from its two values.
    Duration(Kind k, uint64_t a, uint64_t b) : kind(k), a_ns(a), b_ns(b) {}
    // pareto(): minimum `min_ns`, tail index `alpha` > 0, draws above
    // `cap_ns` become cap_ns (0: no cap; then alpha must exceed 1).
    static Duration pareto(uint64_t min_ns, double alpha, uint64_t cap_ns = 0);
    // lognormal(): the distribution whose own mean and standard deviation
    // are given (not those of its log); mean_ns > 0.
    static Duration lognormal(uint64_t mean_ns, uint64_t stddev_ns);
    // empirical(): each draw is one of `values` (non-empty), equally likely.
    static Duration empirical(std::vector<uint64_t> values);
    // bimodal(): `low_ns` with probability 1 - p_high, else `high_ns`.
    static Duration bimodal(uint64_t low_ns, uint64_t high_ns, double p_high);

    // sample() draws a value (never negative; normal is truncated at 0).
    uint64_t sample(Rng& rng) const;
    // mean_ns() is the expected value (for lower bounds).
    double mean_ns() const;
};

// Step is one action of a behavior.
struct Step {
    // Send queues messages to a thread group's lightweight threads (one
    // thread per message, round robin); each message runs that group's
    // behavior on the thread. Wait and Notify use a named event (a counting
    // semaphore, see docs/workload-format.md): notify adds a permit or wakes
    // the longest waiter; wait takes a permit or blocks until one comes.
    // Close closes a thread group's oldest open threads (spawn_count of
    // them): they refuse later sends, and their queued messages run
    // (drain) or are handed back (cancel) before they exit.
    enum class Kind : uint8_t { Run, Block, Spawn, Exit, Send, Wait, Notify, Close };
    Kind kind = Kind::Run;
    Duration duration;     // Run: CPU burst; Block: time blocked
    int spawn_group = -1;  // Spawn, Send, Close: index into WorkloadSpec::groups
    int spawn_count = 1;   // Spawn: children, Send: messages, Close: threads per execution
    bool join = false;     // Spawn: block until all these children exited
    SourceLoc loc;
    int event = -1;       // Wait, Notify: index into WorkloadSpec::events
    bool cancel = false;  // Close: hand queued messages back (else drain: run them)
};

// Arrival says when a group's initial tasks appear.
struct Arrival {
    enum class Kind : uint8_t {
        At,        // all at at_ns
        Poisson,   // exponential gaps of mean 1/rate_per_s from at_ns
        Periodic,  // at_ns + i * period_ns + uniform [0, jitter_ns]
        Burst,     // Poisson at rate_per_s during `on` periods, none during `off`
        Mmpp,      // Markov-modulated Poisson: state i has rate rates[i] for an
                   // exponential time of mean dwell_ns[i], states in cycle
        Trace,     // at_ns + times[i] (a file of timestamps)
    };
    Kind kind = Kind::At;
    uint64_t at_ns = 0;     // At: all at this time; others: first possible time
    double rate_per_s = 0;  // Poisson, Burst: mean arrivals per second
    uint64_t period_ns = 0;
    uint64_t jitter_ns = 0;
    Duration on, off;  // Burst: lengths of the on and off periods (drawn per period)
    std::vector<double> rates;
    std::vector<uint64_t> dwell_ns;
    std::shared_ptr<const std::vector<uint64_t>> times;  // Trace, non-decreasing

    Arrival() = default;
    // An At or Poisson arrival.
    Arrival(Kind k, uint64_t at, double rate) : kind(k), at_ns(at), rate_per_s(rate) {}

    // mean_rate_per_s() is the long-run arrival rate (0 for At and Trace).
    double mean_rate_per_s() const;
};

// draw_arrival_times() draws the times of `count` arrivals of the form `a`
// from `rng`, in order. draw_arrivals() calls it once per group.
std::vector<uint64_t> draw_arrival_times(const Arrival& a, int count, Rng& rng);

// Poller is a lightweight thread's periodic poll: every `every_ns` it uses
// `run` of CPU on the thread (a poll that found work).
struct Poller {
    uint64_t every_ns = 0;
    Duration run;
    SourceLoc loc;
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
    // thread: the group's tasks are lightweight threads (`thread: true`),
    // started at their arrival (time 0 unless `arrival` says otherwise) and
    // alive until a close step closes them, or until every other task has
    // exited and every mailbox is empty; `behavior` is what each message
    // sent to them does (run, send, close steps), `pollers` run on them
    // periodically.
    bool thread = false;
    std::vector<Poller> pollers;
    SourceLoc loc;
    SourceLoc affinity_loc;  // for errors found against a topology
};

// CostSpec is a spec's `costs:` section: what the simulator charges for a
// context switch, and for a task's first run after it moved across a domain
// level of each kind (indexed by LevelKind). Unset keeps SimConfig's value.
struct CostSpec {
    std::optional<uint64_t> switch_ns;
    std::array<std::optional<uint64_t>, kNumLevelKinds> migration_ns{};
};

// WorkloadSpec is a parsed workload file.
struct WorkloadSpec {
    std::string path;                     // file name, for errors and reports
    std::string name;                     // `name:` or the file's stem
    std::optional<std::string> topology;  // `topology:` (hwloc synthetic, XML, host)
    SourceLoc topology_loc;               // where `topology:`'s value is, for errors
    uint64_t seed = 1;
    CostSpec costs;  // `costs:`
    std::vector<GroupSpec> groups;
    // events are the names used by wait and notify steps, in order of first
    // use; each starts with no permit.
    std::vector<std::string> events;

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
// group's gaps are exponential), each group from its own stream
// (stream_seed(seed, kArrivalStream, group)), and returns them group by
// group in spec order: stable-sort by time to start them. The simulator and
// `schedkit run` both draw here, so for one seed both start the same tasks
// at the same times, and a group's arrivals do not change when another
// group changes.
std::vector<TaskArrival> draw_arrivals(const WorkloadSpec& spec, uint64_t seed);

// parse_workload_file() reads and checks a YAML spec. Throws InputError as
// "file:line:column: what was expected" on any syntax or semantic error
// (unknown key, negative or unitless duration, unknown unit, spawn of an
// undefined group, spawn cycles without a base case are allowed but a group
// spawning itself unconditionally forever is not detected).
// A file larger than max_bytes (Budget::max_spec_bytes) is refused before
// it is parsed; reading stops there, so /dev/zero is refused too.
WorkloadSpec parse_workload_file(const std::string& path, uint64_t max_bytes = 16u << 20);
// kSpecBytesPerNode: a spec may have one YAML node (counting what aliases
// expand to) per this many bytes of its byte budget: yaml-cpp spends ~460
// bytes per node, so the 16 MiB default allows 2 Mi nodes (~1 GB at worst; a
// 10 MB spec of 114,000 groups has ~1.2 Mi).
inline constexpr uint64_t kSpecBytesPerNode = 8;
// parse_workload() parses YAML text; `path` names it in errors. More than
// max_nodes YAML nodes (aliases expanded) or a second YAML document is an
// InputError, found before yaml-cpp builds its tree.
WorkloadSpec parse_workload(std::string_view yaml, const std::string& path,
                            uint64_t max_nodes = (16u << 20) / kSpecBytesPerNode);
// check_against() validates a spec against the topology it will run on
// (affinity within the machine's CPUs). Throws InputError with file:line:column.
void check_against(const WorkloadSpec& spec, const Topology& topo);
// parse_migration_costs() reads "LLC=5us,NUMA=80us" (level kinds as in
// level_kind_named()) into `costs`; `what` names the input in errors
// (InputError "what 'text': ...; expected LEVEL=DURATION,...").
void parse_migration_costs(std::string_view text, std::string_view what, CostSpec& costs);
// parse_duration() reads "250us", "3ms", "1s", "10ns", "1.5ms". `what` names
// the input in errors. A value above `max_ns` (by default 2^53 ns, about 104
// days: kMaxDurationNs in budget.h) is an error.
uint64_t parse_duration(std::string_view text, std::string_view what,
                        uint64_t max_ns = uint64_t{1} << 53);

}  // namespace schedkit
