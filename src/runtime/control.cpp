// control.cpp: the JSON-RPC 2.0 control socket of a running runtime.
//
// One server thread polls the listening socket, a wake pipe and up to
// kMaxClients connections; each complete line is one request (or a batch),
// answered on the same connection. Requests are parsed and checked here
// before anything reaches the runtime, and every runtime call is one the
// public Runtime API makes thread-safe, so a bad client cannot disturb the
// workers. Nothing here holds a lock while calling into the runtime.
#include "schedkit/control.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "schedkit/error.h"
#include "schedkit/plugin_loader.h"
#include "schedkit/runtime.h"

namespace schedkit {

namespace {

using json = nlohmann::json;

constexpr size_t kMaxLine = 1 << 20;  // a longer request is refused, the connection closed
constexpr size_t kMaxClients = 16;

// JSON-RPC 2.0 error codes.
constexpr int kParseError = -32700;
constexpr int kInvalidRequest = -32600;
constexpr int kMethodNotFound = -32601;
constexpr int kInvalidParams = -32602;
constexpr int kInternalError = -32603;

struct RpcError {
    int code;
    std::string message;
};

json error_response(const json& id, int code, const std::string& message) {
    return json{{"jsonrpc", "2.0"}, {"error", {{"code", code}, {"message", message}}}, {"id", id}};
}

sockaddr_un address_of(const std::string& path) {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof a.sun_path)
        throw InputError(fmt::format("control socket '{}': expected a path of 1 to {} bytes", path,
                                     sizeof a.sun_path - 1));
    std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
    return a;
}

// str_param() reads params[key] or params[index] as a string.
std::string str_param(const json& params, const char* key, size_t index) {
    const json* v = nullptr;
    if (params.is_object() && params.contains(key))
        v = &params[key];
    else if (params.is_array() && params.size() > index)
        v = &params[index];
    if (v == nullptr || !v->is_string())
        throw RpcError{kInvalidParams, fmt::format("expected params {{\"{}\": string}}", key)};
    return v->get<std::string>();
}

bool write_all(int fd, const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
        ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        off += static_cast<size_t>(n);
    }
    return true;
}

}  // namespace

struct ControlServer::Impl {
    Runtime& rt;
    std::string path;
    int listen_fd = -1;
    int wake[2] = {-1, -1};
    std::thread thread;

    struct Client {
        int fd;
        std::string in;
    };

    Impl(Runtime& r, std::string p) : rt(r), path(std::move(p)) {}

    json call(const std::string& method, const json& params) {
        if (method == "get_stats")
            return json::parse(rt.stats().json());
        if (method == "get_threads") {
            json out = json::array();
            for (const WorkerStats& w : rt.stats().workers)
                for (const auto& [name, busy] : w.threads)
                    out.push_back({{"name", name}, {"cpu", w.cpu}, {"busy_pct", busy}});
            return out;
        }
        if (method == "get_policy")
            return json{{"policy", rt.policy_name()}};
        if (method == "set_policy") {
            std::string spec = str_param(params, "policy", 0);
            try {
                SwitchResult r = rt.set_policy(spec);
                json out{{"ok", r.ok}, {"policy", rt.policy_name()}};
                if (!r.ok)
                    out["error"] = r.error;
                return out;
            } catch (const InputError& e) {
                throw RpcError{kInvalidParams, e.what()};
            }
        }
        if (method == "load_plugin") {
            std::string p = str_param(params, "path", 0);
            try {
                PluginInfo info = rt.load_plugin(p);
                return json{{"name", info.name}, {"path", info.path}, {"summary", info.summary}};
            } catch (const InputError& e) {
                throw RpcError{kInvalidParams, e.what()};
            }
        }
        if (method == "unload_plugin")
            return json{{"unloaded", rt.unload_plugin(str_param(params, "name", 0))}};
        throw RpcError{kMethodNotFound,
                       fmt::format("method '{}' not found (expected one of: get_stats, "
                                   "get_threads, get_policy, set_policy, load_plugin, "
                                   "unload_plugin)",
                                   method)};
    }

    // one() answers one request object; null for a notification.
    json one(const json& req) {
        json id = nullptr;
        if (req.is_object() && req.contains("id")) {
            id = req["id"];
            if (!id.is_null() && !id.is_string() && !id.is_number())
                return error_response(nullptr, kInvalidRequest, "id must be a string or a number");
        }
        bool notification = req.is_object() && !req.contains("id");
        if (!req.is_object() || req.value("jsonrpc", json()) != "2.0" || !req.contains("method") ||
            !req["method"].is_string())
            return error_response(id, kInvalidRequest,
                                  "expected {\"jsonrpc\": \"2.0\", \"method\": string, "
                                  "\"params\"?: object or array, \"id\"?: string or number}");
        json params = req.value("params", json::object());
        if (!params.is_object() && !params.is_array())
            return error_response(id, kInvalidRequest, "params must be an object or an array");
        json resp;
        try {
            resp = json{{"jsonrpc", "2.0"}, {"result", call(req["method"], params)}, {"id", id}};
        } catch (const RpcError& e) {
            resp = error_response(id, e.code, e.message);
        } catch (const std::exception& e) {
            resp = error_response(id, kInternalError, e.what());
        }
        return notification ? json() : resp;
    }

