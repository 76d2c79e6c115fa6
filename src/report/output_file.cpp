// output_file.cpp: OutputFile, all-or-nothing writes that never replace a
// device, a FIFO or a link with a regular file (see output_file.h).
#include "schedkit/output_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "schedkit/error.h"

namespace schedkit {

namespace {

enum class Kind { Missing, Regular, InPlace };

struct Destination {
    Kind kind = Kind::Missing;
    std::string target;  // the path written or renamed over (links resolved)
    mode_t mode = 0;     // an existing regular file's permission bits
};

[[noreturn]] void refuse(std::string_view what, const std::string& path, std::string_view why) {
    throw InputError(fmt::format("{} '{}': {}", what, path, why));
}

std::string parent_of(const std::string& path) {
    std::string dir = std::filesystem::path(path).parent_path().string();
    return dir.empty() ? "." : dir;
}

void check_directory(std::string_view what, const std::string& path, const std::string& target) {
    std::string dir = parent_of(target);
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        refuse(what, path, fmt::format("directory '{}' does not exist", dir));
    if (::access(dir.c_str(), W_OK | X_OK) != 0)
        refuse(what, path,
               fmt::format("cannot create files in '{}' (expected a writable directory)", dir));
}

// classify() decides how `path` is written, or refuses it.
Destination classify(const std::string& path, std::string_view what) {
    if (path.empty())
        refuse(what, path, "expected a file path");
    Destination d;
    d.target = path;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        int err = errno;
        if (err != ENOENT)
            refuse(what, path, std::strerror(err));
        check_directory(what, path, path);
        return d;
    }
    if (S_ISLNK(st.st_mode)) {
        char buf[PATH_MAX];
        if (::realpath(path.c_str(), buf) == nullptr)
            refuse(what, path, "a symbolic link to nothing (expected a link to a file)");
        d.target = buf;
        if (::stat(d.target.c_str(), &st) != 0)
            refuse(what, path, std::strerror(errno));
    }
    if (S_ISDIR(st.st_mode))
        refuse(what, path, "is a directory (expected a file path)");
    if (S_ISBLK(st.st_mode))
        refuse(what, path, "is a block device (expected a file, a character device or a FIFO)");
    if (S_ISSOCK(st.st_mode))
        refuse(what, path, "is a socket (expected a file, a character device or a FIFO)");
    if (::access(d.target.c_str(), W_OK) != 0)
        refuse(what, path, "not writable (permission denied)");
    if (S_ISREG(st.st_mode)) {
        check_directory(what, path, d.target);
        d.kind = Kind::Regular;
        d.mode = st.st_mode & 07777;
        return d;
    }
    if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)) {
        d.kind = Kind::InPlace;
        return d;
    }
    refuse(what, path, "not a file, a character device or a FIFO");
}

}  // namespace

void OutputFile::check(const std::string& path, std::string_view what) {
    classify(path, what);
}

OutputFile::OutputFile(std::string path, std::string what)
    : path_(std::move(path)), what_(std::move(what)) {
    Destination d = classify(path_, what_);
    target_ = d.target;
    if (d.kind == Kind::InPlace) {
        do
            fd_ = ::open(target_.c_str(), O_WRONLY | O_NOCTTY | O_CLOEXEC);
        while (fd_ < 0 && errno == EINTR);
        if (fd_ < 0)
            fail("cannot open", errno);
        return;
    }
    // A fresh name per object: two writers of one path never share a
    // temporary file, and O_EXCL never opens someone else's.
    static std::atomic<unsigned> counter{0};
    std::filesystem::path t(target_);
    for (int attempt = 0; fd_ < 0; ++attempt) {
        tmp_ = (t.parent_path() / fmt::format(".{}.{}-{}.tmp", t.filename().string(), ::getpid(),
                                              counter.fetch_add(1)))
                   .string();
        fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0666);
        if (fd_ < 0 && (errno != EEXIST || attempt > 100)) {
            int err = errno;
            tmp_.clear();
            fail("cannot create a temporary file beside it", err);
        }
    }
    if (d.kind == Kind::Regular)
        (void)::fchmod(fd_, d.mode);  // keep the replaced file's permissions
}

OutputFile::~OutputFile() {
    if (fd_ >= 0)
        ::close(fd_);
    if (!committed_ && !tmp_.empty())
        ::unlink(tmp_.c_str());
}

void OutputFile::write(std::string_view data) {
    if (fd_ < 0)
        throw InputError(fmt::format("{} '{}': written after commit", what_, path_));
    while (!data.empty()) {
        ssize_t n = ::write(fd_, data.data(), data.size());
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            fail("cannot write", n < 0 ? errno : EIO);
        data.remove_prefix(static_cast<size_t>(n));
    }
}

void OutputFile::commit() {
    int fd = fd_;
    fd_ = -1;
    if (fd >= 0 && ::close(fd) != 0 && errno != EINTR)
        fail("cannot write", errno);
    if (!tmp_.empty() && ::rename(tmp_.c_str(), target_.c_str()) != 0)
        fail("cannot rename the new file into place", errno);
    committed_ = true;
}

void OutputFile::fail(std::string_view doing, int err) const {
    throw InputError(fmt::format("{} '{}': {}: {}", what_, path_, doing, std::strerror(err)));
}

void write_output_file(const std::string& path, std::string_view data, std::string_view what) {
    OutputFile f(path, std::string(what));
    f.write(data);
    f.commit();
}

}  // namespace schedkit
