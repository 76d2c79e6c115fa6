// rcu.cpp: liburcu (memb flavour) glue and the per-thread runtime context.
#include <urcu/urcu-memb.h>

#include "core/check.h"
#include "runtime/runtime_core.h"

namespace schedkit::detail {

namespace {

// Whether this thread is a registered RCU reader, and how deep it is in
// RcuThreadScopes (a worker is registered for its whole life).
thread_local int tls_rcu_depth = 0;
// How deep this thread is in read-side sections (RcuRead).
thread_local int tls_read_depth = 0;

// RetiredPolicy carries a policy to its call_rcu callback.
struct RetiredPolicy {
    rcu_head head;
    Policy* policy;
};

void free_retired(rcu_head* head) {
    auto* r = reinterpret_cast<RetiredPolicy*>(reinterpret_cast<char*>(head) -
                                               offsetof(RetiredPolicy, head));
    delete r->policy;
    delete r;
}

}  // namespace

void rcu_register_worker() {
    if (tls_rcu_depth++ == 0)
        urcu_memb_register_thread();
}

void rcu_unregister_worker() {
    if (--tls_rcu_depth == 0)
        urcu_memb_unregister_thread();
}

void rcu_read_lock_() noexcept {
    urcu_memb_read_lock();
    ++tls_read_depth;
}

void rcu_read_unlock_() noexcept {
    --tls_read_depth;
    urcu_memb_read_unlock();
}

void retire_policy_after_grace_period(Policy* p) {
    // Workers may still be inside pick()/select_cpu() of the old policy in a
    // read-side section; the callback runs only after they all left it.
    auto* r = new RetiredPolicy{{}, p};
    urcu_memb_call_rcu(&r->head, free_retired);
}

void rcu_flush() {
    // Story 4: a grace-period wait from inside a read-side section waits on
    // itself forever, and one from a worker stalls every task on it. Both
    // are bugs; stop with a message instead of hanging.
    SCHEDKIT_CHECK(tls_read_depth == 0,
                   "RCU grace-period wait inside a read-side section: it would wait on itself");
    SCHEDKIT_CHECK(current_worker() == nullptr, "RCU grace-period wait from a runtime worker");
    urcu_memb_barrier();
}

}  // namespace schedkit::detail
