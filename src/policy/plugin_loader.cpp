// plugin_loader.cpp: plug-in shared objects (dlopen), their policies
// (PluginPolicy: the C ABI of schedkit/plugin.h behind a Policy), and their
// registration. Lifetime: a PluginLibrary is shared by the loaded-plug-ins
// table and every policy made from it, and dlclose()d when the last goes.
// The runtime frees a replaced policy after an RCU grace period
// (call_rcu), so the library outlives every worker's last call into it;
// nothing here waits for a grace period (DESIGN story 4).
#include "schedkit/plugin_loader.h"

#include <dlfcn.h>
#include <fmt/format.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>

#include "schedkit/error.h"
#include "schedkit/plugin.h"
#include "schedkit/policy_registry.h"
#include "schedkit/scheduler.h"

namespace schedkit {

namespace {

std::atomic<size_t> g_open{0};

// PluginLibrary is one dlopen()ed plug-in and its checked definition.
class PluginLibrary {
  public:
    // The definition is copied, and its name and summary with it: the
    // plug-in's own copy lives in its writable data, which a later dlopen()
    // of the same file may map at the same address and initialise again
    // while a policy made from this copy still runs.
    PluginLibrary(void* handle, const sk_policy_def* def, std::string path)
        : handle_(handle),
          def_(*def),
          name_(def->name),
          summary_(def->summary != nullptr ? def->summary : ""),
          path_(std::move(path)) {
        def_.name = name_.c_str();
        def_.summary = summary_.c_str();
        g_open.fetch_add(1);
    }
    ~PluginLibrary() {
        dlclose(handle_);
        g_open.fetch_sub(1);
    }
    PluginLibrary(const PluginLibrary&) = delete;
    PluginLibrary& operator=(const PluginLibrary&) = delete;
    const sk_policy_def& def() const { return def_; }
    const std::string& path() const { return path_; }

  private:
    void* handle_;
    sk_policy_def def_;
    std::string name_;
    std::string summary_;
    std::string path_;
};

OptionType option_type(uint32_t t) {
    switch (t) {
        case SK_OPT_INT:
            return OptionType::Int;
        case SK_OPT_DOUBLE:
            return OptionType::Double;
        case SK_OPT_BOOL:
            return OptionType::Bool;
        default:
            return OptionType::DurationUs;
    }
}

// The sk_host functions; ctx is the Scheduler.
Scheduler& sched_of(void* ctx) {
    return *static_cast<Scheduler*>(ctx);
}
int host_num_cpus(void* ctx) {
    return sched_of(ctx).num_cpus();
}
bool cpu_ok(void* ctx, int cpu) {
    return cpu >= 0 && cpu < sched_of(ctx).num_cpus();
}
int host_allowed(void* ctx, const sk_task* t, int cpu) {
    return cpu_ok(ctx, cpu) && static_cast<const Task*>(t->handle)->allowed_on(cpu) ? 1 : 0;
}
int host_nr_running(void* ctx, int cpu) {
    return cpu_ok(ctx, cpu) ? sched_of(ctx).rq(cpu).nr_running.load(std::memory_order_relaxed) : 0;
}
int host_nr_queued(void* ctx, int cpu) {
    return cpu_ok(ctx, cpu) ? sched_of(ctx).rq(cpu).nr_queued.load(std::memory_order_relaxed) : 0;
}
uint64_t host_load_weight(void* ctx, int cpu) {
    return cpu_ok(ctx, cpu) ? sched_of(ctx).rq(cpu).load_weight.load(std::memory_order_relaxed) : 0;
}
int host_move_queued(void* ctx, int src, int dst, int max, uint64_t now_ns) {
    if (!cpu_ok(ctx, src) || !cpu_ok(ctx, dst) || src == dst || max <= 0)
        return 0;
    Scheduler& s = sched_of(ctx);
    auto got = s.detach_tasks(src, max, [dst](const Task& t) { return t.allowed_on(dst); });
    s.attach_tasks(dst, got, src, now_ns);
    return static_cast<int>(got.size());
}
void host_request_push(void* ctx, int src, int dst) {
    if (cpu_ok(ctx, src) && cpu_ok(ctx, dst) && src != dst)
        sched_of(ctx).request_push(src, dst);
}

sk_host make_host(Scheduler& sched) {
    return sk_host{SCHEDKIT_PLUGIN_ABI_VERSION,
                   sizeof(sk_host),
                   &sched,
                   host_num_cpus,
                   host_allowed,
                   host_nr_running,
                   host_nr_queued,
                   host_load_weight,
                   host_move_queued,
                   host_request_push};
}

sk_task view_of(const Task& t) {
    return sk_task{t.id,
                   task_cpu_hint(t),
                   task_original_cpu_hint(t),
                   std::atomic_ref<const int>(t.home_cpu).load(std::memory_order_relaxed),
                   t.spawner_cpu,
                   t.nice,
                   t.weight,
                   t.group,
                   t.is_thread ? 1u : 0u,
                   task_exec_hint(t),
                   &t};
}

// PluginPolicy runs a plug-in's hooks. A hook that fails (returns an error:
// the C++ wrapper turns exceptions into errors) isolates the plug-in: its
// hooks are not called again, tasks are placed where they last ran (no
// migration, nothing lost), the error is printed once and kept in
// stats_json(), and the scheduler is told (policy_failed), so that the
// executor puts the previous policy back. create() or start() failing
// refuses the policy instead.
class PluginPolicy final : public Policy {
  public:
    PluginPolicy(std::shared_ptr<PluginLibrary> lib, const PolicyOptions& opts)
        : lib_(std::move(lib)), def_(lib_->def()) {
        std::vector<sk_option_value> values;
        for (uint32_t k = 0; k < def_.num_options; ++k) {
            const sk_option& o = def_.options[k];
            sk_option_value v{o.name, 0, 0};
            switch (option_type(o.type)) {
                case OptionType::Int:
                    v.i = opts.get_int(o.name);
                    break;
                case OptionType::Double:
                    v.d = opts.get_double(o.name);
                    break;
                case OptionType::Bool:
                    v.i = opts.get_bool(o.name) ? 1 : 0;
                    break;
                case OptionType::DurationUs:
                    v.i = static_cast<int64_t>(opts.get_duration_ns(o.name));
                    break;
            }
            values.push_back(v);
        }
        sk_error err{};
        self_ = def_.create(values.data(), static_cast<uint32_t>(values.size()), &err);
        if (self_ == nullptr)
            throw InputError(fmt::format("policy '{}' (plug-in {}): create failed: {}", def_.name,
                                         lib_->path(), message(err)));
    }
    ~PluginPolicy() override { def_.destroy(self_); }

