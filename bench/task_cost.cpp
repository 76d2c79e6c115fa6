// task_cost.cpp: the cost of one spawned-and-completed empty task, for
// instruction counts under callgrind (bench/task_cost.sh takes the
// difference of two round counts and divides by the tasks in between).
// `task_cost schedkit N R` runs R rounds that each spawn N empty tasks from a
// task on one worker (the default Config: steal, recording off) and wait for
// them; `task_cost tbb N R` does the same with a oneTBB task_group in a
// one-thread arena. Both run a warm-up round first, so pools and deques are
// grown before the rounds that count.
#include <tbb/task_arena.h>
#include <tbb/task_group.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "schedkit/runtime.h"
#include "schedkit/sync.h"

namespace {

using schedkit::Job;

void schedkit_round(schedkit::Runtime& rt, int n) {
    rt.block_on([](int count) -> Job<void> {
        schedkit::WaitGroup wg(count);
        for (int i = 0; i < count; ++i)
            schedkit::spawn([&wg] { wg.done(); }).detach();
        co_await wg.wait();
    }(n));
}

void tbb_round(tbb::task_arena& arena, int n) {
    arena.execute([n] {
        tbb::task_group tg;
        for (int i = 0; i < n; ++i)
            tg.run([] {});
        tg.wait();
    });
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4 || (std::strcmp(argv[1], "schedkit") != 0 && std::strcmp(argv[1], "tbb") != 0)) {
        std::fprintf(stderr, "usage: task_cost schedkit|tbb TASKS ROUNDS\n");
        return 2;
    }
    int n = std::atoi(argv[2]);
    int rounds = std::atoi(argv[3]);
    if (n <= 0 || rounds <= 0) {
        std::fprintf(stderr, "task_cost: TASKS '%s', ROUNDS '%s': expected positive integers\n",
                     argv[2], argv[3]);
        return 2;
    }
    if (std::strcmp(argv[1], "schedkit") == 0) {
        schedkit::Runtime rt(schedkit::Runtime::Config{}.with_workers(1));
        rt.start();
        for (int r = 0; r <= rounds; ++r)  // round 0 warms up
            schedkit_round(rt, n);
        rt.stop();
    } else {
        tbb::task_arena arena(1);
        for (int r = 0; r <= rounds; ++r)
            tbb_round(arena, n);
    }
    return 0;
}
