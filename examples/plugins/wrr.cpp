// wrr.cpp: a weighted round-robin policy as a schedkit plug-in: tasks are
// spread over the least loaded CPUs, each queue is served round-robin, and
// a task's turn lasts in proportion to its weight (nice 0: slice_us; nice
// -5, weight 3121: about 3x as long). Idle CPUs pull from the busiest queue.
// Build: c++ -std=c++20 -shared -fPIC -I<schedkit>/include wrr.cpp -o wrr.so
// Use:   schedkit sim --plugin ./wrr.so --policy wrr:slice_us=2000 ...
#include <schedkit/plugin.hpp>

namespace {

using namespace schedkit::plugin;

class WeightedRoundRobin final : public Policy {
  public:
    explicit WeightedRoundRobin(const Options& o)
        : slice_ns_(o.get_duration_ns("slice_us")), pull_(o.get_bool("pull")) {}

    // Spawned tasks go to the allowed CPU with the least weight on it; a
    // woken task stays where it ran unless that CPU has twice the least.
    int select_cpu(Host& host, const sk_task& task, sk_place_reason why) override {
        int best = -1;
        for (int c = 0; c < host.num_cpus(); ++c)
            if (host.allowed(task, c) && (best < 0 || host.load_weight(c) < host.load_weight(best)))
                best = c;
        if (why == SK_PLACE_WAKE && task.cpu >= 0 && host.allowed(task, task.cpu) &&
            host.load_weight(task.cpu) <= 2 * host.load_weight(best))
            return task.cpu;
        return best;
    }

    uint64_t time_slice_ns(const sk_task& task) override { return slice_ns_ * task.weight / 1024; }

    // About to go idle: take one task from the longest queue.
    void newidle(Host& host, int cpu, uint64_t now_ns) override {
        if (!pull_)
            return;
        int busiest = -1;
        for (int c = 0; c < host.num_cpus(); ++c)
            if (c != cpu && host.nr_queued(c) > 0 &&
                (busiest < 0 || host.nr_queued(c) > host.nr_queued(busiest)))
                busiest = c;
        if (busiest >= 0)
            host.move_queued(busiest, cpu, 1, now_ns);
    }

  private:
    uint64_t slice_ns_;
    bool pull_;
};

const sk_option kOptions[] = {
    {"slice_us", SK_OPT_DURATION_US, "3000", "turn of a nice-0 task", 10, 1e7},
    {"pull", SK_OPT_BOOL, "true", "idle CPUs pull from the longest queue", 0, 1},
};

}  // namespace

SCHEDKIT_PLUGIN(WeightedRoundRobin, "wrr", "weighted round-robin (example plug-in)", kOptions, 2, 0)
