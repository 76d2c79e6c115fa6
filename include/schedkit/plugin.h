/* plugin.h: the C ABI of schedkit policy plug-ins (docs/plugins.md).
 *
 * A plug-in is a shared object that exports one function,
 * schedkit_plugin_register(), returning a static sk_policy_def: the policy's
 * name, its typed options and its hooks. schedkit calls the hooks from its
 * scheduler core exactly where it calls a built-in policy's (see
 * schedkit/policy.h), from several worker threads at once in the runtime: a
 * plug-in guards its own mutable state. Only C types cross the boundary, so
 * a plug-in needs no schedkit library to link against, and a plug-in built
 * against another ABI version is refused with a clear error at load time.
 * C++ authors use schedkit/plugin.hpp, which writes all of this for them.
 */
#ifndef SCHEDKIT_PLUGIN_H
#define SCHEDKIT_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bump on any change to the structures or hook signatures below. */
#define SCHEDKIT_PLUGIN_ABI_VERSION 1u
/* The one symbol a plug-in exports. */
#define SCHEDKIT_PLUGIN_ENTRY "schedkit_plugin_register"

#if defined(__GNUC__)
#define SCHEDKIT_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define SCHEDKIT_PLUGIN_EXPORT
#endif

/* Option types, as the registry checks them (schedkit policies lists them). */
enum sk_option_type {
    SK_OPT_INT = 0,         /* integer, in value.i */
    SK_OPT_DOUBLE = 1,      /* number, in value.d */
    SK_OPT_BOOL = 2,        /* true/false, in value.i (0 or 1) */
    SK_OPT_DURATION_US = 3, /* whole microseconds in the spec, in value.i as NANOseconds */
};

/* An option the policy takes: name=value in a policy spec. */
typedef struct sk_option {
    const char* name;
    uint32_t type;             /* enum sk_option_type */
    const char* default_value; /* text, as a user would write it */
    const char* help;
    double min; /* inclusive bounds for numbers */
    double max;
} sk_option;

/* A checked option value handed to create(), one per declared option, in
 * declaration order. */
typedef struct sk_option_value {
    const char* name;
    int64_t i;
    double d;
} sk_option_value;

/* Why a task needs a CPU. */
enum sk_place_reason { SK_PLACE_SPAWN = 0, SK_PLACE_WAKE = 1 };

/* A read-only snapshot of the task being placed or timed. */
typedef struct sk_task {
    uint64_t id;
    int32_t cpu;          /* the CPU it is on or last ran on, -1 if never placed */
    int32_t original_cpu; /* where it was first placed, -1 before */
    int32_t home_cpu;
    int32_t spawner_cpu; /* CPU whose task spawned it, -1 from outside */
    int32_t nice;
    uint32_t weight; /* Linux's sched_prio_to_weight of nice (1024 at nice 0) */
    int32_t group;
    uint32_t is_thread; /* a long-lived lightweight thread */
    uint64_t exec_ns;   /* CPU time received so far */
    const void* handle; /* the host's task: pass it back to sk_host functions */
} sk_task;

/* What a policy may read and do, given to every hook. Counts are lock-free
 * snapshots. move_queued() and request_push() are the only ways to change
 * anything; they may not be called from pick-time hooks (there are none in
 * ABI 1). */
typedef struct sk_host {
    uint32_t abi_version;
    uint32_t struct_size;
    void* ctx; /* pass to every function below */
    int (*num_cpus)(void* ctx);
    int (*allowed)(void* ctx, const sk_task* task, int cpu); /* affinity allows cpu */
    int (*nr_running)(void* ctx, int cpu);                   /* queued + running */
    int (*nr_queued)(void* ctx, int cpu);
    uint64_t (*load_weight)(void* ctx, int cpu); /* weights of queued + running */
    /* Moves up to `max` queued (not running) tasks allowed on dst from
     * src's queue to dst's; returns how many moved. */
    int (*move_queued)(void* ctx, int src, int dst, int max, uint64_t now_ns);
    /* Asks src to push one task to dst (active balance, done by src). */
    void (*request_push)(void* ctx, int src, int dst);
} sk_host;

/* A hook's error: set message (NUL-terminated) and return non-zero. */
typedef struct sk_error {
    char message[256];
} sk_error;

/* The policy: returned by schedkit_plugin_register(). Hooks marked optional
 * may be NULL. Each returns 0 on success; non-zero (with err->message set)
 * reports a failure: from create() or start() the policy is refused and the
 * previous one keeps running; from any other hook the plug-in is isolated
 * and the policy it replaced is put back (docs/plugins.md). */
typedef struct sk_policy_def {
    uint32_t abi_version; /* SCHEDKIT_PLUGIN_ABI_VERSION it was built with */
    uint32_t struct_size; /* sizeof(sk_policy_def) it was built with */
    const char* name;     /* letters, digits, '-' and '_' */
    const char* summary;  /* one line */
    const sk_option* options;
    uint32_t num_options;

    /* One instance per use of the policy (each switch to it creates one). */
    void* (*create)(const sk_option_value* values, uint32_t num_values, sk_error* err);
    void (*destroy)(void* self);
    int (*start)(void* self, const sk_host* host, uint64_t now_ns, sk_error* err); /* optional */
    int (*stop)(void* self, const sk_host* host, uint64_t now_ns, sk_error* err);  /* optional */
    /* Writes a CPU the task's affinity allows into *cpu. */
    int (*select_cpu)(void* self, const sk_host* host, const sk_task* task, uint32_t reason,
                      int* cpu, sk_error* err);
    /* Writes the task's time slice into *ns (0: the host's quantum). Optional. */
    int (*time_slice_ns)(void* self, const sk_task* task, uint64_t* ns, sk_error* err);
    /* How often tick() runs per CPU while work remains; 0: never. */
    uint64_t tick_period_ns;
    int (*tick)(void* self, const sk_host* host, int cpu, uint64_t now_ns,
                sk_error* err); /* optional */
    int (*newidle)(void* self, const sk_host* host, int cpu, uint64_t now_ns,
                   sk_error* err); /* optional: cpu is about to go idle */
} sk_policy_def;

/* The entry point. `host_abi_version` is the host's
 * SCHEDKIT_PLUGIN_ABI_VERSION; the host refuses a definition whose
 * abi_version differs. */
typedef const sk_policy_def* (*sk_register_fn)(uint32_t host_abi_version);

#ifdef __cplusplus
}
#endif

#endif /* SCHEDKIT_PLUGIN_H */
