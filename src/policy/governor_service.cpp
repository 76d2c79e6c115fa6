// The shared governor service: frequency levels held by reference count.
#include <algorithm>
#include <mutex>

#include "schedkit/governor.h"
#include "schedkit/scheduler.h"

namespace schedkit {

namespace {

std::atomic<int> g_alive{0};

}  // namespace

GovernorService::GovernorService() {
    g_alive.fetch_add(1, std::memory_order_relaxed);
}

GovernorService::~GovernorService() {
    g_alive.fetch_sub(1, std::memory_order_relaxed);
}

int GovernorService::alive() {
    return g_alive.load(std::memory_order_relaxed);
}

int GovernorService::level(const Scheduler& sched, int cpu) const {
    int l = sched.rq(cpu).freq_level.load(std::memory_order_relaxed);
    return l < 0 ? kMaxFreqLevel : l;
}

void GovernorService::set_level(Scheduler& sched, int cpu, int level) {
    level = std::clamp(level, kMinFreqLevel, kMaxFreqLevel);
    if (sched.rq(cpu).freq_level.exchange(level, std::memory_order_relaxed) != level)
        changes_.fetch_add(1, std::memory_order_relaxed);
}

void GovernorService::release(Scheduler& sched, int cpu) {
    if (sched.rq(cpu).freq_level.exchange(-1, std::memory_order_relaxed) >= 0)
        changes_.fetch_add(1, std::memory_order_relaxed);
}

std::shared_ptr<GovernorService> acquire_governor() {
    // A weak reference: the registry never keeps the service alive itself,
    // holders do. The mutex makes "expired? then create" atomic.
    static std::mutex mu;
    static std::weak_ptr<GovernorService> current;
    std::lock_guard g(mu);
    std::shared_ptr<GovernorService> s = current.lock();
    if (s == nullptr) {
        s = std::make_shared<GovernorService>();
        current = s;
    }
    return s;
}

}  // namespace schedkit