    std::string handle(const std::string& line) {
        json req = json::parse(line, nullptr, false);
        if (req.is_discarded())
            return error_response(nullptr, kParseError, "parse error: expected one JSON value")
                .dump();
        if (req.is_array()) {
            if (req.empty())
                return error_response(nullptr, kInvalidRequest, "empty batch").dump();
            json out = json::array();
            for (const json& r : req) {
                json a = one(r);
                if (!a.is_null())
                    out.push_back(std::move(a));
            }
            return out.empty() ? "" : out.dump();
        }
        json a = one(req);
        return a.is_null() ? "" : a.dump();
    }

    // serve_client() reads what is there; false when the client is gone.
    bool serve_client(Client& c) {
        char buf[4096];
        ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            return true;
        if (n <= 0)
            return false;
        c.in.append(buf, static_cast<size_t>(n));
        size_t nl;
        while ((nl = c.in.find('\n')) != std::string::npos) {
            std::string line = c.in.substr(0, nl);
            c.in.erase(0, nl + 1);
            if (line.find_first_not_of(" \t\r") == std::string::npos)
                continue;
            std::string out = handle(line);
            if (!out.empty() && !write_all(c.fd, out + "\n"))
                return false;
        }
        if (c.in.size() > kMaxLine) {
            write_all(c.fd, error_response(nullptr, kInvalidRequest,
                                           fmt::format("request longer than {} bytes", kMaxLine))
                                    .dump() +
                                "\n");
            return false;
        }
        return true;
    }

    void loop() {
        std::vector<Client> clients;
        for (;;) {
            std::vector<pollfd> fds{{wake[0], POLLIN, 0}, {listen_fd, POLLIN, 0}};
            for (const Client& c : clients)
                fds.push_back({c.fd, POLLIN, 0});
            if (::poll(fds.data(), fds.size(), -1) < 0) {
                if (errno == EINTR)
                    continue;
                break;
            }
            if (fds[0].revents != 0)
                break;  // stop
            for (size_t i = clients.size(); i-- > 0;)
                if (fds[i + 2].revents != 0 && !serve_client(clients[i])) {
                    ::close(clients[i].fd);
                    clients.erase(clients.begin() + static_cast<long>(i));
                }
            if (fds[1].revents & POLLIN) {
                int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
                if (fd >= 0) {
                    if (clients.size() >= kMaxClients)
                        ::close(fd);  // busy: the client sees the connection close
                    else
                        clients.push_back(Client{fd, {}});
                }
            }
        }
        for (Client& c : clients)
            ::close(c.fd);
    }

    void bind_socket() {
        sockaddr_un a = address_of(path);
        struct stat st {};
        if (::lstat(path.c_str(), &st) == 0) {
            if (!S_ISSOCK(st.st_mode))
                throw InputError(fmt::format(
                    "control socket '{}': the path exists and is not a socket (expected a new "
                    "path; nothing was removed)",
                    path));
            // A socket file: in use if something answers, else stale.
            int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            bool live =
                probe >= 0 && ::connect(probe, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
            if (probe >= 0)
                ::close(probe);
            if (live)
                throw InputError(fmt::format(
                    "control socket '{}': another server is listening there (expected a free "
                    "path)",
                    path));
            ::unlink(path.c_str());
        }
        listen_fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (listen_fd < 0)
            throw InputError(fmt::format("control socket '{}': {}", path, std::strerror(errno)));
        // Owner-only from the start: on Linux the file bind() creates takes
        // the socket inode's mode (less the umask), so set it before bind.
        ::fchmod(listen_fd, S_IRUSR | S_IWUSR);
        if (::bind(listen_fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
            ::chmod(path.c_str(), S_IRUSR | S_IWUSR) != 0 || ::listen(listen_fd, 16) != 0) {
            std::string why = std::strerror(errno);
            ::close(listen_fd);
            throw InputError(
                fmt::format("control socket '{}': cannot listen there ({})", path, why));
        }
    }
};

ControlServer::ControlServer(Runtime& rt, std::string path)
    : impl_(std::make_unique<Impl>(rt, std::move(path))) {
    impl_->bind_socket();
    if (::pipe2(impl_->wake, O_CLOEXEC) != 0) {
        ::close(impl_->listen_fd);
        ::unlink(impl_->path.c_str());
        throw std::runtime_error("control socket: pipe2 failed");
    }
    impl_->thread = std::thread([i = impl_.get()] { i->loop(); });
}

ControlServer::~ControlServer() {
    char b = 1;
    (void)!::write(impl_->wake[1], &b, 1);
    impl_->thread.join();
    ::close(impl_->listen_fd);
    ::close(impl_->wake[0]);
    ::close(impl_->wake[1]);
    ::unlink(impl_->path.c_str());
}

const std::string& ControlServer::path() const {
    return impl_->path;
}

std::string ControlServer::handle(const std::string& line) {
    return impl_->handle(line);
}

std::string control_call(const std::string& path, const std::string& request,
                         std::chrono::milliseconds timeout) {
    sockaddr_un a = address_of(path);
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        std::string why = std::strerror(errno);
        if (fd >= 0)
            ::close(fd);
        throw InputError(fmt::format(
            "control socket '{}': cannot connect ({}): expected a running `schedkit run "
            "--control {}`",
            path, why, path));
    }
    std::string out;
    bool ok = write_all(fd, request + "\n");
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (ok && out.find('\n') == std::string::npos) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        pollfd p{fd, POLLIN, 0};
        if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
            ok = false;
            break;
        }
        char buf[4096];
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) {
            ok = false;
            break;
        }
        out.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    if (!ok)
        throw InputError(
            fmt::format("control socket '{}': no answer (expected one line within {} "
                        "ms)",
                        path, timeout.count()));
    return out.substr(0, out.find('\n'));
}

}  // namespace schedkit
