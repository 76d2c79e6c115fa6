// budget.cpp: resource budgets and the static count of a spec's tasks.
#include "schedkit/budget.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <vector>

#include "schedkit/workload.h"

namespace schedkit {

void budget_exceeded(std::string_view what, std::string_view flag, uint64_t limit,
                     std::string_view unit) {
    throw BudgetError(fmt::format("{}: over the budget of {}{} (raise it with {} {}{} or more)",
                                  what, limit, unit, flag, limit == 0 ? 1 : limit * 2, unit));
}

double tasks_created(const WorkloadSpec& spec) {
    const size_t n = spec.groups.size();
    constexpr double kInf = std::numeric_limits<double>::infinity();
    // made[g]: tasks of g each task of h makes per run of its behaviors,
    // as edges h -> (g, tasks per task of h).
    std::vector<std::vector<std::pair<size_t, double>>> edges(n);
    for (size_t h = 0; h < n; ++h) {
        const GroupSpec& g = spec.groups[h];
        for (const Step& s : g.behavior) {
            if (s.kind == Step::Kind::Exit)
                break;  // nothing after an exit ever runs
            if (s.kind == Step::Kind::Spawn && s.spawn_group >= 0)
                edges[h].emplace_back(static_cast<size_t>(s.spawn_group),
                                      static_cast<double>(s.spawn_count) * g.repeat);
        }
    }
    // Depth-first from each group that runs: a group met again on the
    // current path is a cycle, so the total is infinite. Memoised, O(n + e).
    enum class Mark : uint8_t { None, Open, Done };
    std::vector<Mark> mark(n, Mark::None);
    std::vector<double> subtree(n, 0);  // tasks one task of g leads to, itself included
    bool cycle = false;
    struct Frame {
        size_t g;
        size_t edge;
    };
    for (size_t root = 0; root < n && !cycle; ++root) {
        if (spec.groups[root].count == 0 || mark[root] != Mark::None)
            continue;
        std::vector<Frame> stack{{root, 0}};
        mark[root] = Mark::Open;
        subtree[root] = 1;
        while (!stack.empty() && !cycle) {
            Frame& f = stack.back();
            if (f.edge == edges[f.g].size()) {
                mark[f.g] = Mark::Done;
                size_t done = f.g;
                stack.pop_back();
                if (!stack.empty()) {
                    const auto& [to, per] = edges[stack.back().g][stack.back().edge - 1];
                    (void)to;
                    subtree[stack.back().g] += per * subtree[done];
                }
                continue;
            }
            auto [to, per] = edges[f.g][f.edge++];
            if (mark[to] == Mark::Open) {
                cycle = true;
            } else if (mark[to] == Mark::Done) {
                subtree[f.g] += per * subtree[to];
            } else {
                mark[to] = Mark::Open;
                subtree[to] = 1;
                stack.push_back({to, 0});
            }
        }
    }
    if (cycle)
        return kInf;
    double total = 0;
    for (size_t g = 0; g < n; ++g)
        total += static_cast<double>(spec.groups[g].count) * subtree[g];
    return total;
}

void check_spec_budget(const WorkloadSpec& spec, const Budget& budget, bool bounded) {
    if (bounded) {
        // A time limit bounds the tasks spawned during the run, not the ones
        // that arrive: every group's `count` is drawn before the run starts
        // (count: 2e9 with --until drew 16 GB of arrival times; found by
        // fuzz_spec).
        double arriving = 0;
        for (const GroupSpec& g : spec.groups)
            arriving += static_cast<double>(g.count);
        if (arriving > static_cast<double>(budget.max_tasks))
            budget_exceeded(fmt::format("{}: the spec's groups arrive with {:.0f} tasks, all drawn "
                                        "before the run (--until bounds only spawned ones)",
                                        spec.path, arriving),
                            "--max-tasks", budget.max_tasks);
        return;
    }
    double n = tasks_created(spec);
    if (n <= static_cast<double>(budget.max_tasks))
        return;
    if (std::isinf(n))
        throw BudgetError(fmt::format(
            "{}: spawn steps form a cycle, so the spec creates tasks forever (expected spawns "
            "that end, or --until to stop the run)",
            spec.path));
    budget_exceeded(fmt::format("{}: the spec creates {:.0f} tasks", spec.path, n), "--max-tasks",
                    budget.max_tasks);
}

}  // namespace schedkit
