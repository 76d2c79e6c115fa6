// policy_restore.cpp: putting the previous policy back when the active one
// fails (Scheduler::policy_failed, restore_failed_policy; docs/plugins.md).
#include <nlohmann/json.hpp>

#include <utility>

#include "schedkit/scheduler.h"

namespace schedkit {

void Scheduler::policy_failed(const Policy& p, std::string why) {
    std::lock_guard g(failed_mu_);
    if (failed_ != nullptr || &p != policy_.load(std::memory_order_acquire))
        return;  // already reported, or `p` was replaced meanwhile
    failed_ = &p;
    failed_why_ = std::move(why);
    restore_pending_.store(true, std::memory_order_release);
}

std::optional<PolicyRestore> Scheduler::restore_failed_policy(uint64_t now_ns) {
    PolicyRestore r;
    {
        std::lock_guard g(failed_mu_);
        restore_pending_.store(false, std::memory_order_relaxed);
        if (failed_ == nullptr)
            return std::nullopt;
        // failed_ stays set: switch_policy() then retires the failed policy
        // instead of keeping it, and a later report changes nothing.
        r.why = failed_why_;
    }
    r.from = policy().name();
    if (previous_ == nullptr) {
        r.result = SwitchResult{
            false, "no previous policy to put back: '" + r.from + "' stays active, isolated"};
        return r;
    }
    std::unique_ptr<Policy> back(std::exchange(previous_, nullptr));
    r.to = back->name();
    // A refused restart (PolicyError) keeps the failed policy, isolated.
    r.result = switch_policy(std::move(back), now_ns);
    return r;
}

std::string restore_log_entry(const PolicyRestore& r, uint64_t now_ns) {
    nlohmann::ordered_json j;
    j["at_us"] = static_cast<double>(now_ns) / 1e3;
    j["from"] = r.from;
    j["to"] = r.to;
    j["ok"] = r.result.ok;
    j["restored"] = r.why;
    if (!r.result.ok)
        j["error"] = r.result.error;
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace schedkit
