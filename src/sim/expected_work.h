// expected_work.h: how much CPU work a spec is expected to ask for, so a
// progress line can say how far a run got.
#pragma once

#include "schedkit/workload.h"

namespace schedkit::sim {

// expected_work_ns() is the mean CPU work of a whole spec: every group's
// arrivals times its repeat times the mean of its run steps, children of
// spawn steps included. A spawn cycle (a group spawning itself, directly
// or not) counts the cycle's children once: it is an estimate for progress,
// never a bound.
double expected_work_ns(const WorkloadSpec& spec);

}  // namespace schedkit::sim
