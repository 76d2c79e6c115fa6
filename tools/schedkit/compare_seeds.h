// compare_seeds.h: `compare` over several seeds (see compare_seeds.cpp).
#pragma once

#include <string>
#include <vector>

#include "experiment_cli.h"

namespace schedkit::cli {

// run_compare_seeds() runs every policy with every seed of `flags` and
// prints mean ± 95% CI per figure (table or JSON); writes --csv.
int run_compare_seeds(const LoadedWorkload& w, const std::vector<std::string>& policies,
                      const ExperimentFlags& flags, bool json, const ProgressFlags& progress);

// check_csv_path() fails with InputError when `path` (if any) cannot be
// written, before anything runs.
void check_csv_path(const std::string& path);

}  // namespace schedkit::cli
