// hello.cpp: the smallest schedkit runtime program: start one worker per
// CPU, run a coroutine task, wait for its result.
#include <fmt/format.h>

#include "schedkit/runtime.h"

schedkit::Job<std::string> greet(std::string who) {
    co_await schedkit::yield();  // a suspension point: other tasks may run here
    co_return fmt::format("hello, {}", who);
}

int main() {
    schedkit::Runtime rt;  // Config::all_cores(): every CPU, the `static` policy
    std::string text = rt.block_on(greet("schedkit"));
    fmt::print("{} (from {} workers)\n", text, rt.num_workers());
    schedkit::StopReport r = rt.stop();
    return text == "hello, schedkit" && r.completed == r.spawned ? 0 : 1;
}
