// The `dynamic` policy, after SPDK's dynamic scheduler
// (lib/scheduler/scheduler_dynamic.c). Every period the main CPU measures
// each thread's busy % and re-places them: idle threads onto the main CPU,
// busy ones onto the main CPU first, then the lowest CPU ids that stay under
// core_limit; CPUs left without threads are put to sleep. The main CPU's
// frequency follows its load through the shared governor service.
//
// Every live task counts as a thread here; a lightweight thread is busy while
// its pollers and messages do work (Task::work_ns), any other task while it
// runs.
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <unordered_map>
#include <vector>

#include "policy/placement.h"
#include "schedkit/governor.h"
#include "schedkit/policy_registry.h"
#include "schedkit/scheduler.h"

namespace schedkit {

namespace {

struct DynamicConfig {
    uint64_t period_ns = 1'000'000'000;
    double load_limit_pct = 20;  // a thread below this is idle
    double core_limit_pct = 80;  // fill a CPU up to this
    double core_busy_pct = 95;   // a CPU above this is overloaded
    int main_cpu = 0;
};

// ThreadInfo is one thread's view for a balance: where it is, where it goes.
struct ThreadInfo {
    TaskId id = 0;
    int cpu = 0;     // where it is now (its home)
    int target = 0;  // where the balance puts it
    uint64_t busy_ns = 0;
    double busy_pct = 0;
    CpuSet affinity;
    bool allowed_on(int c) const { return affinity.empty() || affinity.test(c); }
};

class DynamicPolicy final : public Policy {
  public:
    explicit DynamicPolicy(DynamicConfig c) : config_(c) {}

    std::string name() const override { return "dynamic"; }

    void start(Scheduler& sched, uint64_t now_ns) override {
        if (config_.main_cpu >= sched.num_cpus())
            throw PolicyError(fmt::format("dynamic: main_cpu {} is outside the machine ({} CPUs)",
                                          config_.main_cpu, sched.num_cpus()));
        service_ = acquire_governor();
        last_balance_ns_ = now_ns;
        prev_exec_.clear();
        sched.for_each_task([&](const Task& t) { prev_exec_[t.id] = exec_now(t, now_ns); });
    }

    // stop() wakes every CPU it put to sleep and returns the main CPU to
    // full speed; it drops its own governor reference only.
    void stop(Scheduler& sched, uint64_t) override {
        for (int c = 0; c < sched.num_cpus(); ++c)
            sched.set_sleeping(c, false);
        if (service_ != nullptr)
            service_->release(sched, config_.main_cpu);
        service_.reset();
    }

    int select_cpu(Scheduler& sched, const Task& task, PlaceReason why) override {
        int cpu = -1;
        if (why == PlaceReason::Wake) {
            int home = policy::home_of(task);
            if (home >= 0 && home < sched.num_cpus() && task.allowed_on(home))
                cpu = home;
        }
        if (cpu < 0)  // new threads round-robin, as SPDK schedules them
            cpu = policy::round_robin_cpu(task, sched.num_cpus(), next_);
        sched.set_sleeping(cpu, false);  // a CPU that gets work wakes up
        return cpu;
    }

    uint64_t tick_period_ns() const override { return config_.period_ns; }

    void tick(Scheduler& sched, int cpu, uint64_t now_ns) override {
        if (cpu == config_.main_cpu && service_ != nullptr && now_ns > last_balance_ns_)
            balance(sched, now_ns);
    }

    std::string stats_json() const override {
        return fmt::format(
            R"({{"balances":{},"threads_moved":{},"idle_threads":{},"active_threads":{},)"
            R"("sleeping_cpus":{},"main_busy_pct":{:.1f}}})",
            balances_.load(), moved_.load(), idle_threads_.load(), active_threads_.load(),
            sleeping_cpus_.load(), main_busy_pct_.load());
    }

