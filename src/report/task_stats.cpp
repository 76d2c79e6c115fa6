// task_stats.cpp: per-task statistics and schedule strings (task_stats.h),
// their table and their JSON.
#include "schedkit/task_stats.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <unordered_map>

#include "report/task_stats_json.h"

namespace schedkit {

namespace {

constexpr std::string_view kLetters =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

double us(uint64_t ns) {
    return static_cast<double>(ns) / 1e3;
}
double round3(double x) {
    return std::round(x * 1e3) / 1e3;
}

}  // namespace

TaskRecord TaskRecord::of(const Task& t, bool exited) {
    TaskRecord r;
    r.id = t.id;
    r.name = t.name;
    r.group = t.group;
    r.exited = exited;
    r.arrival_ns = t.arrival_ns;
    r.runtime_ns = t.exec_ns;
    r.runs = t.nr_runs;
    r.voluntary = t.nr_voluntary;
    r.involuntary = t.nr_involuntary;
    r.wait_sum_ns = t.wait_sum_ns;
    r.wait_max_ns = t.wait_max_ns;
    r.migrations = t.nr_migrations;
    return r;
}

double TaskRecord::wait_avg_us() const {
    return runs == 0 ? 0.0 : us(wait_sum_ns) / static_cast<double>(runs);
}

TaskStats TaskStats::build(std::vector<TaskRecord> tasks,
                           const std::vector<std::vector<ScheduleEntry>>& schedules,
                           std::vector<uint64_t> schedule_entries) {
    TaskStats out;
    std::sort(tasks.begin(), tasks.end(),
              [](const TaskRecord& a, const TaskRecord& b) { return a.id < b.id; });
    out.tasks = std::move(tasks);
    out.schedule_entries = std::move(schedule_entries);
    // Letters in order of first switch-in over all CPUs: by time, then CPU.
    struct First {
        uint64_t at_ns;
        size_t cpu;
        TaskId task;
    };
    std::unordered_map<TaskId, size_t> first_index;
    std::vector<First> firsts;
    for (size_t c = 0; c < schedules.size(); ++c)
        for (const ScheduleEntry& e : schedules[c]) {
            if (e.idle)
                continue;
            auto [it, inserted] = first_index.try_emplace(e.task, firsts.size());
            if (inserted)
                firsts.push_back(First{e.at_ns, c, e.task});
            else if (std::tie(e.at_ns, c) <
                     std::tie(firsts[it->second].at_ns, firsts[it->second].cpu))
                firsts[it->second] = First{e.at_ns, c, e.task};
        }
    std::sort(firsts.begin(), firsts.end(), [](const First& a, const First& b) {
        return std::tie(a.at_ns, a.cpu, a.task) < std::tie(b.at_ns, b.cpu, b.task);
    });
    std::unordered_map<TaskId, std::string> names;
    for (const TaskRecord& r : out.tasks)
        names.emplace(r.id, r.name);
    std::unordered_map<TaskId, char> letter;
    for (size_t i = 0; i < firsts.size() && i < kLetters.size(); ++i) {
        letter.emplace(firsts[i].task, kLetters[i]);
        auto n = names.find(firsts[i].task);
        out.legend.push_back(
            Letter{kLetters[i], firsts[i].task, n != names.end() ? n->second : std::string()});
    }
    for (const std::vector<ScheduleEntry>& line : schedules) {
        std::string s;
        for (const ScheduleEntry& e : line) {
            if (e.idle) {
                s += '_';
                continue;
            }
            auto l = letter.find(e.task);
            s += l != letter.end() ? l->second : '*';
        }
        out.schedules.push_back(std::move(s));
    }
    return out;
}

std::string TaskStats::table(size_t max_rows, size_t max_cpus, size_t width) const {
    std::string out;
    std::vector<const TaskRecord*> order;
    for (const TaskRecord& t : tasks)
        order.push_back(&t);
    std::stable_sort(order.begin(), order.end(), [](const TaskRecord* a, const TaskRecord* b) {
        return a->wait_max_ns > b->wait_max_ns;
    });
    size_t shown = std::min(max_rows, order.size());
    out += fmt::format(
        "\nper task ({} tasks{}; switches: runs begun, vol: ended blocking or exiting, invol: "
        "preempted)\n",
        tasks.size(),
        shown < order.size() ? fmt::format(", the {} that waited longest", shown) : "");
    out +=
        fmt::format("{:<24} {:>12} {:>9} {:>7} {:>7} {:>12} {:>12} {:>6}\n", "task", "runtime ms",
                    "switches", "vol", "invol", "wait avg us", "wait max us", "migr");
    for (size_t i = 0; i < shown; ++i) {
        const TaskRecord& t = *order[i];
        std::string label = fmt::format("{}:{}", t.name.substr(0, 16), t.id);
        out += fmt::format("{:<24} {:>12.3f} {:>9} {:>7} {:>7} {:>12.3f} {:>12.3f} {:>6}\n", label,
                           static_cast<double>(t.runtime_ns) / 1e6, t.runs, t.voluntary,
                           t.involuntary, t.wait_avg_us(), us(t.wait_max_ns), t.migrations);
    }
    if (shown < order.size())
        out += fmt::format("... {} more tasks (every task is in --json task_stats)\n",
                           order.size() - shown);
    if (schedules.empty())
        return out;
    out += fmt::format("\nschedule (a letter per task switched in, _ idle; the first {} per CPU)\n",
                       width);
    for (size_t c = 0; c < schedules.size() && c < max_cpus; ++c) {
        const std::string& s = schedules[c];
        uint64_t all = c < schedule_entries.size() ? schedule_entries[c] : s.size();
        std::string more =
            all > std::min<uint64_t>(s.size(), width) ? fmt::format(" ... ({} in all)", all) : "";
        out += fmt::format("{:>5}  {}{}\n", c, s.substr(0, width), more);
    }
    if (schedules.size() > max_cpus)
        out += fmt::format("... {} more CPUs (every CPU is in --json schedule)\n",
                           schedules.size() - max_cpus);
    std::string key;
    for (const Letter& l : legend)
        key += fmt::format("{}{}={}:{}", key.empty() ? "" : " ", l.letter, l.name, l.task);
    if (tasks.size() > legend.size())
        key += " *=any other task";
    out += fmt::format("  {}\n", key);
    return out;
}

nlohmann::ordered_json task_stats_json(const TaskStats& s) {
    using Json = nlohmann::ordered_json;
    Json tasks = Json::array();
    for (const TaskRecord& t : s.tasks) {
        Json j = Json::object();
        j["id"] = t.id;
        j["name"] = t.name;
        j["group"] = t.group;
        j["exited"] = t.exited;
        j["arrival_us"] = round3(us(t.arrival_ns));
        j["runtime_us"] = round3(us(t.runtime_ns));
        j["switches"] = t.runs;
        j["voluntary"] = t.voluntary;
        j["involuntary"] = t.involuntary;
        j["wait_avg_us"] = round3(t.wait_avg_us());
        j["wait_max_us"] = round3(us(t.wait_max_ns));
        j["wait_total_us"] = round3(us(t.wait_sum_ns));
        j["migrations"] = t.migrations;
        tasks.push_back(std::move(j));
    }
    return tasks;
}

nlohmann::ordered_json schedule_json(const TaskStats& s) {
    using Json = nlohmann::ordered_json;
    Json cpus = Json::array();
    for (size_t c = 0; c < s.schedules.size(); ++c) {
        Json j = Json::object();
        j["cpu"] = c;
        j["string"] = s.schedules[c];
        j["entries"] = c < s.schedule_entries.size() ? s.schedule_entries[c] : 0;
        cpus.push_back(std::move(j));
    }
    Json legend = Json::array();
    for (const TaskStats::Letter& l : s.legend)
        legend.push_back(
            Json{{"letter", std::string(1, l.letter)}, {"task", l.task}, {"name", l.name}});
    return Json{{"keep", kScheduleKeep}, {"cpus", std::move(cpus)}, {"legend", std::move(legend)}};
}

}  // namespace schedkit
