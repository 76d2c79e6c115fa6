// The `governor` policy: frequency scaling that never moves a task. Each
// period, every core (its SMT siblings share one clock) moves its frequency
// level by how busy its busiest sibling was.
#include "policy/governor_policy.h"

#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "policy/placement.h"
#include "schedkit/governor.h"
#include "schedkit/policy_registry.h"
#include "schedkit/scheduler.h"

namespace schedkit {

namespace governor {

int next_freq_level(double busy_pct, int level) {
    if (busy_pct < 1.0)
        return kMinFreqLevel;
    if (busy_pct < 50.0)
        return std::max(kMinFreqLevel, level - 1);
    if (busy_pct >= 99.0)
        return kMaxFreqLevel;
    return std::min(kMaxFreqLevel, level + 1);
}

}  // namespace governor

namespace {

class GovernorPolicy final : public Policy {
  public:
    explicit GovernorPolicy(uint64_t period_ns) : period_ns_(period_ns) {}

    std::string name() const override { return "governor"; }

    void start(Scheduler& sched, uint64_t now_ns) override {
        service_ = acquire_governor();
        int n = sched.num_cpus();
        cpus_ = std::make_unique<CpuState[]>(static_cast<size_t>(n));
        for (int c = 0; c < n; ++c) {
            CpuState& cs = cpus_[static_cast<size_t>(c)];
            CpuSet core = sched.topology().core_span(c);
            cs.leads_core = core.first() == c;
            cs.siblings = core.to_vector();
            cs.last_busy_ns = sched.cpu_busy_ns(c, now_ns);
            cs.last_tick_ns = now_ns;
        }
    }

    // stop() hands every CPU back at full speed: the next policy may not
    // govern frequency at all. The service itself is only released (our
    // reference), never torn down under another holder.
    void stop(Scheduler& sched, uint64_t) override {
        if (service_ == nullptr)
            return;
        for (int c = 0; c < sched.num_cpus(); ++c)
            service_->release(sched, c);
        service_.reset();
    }

    // Never moves a task: spawn round-robins, wake returns to its last CPU.
    int select_cpu(Scheduler& sched, const Task& task, PlaceReason why) override {
        if (why == PlaceReason::Wake) {
            int prev = task.cpu >= 0 ? task.cpu : policy::home_of(task);
            if (prev >= 0 && prev < sched.num_cpus() && task.allowed_on(prev))
                return prev;
        }
        return policy::round_robin_cpu(task, sched.num_cpus(), next_);
    }

    uint64_t tick_period_ns() const override { return period_ns_; }

    void tick(Scheduler& sched, int cpu, uint64_t now_ns) override {
        if (cpus_ == nullptr || service_ == nullptr)
            return;
        CpuState& cs = cpus_[static_cast<size_t>(cpu)];
        if (!cs.leads_core || now_ns <= cs.last_tick_ns)
            return;  // the core's first CPU decides for all its siblings
        double window = static_cast<double>(now_ns - cs.last_tick_ns);
        double busiest = 0;
        for (int s : cs.siblings) {
            CpuState& ss = cpus_[static_cast<size_t>(s)];
            uint64_t busy = sched.cpu_busy_ns(s, now_ns);
            busiest =
                std::max(busiest, 100.0 * static_cast<double>(busy - ss.last_busy_ns) / window);
            ss.last_busy_ns = busy;
        }
        cs.last_tick_ns = now_ns;
        int level = governor::next_freq_level(busiest, service_->level(sched, cpu));
        for (int s : cs.siblings)
            service_->set_level(sched, s, level);
        decisions_.fetch_add(1, std::memory_order_relaxed);
    }

    std::string stats_json() const override {
        return fmt::format(R"({{"period_us":{},"decisions":{},"freq_changes":{}}})",
                           period_ns_ / 1000, decisions_.load(),
                           service_ != nullptr ? service_->changes() : 0);
    }

  private:
    // Per-CPU state on its own cache line: each core leader updates its
    // siblings' snapshots every period.
    struct alignas(64) CpuState {
        bool leads_core = false;
        std::vector<int> siblings;
        uint64_t last_busy_ns = 0;
        uint64_t last_tick_ns = 0;
    };

    uint64_t period_ns_;
    std::shared_ptr<GovernorService> service_;
    std::unique_ptr<CpuState[]> cpus_;
    std::atomic<uint64_t> next_{0}, decisions_{0};
};

}  // namespace

PolicyInfo governor_policy_info() {
    return PolicyInfo{
        "governor",
        "frequency scaling per core that never moves a task: <1% busy minimum, <50% one step "
        "down, >=99% maximum, else one step up",
        {{"period_us", OptionType::DurationUs, "10000", "how often each core's frequency is set",
          100, 1e9}},
        [](const PolicyOptions& o) {
            return std::make_unique<GovernorPolicy>(o.get_duration_ns("period_us"));
        }};
}

}  // namespace schedkit