    std::string name() const override { return def_.name; }

    void start(Scheduler& sched, uint64_t now) override {
        sched_.store(&sched, std::memory_order_relaxed);  // published with the policy
        if (def_.start == nullptr || isolated())
            return;
        sk_host host = make_host(sched);
        sk_error err{};
        if (def_.start(self_, &host, now, &err) != 0)
            throw PolicyError(fmt::format("plug-in policy '{}' ({}) refused to start: {}",
                                          def_.name, lib_->path(), message(err)));
    }
    void stop(Scheduler& sched, uint64_t now) override {
        if (def_.stop == nullptr || isolated())
            return;
        sk_host host = make_host(sched);
        sk_error err{};
        if (def_.stop(self_, &host, now, &err) != 0)
            isolate("stop", err);
    }
    int select_cpu(Scheduler& sched, const Task& task, PlaceReason why) override {
        if (!isolated()) {
            sk_host host = make_host(sched);
            sk_task view = view_of(task);
            sk_error err{};
            int cpu = -1;
            if (def_.select_cpu(self_, &host, &view,
                                why == PlaceReason::Spawn ? SK_PLACE_SPAWN : SK_PLACE_WAKE, &cpu,
                                &err) != 0) {
                isolate("select_cpu", err);
            } else if (cpu < 0 || cpu >= sched.num_cpus() || !task.allowed_on(cpu)) {
                fmt::format_to_n(err.message, sizeof err.message - 1,
                                 "returned CPU {}, which task {}'s affinity does not allow", cpu,
                                 task.id);
                isolate("select_cpu", err);
            } else {
                return cpu;
            }
        }
        return fallback_cpu(sched, task);
    }
    uint64_t time_slice_ns(const Task& task) const override {
        if (def_.time_slice_ns == nullptr || isolated())
            return quantum_ns;
        sk_task view = view_of(task);
        sk_error err{};
        uint64_t ns = 0;
        if (def_.time_slice_ns(self_, &view, &ns, &err) != 0) {
            const_cast<PluginPolicy*>(this)->isolate("time_slice_ns", err);
            return quantum_ns;
        }
        return ns != 0 ? ns : quantum_ns;
    }
    uint64_t tick_period_ns() const override {
        return def_.tick != nullptr ? def_.tick_period_ns : 0;
    }
    void tick(Scheduler& sched, int cpu, uint64_t now) override {
        if (def_.tick == nullptr || isolated())
            return;
        sk_host host = make_host(sched);
        sk_error err{};
        if (def_.tick(self_, &host, cpu, now, &err) != 0)
            isolate("tick", err);
    }
    void newidle(Scheduler& sched, int cpu, uint64_t now) override {
        if (def_.newidle == nullptr || isolated())
            return;
        sk_host host = make_host(sched);
        sk_error err{};
        if (def_.newidle(self_, &host, cpu, now, &err) != 0)
            isolate("newidle", err);
    }
    std::string stats_json() const override {
        std::lock_guard g(mu_);
        return fmt::format(R"({{"plugin":"{}","isolated":{},"error":"{}"}})", escape(lib_->path()),
                           isolated() ? "true" : "false", escape(error_));
    }

