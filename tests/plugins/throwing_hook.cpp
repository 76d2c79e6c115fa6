// throwing_hook.cpp: a plug-in whose select_cpu() throws after `after`
// calls and whose tick throws when `tick_throws` is set: the plug-in must
// be isolated with a clear error, and no task lost.
#include <schedkit/plugin.hpp>

#include <atomic>
#include <stdexcept>

namespace {

class ThrowingHook final : public schedkit::plugin::Policy {
  public:
    explicit ThrowingHook(const schedkit::plugin::Options& o)
        : after_(o.get_int("after")), tick_throws_(o.get_bool("tick_throws")) {}
    int select_cpu(schedkit::plugin::Host& host, const sk_task& t, sk_place_reason) override {
        if (calls_.fetch_add(1) >= after_)
            throw std::runtime_error("throwing-hook select_cpu gave up");
        int c = static_cast<int>(t.id % static_cast<uint64_t>(host.num_cpus()));
        return host.allowed(t, c) ? c : (t.cpu >= 0 ? t.cpu : 0);
    }
    void tick(schedkit::plugin::Host&, int, uint64_t) override {
        if (tick_throws_)
            throw std::logic_error("throwing-hook tick broke");
    }

  private:
    int64_t after_;
    bool tick_throws_;
    std::atomic<int64_t> calls_{0};
};

const sk_option kOptions[] = {
    {"after", SK_OPT_INT, "100", "select_cpu calls before it throws", 0, 1e18},
    {"tick_throws", SK_OPT_BOOL, "false", "tick throws at once", 0, 1},
};

}  // namespace

SCHEDKIT_PLUGIN(ThrowingHook, "throwing-hook", "test: a hook throws", kOptions, 2, 200'000)
