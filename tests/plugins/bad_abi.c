/* bad_abi.c: a plug-in built for another ABI version: loading it must fail
 * with a clear error and change nothing. Plain C, as the ABI allows. */
#include "schedkit/plugin.h"

static void* create(const sk_option_value* v, uint32_t n, sk_error* err) {
    (void)v;
    (void)n;
    (void)err;
    return 0;
}
static void destroy(void* self) {
    (void)self;
}
static int select_cpu(void* self, const sk_host* host, const sk_task* task, uint32_t reason,
                      int* cpu, sk_error* err) {
    (void)self;
    (void)host;
    (void)task;
    (void)reason;
    (void)err;
    *cpu = 0;
    return 0;
}

static const sk_policy_def def = {SCHEDKIT_PLUGIN_ABI_VERSION + 998u,
                                  sizeof(sk_policy_def),
                                  "future",
                                  "from the future",
                                  0,
                                  0,
                                  create,
                                  destroy,
                                  0,
                                  0,
                                  select_cpu,
                                  0,
                                  0,
                                  0,
                                  0};

SCHEDKIT_PLUGIN_EXPORT const sk_policy_def* schedkit_plugin_register(uint32_t host_abi_version) {
    (void)host_abi_version;
    return &def;
}