  private:
    static std::string message(const sk_error& err) {
        std::string m(err.message, strnlen(err.message, sizeof err.message));
        return m.empty() ? "(no message)" : m;
    }
    static std::string escape(const std::string& s) {
        std::string out;
        for (char c : s) {
            if (c == '"' || c == '\\')
                out += '\\';
            if (static_cast<unsigned char>(c) < 0x20)
                continue;
            out += c;
        }
        return out;
    }
    bool isolated() const { return isolated_.load(std::memory_order_acquire); }
    void isolate(const char* hook, const sk_error& err) {
        std::string why;
        {
            std::lock_guard g(mu_);
            if (isolated_.load(std::memory_order_relaxed))
                return;
            error_ = fmt::format("hook {} failed: {}", hook, message(err));
            isolated_.store(true, std::memory_order_release);
            why = fmt::format("plug-in policy '{}' ({}) isolated: {}", def_.name, lib_->path(),
                              error_);
        }
        std::fprintf(stderr,
                     "schedkit: %s; its hooks are no longer called, tasks stay on the CPU they "
                     "last ran on until the previous policy is put back\n",
                     why.c_str());
        if (Scheduler* s = sched_.load(std::memory_order_relaxed))
            s->policy_failed(*this, std::move(why));
    }
    static int fallback_cpu(const Scheduler& sched, const Task& task) {
        int c = task_cpu_hint(task);
        if (c >= 0 && c < sched.num_cpus() && task.allowed_on(c))
            return c;
        if (task.spawner_cpu >= 0 && task.allowed_on(task.spawner_cpu))
            return task.spawner_cpu;
        return task.affinity.empty() ? 0 : task.affinity.first();
    }