  private:
    // exec_now() is the busy-time counter the balance differences: for a
    // lightweight thread the time its pollers and messages did work (a
    // thread polling without result is idle however much CPU it burns), for
    // any other task its CPU time up to now. The task runs on another CPU
    // under a lock we do not hold: its fields are read as hints (task.h),
    // which may miss or double a run that is switching out right now; the
    // next period's difference evens that out.
    static uint64_t exec_now(const Task& t, uint64_t now_ns) {
        if (t.is_thread)
            return std::atomic_ref<const uint64_t>(t.work_ns).load(std::memory_order_relaxed);
        bool running = task_state_hint(t) == TaskState::Running;
        uint64_t e = task_exec_hint(t);
        uint64_t since = task_last_ran_hint(t);
        if (running && now_ns > since)
            e += now_ns - since;  // the current run is not accounted yet
        return e;
    }

    double pct(uint64_t busy_ns) const { return 100.0 * static_cast<double>(busy_ns) / window_; }

    // can_fit() is _can_core_fit_thread(): stays under core_limit.
    bool can_fit(const ThreadInfo& th, int dst) const {
        if (th.target == dst || th.busy_ns == 0 || threads_on_[static_cast<size_t>(dst)] == 0)
            return true;
        return pct(core_busy_[static_cast<size_t>(dst)] + th.busy_ns) < config_.core_limit_pct;
    }

    // at_limit() is _is_core_at_limit(): over core_limit with more than one
    // thread (a single thread cannot be helped by moving it).
    bool at_limit(int c) const {
        return threads_on_[static_cast<size_t>(c)] > 1 &&
               pct(core_busy_[static_cast<size_t>(c)]) >= config_.core_limit_pct;
    }

    void move(ThreadInfo& th, int dst) {
        if (th.target == dst)
            return;
        auto src = static_cast<size_t>(th.target);
        core_busy_[src] -= std::min(core_busy_[src], th.busy_ns);
        --threads_on_[src];
        core_busy_[static_cast<size_t>(dst)] += th.busy_ns;
        ++threads_on_[static_cast<size_t>(dst)];
        th.target = dst;
    }

    // find_optimal_core() is SPDK's _find_optimal_core(): the main CPU if
    // the thread fits there, else a lower CPU id that fits, else (when its
    // CPU is at its limit) any CPU that fits or the least busy one.
    int find_optimal_core(const ThreadInfo& th, int num_cpus) const {
        int current = th.target;
        int least_busy = current;
        bool limit = at_limit(current);
        for (int i = 0; i < num_cpus; ++i) {
            if (!th.allowed_on(i))
                continue;
            if (core_busy_[static_cast<size_t>(i)] < core_busy_[static_cast<size_t>(least_busy)])
                least_busy = i;
            if (i == current || !can_fit(th, i))
                continue;
            if (i == config_.main_cpu)
                return i;  // consolidate on the main CPU first
            if (i < current && current != config_.main_cpu)
                return i;  // then on the lowest ids
            if (limit)
                return i;  // an overloaded CPU takes any CPU that fits
        }
        return limit ? least_busy : current;
    }

