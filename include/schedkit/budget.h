// budget.h: the resource limits of one run, so that no input, however
// hostile, makes schedkit run out of memory or run forever.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "schedkit/error.h"

namespace schedkit {

struct WorkloadSpec;

// kMaxDurationNs bounds every duration (a run or block step, an arrival
// time, --until, --switch): 2^53 ns, about 104 days, the largest count of
// ns a double holds exactly. A task's path is at most a sum of a bounded
// number of such steps, and the run stops at Budget::max_time_ns, so
// virtual time never comes near 2^64 (no wrap, no undefined double cast).
inline constexpr uint64_t kMaxDurationNs = uint64_t{1} << 53;
// kMaxVirtualNs is the largest --max-time: 2^62 ns (146 years); an event
// is at most one duration past it, far below 2^64.
inline constexpr uint64_t kMaxVirtualNs = uint64_t{1} << 62;

// Budget is what a run may use. Each limit has a CLI flag of the same name
// (--max-tasks, --max-events, --max-time, --max-spec-bytes) and the error
// for going over names that flag. docs/limits.md explains the defaults.
struct Budget {
    // max_tasks: tasks a simulation creates in all (it keeps every one for
    // the report; ~330 bytes each), or tasks alive at once in a real run.
    uint64_t max_tasks = 1'000'000;
    // max_events: simulator events (a slice, a wake, a tick...); at 2-5 M
    // events/s the default ends a run that cannot end in well under a
    // minute, ~100 times the events of the largest benchmark spec.
    uint64_t max_events = 100'000'000;
    // max_time_ns: virtual time a simulation may reach.
    uint64_t max_time_ns = uint64_t{1} << 60;  // 36 years
    // max_spec_bytes: the size of a workload spec file.
    uint64_t max_spec_bytes = 16u << 20;
};

// BudgetError is bad input that would exceed a budget: its message names
// the limit and the flag that raises it.
class BudgetError : public InputError {
  public:
    using InputError::InputError;
};

// budget_exceeded() throws the BudgetError for `what` going over `limit`
// (`unit` follows the numbers, e.g. "ns" for --max-time).
[[noreturn]] void budget_exceeded(std::string_view what, std::string_view flag, uint64_t limit,
                                  std::string_view unit = "");

// tasks_created() is how many tasks `spec` creates if run to the end: its
// counts plus everything spawn steps add, times their repeats. A spawn
// cycle reachable from a group that runs never ends: infinity.
double tasks_created(const WorkloadSpec& spec);

// check_spec_budget() refuses, before anything runs, a spec that creates
// more than max_tasks tasks (or never stops creating them) when the run
// has no time limit (`bounded` false); with one, the run's own checks stop
// it at the budget.
void check_spec_budget(const WorkloadSpec& spec, const Budget& budget, bool bounded);

}  // namespace schedkit
