// The `steal` policy: work stealing as Go's and Tokio's schedulers do it.
// A CPU that runs out of work steals half of a random victim's queue; it
// tries the victims that share the most with it first (its SMT sibling, then
// its LLC, its package, ...), in a random order within each level.
#include <fmt/format.h>

#include <memory>
#include <vector>

#include "policy/placement.h"
#include "schedkit/policy_registry.h"
#include "schedkit/scheduler.h"

namespace schedkit {

namespace {

// splitmix64: a tiny, fully specified generator, so a given seed steals the
// same victims on every standard library (the simulation stays
// byte-deterministic).
uint64_t splitmix64(uint64_t& state) {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

struct StealConfig {
    uint64_t idle_steal_ns = 1'000'000;
    uint64_t seed = 1;
    bool fast_path = true;
    int fast_steal = 32;
};

class StealPolicy final : public Policy {
  public:
    explicit StealPolicy(StealConfig c) : config_(c) {}

    std::string name() const override { return "steal"; }

    void start(Scheduler& sched, uint64_t) override {
        if (cpus_ != nullptr && num_cpus_ == sched.num_cpus())
            return;  // restarted after a refused switch: keep state
        num_cpus_ = sched.num_cpus();
        cpus_ = std::make_unique<CpuState[]>(static_cast<size_t>(num_cpus_));
        for (int c = 0; c < num_cpus_; ++c)
            cpus_[static_cast<size_t>(c)].rng =
                config_.seed * 0x100000001b3ull + static_cast<uint64_t>(c);
        // The victims of each level are the CPUs of that level's domain
        // that no smaller level already offered.
        const DomainTree& tree = sched.domains();
        levels_.assign(static_cast<size_t>(tree.num_levels()), {});
        for (int l = 0; l < tree.num_levels(); ++l) {
            const DomainLevel& dl = tree.level(l);
            for (const Domain& d : dl.domains) {
                std::vector<int> span = d.span.to_vector();
                levels_[static_cast<size_t>(l)].contiguous.push_back(
                    !span.empty() &&
                    span.back() - span.front() + 1 == static_cast<int>(span.size()));
                levels_[static_cast<size_t>(l)].spans.push_back(std::move(span));
            }
            levels_[static_cast<size_t>(l)].domain_of_cpu = dl.domain_of_cpu;
        }
        steals_by_level_ = std::make_unique<std::atomic<uint64_t>[]>(levels_.size() + 1);
    }

    // A task spawned by a running task goes on its spawner's CPU (Go's and
    // Tokio's local run queue; idle CPUs steal it from there); one from
    // outside round-robins (the injector hands work to the next worker). A
    // woken task goes back to the CPU it last ran on (its local queue).
    int select_cpu(Scheduler& sched, const Task& task, PlaceReason why) override {
        int prev = -1;
        if (why == PlaceReason::Wake)
            prev = task.cpu >= 0 ? task.cpu : policy::home_of(task);
        else
            prev = task.spawner_cpu;
        if (prev >= 0 && prev < sched.num_cpus() && task.allowed_on(prev))
            return prev;
        return policy::round_robin_cpu(task, sched.num_cpus(), next_);
    }

    // What a CPU's own task spawns or wakes there runs next (LIFO, Go's
    // runnext): fork-join recursion goes depth-first, as on a work-stealing
    // deque (a child that ends resumes its joiner at once), while
    // detach_tasks() hands thieves the oldest tasks, from the tail.
    bool queue_front(const Task&, PlaceReason, int cpu, int from_cpu) const override {
        return cpu == from_cpu;
    }

    void newidle(Scheduler& sched, int cpu, uint64_t now_ns) override { steal(sched, cpu, now_ns); }

    // Fork-join work: the runtime's per-worker deques carry what this
    // policy would do with queues (spawns local and LIFO, thieves FIFO).
    bool fast_path() const override { return config_.fast_path; }
    // A thief takes half a victim's deque (at most `fast_steal`), as this
    // policy's own steal() takes half a queue.
    int fast_steal_max() const override { return config_.fast_steal; }

    // The tick stands for an idle worker's periodic look for work (Go's
    // spinning M, a Tokio worker unparked): only idle CPUs act on it.
    uint64_t tick_period_ns() const override { return config_.idle_steal_ns; }
    // An idle CPU's poll only finds work queued behind a running task, and
    // a busy CPU's tick kicks an idle one for exactly that (NOHZ, policy.h):
    // idle CPUs need no tick of their own.
    bool tick_when_idle() const override { return false; }
    void tick(Scheduler& sched, int cpu, uint64_t now_ns) override {
        if (sched.rq(cpu).nr_running.load(std::memory_order_relaxed) == 0)
            steal(sched, cpu, now_ns);
    }

    uint64_t attempts() const {
        uint64_t n = 0;
        for (int c = 0; c < num_cpus_; ++c)
            n += cpus_[static_cast<size_t>(c)].attempts.load(std::memory_order_relaxed);
        return n;
    }

    std::string stats_json() const override {
        std::string by_level;
        for (size_t l = 0; l < levels_.size(); ++l)
            by_level += fmt::format("{}{}", l == 0 ? "" : ",",
                                    steals_by_level_[l].load(std::memory_order_relaxed));
        return fmt::format(R"({{"steal_attempts":{},"steals":{},"tasks_stolen":{},)"
                           R"("steals_by_level":[{}]}})",
                           attempts(), steals_.load(), stolen_.load(), by_level);
    }

  private:
    struct Level {
        std::vector<std::vector<int>> spans;  // per domain, ascending CPU ids
        std::vector<bool> contiguous;         // per domain: its ids are one range
        std::vector<int> domain_of_cpu;
    };
    // Per-CPU generator state on its own cache line: each CPU draws on
    // every idle moment; a shared line would bounce between them.
    struct alignas(64) CpuState {
        uint64_t rng = 0;
        std::atomic<uint64_t> attempts{0};  // single writer: the CPU itself
    };

    void steal(Scheduler& sched, int cpu, uint64_t now_ns) {
        if (cpus_ == nullptr || levels_.empty())
            return;
        CpuState& me = cpus_[static_cast<size_t>(cpu)];
        // Counted per CPU, by its own CPU: a shared counter here would move
        // between CPUs at every idle moment of each.
        me.attempts.store(me.attempts.load(std::memory_order_relaxed) + 1,
                          std::memory_order_relaxed);
        uint64_t& rng = me.rng;
        for (size_t l = 0; l < levels_.size(); ++l) {
            const Level& L = levels_[l];
            auto dom = static_cast<size_t>(L.domain_of_cpu[static_cast<size_t>(cpu)]);
            const std::vector<int>& span = L.spans[dom];
            const Level* child = l == 0 ? nullptr : &levels_[l - 1];
            // A random starting victim, then around the span: every victim
            // is tried once, in an order no two thieves share for long.
            size_t n = span.size();
            size_t start = static_cast<size_t>(splitmix64(rng) % n);
            // Only a victim busy running something with tasks queued behind
            // it can give any: with none such anywhere (the core's
            // overloaded set is empty) there is nothing to look at. A span
            // of consecutive ids walks that set's bits from the same start.
            const CpuBits& over = sched.overloaded_cpus();
            if (!over.any())
                continue;
            auto try_victim = [&](int v) {
                if (v == cpu ||
                    (child != nullptr && child->domain_of_cpu[static_cast<size_t>(v)] ==
                                             child->domain_of_cpu[static_cast<size_t>(cpu)]))
                    return false;  // itself, or already tried at a smaller level
                // Only from a victim busy running something: an idle one
                // with a queue has just been handed that work and is about
                // to run it (stealing it would only bounce it around).
                const RunQueue& vq = sched.rq(v);
                int queued = vq.nr_queued.load(std::memory_order_relaxed);
                if (queued == 0 || vq.nr_running.load(std::memory_order_relaxed) == queued)
                    return false;
                // Half the victim's queue, rounded up (Go's runqsteal).
                auto got = sched.detach_tasks(v, (queued + 1) / 2,
                                              [cpu](const Task& t) { return t.allowed_on(cpu); });
                if (got.empty())
                    return false;
                sched.attach_tasks(cpu, got, v, now_ns);
                steals_.fetch_add(1, std::memory_order_relaxed);
                stolen_.fetch_add(got.size(), std::memory_order_relaxed);
                steals_by_level_[l].fetch_add(1, std::memory_order_relaxed);
                return true;
            };
            if (L.contiguous[dom]) {
                int lo = span.front(), hi = span.back() + 1, from = span[start];
                for (int v = over.next(from, hi); v >= 0; v = over.next(v + 1, hi))
                    if (try_victim(v))
                        return;
                for (int v = over.next(lo, from); v >= 0; v = over.next(v + 1, from))
                    if (try_victim(v))
                        return;
            } else {
                for (size_t i = 0; i < n; ++i)
                    if (over.test(span[(start + i) % n]) && try_victim(span[(start + i) % n]))
                        return;
            }
        }
    }

    StealConfig config_;
    int num_cpus_ = 0;
    std::unique_ptr<CpuState[]> cpus_;
    std::vector<Level> levels_;
    std::unique_ptr<std::atomic<uint64_t>[]> steals_by_level_;
    std::atomic<uint64_t> next_{0}, steals_{0}, stolen_{0};
};

}  // namespace

PolicyInfo steal_policy_info() {
    return PolicyInfo{
        "steal",
        "work stealing (Go, Tokio): an idle CPU steals half of a random victim's queue, "
        "closest domain first",
        {{"idle_steal_us", OptionType::DurationUs, "1000",
          "how often an idle CPU looks for work to steal besides when it goes idle", 10, 1e7},
         {"seed", OptionType::Int, "1", "seed of the per-CPU victim generators", 0, 1e18},
         {"fast_path", OptionType::Bool, "true",
          "runtime: spawns go on the worker's work-stealing deque and join the core only when "
          "they block or yield",
          0, 1},
         {"fast_steal", OptionType::Int, "32",
          "runtime: the most fast-path tasks a thief takes from one deque at once (half of "
          "what waits there, at most this many)",
          1, 1024}},
        [](const PolicyOptions& o) {
            StealConfig c;
            c.idle_steal_ns = o.get_duration_ns("idle_steal_us");
            c.seed = static_cast<uint64_t>(o.get_int("seed"));
            c.fast_path = o.get_bool("fast_path");
            c.fast_steal = static_cast<int>(o.get_int("fast_steal"));
            return std::make_unique<StealPolicy>(c);
        }};
}

}  // namespace schedkit
