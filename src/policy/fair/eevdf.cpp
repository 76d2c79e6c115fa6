// eevdf.cpp: fair's EEVDF run-queue order (see eevdf.h).
#include "policy/fair/eevdf.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/check.h"

namespace schedkit::fair {

namespace {

int64_t sv(uint64_t v) {
    return static_cast<int64_t>(v);
}
uint64_t uv(int64_t v) {
    return static_cast<uint64_t>(v);
}
uint64_t weight_of(const Task& t) {
    return std::max<uint64_t>(t.weight, 1);
}

// The treap's heap priority: a hash of the task id, so the shape (and so
// every run) is deterministic and balanced in expectation.
uint64_t prio(const Task& t) {
    uint64_t z = t.id + 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

// Tree order: earlier virtual deadline first; ties by id, then address.
bool before(const Task& a, const Task& b) {
    if (a.deadline_ns != b.deadline_ns)
        return sv(a.deadline_ns) < sv(b.deadline_ns);
    if (a.id != b.id)
        return a.id < b.id;
    return &a < &b;
}

void update(Task& n) {
    int64_t m = sv(n.vruntime_ns);
    if (n.ord_left != nullptr)
        m = std::min(m, sv(n.ord_left->ord_min_vruntime));
    if (n.ord_right != nullptr)
        m = std::min(m, sv(n.ord_right->ord_min_vruntime));
    n.ord_min_vruntime = uv(m);
}

Task* rotate_right(Task* n) {
    Task* l = n->ord_left;
    n->ord_left = l->ord_right;
    l->ord_right = n;
    update(*n);
    update(*l);
    return l;
}

Task* rotate_left(Task* n) {
    Task* r = n->ord_right;
    n->ord_right = r->ord_left;
    r->ord_left = n;
    update(*n);
    update(*r);
    return r;
}

Task* insert_at(Task* root, Task* n) {
    if (root == nullptr)
        return n;
    if (before(*n, *root)) {
        root->ord_left = insert_at(root->ord_left, n);
        if (prio(*root->ord_left) > prio(*root))
            return rotate_right(root);
    } else {
        root->ord_right = insert_at(root->ord_right, n);
        if (prio(*root->ord_right) > prio(*root))
            return rotate_left(root);
    }
    update(*root);
    return root;
}

Task* merge(Task* a, Task* b) {
    if (a == nullptr)
        return b;
    if (b == nullptr)
        return a;
    if (prio(*a) > prio(*b)) {
        a->ord_right = merge(a->ord_right, b);
        update(*a);
        return a;
    }
    b->ord_left = merge(a, b->ord_left);
    update(*b);
    return b;
}

Task* erase_at(Task* root, Task* n) {
    SCHEDKIT_CHECK(root != nullptr, "EEVDF: erase of a task not in the tree");
    if (root == n)
        return merge(n->ord_left, n->ord_right);
    if (before(*n, *root))
        root->ord_left = erase_at(root->ord_left, n);
    else
        root->ord_right = erase_at(root->ord_right, n);
    update(*root);
    return root;
}

// eligible(): v is at most the average S/W (no more service than its share).
bool eligible(int64_t v, Wide s, Wide w) {
    return w == 0 || static_cast<Wide>(v) * w <= s;
}

// pick_eligible() is the earliest-deadline node whose vruntime is eligible:
// go left while the left subtree holds an eligible task (its deadlines are
// all earlier), else take this node if eligible, else go right.
Task* pick_eligible(Task* n, Wide s, Wide w) {
    while (n != nullptr) {
        if (n->ord_left != nullptr && eligible(sv(n->ord_left->ord_min_vruntime), s, w))
            n = n->ord_left;
        else if (eligible(sv(n->vruntime_ns), s, w))
            return n;
        else
            n = n->ord_right;
    }
    return nullptr;
}

// live_vruntime() is the running task's vruntime at `now`: the core adds its
// run only when it stops.
int64_t live_vruntime(const Task& c, uint64_t now_ns) {
    uint64_t ran = now_ns > c.last_ran_ns ? now_ns - c.last_ran_ns : 0;
    return sv(c.vruntime_ns + ran * 1024 / weight_of(c));
}

int64_t average(Wide s, Wide w, int64_t idle_v) {
    return w == 0 ? idle_v : static_cast<int64_t>(s / w);
}

}  // namespace

void Eevdf::init(int num_cpus) {
    num_cpus_ = num_cpus;
    queues_ = std::make_unique<EevdfQueue[]>(static_cast<size_t>(num_cpus));
}

int64_t Eevdf::vslice(const Task& t, uint64_t slice_ns) {
    return std::max<int64_t>(1, sv(slice_ns * 1024 / weight_of(t)));
}

uint64_t Eevdf::slice_left_ns(const Task& t, uint64_t slice_ns) {
    int64_t left_v = sv(t.deadline_ns) - sv(t.vruntime_ns);
    if (left_v <= 0)
        return slice_ns;
    auto real = static_cast<uint64_t>(static_cast<Wide>(left_v) * weight_of(t) / 1024);
    return std::clamp<uint64_t>(real, std::max<uint64_t>(slice_ns / 4, 1), slice_ns);
}

Eevdf::Sums Eevdf::sums_with_current(const RunQueue& rq, const EevdfQueue& eq) const {
    Sums s{eq.sum_wv, static_cast<Wide>(eq.sum_w)};
    const Task* c = rq.current;
    if (c != nullptr && eq.picked == c) {
        auto w = static_cast<Wide>(weight_of(*c));
        s.wv += w * live_vruntime(*c, eq.clock_ns);
        s.w += w;
    }
    return s;
}

void Eevdf::insert(EevdfQueue& eq, Task& t) {
    t.ord_left = t.ord_right = nullptr;
    t.ord_linked = true;
    update(t);
    eq.root = insert_at(eq.root, &t);
    eq.sum_wv += static_cast<Wide>(weight_of(t)) * sv(t.vruntime_ns);
    eq.sum_w += weight_of(t);
}

void Eevdf::erase(EevdfQueue& eq, Task& t) {
    eq.root = erase_at(eq.root, &t);
    t.ord_left = t.ord_right = nullptr;
    t.ord_linked = false;
    eq.sum_wv -= static_cast<Wide>(weight_of(t)) * sv(t.vruntime_ns);
    eq.sum_w -= weight_of(t);
}

// place() puts a task joining the queue at V - lag. Adding its weight
// moves V by lag * w / (W + w) towards it; scaling its lag by (W + w) / W
// first keeps its lag what it was (Linux's place_entity). A new task starts
// with half a slice to its deadline, so it does not wait a whole one.
void Eevdf::place(const RunQueue& rq, EevdfQueue& eq, Task& t, int64_t lag, bool initial,
                  uint64_t slice_ns) {
    Sums s = sums_with_current(rq, eq);
    int64_t v_avg = average(s.wv, s.w, eq.idle_v);
    if (s.w > 0 && lag != 0)
        lag = static_cast<int64_t>(static_cast<Wide>(lag) * (s.w + weight_of(t)) / s.w);
    int64_t v = v_avg - lag;
    int64_t vs = vslice(t, slice_ns);
    if (initial)
        vs = std::max<int64_t>(1, vs / 2);
    t.vruntime_ns = uv(v);
    t.deadline_ns = uv(v + vs);
}

void Eevdf::take(RunQueue& rq, uint64_t now_ns, uint64_t slice_ns) {
    EevdfQueue& eq = q(rq.cpu);
    int64_t idle_v = eq.idle_v;
    eq = EevdfQueue{};
    eq.idle_v = idle_v;
    eq.clock_ns = now_ns;
    // Tasks ordered by another policy come with no lag on this clock.
    for (Task* t = rq.head; t != nullptr; t = t->rq_next) {
        place(rq, eq, *t, 0, false, slice_ns);
        insert(eq, *t);
    }
}

void Eevdf::enqueue(RunQueue& rq, Task& t, EnqueueKind kind, uint64_t now_ns, uint64_t slice_ns) {
    EevdfQueue& eq = q(rq.cpu);
    eq.clock_ns = std::max(eq.clock_ns, now_ns);
    if (kind == EnqueueKind::Preempted && eq.picked == &t) {
        // It ran on our clock: a deadline reached means a new slice
        // (update_deadline), else it keeps the rest of this one.
        eq.picked = nullptr;
        if (sv(t.vruntime_ns) >= sv(t.deadline_ns))
            t.deadline_ns = uv(sv(t.vruntime_ns) + vslice(t, slice_ns));
    } else {
        if (kind == EnqueueKind::Preempted)
            eq.picked = nullptr;  // picked by another policy: no lag here
        bool keeps_lag = kind == EnqueueKind::Wake || kind == EnqueueKind::Migrated;
        place(rq, eq, t, keeps_lag ? t.vlag_ns : 0, kind == EnqueueKind::Spawn, slice_ns);
    }
    insert(eq, t);
}

void Eevdf::dequeue(RunQueue& rq, Task& t, DequeueKind kind, uint64_t now_ns, uint64_t slice_ns,
                    uint64_t tick_ns) {
    EevdfQueue& eq = q(rq.cpu);
    eq.clock_ns = std::max(eq.clock_ns, now_ns);
    if (kind == DequeueKind::Picked) {
        erase(eq, t);
        eq.picked = &t;
        return;
    }
    bool ours = t.ord_linked || eq.picked == &t;
    // V with the leaving task still counted (it left the CPU just now, or
    // is still in the tree), as Linux takes the lag before dequeueing.
    Sums s = sums_with_current(rq, eq);
    if (!t.ord_linked && ours) {
        auto w = static_cast<Wide>(weight_of(t));
        s.wv += w * sv(t.vruntime_ns);
        s.w += w;
    }
    if (t.ord_linked)
        erase(eq, t);
    if (eq.picked == &t)
        eq.picked = nullptr;
    int64_t v_avg = average(s.wv, s.w, eq.idle_v);
    if (kind != DequeueKind::Exited) {
        // lag = V - v, bounded by two slices (or a tick) of its virtual time.
        int64_t limit = sv(std::max<uint64_t>(2 * slice_ns, tick_ns) * 1024 / weight_of(t));
        t.vlag_ns = ours ? std::clamp(v_avg - sv(t.vruntime_ns), -limit, limit) : 0;
    }
    if (eq.root == nullptr && rq.current == nullptr)
        eq.idle_v = v_avg;  // keep the clock where the last task left it
}

Task* Eevdf::pick(const RunQueue& rq) const {
    const EevdfQueue& eq = q(rq.cpu);
    if (eq.root == nullptr)
        return nullptr;
    Sums s = sums_with_current(rq, eq);
    Task* t = pick_eligible(eq.root, s.wv, s.w);
    if (t == nullptr) {  // cannot happen (some task is at or below the mean)
        t = eq.root;
        while (t->ord_left != nullptr)
            t = t->ord_left;
    }
    return t;
}

bool Eevdf::wakeup_preempt(const RunQueue& rq, const Task& t, uint64_t now_ns,
                           uint64_t slice_ns) const {
    const EevdfQueue& eq = q(rq.cpu);
    const Task* c = rq.current;
    if (c == nullptr || eq.picked != c || !t.ord_linked)
        return false;
    EevdfQueue at_now = eq;
    at_now.clock_ns = std::max(eq.clock_ns, now_ns);
    Sums s = sums_with_current(rq, at_now);
    // Preempt when `t` is what a pick now would choose over the running
    // task: the eligible queued task with the earliest deadline, earlier
    // than the running one's (whose deadline moves on once reached), or the
    // running one is no longer eligible.
    if (pick_eligible(eq.root, s.wv, s.w) != &t)
        return false;
    int64_t vc = live_vruntime(*c, at_now.clock_ns);
    if (!eligible(vc, s.wv, s.w))
        return true;
    int64_t dc = sv(c->deadline_ns);
    if (vc >= dc)
        dc = vc + vslice(*c, slice_ns);
    return sv(t.deadline_ns) < dc;
}

int64_t Eevdf::avg_vruntime(const RunQueue& rq, uint64_t now_ns) const {
    EevdfQueue at_now = q(rq.cpu);
    at_now.clock_ns = std::max(at_now.clock_ns, now_ns);
    Sums s = sums_with_current(rq, at_now);
    return average(s.wv, s.w, at_now.idle_v);
}

std::string Eevdf::check(const RunQueue& rq) const {
    const EevdfQueue& eq = q(rq.cpu);
    int listed = 0;
    for (const Task* t = rq.head; t != nullptr; t = t->rq_next) {
        ++listed;
        if (!t->ord_linked)
            return fmt::format("cpu {}: task {} queued but not in the tree", rq.cpu, t->id);
    }
    int in_tree = 0;
    Wide wv = 0;
    uint64_t w = 0;
    std::string err;
    // Recursive walk: order, heap property and subtree minimum.
    auto walk = [&](auto&& self, const Task* n) -> int64_t {
        int64_t m = sv(n->vruntime_ns);
        ++in_tree;
        wv += static_cast<Wide>(weight_of(*n)) * sv(n->vruntime_ns);
        w += weight_of(*n);
        if (n->state != TaskState::Runnable || n->cpu != rq.cpu)
            err = fmt::format("cpu {}: task {} in the tree is not queued here", rq.cpu, n->id);
        for (const Task* child : {n->ord_left, n->ord_right}) {
            if (child == nullptr)
                continue;
            if (prio(*child) > prio(*n))
                err = fmt::format("cpu {}: heap order broken at task {}", rq.cpu, n->id);
            if ((child == n->ord_left) != before(*child, *n))
                err = fmt::format("cpu {}: deadline order broken at task {}", rq.cpu, n->id);
            m = std::min(m, self(self, child));
        }
        if (m != sv(n->ord_min_vruntime))
            err = fmt::format("cpu {}: stale subtree minimum at task {}", rq.cpu, n->id);
        return m;
    };
    if (eq.root != nullptr)
        walk(walk, eq.root);
    if (!err.empty())
        return err;
    if (in_tree != listed)
        return fmt::format("cpu {}: {} queued, {} in the tree", rq.cpu, listed, in_tree);
    if (wv != eq.sum_wv || w != eq.sum_w)
        return fmt::format("cpu {}: weight sums out of step", rq.cpu);
    return {};
}

}  // namespace schedkit::fair
