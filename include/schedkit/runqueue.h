// runqueue.h: one CPU's queue of runnable tasks and its lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>

#include "schedkit/task.h"

namespace schedkit {

class Policy;

// spin_pause() is the CPU's spin-wait hint: it lets the sibling hyperthread
// (and the lock holder's cache line traffic) go first.
inline void spin_pause() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

// RqLock is a test-and-test-and-set spinlock that yields after a short spin:
// run-queue critical sections are a handful of pointer updates, so spinning
// beats a futex, and yielding keeps an oversubscribed runtime (more workers
// than CPUs) from spinning against a preempted holder. The spin (a few
// microseconds of pauses) outlasts any critical section whose holder is on
// a CPU: a sched_yield() is a syscall, too slow to take on plain contention.
class RqLock {
  public:
    void lock() {
        for (int spins = 0; locked_.exchange(true, std::memory_order_acquire); ++spins) {
            while (locked_.load(std::memory_order_relaxed)) {
                spin_pause();
                if (++spins > 256) {
                    std::this_thread::yield();
                    spins = 0;
                }
            }
        }
    }
    bool try_lock() { return !locked_.exchange(true, std::memory_order_acquire); }
    void unlock() { locked_.store(false, std::memory_order_release); }

  private:
    std::atomic<bool> locked_{false};
};

// RunQueue is one CPU's queue: an intrusive FIFO of Runnable tasks plus the
// task currently Running there. Each lives on its own cache line(s) because
// every CPU hammers its own queue while balancers on other CPUs read the
// atomic summaries (nr_queued, load_weight) without taking the lock.
//
// Locking: `lock` guards the list, `current` and the stats fields. Never hold
// two RunQueue locks at once except in ascending CPU order (Scheduler does
// not need to: migration detaches under the source lock, then attaches under
// the destination lock).
struct alignas(64) RunQueue {
    // The first cache line holds everything an enqueue or a pick writes
    // (the lock, the list, the counters it keeps): a wake from another CPU
    // then moves one line here, not two, and so does the pick after it.
    int cpu = 0;
    mutable RqLock lock;
    // Guarded by lock.
    Task* head = nullptr;
    Task* tail = nullptr;
    Task* current = nullptr;
    uint64_t weight_sum = 0;  // weights of queued + current
    // Readable without the lock (relaxed): summaries for balancers.
    std::atomic<int> nr_queued{0};         // Runnable tasks in the list
    std::atomic<int> nr_running{0};        // nr_queued + (current != null)
    std::atomic<uint64_t> load_weight{0};  // mirror of weight_sum
    std::atomic<int> nr_blocked{0};        // Blocked tasks whose last CPU is this
    std::atomic<int> push_to{-1};          // pending active-balance target CPU

    // Guarded by lock.
    uint64_t nr_switches = 0;
    uint64_t migrations_in = 0;
    // idle_reported: SchedObserver::on_idle() was called for the idle spell
    // this CPU is in (reported once per spell, not per empty pick).
    bool idle_reported = false;
    // lifo_since_ns is when the current run of picks of queue-jumping tasks
    // (Policy::queue_front) began: the pick time of the last task that did
    // not jump. Bounds how long jumpers can keep the rest waiting.
    uint64_t lifo_since_ns = 0;
    // The Scheduler's CPU sets this CPU is in (Scheduler::update_cpu_sets).
    uint8_t cpu_sets = 0;
    // order is the policy that orders this queue through its hooks
    // (Policy::orders_queues()), or null: list order, picked by the active
    // policy. Changed only by a policy switch, under the lock.
    Policy* order = nullptr;

    // Readable without the lock (relaxed).
    std::atomic<bool> sleeping{false};  // put to sleep by a policy (dynamic); see set_sleeping
    std::atomic<int> freq_level{-1};    // governor frequency level, -1 = max (governor.h)
    std::atomic<uint64_t> busy_ns{0};   // run time of tasks switched out here (cumulative)
    std::atomic<int> balancing{0};      // balance passes running here (Scheduler::begin_balance)
    // need_resched: the ordering policy wants the running task off the CPU
    // (Policy::wakeup_preempt). Set under the lock while a task runs,
    // cleared under it when that task stops; must_yield() reads it.
    std::atomic<bool> need_resched{false};
    // Tasks that left for another CPU (a wake elsewhere counts here without
    // this queue's lock).
    std::atomic<uint64_t> migrations_out{0};

    // List operations; callers hold lock.
    void push_back(Task* t);
    void push_front(Task* t);
    void remove(Task* t);
    bool empty() const { return head == nullptr; }
};

}  // namespace schedkit