    std::shared_ptr<PluginLibrary> lib_;  // keeps the code mapped while we live
    const sk_policy_def& def_;
    void* self_ = nullptr;
    std::atomic<bool> isolated_{false};
    std::atomic<Scheduler*> sched_{nullptr};  // set by start(), before any other hook
    mutable std::mutex mu_;                   // guards error_
    std::string error_;
};

// The loaded plug-ins, by policy name, and the names ever registered (a
// registry entry lasts for the process; its factory looks the name up here).
struct Table {
    std::mutex mu;
    std::map<std::string, std::shared_ptr<PluginLibrary>> loaded;
    std::map<std::string, std::vector<PolicyOption>> registered;
};
Table& table() {
    static Table t;
    return t;
}

std::unique_ptr<Policy> make_plugin_policy(const std::string& name, const PolicyOptions& o) {
    std::shared_ptr<PluginLibrary> lib;
    {
        Table& t = table();
        std::lock_guard g(t.mu);
        auto it = t.loaded.find(name);
        if (it != t.loaded.end())
            lib = it->second;
    }
    if (!lib)
        throw InputError(fmt::format(
            "policy '{}': its plug-in was unloaded (expected it loaded: --plugin PATH or "
            "load_plugin)",
            name));
    return std::make_unique<PluginPolicy>(std::move(lib), o);
}

bool valid_name(const char* n) {
    if (n == nullptr || *n == '\0')
        return false;
    for (const char* p = n; *p != '\0'; ++p)
        if (!std::isalnum(static_cast<unsigned char>(*p)) && *p != '-' && *p != '_')
            return false;
    return true;
}

// check_def() returns what is wrong with a definition, or "".
std::string check_def(const sk_policy_def* d) {
    if (d == nullptr)
        return "its registration function returned no policy";
    if (d->abi_version != SCHEDKIT_PLUGIN_ABI_VERSION)
        return fmt::format(
            "it was built for plug-in ABI version {}, expected {} (rebuild it "
            "against this schedkit's schedkit/plugin.h)",
            d->abi_version, SCHEDKIT_PLUGIN_ABI_VERSION);
    if (d->struct_size < sizeof(sk_policy_def))
        return fmt::format("its sk_policy_def is {} bytes, expected {}", d->struct_size,
                           sizeof(sk_policy_def));
    if (!valid_name(d->name))
        return "its policy name is empty or has characters other than letters, digits, '-' "
               "and '_'";
    if (d->create == nullptr || d->destroy == nullptr || d->select_cpu == nullptr)
        return "it lacks one of the required hooks create, destroy and select_cpu";
    if (d->num_options > 0 && d->options == nullptr)
        return "it declares options but gives none";
    for (uint32_t k = 0; k < d->num_options; ++k) {
        const sk_option& o = d->options[k];
        if (!valid_name(o.name) || o.type > SK_OPT_DURATION_US || o.default_value == nullptr)
            return fmt::format("its option #{} has a bad name, type or default", k + 1);
    }
    return "";
}

}  // namespace

PluginInfo load_plugin(const std::string& path) {
    auto bad = [&](const std::string& what) {
        return InputError(fmt::format("--plugin '{}': {}", path, what));
    };
    void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (h == nullptr) {
        const char* e = dlerror();
        throw bad(
            fmt::format("cannot load it ({}): expected a shared object built against "
                        "schedkit/plugin.h",
                        e != nullptr ? e : "unknown error"));
    }
    auto entry = reinterpret_cast<sk_register_fn>(dlsym(h, SCHEDKIT_PLUGIN_ENTRY));
    if (entry == nullptr) {
        dlclose(h);
        throw bad(fmt::format("no {}() in it: expected a schedkit policy plug-in",
                              SCHEDKIT_PLUGIN_ENTRY));
    }
    const sk_policy_def* def = entry(SCHEDKIT_PLUGIN_ABI_VERSION);
    std::string err = check_def(def);
    if (!err.empty()) {
        dlclose(h);
        throw bad(err);
    }
    auto lib = std::make_shared<PluginLibrary>(h, def, path);
    std::string name = def->name;
    std::vector<PolicyOption> options;
    for (uint32_t k = 0; k < def->num_options; ++k) {
        const sk_option& o = def->options[k];
        options.push_back(PolicyOption{o.name, option_type(o.type), o.default_value,
                                       o.help != nullptr ? o.help : "", o.min, o.max});
    }
    PluginInfo info{name, path, def->summary != nullptr ? def->summary : ""};
    Table& t = table();
    std::lock_guard g(t.mu);
    auto it = t.loaded.find(name);
    if (it != t.loaded.end()) {
        if (it->second->path() == path)
            return info;  // loaded already; `lib` closes its extra reference
        throw bad(
            fmt::format("policy name '{}' is taken by the plug-in {} (expected a name not "
                        "loaded yet; unload that one first)",
                        name, it->second->path()));
    }
    auto reg = t.registered.find(name);
    if (reg == t.registered.end()) {
        try {
            register_policy(PolicyInfo{
                name, info.summary, options,
                [name](const PolicyOptions& o) { return make_plugin_policy(name, o); }, false});
        } catch (const std::invalid_argument& e) {
            throw bad(fmt::format("cannot register policy '{}': {}", name, e.what()));
        }
        t.registered.emplace(name, options);
    } else {
        // Reloaded: the registry keeps the first load's options.
        bool same = reg->second.size() == options.size();
        for (size_t k = 0; same && k < options.size(); ++k)
            same = reg->second[k].name == options[k].name &&
                   reg->second[k].type == options[k].type &&
                   reg->second[k].default_value == options[k].default_value;
        if (!same)
            throw bad(
                fmt::format("policy '{}' was registered before with other options "
                            "(expected the same options on a reload)",
                            name));
    }
    t.loaded.emplace(name, std::move(lib));
    return info;
}

bool unload_plugin(const std::string& name) {
    std::shared_ptr<PluginLibrary> last;
    Table& t = table();
    std::lock_guard g(t.mu);
    auto it = t.loaded.find(name);
    if (it == t.loaded.end())
        return false;
    last = std::move(it->second);  // dlclose()d here unless a policy still holds it
    t.loaded.erase(it);
    return true;
}

std::vector<PluginInfo> loaded_plugins() {
    std::vector<PluginInfo> out;
    Table& t = table();
    std::lock_guard g(t.mu);
    for (const auto& [name, lib] : t.loaded)
        out.push_back(PluginInfo{name, lib->path(), lib->def().summary});
    return out;
}

size_t plugin_libraries_open() {
    return g_open.load();
}

}  // namespace schedkit
