// format_workload_yaml(): a spec back to the YAML it could have come from.
#include "schedkit/workload_writer.h"

#include <fmt/format.h>

#include <stdexcept>

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

// number() writes a double so that reading it back gives the same value.
std::string number(double v) {
    return fmt::format("{}", v);
}

std::string duration_yaml(const Duration& d) {
    auto ns = [](uint64_t v) { return format_duration(v); };
    switch (d.kind) {
        case Duration::Kind::Fixed:
            return ns(d.a_ns);
        case Duration::Kind::Exp:
            return fmt::format("{{exp: {}}}", ns(d.a_ns));
        case Duration::Kind::Uniform:
            return fmt::format("{{uniform: [{}, {}]}}", ns(d.a_ns), ns(d.b_ns));
        case Duration::Kind::Normal:
            return fmt::format("{{normal: [{}, {}]}}", ns(d.a_ns), ns(d.b_ns));
        case Duration::Kind::Pareto:
            return fmt::format("{{pareto: {{min: {}, shape: {}{}}}}}", ns(d.a_ns), number(d.shape),
                               d.b_ns != 0 ? ", max: " + ns(d.b_ns) : "");
        case Duration::Kind::Lognormal:
            return fmt::format("{{lognormal: [{}, {}]}}", ns(d.a_ns), ns(d.b_ns));
        case Duration::Kind::Empirical: {
            std::string out = "{empirical: [";
            if (d.samples != nullptr)
                for (size_t i = 0; i < d.samples->size(); ++i)
                    out += (i == 0 ? "" : ", ") + ns((*d.samples)[i]);
            return out + "]}";
        }
        case Duration::Kind::Bimodal:
            return fmt::format("{{bimodal: {{low: {}, high: {}, p_high: {}}}}}", ns(d.a_ns),
                               ns(d.b_ns), number(d.shape));
    }
    return {};
}

// arrival_yaml() writes a group's arrival, or "" for the default (all at 0).
// A trace arrival has no inline form (its times come from a file whose
// name the spec does not keep): std::invalid_argument.
std::string arrival_yaml(const Arrival& a) {
    auto start = [&] { return a.at_ns != 0 ? ", start: " + format_duration(a.at_ns) : ""; };
    switch (a.kind) {
        case Arrival::Kind::At:
            return a.at_ns != 0 ? fmt::format("{{at: {}}}", format_duration(a.at_ns)) : "";
        case Arrival::Kind::Poisson:
            return fmt::format("{{rate: {}{}}}", number(a.rate_per_s), start());
        case Arrival::Kind::Periodic:
            return fmt::format("{{period: {}, jitter: {}{}}}", format_duration(a.period_ns),
                               format_duration(a.jitter_ns), start());
        case Arrival::Kind::Burst:
            return fmt::format("{{rate: {}, on: {}, off: {}{}}}", number(a.rate_per_s),
                               duration_yaml(a.on), duration_yaml(a.off), start());
        case Arrival::Kind::Mmpp: {
            std::string rates, dwell;
            for (size_t i = 0; i < a.rates.size(); ++i)
                rates += (i == 0 ? "" : ", ") + number(a.rates[i]);
            for (size_t i = 0; i < a.dwell_ns.size(); ++i)
                dwell += (i == 0 ? "" : ", ") + format_duration(a.dwell_ns[i]);
            return fmt::format("{{rates: [{}], dwell: [{}]{}}}", rates, dwell, start());
        }
        case Arrival::Kind::Trace:
            throw std::invalid_argument("format_workload_yaml: a trace arrival has no inline form");
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
        case Step::Kind::Send:
            return fmt::format("send: {{group: {}{}}}",
                               spec.groups[static_cast<size_t>(s.spawn_group)].name,
                               s.spawn_count != 1 ? fmt::format(", count: {}", s.spawn_count) : "");
        case Step::Kind::Close:
            return fmt::format("close: {{group: {}, mode: {}{}}}",
                               spec.groups[static_cast<size_t>(s.spawn_group)].name,
                               s.cancel ? "cancel" : "drain",
                               s.spawn_count != 1 ? fmt::format(", count: {}", s.spawn_count) : "");
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
        if (std::string a = arrival_yaml(g.arrival); !a.empty())
            out += fmt::format("    arrival: {}\n", a);
        if (g.thread)
            out += "    thread: true\n";
        if (!g.pollers.empty()) {
            out += "    pollers:\n";
            for (const Poller& p : g.pollers)
                out += fmt::format("      - {{every: {}, run: {}}}\n", format_duration(p.every_ns),
                                   duration_yaml(p.run));
        }
        if (g.repeat != 1)
            out += fmt::format("    repeat: {}\n", g.repeat);
        out += "    behavior:\n";
        for (const Step& s : g.behavior)
            out += "      - " + step_yaml(spec, s) + "\n";
    }
    return out;
}

}  // namespace schedkit
