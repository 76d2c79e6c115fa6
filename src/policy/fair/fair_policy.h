// fair_policy.h: the `fair` policy, a Linux-style hierarchical load
// balancer over the sched-domain tree (DESIGN §3). Internal header: the CLI
// builds it through the registry; tests and benchmarks drive it directly.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "policy/fair/balance.h"
#include "policy/fair/eevdf.h"
#include "schedkit/policy.h"

namespace schedkit::fair {

// FairConfig are the policy's options (see `schedkit policies`).
struct FairConfig {
    uint64_t migration_cost_ns = 500'000;  // a task that ran this recently is cache-hot
    int nr_migrate = 32;                   // tasks examined (so moved) per pass at most
    uint64_t tick_ns = 1'000'000;          // the periodic balance tick
};

// BalanceStats are one domain level's counters, Linux schedstat style
// (/proc/schedstat), per idle type of the balancing CPU where Linux has them.
struct BalanceStats {
    std::array<uint64_t, kNumIdleTypes> lb_count{};          // balance passes
    std::array<uint64_t, kNumIdleTypes> lb_balanced{};       // found nothing to do
    std::array<uint64_t, kNumIdleTypes> lb_failed{};         // imbalance, but moved nothing
    std::array<uint64_t, kNumIdleTypes> lb_imbalance{};      // sum of imbalances found
    std::array<uint64_t, kNumIdleTypes> lb_gained{};         // tasks pulled
    std::array<uint64_t, kNumIdleTypes> lb_hot_gained{};     // of which cache-hot
    std::array<uint64_t, kNumIdleTypes> lb_nobusyg{};        // no busier group
    std::array<uint64_t, kNumIdleTypes> lb_nobusyq{};        // busiest group, no queue
    uint64_t alb_count = 0, alb_failed = 0, alb_pushed = 0;  // active balance
};

// FairPolicy orders each run queue by Linux's EEVDF rules (eevdf.h: the
// eligible task with the earliest virtual deadline runs, a slice of
// quantum_ns at a time; lag survives sleep and migration; an arriving task
// that a pick would choose preempts), places tasks on idle CPUs (idlest
// group top-down at spawn, idle sibling in the LLC at wake) and balances
// by weighted load at each CPU's per-domain interval, on newly idle CPUs,
// and by active push.
//
// Concurrency: per-CPU balance state is touched only by hooks running for
// that CPU (the executor runs tick/newidle/on_active_balance for a CPU on
// that CPU), each on its own cache line; statistics are relaxed atomics;
// per-group imbalance flags are atomics shared by every CPU balancing over
// the group. No lock is held across a call into the Scheduler.
class FairPolicy final : public Policy {
  public:
    explicit FairPolicy(FairConfig config = {});
    ~FairPolicy() override;

    std::string name() const override { return "fair"; }
    void start(Scheduler& sched, uint64_t now_ns) override;
    int select_cpu(Scheduler& sched, const Task& task, PlaceReason why) override;
    uint64_t tick_period_ns() const override { return config_.tick_ns; }
    // NOHZ idle (policy.h): idle CPUs stop ticking; a busy CPU with tasks
    // waiting kicks one, whose newidle pass pulls.
    bool tick_when_idle() const override { return false; }
    void tick(Scheduler& sched, int cpu, uint64_t now_ns) override;
    void newidle(Scheduler& sched, int cpu, uint64_t now_ns) override;
    void on_active_balance(int src, int dst, bool moved) override;
    std::string stats_json() const override;

    // EEVDF queue order (eevdf.cpp; Policy's ordering hooks).
    bool orders_queues() const override { return true; }
    void take_queue(RunQueue& rq, uint64_t now_ns) override;
    void on_enqueue(RunQueue& rq, Task& task, EnqueueKind kind, uint64_t now_ns) override;
    void on_dequeue(RunQueue& rq, Task& task, DequeueKind kind, uint64_t now_ns) override;
    QueuePick pick(const RunQueue& rq) override;
    bool wakeup_preempt(const RunQueue& rq, const Task& task, uint64_t now_ns) override;
    uint64_t time_slice_ns(const Task& task) const override;
    // eevdf() is the queue order's state, for tests.
    const Eevdf& eevdf() const { return eevdf_; }

    // load_balance() is one balance attempt by `cpu` over its domain at
    // `level` (sched_balance_rq): find the busiest group and queue, pull up
    // to the imbalance, count failures, ask for an active push when pulling
    // keeps failing. Returns the number of tasks moved. tick() and
    // newidle() call it; tests call it on hand-built states.
    int load_balance(Scheduler& sched, int cpu, int level, IdleType idle, uint64_t now_ns,
                     bool* continue_balancing = nullptr);

    // Introspection for tests and benchmarks.
    const BalanceTopology& topology() const { return topo_; }
    BalanceStats stats(int level) const;  // summed over CPUs
    uint32_t nr_balance_failed(int cpu, int level) const;
    uint32_t balance_interval_ms(int cpu, int level) const;
    const FairConfig& config() const { return config_; }

  private:
    struct LevelState {
        uint64_t last_balance_ns = 0;
        uint32_t interval_ms = 1;  // grows while balanced, up to max_interval_ms
        uint32_t nr_balance_failed = 0;
    };
    struct AtomicStats {
        std::array<std::atomic<uint64_t>, kNumIdleTypes> lb_count{}, lb_balanced{}, lb_failed{},
            lb_imbalance{}, lb_gained{}, lb_hot_gained{}, lb_nobusyg{}, lb_nobusyq{};
        std::atomic<uint64_t> alb_count{0}, alb_failed{0}, alb_pushed{0};
    };
    // Per-CPU state on its own cache lines: every CPU's tick writes its own
    // balance times and counters; sharing lines would bounce them between
    // every CPU of the machine on every tick.
    struct alignas(64) CpuState {
        std::array<LevelState, kMaxLevels> level{};
        std::array<AtomicStats, kMaxLevels> stats{};
    };

    bool should_we_balance(const Scheduler& sched, int cpu, int level) const;
    int detach_and_attach(LbEnv& env, int src, uint32_t* failed, bool* all_pinned,
                          bool* some_pinned, int* new_dst);
    bool current_allowed_on(Scheduler& sched, int src, int dst) const;
    int find_idlest_cpu(const Scheduler& sched, const Task& task) const;

    FairConfig config_;
    Eevdf eevdf_;
    BalanceTopology topo_;
    std::unique_ptr<CpuState[]> cpus_;
    std::atomic_flag numa_balancing_ = ATOMIC_FLAG_INIT;  // SD_SERIALIZE
};

}  // namespace schedkit::fair