    void balance(Scheduler& sched, uint64_t now_ns) {
        int n = sched.num_cpus();
        window_ = static_cast<double>(now_ns - last_balance_ns_);
        last_balance_ns_ = now_ns;
        // Measure: each thread's busy time over the period (exec_now()).
        std::vector<ThreadInfo> threads;
        std::unordered_map<TaskId, uint64_t> exec;  // looked up only, never iterated
        sched.for_each_task([&](const Task& t) {
            TaskState state = task_state_hint(t);
            if (state == TaskState::New || state == TaskState::Exited)
                return;
            uint64_t e = exec_now(t, now_ns);
            auto it = prev_exec_.find(t.id);
            uint64_t before = it == prev_exec_.end() ? 0 : it->second;
            exec[t.id] = e;
            ThreadInfo th;
            th.id = t.id;
            int home = policy::home_of(t);
            int last = task_cpu_hint(t);  // -1 while in transit between queues
            th.cpu = home >= 0 ? home : (last >= 0 ? last : config_.main_cpu);
            th.target = th.cpu;
            th.busy_ns = e > before ? e - before : 0;
            th.busy_pct = pct(th.busy_ns);
            th.affinity = t.affinity;
            threads.push_back(std::move(th));
        });
        prev_exec_ = std::move(exec);
        core_busy_.assign(static_cast<size_t>(n), 0);
        threads_on_.assign(static_cast<size_t>(n), 0);
        for (const ThreadInfo& th : threads) {
            core_busy_[static_cast<size_t>(th.cpu)] += th.busy_ns;
            ++threads_on_[static_cast<size_t>(th.cpu)];
        }
        // Two passes, so the second sees the first's effect on the CPUs.
        int idle = 0, active = 0;
        for (ThreadInfo& th : threads)
            if (th.busy_pct < config_.load_limit_pct && th.allowed_on(config_.main_cpu)) {
                move(th, config_.main_cpu);
                ++idle;
            }
        for (ThreadInfo& th : threads)
            if (th.busy_pct >= config_.load_limit_pct) {
                move(th, find_optimal_core(th, n));
                ++active;
            }
        idle_threads_ = idle;
        active_threads_ = active;
        // Apply: new homes, then carry the moves out.
        std::map<TaskId, int> target;
        for (const ThreadInfo& th : threads)
            if (th.target != th.cpu)
                target[th.id] = th.target;
        moved_ += target.size();
        sched.for_each_task([&](Task& t) {
            if (auto it = target.find(t.id); it != target.end())
                policy::set_home(t, it->second);
        });
        policy::move_to_targets(sched, now_ns, [](const Task& t) { return policy::home_of(t); });
        // CPUs without threads sleep; the main CPU always stays awake.
        int sleeping = 0;
        for (int c = 0; c < n; ++c) {
            bool sleep = c != config_.main_cpu && threads_on_[static_cast<size_t>(c)] == 0;
            sched.set_sleeping(c, sleep);
            sleeping += sleep ? 1 : 0;
        }
        sleeping_cpus_ = sleeping;
        // The main CPU's frequency: down when it idles, to the maximum when
        // it is overloaded.
        double main_pct = pct(core_busy_[static_cast<size_t>(config_.main_cpu)]);
        main_busy_pct_ = main_pct;
        if (main_pct < config_.load_limit_pct)
            service_->step_down(sched, config_.main_cpu);
        else if (main_pct > config_.core_busy_pct)
            service_->set_level(sched, config_.main_cpu, kMaxFreqLevel);
        ++balances_;
    }

    DynamicConfig config_;
    std::shared_ptr<GovernorService> service_;
    uint64_t last_balance_ns_ = 0;
    double window_ = 1;
    // Balance state: touched only by the main CPU's tick (and start/stop,
    // which the switching protocol runs with balancing quiesced).
    std::unordered_map<TaskId, uint64_t> prev_exec_;  // looked up only
    std::vector<uint64_t> core_busy_;
    std::vector<int> threads_on_;
    // Statistics: written by the main CPU, read by stats_json() from anywhere.
    std::atomic<uint64_t> balances_{0}, moved_{0};
    std::atomic<int> idle_threads_{0}, active_threads_{0}, sleeping_cpus_{0};
    std::atomic<double> main_busy_pct_{0};
    std::atomic<uint64_t> next_{0};
};

}  // namespace

PolicyInfo dynamic_policy_info() {
    return PolicyInfo{
        "dynamic",
        "SPDK's dynamic scheduler: every period, idle threads to the main CPU, busy ones packed "
        "onto the lowest CPUs under core_limit, empty CPUs put to sleep",
        {{"period_us", OptionType::DurationUs, "1000000", "how often threads are re-placed", 100,
          1e10},
         {"load_limit", OptionType::Double, "20", "busy % under which a thread is idle", 0, 100},
         {"core_limit", OptionType::Double, "80", "busy % a CPU is filled up to", 0, 100},
         {"core_busy", OptionType::Double, "95",
          "busy % above which the main CPU is overloaded (maximum frequency)", 0, 100},
         {"main_cpu", OptionType::Int, "0", "the CPU idle threads gather on", 0, 1e6, true}},
        [](const PolicyOptions& o) {
            DynamicConfig c;
            c.period_ns = o.get_duration_ns("period_us");
            c.load_limit_pct = o.get_double("load_limit");
            c.core_limit_pct = o.get_double("core_limit");
            c.core_busy_pct = o.get_double("core_busy");
            c.main_cpu = static_cast<int>(o.get_int("main_cpu"));
            return std::make_unique<DynamicPolicy>(c);
        }};
}

}  // namespace schedkit
