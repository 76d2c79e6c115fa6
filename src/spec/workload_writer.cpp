// format_workload_yaml(): a spec back to the YAML it could have come from.
#include "schedkit/workload_writer.h"

#include <fmt/format.h>

#include "schedkit/task.h"

namespace schedkit {

std::string format_duration(uint64_t ns) {
    if (ns != 0 && ns % 1'000'000'000 == 0)
        return fmt::format("{}s", ns / 1'000'000'000);
    if (ns != 0 && ns % 1'000'000 == 0)
        return fmt::format("{}ms", ns / 1'000'000);
    if (ns != 0 && ns % 1'000 == 0)
        return fmt::format("{}us", ns / 1'000);
    return fmt::format("{}ns", ns);
}

namespace {

std::string duration_yaml(const Duration& d) {
    switch (d.kind) {
        case Duration::Kind::Fixed:
            return format_duration(d.a_ns);
        case Duration::Kind::Exp:
            return fmt::format("{{exp: {}}}", format_duration(d.a_ns));
        case Duration::Kind::Uniform:
            return fmt::format("{{uniform: [{}, {}]}}", format_duration(d.a_ns),
                               format_duration(d.b_ns));
        case Duration::Kind::Normal:
            return fmt::format("{{normal: [{}, {}]}}", format_duration(d.a_ns),
                               format_duration(d.b_ns));
    }
    return {};
}

// quoted() writes a string as a double-quoted YAML scalar.
std::string quoted(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\')
            out += '\\';
        out += c;
    }
    return out + "\"";
}

std::string step_yaml(const WorkloadSpec& spec, const Step& s) {
    switch (s.kind) {
        case Step::Kind::Run:
            return "run: " + duration_yaml(s.duration);
        case Step::Kind::Block:
            return "block: " + duration_yaml(s.duration);
        case Step::Kind::Spawn:
            return fmt::format("spawn: {{group: {}{}{}}}",
                               spec.groups[static_cast<size_t>(s.spawn_group)].name,
                               s.spawn_count != 1 ? fmt::format(", count: {}", s.spawn_count) : "",
                               s.join ? ", join: true" : "");
        case Step::Kind::Exit:
            return "exit";
        case Step::Kind::Wait:
            return "wait: " + spec.events[static_cast<size_t>(s.event)];
        case Step::Kind::Notify:
            return "notify: " + spec.events[static_cast<size_t>(s.event)];
    }
    return {};
}

}  // namespace

std::string format_workload_yaml(const WorkloadSpec& spec, const std::string& comment) {
    std::string out;
    size_t pos = 0;
    while (pos < comment.size()) {
        size_t nl = comment.find('\n', pos);
        std::string line = comment.substr(pos, nl == std::string::npos ? nl : nl - pos);
        out += line.empty() ? "#\n" : "# " + line + "\n";
        pos = nl == std::string::npos ? comment.size() : nl + 1;
    }
    out += fmt::format("name: {}\n", quoted(spec.name));
    if (spec.topology)
        out += fmt::format("topology: {}\n", quoted(*spec.topology));
    out += fmt::format("seed: {}\ngroups:\n", spec.seed);
    for (const GroupSpec& g : spec.groups) {
        out += fmt::format("  - name: {}\n", g.name);
        if (g.count != 1)
            out += fmt::format("    count: {}\n", g.count);
        if (g.weight != nice_to_weight(g.nice))
            out += fmt::format("    weight: {}\n", g.weight);
        else if (g.nice != 0)
            out += fmt::format("    nice: {}\n", g.nice);
        if (!g.affinity.empty())
            out += fmt::format("    affinity: \"{}\"\n", g.affinity.to_string());
        if (g.arrival.kind == Arrival::Kind::Poisson)
            out += fmt::format("    arrival: {{rate: {}, start: {}}}\n", g.arrival.rate_per_s,
                               format_duration(g.arrival.at_ns));
        else if (g.arrival.at_ns != 0)
            out += fmt::format("    arrival: {{at: {}}}\n", format_duration(g.arrival.at_ns));
        if (g.repeat != 1)
            out += fmt::format("    repeat: {}\n", g.repeat);
        out += "    behavior:\n";
        for (const Step& s : g.behavior)
            out += "      - " + step_yaml(spec, s) + "\n";
    }
    return out;
}

}  // namespace schedkit
