// pool.cpp: per-thread size-class free lists with a shared depot
// (detail/pool.h), in the style of Bonwick's magazines.
//
// A task's fiber and frames are often freed on another worker than the one
// that allocated them (a stolen or remotely placed task), so a purely
// thread-local cache fills up on one side and runs dry on the other. Each
// thread therefore caches at most two batches per class; a full batch goes
// to a global depot and an empty cache takes one from there, so blocks flow
// back to the threads that allocate. The depot's lock is taken once per
// batch, not per block.
#include "schedkit/detail/pool.h"

#include <cstdint>
#include <mutex>
#include <new>

namespace schedkit::detail {

namespace {

// 64-byte classes up to 1 KiB cover fibers and the frames of ordinary
// coroutines; larger blocks go straight to the heap.
constexpr std::size_t kGrain = 64;
constexpr std::size_t kClasses = 16;
constexpr std::size_t kMaxBlock = kGrain * kClasses;
// Blocks per batch: the unit of exchange with the depot.
constexpr uint32_t kBatch = 128;
// The depot keeps at most this many bytes per class; beyond that a batch
// goes back to the heap.
constexpr std::size_t kMaxDepotBytes = std::size_t{32} << 20;

struct FreeBlock {
    FreeBlock* next;        // within a batch
    FreeBlock* next_batch;  // in the depot, on a batch's first block
};

std::size_t class_of(std::size_t n) noexcept {
    return (n - 1) / kGrain;
}
std::size_t class_bytes(std::size_t c) noexcept {
    return (c + 1) * kGrain;
}

void free_chain(FreeBlock* b) noexcept {
    while (b != nullptr) {
        FreeBlock* next = b->next;
        ::operator delete(b);
        b = next;
    }
}

// Depot is the shared store of full batches, one stack per class.
struct Depot {
    struct alignas(64) Class {
        std::mutex mu;
        FreeBlock* batches = nullptr;  // guarded by mu
        std::size_t count = 0;         // guarded by mu
    };
    Class classes[kClasses];

