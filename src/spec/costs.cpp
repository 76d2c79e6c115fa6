// costs.cpp: a spec's `costs:` section and --migration-cost LEVEL=T,...
// (workload.h).
#include <fmt/format.h>

#include "schedkit/error.h"
#include "schedkit/workload.h"
#include "spec/spec_parser.h"

namespace schedkit {

namespace spec_detail {

CostSpec SpecParser::costs(const Entry& e) const {
    constexpr std::string_view kForm = "{switch: <duration>, migration: {<level>: <duration>}}";
    constexpr std::string_view kLevels = "a level kind: SMT, CLUSTER, LLC, PKG, NUMA or SYSTEM";
    require(e.value, YAML::NodeType::Map, e.value_loc(), "'costs'", kForm);
    CostSpec c;
    for (const Entry& k : entries(e.value, "costs", {"switch", "migration"})) {
        if (k.key == "switch") {
            c.switch_ns = duration_value(k.value, k.value_loc(), "switch cost");
            continue;
        }
        require(k.value, YAML::NodeType::Map, k.value_loc(), "'migration'",
                "a map of level kind to duration, e.g. {LLC: 5us, NUMA: 80us}");
        for (const auto& kv : k.value) {
            std::string name = kv.first.Scalar();
            std::optional<LevelKind> kind = level_kind_named(name);
            if (!kind)
                fail(loc_of(kv.first), fmt::format("unknown level '{}'", name), kLevels);
            auto& slot = c.migration_ns[static_cast<size_t>(*kind)];
            if (slot)
                fail(loc_of(kv.first), fmt::format("level '{}' given twice", name),
                     "each level at most once");
            slot = duration_value(kv.second, loc_of(kv.second), "migration cost");
        }
    }
    return c;
}

}  // namespace spec_detail

void parse_migration_costs(std::string_view text, std::string_view what, CostSpec& costs) {
    constexpr std::string_view kExpected =
        "LEVEL=DURATION,... with LEVEL one of SMT, CLUSTER, LLC, PKG, NUMA, SYSTEM, e.g. "
        "LLC=5us,NUMA=80us";
    if (text.empty())
        throw InputError(fmt::format("{} '': empty; expected {}", what, kExpected));
    size_t pos = 0;
    while (pos <= text.size()) {
        size_t comma = text.find(',', pos);
        std::string_view piece = text.substr(
            pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
        size_t eq = piece.find('=');
        if (eq == std::string_view::npos)
            throw InputError(
                fmt::format("{} '{}': '{}' has no '='; expected {}", what, text, piece, kExpected));
        std::optional<LevelKind> kind = level_kind_named(piece.substr(0, eq));
        if (!kind)
            throw InputError(fmt::format("{} '{}': unknown level '{}'; expected {}", what, text,
                                         piece.substr(0, eq), kExpected));
        costs.migration_ns[static_cast<size_t>(*kind)] =
            parse_duration(piece.substr(eq + 1), fmt::format("{} {}", what, level_name(*kind)));
        if (comma == std::string_view::npos)
            break;
        pos = comma + 1;
    }
}

}  // namespace schedkit
