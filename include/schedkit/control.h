// control.h: live control of a running runtime over a Unix-domain socket
// speaking JSON-RPC 2.0 (docs/control.md), as storage frameworks expose
// their scheduler over RPC. Off unless a ControlServer is created.
#pragma once

#include <chrono>
#include <memory>
#include <string>

namespace schedkit {

class Runtime;

// ControlServer answers JSON-RPC 2.0 requests about `rt` on a Unix-domain
// stream socket at `path` (owner-only permissions, 0600), one JSON request
// per line, one response per line, on its own thread: get_stats,
// get_threads, get_policy, set_policy, load_plugin, unload_plugin. A
// malformed request gets a JSON-RPC error and never reaches the runtime.
// The runtime must outlive the server.
class ControlServer {
  public:
    // Binds and starts serving. Throws InputError naming the path when it
    // cannot: too long, in use by a live server, or an existing file that
    // is not a socket (never removed). A stale socket file is replaced.
    ControlServer(Runtime& rt, std::string path);
    // Stops serving, closes every connection and removes the socket file.
    ~ControlServer();
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    const std::string& path() const;
    // handle() answers one request line (what the socket does per line;
    // exposed for tests). Returns "" for a notification (no id).
    std::string handle(const std::string& line);

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// control_call() connects to a ControlServer at `path`, sends one request
// line and returns the response line. Throws InputError when the socket
// cannot be reached or no answer comes within `timeout`.
std::string control_call(const std::string& path, const std::string& request,
                         std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace schedkit
