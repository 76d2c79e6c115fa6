// sweep_grid.h: the points of a parameter sweep and the sweep's JSON and
// CSV, shared by `sweep` and `merge`.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "experiment_cli.h"
#include "figures.h"

namespace schedkit::cli {

// SweepPoint is one policy configuration of a sweep.
struct SweepPoint {
    std::string policy;      // the policy's name, "fair"
    std::string run_policy;  // what runs, "fair:nr_migrate=16,migration_cost_us=250"
    std::vector<std::pair<std::string, std::string>> params;  // ("fair:migration_cost_us", "250")
};

// sweep_points() expands --policies and --param POLICY:OPTION=V1,V2,... into
// points: a policy with parameters once per combination of their values (in
// --param order, the last varying fastest), one without once. With no
// --policies, the policies the --param flags name. Each point's policy is
// checked (make_policy); throws InputError naming the flag.
std::vector<SweepPoint> sweep_points(const std::string& policies,
                                     const std::vector<std::string>& params);

// point_json() is one point's result: its definition, aggregate figures and
// each run (seed, completed, interrupted, figures).
Json point_json(size_t index, const SweepPoint& point, const std::vector<const GridRun*>& runs);

// sweep_csv() is the CSV of a sweep JSON: a row per run of every point.
std::string sweep_csv(const Json& sweep);

// print_estimates() prints a table: a row per label, the experiment
// columns as mean ± half-width from each aggregate figures object.
void print_estimates(const std::vector<std::string>& labels, const std::vector<Json>& figures,
                     const char* label_header);

}  // namespace schedkit::cli

namespace schedkit::cli {

// print_sweep() writes the CSV and the --output file of a sweep's JSON, then
// prints the JSON (--json) or, without --output, a table.
void print_sweep(const Json& sweep, bool json, const std::string& csv_path,
                 const std::string& output);

}  // namespace schedkit::cli
