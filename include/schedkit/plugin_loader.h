// plugin_loader.h: load policy plug-ins (schedkit/plugin.h) into the policy
// registry, and unload them safely. See docs/plugins.md.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace schedkit {

// PluginInfo describes a loaded plug-in.
struct PluginInfo {
    std::string name;  // its policy's name in the registry
    std::string path;
    std::string summary;
};

// load_plugin() opens the shared object at `path`, checks its ABI version
// and its definition, and registers its policy under its name, so that
// make_policy(), --policy, --switch, Runtime::Config::policy and
// Runtime::set_policy() accept it like a built-in one. Loading a plug-in
// already loaded from the same file returns it again. Throws InputError
// naming the path and what was expected (no such file, not a plug-in, ABI
// version mismatch, a bad definition, a name taken by another policy).
// Thread-safe.
PluginInfo load_plugin(const std::string& path);

// unload_plugin() stops `name` making new policies (make_policy() then says
// it was unloaded; load it again to use it). Policies made from it keep
// running: the shared object is closed when the last of them is freed —
// in the runtime after an RCU grace period (call_rcu), so no worker can
// still be inside its code. Never blocks. Returns false when no plug-in of
// that name is loaded. Thread-safe.
bool unload_plugin(const std::string& name);

// loaded_plugins() lists the plug-ins currently loaded.
std::vector<PluginInfo> loaded_plugins();

// plugin_libraries_open() counts plug-in shared objects still open (loaded,
// or unloaded with a policy made from them still alive).
size_t plugin_libraries_open();

}  // namespace schedkit
