// Binding workers to CPUs for real (Runtime::Config::bind): a worker that
// cannot bind to its CPU makes Runtime::start() throw, naming the CPU and
// the error; the Runtime API checks its CPUs against the affinity mask and
// defaults to it. Each test runs in a forked child: it changes the
// process's affinity or cpuset cgroup.
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

#include "schedkit/error.h"
#include "schedkit/runtime.h"

using namespace schedkit;

namespace {

CpuSet allowed_now() {
    cpu_set_t m;
    CPU_ZERO(&m);
    CpuSet s;
    if (sched_getaffinity(0, sizeof m, &m) == 0)
        for (int c = 0; c < CPU_SETSIZE; ++c)
            if (CPU_ISSET(c, &m))
                s.set(c);
    return s;
}

bool write_file(const std::string& path, const std::string& text) {
    int fd = ::open(path.c_str(), O_WRONLY);
    if (fd < 0)
        return false;
    bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ::close(fd);
    return ok;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::string s;
    std::getline(in, s);
    return s;
}

// CpusetCgroup is a new cpuset cgroup (v1 or v2) holding only `cpu`, or
// why it cannot be made here (not root, no cpuset controller).
struct CpusetCgroup {
    std::string dir, why_not;
    explicit CpusetCgroup(int cpu) {
        if (geteuid() != 0) {
            why_not = "not root: cannot create a cpuset cgroup";
            return;
        }
        std::string base, mems;
        if (access("/sys/fs/cgroup/cpuset/cgroup.procs", W_OK) == 0) {
            base = "/sys/fs/cgroup/cpuset";  // cgroup v1
            mems = read_file(base + "/cpuset.mems");
        } else if (read_file("/sys/fs/cgroup/cgroup.controllers").find("cpuset") !=
                   std::string::npos) {
            base = "/sys/fs/cgroup";  // cgroup v2: the child needs the controller
            (void)write_file(base + "/cgroup.subtree_control", "+cpuset");
        } else {
            why_not = "no writable cpuset cgroup (v1 or v2) on this machine";
            return;
        }
        dir = base + "/schedkit-bind-test-" + std::to_string(getpid());
        if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
            why_not = "mkdir " + dir + ": " + std::strerror(errno);
            dir.clear();
            return;
        }
        if (!write_file(dir + "/cpuset.cpus", std::to_string(cpu)) ||
            (!mems.empty() && !write_file(dir + "/cpuset.mems", mems))) {
            why_not = "cannot configure " + dir + ": " + std::strerror(errno);
            return;
        }
    }
    ~CpusetCgroup() {
        if (!dir.empty())
            rmdir(dir.c_str());
    }
    // enter() moves the calling process into the cgroup.
    bool enter() const { return write_file(dir + "/cgroup.procs", std::to_string(getpid())); }
};

// in_child() runs `body` in a forked child and returns its exit status and
// what it wrote to `out` (a pipe).
template <typename Body>
std::pair<int, std::string> in_child(Body body) {
    int fds[2];
    if (pipe(fds) != 0)
        return {-1, "pipe failed"};
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        int status = body(fds[1]);
        _exit(status);
    }
    close(fds[1]);
    std::string out;
    char buf[512];
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof buf)) > 0)
        out.append(buf, static_cast<size_t>(n));
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), out};
}

void say(int fd, const std::string& s) {
    (void)!write(fd, s.data(), s.size());
}

}  // namespace

TEST(RuntimeBind, WorkerThatCannotBindMakesStartThrowNamingTheCpu) {
    CpuSet allowed = allowed_now();
    if (allowed.count() < 2)
        GTEST_SKIP() << "needs two CPUs in the affinity mask (has " << allowed.to_string() << ")";
    int a = allowed.first(), b = allowed.next(a);
    CpusetCgroup cg(a);
    if (!cg.why_not.empty())
        GTEST_SKIP() << cg.why_not;
    auto [status, out] = in_child([&](int fd) {
        Runtime::Config cfg;
        cfg.cpus.set(a);
        cfg.cpus.set(b);
        cfg.workers = 2;
        cfg.bind = true;
        Runtime rt(cfg);                           // checked here: both CPUs are allowed so far
        auto before = rt.spawn([] { return 7; });  // handed over before start()
        if (!cg.enter()) {
            say(fd, std::string("cannot enter the cgroup: ") + std::strerror(errno));
            return 4;
        }
        // The kernel now refuses CPU b to this process: worker 1's bind fails.
        try {
            rt.start();
            say(fd, "start() did not throw");
            return 3;
        } catch (const InputError& e) {
            say(fd, e.what());
        }
        if (rt.running())
            return 5;
        // Nothing lost: stop() runs what was handed over, unbound.
        StopReport r = rt.stop();
        say(fd,
            "\ncompleted=" + std::to_string(r.completed) + " spawned=" + std::to_string(r.spawned));
        return before.get() == 7 ? 0 : 6;
    });
    ASSERT_EQ(status, 0) << out;
    std::string line = out.substr(0, out.find('\n'));
    std::string want =
        "cannot bind worker 1 to CPU " + std::to_string(b) + ": " + std::strerror(EINVAL);
    EXPECT_NE(line.find(want), std::string::npos) << line;
    EXPECT_NE(line.find("cpus '"), std::string::npos) << line;
    EXPECT_NE(out.find("completed=1 spawned=1"), std::string::npos) << out;
}

TEST(RuntimeBind, ApiChecksCpusAgainstTheAffinityMaskAndDefaultsToIt) {
    CpuSet allowed = allowed_now();
    if (allowed.count() < 2)
        GTEST_SKIP() << "needs two CPUs in the affinity mask (has " << allowed.to_string() << ")";
    int a = allowed.first(), b = allowed.next(a);
    auto [status, out] = in_child([&](int fd) {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(a, &one);
        if (sched_setaffinity(0, sizeof one, &one) != 0)
            return 4;
        // As under `taskset -c a`: CPU b is refused at construction.
        Runtime::Config cfg;
        cfg.cpus.set(a);
        cfg.cpus.set(b);
        cfg.bind = true;
        try {
            Runtime rt(cfg);
            say(fd, "CPU outside the mask accepted");
            return 3;
        } catch (const InputError& e) {
            say(fd, std::string(e.what()) + "\n");
        }
        // By default: one worker, on CPU a (without the mask it was one per
        // machine CPU, bound to CPUs outside it).
        Runtime::Config def;
        def.bind = true;
        Runtime rt(def);
        rt.start();
        int cpu = rt.block_on([]() -> Job<int> { co_return sched_getcpu(); }());
        size_t workers = rt.stats().workers.size();
        rt.stop();
        say(fd, "workers=" + std::to_string(workers) + " cpu=" + std::to_string(cpu));
        return 0;
    });
    ASSERT_EQ(status, 0) << out;
    EXPECT_NE(out.find("CPU " + std::to_string(b) + " is not one this process may run on"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("workers=1 cpu=" + std::to_string(a)), std::string::npos) << out;
}
