// check.h: invariant assertions that stay on in test builds.
#pragma once

#include <cstdio>
#include <cstdlib>

// SCHEDKIT_CHECK(cond, msg) aborts with a message when a core invariant is
// broken. Unlike assert() it is kept in release builds too: a scheduler that
// has lost track of a task must stop, not run on corrupted state. The cost is
// one predictable branch.
#define SCHEDKIT_CHECK(cond, msg)                                                            \
    do {                                                                                     \
        if (__builtin_expect(!(cond), 0)) {                                                  \
            std::fprintf(stderr, "schedkit: invariant broken at %s:%d: %s (%s)\n", __FILE__, \
                         __LINE__, msg, #cond);                                              \
            std::abort();                                                                    \
        }                                                                                    \
    } while (0)
