// trace_import.h: a Linux trace turned into a workload spec.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "schedkit/trace.h"
#include "schedkit/workload.h"

namespace schedkit {

// TraceImportOptions say how a trace becomes a spec.
struct TraceImportOptions {
    // min_run_ns drops run steps shorter than this (tracing noise); blocks
    // and spawns around them stay.
    uint64_t min_run_ns = 0;
    // comm_regex keeps only threads whose comm matches (ECMAScript,
    // std::regex_search); empty keeps every thread. A kept thread whose
    // parent is dropped arrives on its own at its fork time.
    std::string comm_regex;
    // causal: a thread woken by another kept thread waits on an event that
    // the waker notifies at the point of its run where the trace shows the
    // wake-up (wait/notify steps); otherwise, and for wake-ups from outside
    // (interrupts, timers, dropped threads), it blocks for the traced gap.
    bool causal = false;
    // split_bursts: every traced burst is its own run step, and a
    // preemption a `block: 0ns`, so each burst starts with one placement
    // (the as-traced policy); otherwise preempted bursts merge into one run.
    bool split_bursts = false;
};

// ImportedTrace is the spec and, per group, the index in Trace::threads of
// the thread it models.
struct ImportedTrace {
    WorkloadSpec spec;
    std::vector<size_t> thread_of_group;
};

// trace_to_spec() builds one group per kept thread, in trace order (parents
// before children), named "<comm>-<tid>": a thread forked by a kept thread
// has count 0 and is spawned by a spawn step of its parent at the point of
// its run where the fork was traced; any other thread arrives (count 1) when
// it first became ready, relative to the trace's start. Its behavior is its
// bursts as run steps, separated by blocks of the traced sleep (or
// wait/notify, see `causal`). The topology is "core:N pu:1" for the trace's
// N CPUs. Throws InputError when no thread is left or the regex is bad.
ImportedTrace trace_to_spec(const Trace& trace, const TraceImportOptions& opts);

}  // namespace schedkit
