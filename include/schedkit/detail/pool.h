// detail/pool.h: per-thread free lists for fibers and coroutine frames.
//
// Internal (see detail/fiber.h). Every spawned task allocates a fiber and a
// coroutine frame and frees both when it ends, often on another worker than
// the one that allocated them. A thread-local free list per size class turns
// that into a pointer pop and push; full batches of freed blocks pass through
// a shared depot to the threads that allocate (src/runtime/pool.cpp).
#pragma once

#include <cstddef>

namespace schedkit::detail {

// pool_alloc() returns `n` bytes aligned like operator new, from the calling
// thread's free list for n's size class when it has a block. Throws
// std::bad_alloc like operator new. Thread-safe (per-thread state).
void* pool_alloc(std::size_t n);
// pool_free() gives back a block from pool_alloc(n) (any thread, same n).
void pool_free(void* p, std::size_t n) noexcept;

// Pooled gives a class pool-backed operator new/delete. The sized delete
// receives the dynamic type's size through a virtual destructor.
struct Pooled {
    static void* operator new(std::size_t n) { return pool_alloc(n); }
    static void operator delete(void* p, std::size_t n) noexcept { pool_free(p, n); }
};

}  // namespace schedkit::detail
