// work_deque_test.cpp: the Chase-Lev deque: LIFO for its owner, FIFO for
// thieves, growth keeps every entry, and under concurrent stealing every
// entry is taken exactly once.
#include "runtime/work_deque.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

namespace schedkit::detail {
namespace {

TEST(WorkDeque, OwnerPopsNewestFirstThievesStealOldestFirst) {
    WorkDeque<int*> d(2);  // capacity 4: pushing 10 grows it twice
    std::vector<int> v(10);
    for (int i = 0; i < 10; ++i) {
        v[static_cast<size_t>(i)] = i;
        d.push(&v[static_cast<size_t>(i)]);
    }
    EXPECT_EQ(d.size_hint(), 10);
    EXPECT_EQ(*d.steal(), 0);
    EXPECT_EQ(*d.steal(), 1);
    EXPECT_EQ(*d.pop(), 9);
    EXPECT_EQ(*d.pop(), 8);
    for (int i = 2; i < 8; ++i)
        EXPECT_EQ(*d.steal(), i);
    EXPECT_EQ(d.pop(), nullptr);
    EXPECT_EQ(d.steal(), nullptr);
    EXPECT_TRUE(d.empty_hint());
    // Usable again after running empty.
    d.push(&v[3]);
    EXPECT_EQ(*d.pop(), 3);
    EXPECT_EQ(d.pop(), nullptr);
}

// The owner pushes and pops while thieves steal: each entry is taken once,
// none is lost, whatever the interleaving (the last-entry race included).
TEST(WorkDeque, ConcurrentTakersTakeEveryEntryExactlyOnce) {
    constexpr int kItems = 200'000;
    constexpr int kThieves = 3;
    WorkDeque<int*> d(4);
    std::vector<int> items(kItems);
    auto taken = std::make_unique<std::atomic<int>[]>(kItems);
    std::atomic<bool> done{false};
    std::atomic<int> total{0};
    auto take = [&](int* p) {
        taken[static_cast<size_t>(p - items.data())].fetch_add(1, std::memory_order_relaxed);
        total.fetch_add(1, std::memory_order_relaxed);
    };
    std::vector<std::thread> thieves;
    for (int i = 0; i < kThieves; ++i)
        thieves.emplace_back([&] {
            while (!done.load(std::memory_order_acquire) || !d.empty_hint())
                if (int* p = d.steal())
                    take(p);
        });
    for (int i = 0; i < kItems; ++i) {
        d.push(&items[static_cast<size_t>(i)]);
        // Pop about a third back, so the owner and the thieves meet at the
        // last entry often.
        if (i % 3 == 0)
            if (int* p = d.pop())
                take(p);
    }
    while (int* p = d.pop())
        take(p);
    done.store(true, std::memory_order_release);
    for (auto& t : thieves)
        t.join();
    EXPECT_EQ(total.load(), kItems);
    int wrong = 0;
    for (int i = 0; i < kItems; ++i)
        wrong += taken[static_cast<size_t>(i)].load() != 1 ? 1 : 0;
    EXPECT_EQ(wrong, 0) << "entries taken zero or several times";
}

// steal_half() takes the oldest entry and moves about half the rest, in
// order, to the thief's own deque, never more than asked.
TEST(WorkDeque, StealHalfTakesTheOldestAndMovesHalfTheRest) {
    WorkDeque<int*> d, mine;
    std::vector<int> v(9);
    for (int i = 0; i < 9; ++i) {
        v[static_cast<size_t>(i)] = i;
        d.push(&v[static_cast<size_t>(i)]);
    }
    int moved = -1;
    EXPECT_EQ(*d.steal_half(mine, 31, moved), 0);
    EXPECT_EQ(moved, 4);  // half of the 8 left
    EXPECT_EQ(d.size_hint(), 4);
    EXPECT_EQ(*mine.pop(), 4);  // the thief runs its batch newest first
    EXPECT_EQ(*mine.steal(), 1);
    EXPECT_EQ(*d.steal_half(mine, 1, moved), 5);
    EXPECT_EQ(moved, 1);  // the bound
    EXPECT_EQ(*d.steal_half(mine, 0, moved), 7);
    EXPECT_EQ(moved, 0);
    EXPECT_EQ(*d.pop(), 8);
    EXPECT_EQ(d.steal_half(mine, 31, moved), nullptr);
    EXPECT_EQ(moved, 0);
}

// Thieves stealing batches against an owner that pushes and pops: every
// entry is taken exactly once (a batch is single steals, each checked
// against the owner's bottom).
TEST(WorkDeque, ConcurrentBatchThievesTakeEveryEntryExactlyOnce) {
    constexpr int kItems = 200'000;
    constexpr int kThieves = 3;
    WorkDeque<int*> d(4);
    std::vector<int> items(kItems);
    auto taken = std::make_unique<std::atomic<int>[]>(kItems);
    std::atomic<bool> done{false};
    std::atomic<int> total{0};
    auto take = [&](int* p) {
        taken[static_cast<size_t>(p - items.data())].fetch_add(1, std::memory_order_relaxed);
        total.fetch_add(1, std::memory_order_relaxed);
    };
    std::vector<std::thread> thieves;
    for (int i = 0; i < kThieves; ++i)
        thieves.emplace_back([&] {
            WorkDeque<int*> own;
            int moved = 0;
            while (!done.load(std::memory_order_acquire) || !d.empty_hint()) {
                if (int* p = d.steal_half(own, 7, moved))
                    take(p);
                while (int* q = own.pop())
                    take(q);
            }
        });
    for (int i = 0; i < kItems; ++i) {
        d.push(&items[static_cast<size_t>(i)]);
        if (i % 3 == 0)
            if (int* p = d.pop())
                take(p);
    }
    while (int* p = d.pop())
        take(p);
    done.store(true, std::memory_order_release);
    for (auto& t : thieves)
        t.join();
    EXPECT_EQ(total.load(), kItems);
    int wrong = 0;
    for (int i = 0; i < kItems; ++i)
        wrong += taken[static_cast<size_t>(i)].load() != 1 ? 1 : 0;
    EXPECT_EQ(wrong, 0) << "entries taken zero or several times";
}

}  // namespace
}  // namespace schedkit::detail
