#include "schedkit/scheduler.h"

#include <algorithm>
#include <thread>

#include "core/check.h"

namespace schedkit {

namespace {

// Task::cpu is read without a lock by migrate() to find the source queue;
// every write goes through here so that read is a proper atomic one.
void set_task_cpu(Task& t, int cpu) {
    std::atomic_ref<int>(t.cpu).store(cpu, std::memory_order_release);
}
int load_task_cpu(Task& t) {
    return std::atomic_ref<int>(t.cpu).load(std::memory_order_acquire);
}

// Task::state, last_ran_ns and exec_ns are also read as lock-free hints by
// policies (task_state_hint() in task.h); they are written under the task's
// run-queue lock, through these, so those reads are atomic ones. Release on
// state: a reader that sees Running also sees that run's last_ran_ns.
void set_task_state(Task& t, TaskState s) {
    std::atomic_ref<TaskState>(t.state).store(s, std::memory_order_release);
}
void set_task_last_ran(Task& t, uint64_t ns) {
    std::atomic_ref<uint64_t>(t.last_ran_ns).store(ns, std::memory_order_relaxed);
}

}  // namespace

const char* pick_status_name(PickStatus s) {
    switch (s) {
        case PickStatus::Task:
            return "task";
        case PickStatus::Idle:
            return "idle";
        case PickStatus::Wait:
            return "wait";
        case PickStatus::Eof:
            return "eof";
    }
    return "?";
}

Scheduler::Scheduler(Topology topo, DomainTree domains, std::unique_ptr<Policy> policy)
    : topo_(std::move(topo)), domains_(std::move(domains)), policy_(policy.release()) {
    SCHEDKIT_CHECK(policy_.load() != nullptr, "a scheduler needs a policy");
    SCHEDKIT_CHECK(domains_.num_cpus() == topo_.num_cpus(), "domains built for another topology");
    idle_.resize(topo_.num_cpus());
    no_current_.resize(topo_.num_cpus());
    queued_.resize(topo_.num_cpus());
    overloaded_.resize(topo_.num_cpus());
    for (int c = 0; c < topo_.num_cpus(); ++c) {
        rqs_.push_back(std::make_unique<RunQueue>());
        rqs_.back()->cpu = c;
        rqs_.back()->cpu_sets = kSetIdle | kSetNoCurrent;
        idle_.set(c);
        no_current_.set(c);
    }
    live_ = std::make_unique<LiveList[]>(static_cast<size_t>(topo_.num_cpus()));
    retire_ = [](Policy* p) { delete p; };
    Policy* p = policy_.load();
    p->start(*this, 0);
    if (p->orders_queues())
        for (auto& rqp : rqs_) {
            std::lock_guard g(rqp->lock);
            rqp->order = p;
            p->take_queue(*rqp, 0);
        }
}

Scheduler::~Scheduler() {
    Policy* p = policy_.exchange(nullptr);
    p->stop(*this, 0);
    delete p;
    delete previous_;  // stopped when it was replaced
}

int Scheduler::checked_cpu(const Task& t, int cpu) const {
    SCHEDKIT_CHECK(cpu >= 0 && cpu < num_cpus(), "policy placed a task outside the machine");
    SCHEDKIT_CHECK(t.allowed_on(cpu), "policy placed a task outside its affinity");
    return cpu;
}

void Scheduler::enqueue_locked(RunQueue& rq, Task& t, uint64_t now_ns, bool front,
                               EnqueueKind kind) {
    SCHEDKIT_CHECK(t.state != TaskState::Running && t.state != TaskState::Exited,
                   "enqueue of a running or exited task");
    bool was_runnable = t.state == TaskState::Runnable;
    t.pelt.update(now_ns, was_runnable, false);
    if (!was_runnable)
        t.runnable_since_ns = now_ns;
    set_task_state(t, TaskState::Runnable);
    set_task_cpu(t, rq.cpu);
    t.queued_front = front;
    if (front)
        rq.push_front(&t);
    else
        rq.push_back(&t);
    rq.weight_sum += t.weight;
    rq.load_weight.store(rq.weight_sum, std::memory_order_relaxed);
    rq.nr_queued.fetch_add(1, std::memory_order_relaxed);
    rq.nr_running.fetch_add(1, std::memory_order_relaxed);
    update_cpu_sets(rq);
    if (rq.order != nullptr)
        rq.order->on_enqueue(rq, t, kind, now_ns);
}

void Scheduler::dequeue_locked(RunQueue& rq, Task& t, uint64_t now_ns, DequeueKind kind) {
    SCHEDKIT_CHECK(t.state == TaskState::Runnable && t.cpu == rq.cpu, "dequeue of a task not here");
    t.pelt.update(now_ns, true, false);
    rq.remove(&t);
    if (rq.order != nullptr)
        rq.order->on_dequeue(rq, t, kind, now_ns);
    rq.weight_sum -= t.weight;
    rq.load_weight.store(rq.weight_sum, std::memory_order_relaxed);
    rq.nr_queued.fetch_sub(1, std::memory_order_relaxed);
    rq.nr_running.fetch_sub(1, std::memory_order_relaxed);
    update_cpu_sets(rq);
}

// update_cpu_sets() brings rq's CPU's bits in the CPU sets (cpu_bits.h) in
// line with its counters; called under rq's lock after they change. Only
// the bits that flip are written, so a queue that stays busy touches no
// shared word.
void Scheduler::update_cpu_sets(RunQueue& rq) {
    int queued = rq.nr_queued.load(std::memory_order_relaxed);
    bool running = rq.current != nullptr;
    uint8_t want = static_cast<uint8_t>(
        (queued == 0 && !running ? kSetIdle : 0) | (!running ? kSetNoCurrent : 0) |
        (queued > 0 ? kSetQueued : 0) | (queued + (running ? 1 : 0) >= 2 ? kSetOverloaded : 0));
    uint8_t flip = want ^ rq.cpu_sets;
    if (flip == 0)
        return;
    CpuBits* sets[] = {&idle_, &no_current_, &queued_, &overloaded_};
    for (unsigned i = 0; i < 4; ++i) {
        auto bit = static_cast<uint8_t>(1u << i);
        if ((flip & bit) == 0)
            continue;
        if ((want & bit) != 0)
            sets[i]->set(rq.cpu);
        else
            sets[i]->clear(rq.cpu);
    }
    rq.cpu_sets = want;
}

// preempt_check_locked() asks the ordering policy whether `t`, just queued
// on rq, should run before rq's running task; if so it flags the CPU
// (must_yield) and returns true: the caller kicks it once unlocked.
bool Scheduler::preempt_check_locked(RunQueue& rq, const Task& t, uint64_t now_ns) {
    if (rq.order == nullptr || rq.current == nullptr ||
        rq.need_resched.load(std::memory_order_relaxed) || !rq.order->wakeup_preempt(rq, t, now_ns))
        return false;
    rq.need_resched.store(true, std::memory_order_release);
    return true;
}

// left_cpu_locked() tells the ordering policy that rq's running task `t`
// stopped for good here (blocked, exited, or re-placed elsewhere).
void Scheduler::left_cpu_locked(RunQueue& rq, Task& t, DequeueKind kind, uint64_t now_ns) {
    if (rq.order != nullptr)
        rq.order->on_dequeue(rq, t, kind, now_ns);
}

void Scheduler::live_insert(LiveList& l, Task& t) {
    std::lock_guard g(l.lock);
    t.all_prev = l.tail;
    t.all_next = nullptr;
    (l.tail != nullptr ? l.tail->all_next : l.head) = &t;
    l.tail = &t;
    // Written under the lock only, so a plain increment; release pairs with
    // alive()'s acquire of `exited`.
    l.spawned.store(l.spawned.load(std::memory_order_relaxed) + 1, std::memory_order_release);
}

void Scheduler::place_and_enqueue(Task& t, PlaceReason why, uint64_t now_ns, int from_cpu,
                                  bool join_cpu_list) {
    int cpu = checked_cpu(t, policy().select_cpu(*this, t, why));
    enqueue_placed(t, cpu, why, now_ns, from_cpu, join_cpu_list);
}

void Scheduler::enqueue_placed(Task& t, int cpu, PlaceReason why, uint64_t now_ns, int from_cpu,
                               bool join_cpu_list) {
    Policy& pol = policy();
    // A blocked task's cpu is where it last ran (the executor owns it now).
    int last_cpu = why == PlaceReason::Wake ? t.cpu : -1;
    RunQueue& rq = this->rq(cpu);
    bool moved = last_cpu >= 0 && last_cpu != cpu;
    bool idle, resched;
    int queued;
    {
        std::lock_guard g(rq.lock);
        // for_each_task() readers may already see the task (a spawn that
        // is not per-CPU joined list 0 first), hence the atomic store.
        if (t.original_cpu < 0)
            std::atomic_ref<int>(t.original_cpu).store(cpu, std::memory_order_relaxed);
        if (join_cpu_list) {
            // Lock order: run-queue lock, then a live-list lock (as exit()).
            t.live_list = cpu;
            live_insert(live_[static_cast<size_t>(cpu)], t);
        }
        // Policies update home_cpu from other CPUs (dynamic), hence atomic.
        if (std::atomic_ref<int>(t.home_cpu).load(std::memory_order_relaxed) < 0)
            std::atomic_ref<int>(t.home_cpu).store(cpu, std::memory_order_relaxed);
        // Jumping the queue is bounded (see Policy::queue_front()).
        bool front =
            pol.queue_front(t, why, cpu, from_cpu) && now_ns < rq.lifo_since_ns + pol.quantum_ns;
        enqueue_locked(rq, t, now_ns, front,
                       why == PlaceReason::Spawn ? EnqueueKind::Spawn : EnqueueKind::Wake);
        if (moved) {
            // Woken onto another CPU: a migration, as Linux counts one.
            t.nr_migrations++;
            rq.migrations_in++;
        }
        idle = rq.current == nullptr;
        resched = preempt_check_locked(rq, t, now_ns);
        queued = rq.nr_queued.load(std::memory_order_relaxed);
    }
    if (moved) {
        migrations_.fetch_add(1, std::memory_order_relaxed);
        this->rq(last_cpu).migrations_out.fetch_add(1, std::memory_order_relaxed);
    }
    if (observer_ != nullptr) {
        if (moved)
            observer_->on_migrate(t, last_cpu, cpu, now_ns);
        observer_->on_queue_length(cpu, queued, now_ns);
    }
    if ((idle || resched) && executor_ != nullptr)
        executor_->kick(cpu);
}

void Scheduler::spawn(Task& t, uint64_t now_ns, bool per_cpu_list) {
    SCHEDKIT_CHECK(t.state == TaskState::New, "spawn of a task that is not new");
    SCHEDKIT_CHECK(t.affinity.empty() || (t.affinity.is_subset_of(topo_.all())),
                   "affinity outside the machine (validate input before spawning)");
    t.arrival_ns = now_ns;
    t.pelt.last_update_ns = now_ns;
    if (!per_cpu_list) {
        t.live_list = 0;
        live_insert(live_[0], t);
    }
    place_and_enqueue(t, PlaceReason::Spawn, now_ns, t.spawner_cpu, per_cpu_list);
}

uint64_t Scheduler::spawned() const {
    uint64_t n = 0;
    for (int l = 0; l < num_cpus(); ++l)
        n += live_[static_cast<size_t>(l)].spawned.load(std::memory_order_relaxed);
    return n;
}

uint64_t Scheduler::exited() const {
    uint64_t n = 0;
    for (int l = 0; l < num_cpus(); ++l)
        n += live_[static_cast<size_t>(l)].exited.load(std::memory_order_relaxed);
    return n;
}

uint64_t Scheduler::alive() const {
    uint64_t n = 0;
    for (int l = 0; l < num_cpus(); ++l) {
        const LiveList& list = live_[static_cast<size_t>(l)];
        // A task spawns and exits on the same list; reading `exited` first
        // (acquire) means `spawned` already counts every exit seen.
        uint64_t e = list.exited.load(std::memory_order_acquire);
        n += list.spawned.load(std::memory_order_relaxed) - e;
    }
    return n;
}

void Scheduler::idle_balance(int cpu, uint64_t now_ns) {
    RunQueue& rq = this->rq(cpu);
    if (balancing_paused_.load(std::memory_order_acquire))
        return;
    if (begin_balance(rq)) {
        policy().newidle(*this, cpu, now_ns);
        end_balance(rq);
    }
}

Pick Scheduler::pick_next(int cpu, uint64_t now_ns) {
    RunQueue& rq = this->rq(cpu);
    // About to go idle: give the policy a chance to pull work here.
    if (rq.nr_queued.load(std::memory_order_relaxed) == 0)
        idle_balance(cpu, now_ns);
    Task* t = nullptr;
    uint64_t wait_ns = 0;
    int queued = 0;
    bool report_idle = false;
    PickStatus status = PickStatus::Task;
    {
        std::lock_guard g(rq.lock);
        SCHEDKIT_CHECK(rq.current == nullptr, "pick on a CPU that is running a task");
        if (rq.empty()) {
            // Nothing runnable: blocked tasks only, or none. That is idleness,
            // not an error; Eof only once nothing can ever arrive.
            bool done = arrivals_closed_.load(std::memory_order_acquire) && alive() == 0;
            status = done ? PickStatus::Eof : PickStatus::Idle;
            report_idle = !done && !rq.idle_reported;  // once per idle spell, not at the end
            rq.idle_reported = true;
        } else {
            QueuePick q = (rq.order != nullptr ? *rq.order : policy()).pick(rq);
            if (q.wait)
                return Pick{PickStatus::Wait, nullptr};
            t = q.task;
            SCHEDKIT_CHECK(t != nullptr && t->cpu == cpu,
                           "policy picked a task from another queue");
            dequeue_locked(rq, *t, now_ns, DequeueKind::Picked);
            if (!t->queued_front)
                rq.lifo_since_ns = now_ns;
            set_task_last_ran(*t, now_ns);  // start of this run; updated again when it stops
            set_task_state(*t, TaskState::Running);
            rq.current = t;
            rq.idle_reported = false;
            rq.weight_sum += t->weight;
            rq.load_weight.store(rq.weight_sum, std::memory_order_relaxed);
            rq.nr_running.fetch_add(1, std::memory_order_relaxed);
            update_cpu_sets(rq);
            rq.nr_switches++;
            // In the runtime another worker may have queued it with a clock
            // read a little later than ours: clamp rather than wrap around.
            wait_ns = now_ns > t->runnable_since_ns ? now_ns - t->runnable_since_ns : 0;
            t->nr_runs++;
            t->wait_sum_ns += wait_ns;
            t->wait_max_ns = std::max(t->wait_max_ns, wait_ns);
            queued = rq.nr_queued.load(std::memory_order_relaxed);
        }
    }
    if (status != PickStatus::Task) {
        if (report_idle && observer_ != nullptr)
            observer_->on_idle(cpu, now_ns);
        return Pick{status, nullptr};
    }
    if (observer_ != nullptr) {
        observer_->on_wait(*t, wait_ns);
        observer_->on_switch(cpu, nullptr, *t, now_ns);
        observer_->on_queue_length(cpu, queued, now_ns);
    }
    return Pick{PickStatus::Task, t};
}

void Scheduler::adopt_running(int cpu, Task& t, uint64_t now_ns) {
    SCHEDKIT_CHECK(t.state == TaskState::New, "adopt of a task that is not new");
    checked_cpu(t, cpu);
    RunQueue& r = rq(cpu);
    t.arrival_ns = now_ns;
    t.pelt.last_update_ns = now_ns;
    {
        std::lock_guard g(r.lock);
        SCHEDKIT_CHECK(r.current == nullptr, "adopt on a CPU that is running a task");
        // Lock order: run-queue lock, then a live-list lock (as exit()).
        std::atomic_ref<int>(t.original_cpu).store(cpu, std::memory_order_relaxed);
        t.live_list = cpu;
        live_insert(live_[static_cast<size_t>(cpu)], t);
        if (std::atomic_ref<int>(t.home_cpu).load(std::memory_order_relaxed) < 0)
            std::atomic_ref<int>(t.home_cpu).store(cpu, std::memory_order_relaxed);
        set_task_cpu(t, cpu);
        t.runnable_since_ns = now_ns;
        set_task_last_ran(t, now_ns);
        set_task_state(t, TaskState::Running);
        r.current = &t;
        r.idle_reported = false;
        t.nr_runs++;
        r.weight_sum += t.weight;
        r.load_weight.store(r.weight_sum, std::memory_order_relaxed);
        r.nr_running.fetch_add(1, std::memory_order_relaxed);
        update_cpu_sets(r);
        r.nr_switches++;
    }
    if (observer_ != nullptr) {
        observer_->on_wait(t, 0);
        observer_->on_switch(cpu, nullptr, t, now_ns);
    }
}

void Scheduler::account_switch_out(RunQueue& rq, Task& t, uint64_t now_ns, bool exiting) {
    SCHEDKIT_CHECK(rq.current == &t && t.state == TaskState::Running, "no such running task");
    uint64_t ran = now_ns - t.last_ran_ns;
    rq.busy_ns.fetch_add(ran, std::memory_order_relaxed);
    std::atomic_ref<uint64_t>(t.exec_ns).store(t.exec_ns + ran, std::memory_order_relaxed);
    t.vruntime_ns += ran * 1024 / t.weight;
    set_task_last_ran(t, now_ns);
    // An exiting task's averages are never read again (it leaves the live
    // list under this lock), so bringing them up to date would be wasted.
    if (!exiting)
        t.pelt.update(now_ns, true, true);
    rq.current = nullptr;
    rq.need_resched.store(false, std::memory_order_relaxed);
    rq.weight_sum -= t.weight;
    rq.load_weight.store(rq.weight_sum, std::memory_order_relaxed);
    rq.nr_running.fetch_sub(1, std::memory_order_relaxed);
    update_cpu_sets(rq);
}

void Scheduler::put_prev(int cpu, uint64_t now_ns) {
    RunQueue& rq = this->rq(cpu);
    // Only this CPU changes its current task, so reading it unlocked is
    // safe here. A rehomed task is placed by the policy before the lock is
    // taken: policy code never runs under a run-queue lock.
    Task& t = *rq.current;
    int dst = cpu;
    // A re-place is a balance move: a policy switch waits for it to land,
    // so the new policy's start() never misses a task in transit that the
    // old one sent away. While a switch is under way the task requeues here
    // still flagged (start() may have just flagged it) and moves at its
    // next preemption, placed by whichever policy is active then.
    bool moving = false;
    if (std::atomic_ref<bool>(t.rehome).exchange(false, std::memory_order_acq_rel)) {
        moving = begin_balance(rq);
        if (moving)
            dst = checked_cpu(t, policy().select_cpu(*this, t, PlaceReason::Wake));
        else
            std::atomic_ref<bool>(t.rehome).store(true, std::memory_order_release);
    }
    int queued;
    {
        std::lock_guard g(rq.lock);
        account_switch_out(rq, t, now_ns);
        set_task_state(t, TaskState::Runnable);
        t.nr_involuntary++;
        t.runnable_since_ns = now_ns;
        if (dst == cpu) {
            enqueue_locked(rq, t, now_ns, false, EnqueueKind::Preempted);
        } else {
            left_cpu_locked(rq, t, DequeueKind::Migrating, now_ns);
            set_task_cpu(t, -1);  // in transit, as after detach_tasks()
            rq.migrations_out.fetch_add(1, std::memory_order_relaxed);
        }
        queued = rq.nr_queued.load(std::memory_order_relaxed);
    }
    if (observer_ != nullptr)
        observer_->on_queue_length(cpu, queued, now_ns);
    if (dst != cpu)
        attach_tasks(dst, {&t}, cpu, now_ns);
    if (moving)
        end_balance(rq);
}

void Scheduler::block(int cpu, uint64_t now_ns) {
    RunQueue& rq = this->rq(cpu);
    std::lock_guard g(rq.lock);
    Task& t = *rq.current;
    account_switch_out(rq, t, now_ns);
    set_task_state(t, TaskState::Blocked);
    left_cpu_locked(rq, t, DequeueKind::Blocked, now_ns);
    t.nr_voluntary++;
    rq.nr_blocked.fetch_add(1, std::memory_order_relaxed);
}

void Scheduler::wake(Task& t, uint64_t now_ns, int waker_cpu) {
    wake_enqueue(t, wake_place(t, now_ns), now_ns, waker_cpu);
}

int Scheduler::wake_place(Task& t, uint64_t now_ns) {
    SCHEDKIT_CHECK(t.state == TaskState::Blocked, "wake of a task that is not blocked");
    t.pelt.update(now_ns, false, false);
    // Waking re-places the task anyway: a pending rehome is served.
    std::atomic_ref<bool>(t.rehome).store(false, std::memory_order_relaxed);
    return checked_cpu(t, policy().select_cpu(*this, t, PlaceReason::Wake));
}

void Scheduler::wake_enqueue(Task& t, int cpu, uint64_t now_ns, int waker_cpu) {
    SCHEDKIT_CHECK(t.state == TaskState::Blocked, "wake of a task that is not blocked");
    // Counted as blocked on its last CPU until here: that CPU's counter is
    // written by the CPU it is queued on, usually the same one.
    rq(t.cpu).nr_blocked.fetch_sub(1, std::memory_order_relaxed);
    enqueue_placed(t, checked_cpu(t, cpu), PlaceReason::Wake, now_ns, waker_cpu, false);
}

void Scheduler::exit(int cpu, uint64_t now_ns) {
    RunQueue& rq = this->rq(cpu);
    {
        std::lock_guard g(rq.lock);
        Task& t = *rq.current;
        account_switch_out(rq, t, now_ns, true);
        set_task_state(t, TaskState::Exited);
        left_cpu_locked(rq, t, DequeueKind::Exited, now_ns);
        t.nr_voluntary++;
        // Lock order: run-queue lock, then a live-list lock.
        LiveList& l = live_[static_cast<size_t>(t.live_list)];
        std::lock_guard ga(l.lock);
        (t.all_prev != nullptr ? t.all_prev->all_next : l.head) = t.all_next;
        (t.all_next != nullptr ? t.all_next->all_prev : l.tail) = t.all_prev;
        t.all_prev = t.all_next = nullptr;
        l.exited.store(l.exited.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    }
}

bool Scheduler::migrate(Task& t, int dst, uint64_t now_ns) {
    if (dst < 0 || dst >= num_cpus() || !t.allowed_on(dst))
        return false;
    int src = load_task_cpu(t);
    if (src < 0 || src == dst)
        return false;
    {
        RunQueue& s = rq(src);
        std::lock_guard g(s.lock);
        // Re-check under the lock: it may have been picked or moved meanwhile.
        // t.cpu first: only while it names src does src's lock guard the rest.
        if (load_task_cpu(t) != src || t.state != TaskState::Runnable)
            return false;
        dequeue_locked(s, t, now_ns, DequeueKind::Migrating);
        set_task_cpu(t, -1);  // in transit: no queue owns it
        s.migrations_out.fetch_add(1, std::memory_order_relaxed);
    }
    attach_tasks(dst, {&t}, src, now_ns);
    return true;
}

std::vector<Task*> Scheduler::detach_tasks(int src, int max,
                                           const std::function<bool(const Task&)>& can_move) {
    std::vector<Task*> out;
    RunQueue& s = rq(src);
    std::lock_guard g(s.lock);
    // From the tail: the most recently queued tasks have waited least and,
    // like Linux's detach_tasks(), are the cheapest to move.
    for (Task* t = s.tail; t != nullptr && static_cast<int>(out.size()) < max;) {
        Task* prev = t->rq_prev;
        if (can_move(*t)) {
            dequeue_locked(s, *t, t->pelt.last_update_ns, DequeueKind::Migrating);
            set_task_cpu(*t, -1);
            s.migrations_out.fetch_add(1, std::memory_order_relaxed);
            out.push_back(t);
        }
        t = prev;
    }
    return out;
}

Task* Scheduler::detach_first(int src, const std::function<bool(const Task&)>& can_move) {
    RunQueue& s = rq(src);
    std::lock_guard g(s.lock);
    for (Task* t = s.head; t != nullptr; t = t->rq_next) {
        if (!can_move(*t))
            continue;
        dequeue_locked(s, *t, t->pelt.last_update_ns, DequeueKind::Migrating);
        set_task_cpu(*t, -1);
        s.migrations_out++;
        return t;
    }
    return nullptr;
}

void Scheduler::attach_tasks(int dst, const std::vector<Task*>& tasks, int src, uint64_t now_ns) {
    if (tasks.empty())
        return;
    RunQueue& d = rq(dst);
    bool idle, resched = false;
    int queued;
    {
        std::lock_guard g(d.lock);
        for (Task* t : tasks) {
            SCHEDKIT_CHECK(t->allowed_on(dst), "migration outside affinity");
            SCHEDKIT_CHECK(t->cpu == -1 && t->state == TaskState::Runnable,
                           "attach of a queued task");
            enqueue_locked(d, *t, now_ns, false, EnqueueKind::Migrated);
            t->nr_migrations++;
            d.migrations_in++;
            resched |= preempt_check_locked(d, *t, now_ns);
        }
        idle = d.current == nullptr;
        queued = d.nr_queued.load(std::memory_order_relaxed);
    }
    migrations_.fetch_add(tasks.size(), std::memory_order_relaxed);
    if (observer_ != nullptr) {
        for (Task* t : tasks)
            observer_->on_migrate(*t, src, dst, now_ns);
        observer_->on_queue_length(dst, queued, now_ns);
        // detach_tasks()/migrate() shortened the source queue: report it
        // too, or its counter would go on showing the tasks that left.
        if (src >= 0 && src < num_cpus() && src != dst)
            observer_->on_queue_length(src, rq(src).nr_queued.load(std::memory_order_relaxed),
                                       now_ns);
    }
    if ((idle || resched) && executor_ != nullptr)
        executor_->kick(dst);
}

void Scheduler::request_push(int src, int dst) {
    rq(src).push_to.store(dst, std::memory_order_release);
    if (executor_ != nullptr)
        executor_->kick(src);
}

bool Scheduler::active_balance(int src, uint64_t now_ns) {
    // A balance move: a policy switch waits for it (see put_prev), and one
    // under way drops the request.
    RunQueue& r = rq(src);
    if (!begin_balance(r))
        return false;
    int dst = r.push_to.exchange(-1, std::memory_order_acq_rel);
    bool moved = false;
    if (dst >= 0) {
        auto tasks = detach_tasks(src, 1, [dst](const Task& t) { return t.allowed_on(dst); });
        attach_tasks(dst, tasks, src, now_ns);
        moved = !tasks.empty();
        policy().on_active_balance(src, dst, moved);
    }
    end_balance(r);
    return moved;
}

bool Scheduler::rehome_current(int cpu, const std::function<bool(const Task&)>& should) {
    RunQueue& r = rq(cpu);
    {
        std::lock_guard g(r.lock);
        if (r.current == nullptr || !should(*r.current))
            return false;
        std::atomic_ref<bool>(r.current->rehome).store(true, std::memory_order_release);
    }
    if (executor_ != nullptr)
        executor_->kick(cpu);
    return true;
}

std::vector<Task*> Scheduler::detach_or_rehome(int cpu,
                                               const std::function<bool(const Task&)>& should) {
    std::vector<Task*> out;
    RunQueue& r = rq(cpu);
    bool flagged = false;
    {
        std::lock_guard g(r.lock);
        for (Task* t = r.tail; t != nullptr;) {
            Task* prev = t->rq_prev;
            if (should(*t)) {
                dequeue_locked(r, *t, t->pelt.last_update_ns, DequeueKind::Migrating);
                set_task_cpu(*t, -1);
                r.migrations_out.fetch_add(1, std::memory_order_relaxed);
                out.push_back(t);
            }
            t = prev;
        }
        if (r.current != nullptr && should(*r.current)) {
            std::atomic_ref<bool>(r.current->rehome).store(true, std::memory_order_release);
            flagged = true;
        }
    }
    if (flagged && executor_ != nullptr)
        executor_->kick(cpu);
    return out;
}

void Scheduler::set_sleeping(int cpu, bool sleeping) {
    if (rq(cpu).sleeping.exchange(sleeping, std::memory_order_acq_rel) != sleeping &&
        executor_ != nullptr)
        executor_->on_sleep(cpu, sleeping);
}

uint64_t Scheduler::cpu_busy_ns(int cpu, uint64_t now_ns) const {
    const RunQueue& r = rq(cpu);
    std::lock_guard g(r.lock);
    uint64_t busy = r.busy_ns.load(std::memory_order_relaxed);
    if (r.current != nullptr && now_ns > r.current->last_ran_ns)
        busy += now_ns - r.current->last_ran_ns;
    return busy;
}

// begin_balance() enters a balance pass (newidle, tick) on rq's CPU unless
// a policy switch is quiescing balancing; end_balance() leaves it. The
// count is per CPU because every idle transition runs one: a shared counter
// would bounce between CPUs. seq_cst here and in switch_policy() (store the
// pause, then read each count): either the switch sees this pass counted or
// this pass sees the pause.
bool Scheduler::begin_balance(RunQueue& rq) {
    rq.balancing.fetch_add(1, std::memory_order_seq_cst);
    if (!balancing_paused_.load(std::memory_order_seq_cst))
        return true;
    rq.balancing.fetch_sub(1, std::memory_order_release);
    return false;
}

void Scheduler::end_balance(RunQueue& rq) {
    rq.balancing.fetch_sub(1, std::memory_order_release);
}

void Scheduler::tick(int cpu, uint64_t now_ns) {
    if (balancing_paused_.load(std::memory_order_acquire))
        return;
    RunQueue& r = rq(cpu);
    if (begin_balance(r)) {
        policy().tick(*this, cpu, now_ns);
        end_balance(r);
    }
}

void Scheduler::set_quantum_ns(uint64_t quantum_ns) {
    quantum_override_ns_ = quantum_ns;
    if (quantum_ns != 0)
        policy().quantum_ns = quantum_ns;
}

bool Scheduler::must_yield(int cpu) const {
    const RunQueue& r = rq(cpu);
    if (r.push_to.load(std::memory_order_acquire) >= 0 ||
        r.need_resched.load(std::memory_order_acquire))
        return true;
    // Only this CPU's executor changes `current`, and it is the caller.
    const Task* t = r.current;
    return t != nullptr &&
           std::atomic_ref<bool>(const_cast<bool&>(t->rehome)).load(std::memory_order_acquire);
}

Scheduler::SliceAction Scheduler::after_slice(int cpu) const {
    if (must_yield(cpu) || rq(cpu).nr_queued.load(std::memory_order_relaxed) > 0)
        return SliceAction::Preempt;
    return SliceAction::Continue;
}

bool Scheduler::service(int cpu, uint64_t now_ns) {
    if (rq(cpu).push_to.load(std::memory_order_relaxed) < 0)
        return false;
    return active_balance(cpu, now_ns);
}

int Scheduler::kick_idle_for(int cpu, const std::function<bool(int)>& wake) {
    int waiting = rq(cpu).nr_queued.load(std::memory_order_relaxed) - 1;
    int woken = 0;
    // CPUs running nothing (a hint, as the counters are), nearest ids after
    // `cpu` first, around the machine: a walk of the set's bits, so a
    // machine with no idle CPU costs a few word loads, not one per CPU.
    auto visit = [&](int lo, int hi) {
        for (int c = no_current_.next(lo, hi); c >= 0 && waiting > 0;
             c = no_current_.next(c + 1, hi))
            if (wake(c)) {
                --waiting;
                ++woken;
            }
    };
    visit(cpu + 1, num_cpus());
    visit(0, cpu);
    return woken;
}

}  // namespace schedkit