    // put() stores a full batch (or frees it when the depot is full).
    void put(std::size_t c, FreeBlock* batch) noexcept {
        Class& k = classes[c];
        {
            std::lock_guard g(k.mu);
            if ((k.count + 1) * kBatch * class_bytes(c) <= kMaxDepotBytes) {
                batch->next_batch = k.batches;
                k.batches = batch;
                ++k.count;
                return;
            }
        }
        free_chain(batch);
    }
    // take() returns a full batch, or null.
    FreeBlock* take(std::size_t c) noexcept {
        Class& k = classes[c];
        std::lock_guard g(k.mu);
        FreeBlock* b = k.batches;
        if (b != nullptr) {
            k.batches = b->next_batch;
            --k.count;
        }
        return b;
    }
};

// depot() is never destroyed: threads may free blocks during static
// destruction. Its blocks stay reachable from it.
Depot& depot() {
    static Depot* d = new Depot;
    return *d;
}

// FreeLists is a thread's cache: per class a partly filled batch (`head`,
// `count` blocks) and at most one full spare batch. Trivially destructible,
// so it stays usable until the thread is gone (a fiber may be freed by
// another thread_local's destructor); Reaper empties it.
struct FreeLists {
    FreeBlock* head[kClasses];
    FreeBlock* spare[kClasses];
    uint32_t count[kClasses];
    bool closed;  // the thread is exiting: no more caching
};

thread_local FreeLists tls_lists;

// Reaper hands a thread's cached blocks back when it exits: full batches
// to the depot, the rest to the heap.
struct Reaper {
    bool armed = false;
    ~Reaper() {
        FreeLists& l = tls_lists;
        l.closed = true;
        for (std::size_t c = 0; c < kClasses; ++c) {
            if (l.spare[c] != nullptr)
                depot().put(c, l.spare[c]);
            free_chain(l.head[c]);
            l.head[c] = l.spare[c] = nullptr;
            l.count[c] = 0;
        }
    }
};

thread_local Reaper tls_reaper;

}  // namespace

// Every block starts with a header naming its class: the size a caller
// passes to pool_free() is not trusted (g++ 12 has passed a coroutine
// frame's operator delete a different size than its operator new got).
[[gnu::noinline]] static void* pool_alloc_class(std::size_t c);
constexpr std::size_t kHeader = 16;  // keeps operator new's alignment
constexpr std::size_t kHeapClass = ~std::size_t{0};

static void* with_header(void* block, std::size_t c) noexcept {
    *static_cast<std::size_t*>(block) = c;
    return static_cast<char*>(block) + kHeader;
}

void* pool_alloc(std::size_t n) {
    n += kHeader;
    if (n > kMaxBlock)
        return with_header(::operator new(n), kHeapClass);
    std::size_t c = class_of(n);
    // The common case, inline: the thread's list has a block.
    FreeLists& l = tls_lists;
    if (FreeBlock* b = l.head[c]) [[likely]] {
        l.head[c] = b->next;
        --l.count[c];
        // The next allocation of this class will want the next block.
        if (l.head[c] != nullptr)
            __builtin_prefetch(l.head[c]);
        return with_header(b, c);
    }
    return with_header(pool_alloc_class(c), c);
}

// pool_alloc_class() is pool_alloc() once the thread's list is empty:
// refill it from the spare batch or the depot, else the heap.
static void* pool_alloc_class(std::size_t c) {
    FreeLists& l = tls_lists;
    if (l.count[c] == 0 && !l.closed) {
        FreeBlock* batch = l.spare[c];
        l.spare[c] = nullptr;
        if (batch == nullptr)
            batch = depot().take(c);
        if (batch != nullptr) {
            tls_reaper.armed = true;  // constructs it (once per thread): it will clean up
            l.head[c] = batch;
            l.count[c] = kBatch;
        }
    }
    if (FreeBlock* b = l.head[c]) {
        l.head[c] = b->next;
        --l.count[c];
        // The next allocation of this class will want the next block.
        if (l.head[c] != nullptr)
            __builtin_prefetch(l.head[c]);
        return b;
    }
    // Allocate the class's full size so any block of the class fits any
    // request of the class.
    return ::operator new(class_bytes(c));
}

[[gnu::noinline]] static void pool_free_slow(void* p, std::size_t c) noexcept;

void pool_free(void* user, std::size_t) noexcept {
    if (user == nullptr)
        return;
    void* p = static_cast<char*>(user) - kHeader;
    std::size_t c = *static_cast<std::size_t*>(p);
    // The common case, inline: a pooled class whose list is neither empty
    // (the first block arms the Reaper) nor full (a batch to hand on).
    FreeLists& l = tls_lists;
    if (c < kClasses && l.count[c] - 1U < kBatch - 1U && !l.closed) [[likely]] {
        auto* b = static_cast<FreeBlock*>(p);
        b->next = l.head[c];
        l.head[c] = b;
        ++l.count[c];
        return;
    }
    pool_free_slow(p, c);
}

static void pool_free_slow(void* p, std::size_t c) noexcept {
    if (c == kHeapClass) {
        ::operator delete(p);
        return;
    }
    FreeLists& l = tls_lists;
    if (l.closed) {
        ::operator delete(p);
        return;
    }
    if (l.count[c] == kBatch) {
        // A full batch: keep it as the spare, passing an older spare on.
        if (l.spare[c] != nullptr)
            depot().put(c, l.spare[c]);
        l.spare[c] = l.head[c];
        l.head[c] = nullptr;
        l.count[c] = 0;
    }
    if (l.count[c] == 0)
        tls_reaper.armed = true;  // constructs it (once per thread): it will clean up
    auto* b = static_cast<FreeBlock*>(p);
    b->next = l.head[c];
    l.head[c] = b;
    ++l.count[c];
}

}  // namespace schedkit::detail
