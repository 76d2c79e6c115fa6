// plugin.hpp: write a schedkit policy plug-in as a C++ class. The class
// derives from schedkit::plugin::Policy; SCHEDKIT_PLUGIN() exports it through
// the C ABI of schedkit/plugin.h, turning every exception a hook throws into
// an error the host reports (docs/plugins.md). Header-only: a plug-in links
// nothing of schedkit.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>

#include "schedkit/plugin.h"

namespace schedkit::plugin {

// Host is what a hook may read and do (sk_host, with methods).
class Host {
  public:
    explicit Host(const sk_host* h) : h_(h) {}
    int num_cpus() const { return h_->num_cpus(h_->ctx); }
    bool allowed(const sk_task& t, int cpu) const { return h_->allowed(h_->ctx, &t, cpu) != 0; }
    int nr_running(int cpu) const { return h_->nr_running(h_->ctx, cpu); }
    int nr_queued(int cpu) const { return h_->nr_queued(h_->ctx, cpu); }
    uint64_t load_weight(int cpu) const { return h_->load_weight(h_->ctx, cpu); }
    int move_queued(int src, int dst, int max, uint64_t now_ns) const {
        return h_->move_queued(h_->ctx, src, dst, max, now_ns);
    }
    void request_push(int src, int dst) const { h_->request_push(h_->ctx, src, dst); }

  private:
    const sk_host* h_;
};

// Options are the checked values of the declared options.
class Options {
  public:
    Options(const sk_option_value* v, uint32_t n) : v_(v), n_(n) {}
    int64_t get_int(const char* name) const { return find(name).i; }
    bool get_bool(const char* name) const { return find(name).i != 0; }
    double get_double(const char* name) const { return find(name).d; }
    uint64_t get_duration_ns(const char* name) const { return static_cast<uint64_t>(find(name).i); }

  private:
    const sk_option_value& find(const char* name) const {
        for (uint32_t k = 0; k < n_; ++k)
            if (std::strcmp(v_[k].name, name) == 0)
                return v_[k];
        throw std::invalid_argument(std::string("no option named ") + name);
    }
    const sk_option_value* v_;
    uint32_t n_;
};

// Policy is the class a plug-in implements. Construct from Options; throw
// from start() to refuse to start (any exception: its what() is the error).
class Policy {
  public:
    virtual ~Policy() = default;
    virtual void start(Host& host, uint64_t now_ns) {
        (void)host;
        (void)now_ns;
    }
    virtual void stop(Host& host, uint64_t now_ns) {
        (void)host;
        (void)now_ns;
    }
    // select_cpu() returns a CPU the task's affinity allows (host.allowed()).
    virtual int select_cpu(Host& host, const sk_task& task, sk_place_reason why) = 0;
    // time_slice_ns() returns the task's slice; 0 means the host's quantum.
    virtual uint64_t time_slice_ns(const sk_task& task) {
        (void)task;
        return 0;
    }
    virtual void tick(Host& host, int cpu, uint64_t now_ns) {
        (void)host;
        (void)cpu;
        (void)now_ns;
    }
    virtual void newidle(Host& host, int cpu, uint64_t now_ns) {
        (void)host;
        (void)cpu;
        (void)now_ns;
    }
};

namespace detail {

inline int fail(sk_error* err, const char* what) noexcept {
    std::snprintf(err->message, sizeof err->message, "%s", what);
    return 1;
}

// guard() runs `fn`, turning any exception into an error return.
template <typename Fn>
int guard(sk_error* err, Fn&& fn) noexcept {
    try {
        fn();
        return 0;
    } catch (const std::exception& e) {
        return fail(err, e.what());
    } catch (...) {
        return fail(err, "unknown exception");
    }
}

template <typename P>
sk_policy_def make_def(const char* name, const char* summary, const sk_option* options,
                       uint32_t num_options, uint64_t tick_period_ns) {
    sk_policy_def d{};
    d.abi_version = SCHEDKIT_PLUGIN_ABI_VERSION;
    d.struct_size = sizeof(sk_policy_def);
    d.name = name;
    d.summary = summary;
    d.options = options;
    d.num_options = num_options;
    d.create = [](const sk_option_value* v, uint32_t n, sk_error* err) noexcept -> void* {
        P* p = nullptr;
        guard(err, [&] { p = new P(Options(v, n)); });
        return p;
    };
    d.destroy = [](void* self) noexcept { delete static_cast<P*>(self); };
    d.start = [](void* self, const sk_host* h, uint64_t now, sk_error* err) noexcept {
        return guard(err, [&] {
            Host host(h);
            static_cast<P*>(self)->start(host, now);
        });
    };
    d.stop = [](void* self, const sk_host* h, uint64_t now, sk_error* err) noexcept {
        return guard(err, [&] {
            Host host(h);
            static_cast<P*>(self)->stop(host, now);
        });
    };
    d.select_cpu = [](void* self, const sk_host* h, const sk_task* t, uint32_t why, int* cpu,
                      sk_error* err) noexcept {
        return guard(err, [&] {
            Host host(h);
            *cpu = static_cast<P*>(self)->select_cpu(host, *t, static_cast<sk_place_reason>(why));
        });
    };
    d.time_slice_ns = [](void* self, const sk_task* t, uint64_t* ns, sk_error* err) noexcept {
        return guard(err, [&] { *ns = static_cast<P*>(self)->time_slice_ns(*t); });
    };
    d.tick_period_ns = tick_period_ns;
    d.tick = [](void* self, const sk_host* h, int cpu, uint64_t now, sk_error* err) noexcept {
        return guard(err, [&] {
            Host host(h);
            static_cast<P*>(self)->tick(host, cpu, now);
        });
    };
    d.newidle = [](void* self, const sk_host* h, int cpu, uint64_t now, sk_error* err) noexcept {
        return guard(err, [&] {
            Host host(h);
            static_cast<P*>(self)->newidle(host, cpu, now);
        });
    };
    return d;
}

}  // namespace detail

}  // namespace schedkit::plugin

// SCHEDKIT_PLUGIN(Class, "name", "summary", options, num_options,
// tick_period_ns) exports Class (a schedkit::plugin::Policy constructible
// from schedkit::plugin::Options) as this shared object's policy. `options`
// is an array of sk_option with static storage (or nullptr, 0).
#define SCHEDKIT_PLUGIN(Class, name, summary, options, num_options, tick_period_ns)   \
    extern "C" SCHEDKIT_PLUGIN_EXPORT const sk_policy_def* schedkit_plugin_register(  \
        uint32_t host_abi_version) {                                                  \
        (void)host_abi_version;                                                       \
        static const sk_policy_def def = ::schedkit::plugin::detail::make_def<Class>( \
            name, summary, options, num_options, tick_period_ns);                     \
        return &def;                                                                  \
    }
