#include "output_flags.h"

#include <fmt/format.h>

#include "figures.h"
#include "schedkit/error.h"
#include "schedkit/output_file.h"

namespace schedkit::cli {

void OutputFlags::add_to(CLI::App& cmd, bool run_flags) {
    cmd.add_flag("--json", json, "Print one JSON object instead of a table");
    csv_option_ = cmd.add_option(
        "--csv", csv_path, "Also write the result as CSV rows record,key,metric,value to FILE");
    if (run_flags) {
        trace_option_ =
            cmd.add_option("--trace", trace_path, "Write a Chrome/Perfetto trace JSON file");
        cmd.add_flag("--per-task", per_task,
                     "Add per-task statistics (runtime, switches, waits, migrations) and a "
                     "schedule string per CPU");
    }
}

void OutputFlags::check() const {
    auto one = [](const CLI::Option* opt, const std::string& path, const char* flag) {
        if (opt == nullptr || opt->count() == 0)
            return;
        if (path.empty())
            throw InputError(fmt::format("{} '': expected a file path", flag));
        OutputFile::check(path, flag);
    };
    one(csv_option_, csv_path, "--csv");
    one(trace_option_, trace_path, "--trace");
}

void OutputFlags::write_csv(const nlohmann::ordered_json& result, const std::string& record) const {
    if (!csv_path.empty())
        write_output_file(csv_path, result_csv(result, record), "--csv");
}

void OutputFlags::emit(const nlohmann::ordered_json& result, const std::string& table,
                       const std::string& record, int indent) const {
    write_csv(result, record);
    if (json)
        fmt::print("{}\n", result.dump(indent, ' ', false,
                                       nlohmann::ordered_json::error_handler_t::replace));
    else
        fmt::print("{}", table);
}

namespace {

using Json = nlohmann::ordered_json;

std::string scalar_text(const Json& v) {
    if (v.is_string())
        return v.get<std::string>();
    if (v.is_null())
        return "";
    return v.dump(-1, ' ', false, Json::error_handler_t::replace);
}

struct CsvWriter {
    std::string out = "record,key,metric,value\n";
    void row(const std::string& record, const std::string& key, const std::string& metric,
             const Json& v) {
        out += csv_field(record) + ',' + csv_field(key) + ',' + csv_field(metric) + ',' +
               csv_field(scalar_text(v)) + '\n';
    }
    void object(const Json& j, const std::string& record, const std::string& key,
                const std::string& prefix, const std::string& skip);
    void value(const std::string& name, const Json& v, const std::string& record,
               const std::string& key, const std::string& prefix);
};

// key_field() is the field that names an object of an array: the first of
// id, tid, cpu, group, point, name it has with a scalar value ("": none, the
// index names it).
std::string key_field(const Json& e) {
    for (const char* k : {"id", "tid", "cpu", "group", "point", "name"})
        if (e.contains(k) && e[k].is_primitive())
            return k;
    return "";
}

bool objects_only(const Json& a) {
    if (a.empty())
        return false;
    for (const Json& e : a)
        if (!e.is_object() || e.empty())
            return false;
    return true;
}

void CsvWriter::value(const std::string& name, const Json& v, const std::string& record,
                      const std::string& key, const std::string& prefix) {
    std::string path = prefix + name;
    if (v.is_object()) {
        object(v, record, key, path + ".", "");
    } else if (v.is_array() && objects_only(v)) {
        // Rows of their own: record = the array's path, key = first field.
        std::string rec = key.empty() ? path : record + "." + path;
        for (size_t i = 0; i < v.size(); ++i) {
            const Json& e = v[i];
            std::string field = key_field(e);
            std::string k = field.empty() ? std::to_string(i) : scalar_text(e[field]);
            object(e, rec, key.empty() ? k : key + "/" + k, "", field);
        }
    } else if (v.is_array()) {
        for (size_t i = 0; i < v.size(); ++i)
            value(std::to_string(i), v[i], record, key, path + ".");
    } else {
        row(record, key, path, v);
    }
}

void CsvWriter::object(const Json& j, const std::string& record, const std::string& key,
                       const std::string& prefix, const std::string& skip) {
    for (auto it = j.begin(); it != j.end(); ++it)
        if (it.key() != skip)
            value(it.key(), it.value(), record, key, prefix);
}

}  // namespace

Json summary_result(const RunSummary& s) {
    return Json::parse(summary_json(s));
}

std::string result_csv(const Json& result, const std::string& record) {
    CsvWriter w;
    w.object(result, record, "", "", "");
    return w.out;
}

}  // namespace schedkit::cli
