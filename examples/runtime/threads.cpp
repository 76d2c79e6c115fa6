// threads.cpp: lightweight threads passing messages, storage-framework
// style: a ring of threads forwards a token; a poller on each thread counts
// how often it found the token waiting.
#include <fmt/format.h>

#include <atomic>
#include <memory>
#include <vector>

#include "schedkit/runtime.h"
#include "schedkit/thread.h"

int main() {
    schedkit::Runtime rt;
    rt.start();
    constexpr int kThreads = 4, kLaps = 1000;
    std::vector<std::shared_ptr<schedkit::LightThread>> ring;
    for (int i = 0; i < kThreads; ++i)
        ring.push_back(rt.create_thread(fmt::format("ring{}", i)));

    std::atomic<int> hops{0};
    schedkit::Event finished;
    // pass() runs on thread i and sends the token to thread i+1: a message
    // is just a function executed on the receiving thread.
    std::function<void(int)> pass = [&](int i) {
        if (hops.fetch_add(1) + 1 == kThreads * kLaps) {
            finished.set();
            return;
        }
        int next = (i + 1) % kThreads;
        ring[static_cast<size_t>(next)]->send([&pass, next] { pass(next); });
    };
    // Each thread also polls every millisecond; a poller says whether it did
    // work, which is what the thread's busy % (and `dynamic`) is made of.
    std::atomic<int> polls{0};
    for (auto& t : ring)
        t->add_poller(
            [&] {
                polls.fetch_add(1);
                return false;
            },
            std::chrono::milliseconds(1));

    ring[0]->send([&pass] { pass(0); });
    finished.wait_blocking();
    for (auto& t : ring)
        t->close();  // drain: nothing queued is dropped
    for (auto& t : ring)
        t->exited().wait_blocking();
    schedkit::StopReport r = rt.stop();
    fmt::print("{} hops over {} threads, {} messages delivered, {} polls\n", hops.load(), kThreads,
               r.messages_delivered, polls.load());
    return hops.load() == kThreads * kLaps ? 0 : 1;
}
