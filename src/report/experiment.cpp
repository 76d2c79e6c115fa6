// experiment.cpp: Student-t confidence intervals and a parallel grid of
// simulations.
#include "schedkit/experiment.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <exception>
#include <mutex>
#include <numeric>
#include <thread>

#include "schedkit/policy_registry.h"

namespace schedkit {

double student_t975(size_t dof) {
    // t(0.975, dof) for dof = 1..30.
    static constexpr std::array<double, 30> kTable = {
        12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281,
        2.2010,  2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860,
        2.0796,  2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423};
    if (dof == 0)
        return 0;
    if (dof <= kTable.size())
        return kTable[dof - 1];
    // Cornish-Fisher expansion of t around the normal quantile z.
    const double z = 1.959963984540054;
    const double v = static_cast<double>(dof);
    const double z3 = z * z * z, z5 = z3 * z * z, z7 = z5 * z * z;
    return z + (z3 + z) / (4 * v) + (5 * z5 + 16 * z3 + 3 * z) / (96 * v * v) +
           (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * v * v * v);
}

Estimate estimate(std::vector<double> values) {
    Estimate e;
    e.n = values.size();
    if (e.n > 0) {
        e.mean = std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(e.n);
        if (e.n > 1) {
            double ss = 0;
            for (double v : values)
                ss += (v - e.mean) * (v - e.mean);
            double sd = std::sqrt(ss / static_cast<double>(e.n - 1));
            e.ci95 = student_t975(e.n - 1) * sd / std::sqrt(static_cast<double>(e.n));
        }
    }
    e.values = std::move(values);
    return e;
}

void run_grid(const WorkloadSpec& spec, const Topology& topo, std::vector<GridRun>& runs,
              const GridOptions& options) {
    std::atomic<size_t> next{0};
    std::mutex done_mu;  // serialises on_done and guards `failure`
    size_t done = 0;
    // The first run that throws (a budget exceeded, out of memory) ends the
    // grid: the others stop where they are and the exception is rethrown
    // here, on the caller's thread, once every worker has joined. Escaping
    // a worker thread it would call std::terminate (an abort, exit 134).
    std::exception_ptr failure;
    std::atomic<bool> failed{false};
    auto worker = [&] {
        for (;;) {
            size_t i = next.fetch_add(1);
            if (i >= runs.size() || failed.load(std::memory_order_relaxed))
                return;
            if (options.stop != nullptr && options.stop->load(std::memory_order_relaxed))
                continue;  // skipped: ran stays false
            GridRun& run = runs[i];
            try {
                SimConfig cfg = options.config;
                cfg.seed = run.seed;
                cfg.stop = options.stop;
                cfg.progress = nullptr;
                run.result = Simulator(spec, topo, make_policy(run.policy), cfg).run();
            } catch (...) {
                std::lock_guard lock(done_mu);
                if (!failure)
                    failure = std::current_exception();
                failed.store(true, std::memory_order_relaxed);
                return;
            }
            run.ran = true;
            if (options.on_done) {
                std::lock_guard lock(done_mu);
                options.on_done(++done, runs.size(), run);
            }
        }
    };
    int jobs = std::max(1, options.jobs);
    if (jobs == 1 || runs.size() < 2) {
        worker();
    } else {
        std::vector<std::thread> threads;
        for (int j = 0; j < jobs && static_cast<size_t>(j) < runs.size(); ++j)
            threads.emplace_back(worker);
        for (std::thread& t : threads)
            t.join();
    }
    if (failure)
        std::rethrow_exception(failure);
}

}  // namespace schedkit
