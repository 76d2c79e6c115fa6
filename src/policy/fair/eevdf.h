// eevdf.h: the fair policy's run-queue order, after Linux's EEVDF
// (kernel/sched/fair.c): weighted virtual runtime, lag, virtual deadlines,
// lag-preserving placement of waking and migrating tasks, and wake-up
// preemption. Internal header.
//
// Each CPU's queued tasks sit in a treap keyed by virtual deadline whose
// nodes carry the least vruntime of their subtree, so the pick (the
// eligible task with the earliest deadline) and every update are
// O(log n). The queue's average vruntime V is the weight-weighted mean of
// the queued tasks' vruntimes and the running task's (its vruntime grows
// as it runs, 1024/weight ns per ns); a task is eligible when its vruntime
// is at most V, i.e. it has received no more than its share (lag >= 0).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "schedkit/policy.h"
#include "schedkit/runqueue.h"

namespace schedkit::fair {

__extension__ using Wide = __int128;

// EevdfQueue is one CPU's EEVDF state, guarded by that run queue's lock.
struct alignas(64) EevdfQueue {
    Task* root = nullptr;
    Wide sum_wv = 0;               // sum of weight * vruntime over the tree
    uint64_t sum_w = 0;            // sum of weight over the tree
    int64_t idle_v = 0;            // the virtual clock while nothing is here
    uint64_t clock_ns = 0;         // latest time a hook saw here
    const Task* picked = nullptr;  // the running task, when picked from this tree
};

// Eevdf holds every CPU's queue; the policy calls it from its ordering
// hooks (Policy::orders_queues()), under the queue's lock. `slice_ns` is the
// base slice (the policy's quantum), `tick_ns` its tick (the lag bound is
// the larger of two slices and a tick, in the task's virtual time).
class Eevdf {
  public:
    void init(int num_cpus);
    bool ready() const { return queues_ != nullptr; }

    void take(RunQueue& rq, uint64_t now_ns, uint64_t slice_ns);
    void enqueue(RunQueue& rq, Task& t, EnqueueKind kind, uint64_t now_ns, uint64_t slice_ns);
    void dequeue(RunQueue& rq, Task& t, DequeueKind kind, uint64_t now_ns, uint64_t slice_ns,
                 uint64_t tick_ns);
    // pick() is the eligible queued task with the earliest deadline (null
    // when the tree is empty).
    Task* pick(const RunQueue& rq) const;
    bool wakeup_preempt(const RunQueue& rq, const Task& t, uint64_t now_ns,
                        uint64_t slice_ns) const;

    // slice_left_ns() is the real time `t` may run from its current
    // vruntime to its deadline (at least a quarter slice, at most a slice).
    static uint64_t slice_left_ns(const Task& t, uint64_t slice_ns);
    static int64_t vslice(const Task& t, uint64_t slice_ns);

    // Introspection for tests (call while nothing runs, or under the lock).
    int64_t avg_vruntime(const RunQueue& rq, uint64_t now_ns) const;
    // check() walks rq's tree against its list: "" when they agree,
    // else what is wrong.
    std::string check(const RunQueue& rq) const;

  private:
    struct Sums {
        Wide wv = 0;
        Wide w = 0;
    };
    EevdfQueue& q(int cpu) const { return queues_[static_cast<size_t>(cpu)]; }
    Sums sums_with_current(const RunQueue& rq, const EevdfQueue& q) const;
    void place(const RunQueue& rq, EevdfQueue& q, Task& t, int64_t lag, bool initial,
               uint64_t slice_ns);
    void insert(EevdfQueue& q, Task& t);
    void erase(EevdfQueue& q, Task& t);

    std::unique_ptr<EevdfQueue[]> queues_;
    int num_cpus_ = 0;
};

}  // namespace schedkit::fair
