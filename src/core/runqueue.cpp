#include "schedkit/runqueue.h"

#include <cassert>
#include <cstddef>

namespace schedkit {

static_assert(offsetof(RunQueue, push_to) + sizeof(RunQueue::push_to) <= 64,
              "an enqueue's fields must share the run queue's first cache line");

void RunQueue::push_back(Task* t) {
    assert(t->rq_prev == nullptr && t->rq_next == nullptr && head != t);
    t->rq_prev = tail;
    t->rq_next = nullptr;
    if (tail != nullptr)
        tail->rq_next = t;
    else
        head = t;
    tail = t;
}

void RunQueue::push_front(Task* t) {
    assert(t->rq_prev == nullptr && t->rq_next == nullptr && head != t);
    t->rq_next = head;
    t->rq_prev = nullptr;
    if (head != nullptr)
        head->rq_prev = t;
    else
        tail = t;
    head = t;
}

void RunQueue::remove(Task* t) {
    if (t->rq_prev != nullptr)
        t->rq_prev->rq_next = t->rq_next;
    else
        head = t->rq_next;
    if (t->rq_next != nullptr)
        t->rq_next->rq_prev = t->rq_prev;
    else
        tail = t->rq_prev;
    t->rq_prev = t->rq_next = nullptr;
}

}  // namespace schedkit
