// output_file.h: every file schedkit writes, written all or nothing.
#pragma once

#include <string>
#include <string_view>

namespace schedkit {

// OutputFile writes one output file (a trace, a report) so that a failure
// never leaves a partial file and never damages what the path names:
//
// - a regular file, or nothing yet: the data goes to a temporary file beside
//   the target (same directory, so the same file system), which is renamed
//   over the target by commit() only; an existing file stays untouched until
//   then, and an uncommitted OutputFile removes its temporary file;
// - a character device or a FIFO (/dev/null, /dev/stdout, a pipe): written
//   in place, never replaced by a regular file;
// - a symbolic link: the rules apply to what it points to, and the link
//   itself stays a link;
// - a directory, a block device, a socket, a dangling link or a missing or
//   unwritable directory: refused with an InputError.
//
// Every error is an InputError whose what() is one line naming `what` (the
// flag, e.g. "--trace") and the path. Not thread-safe; one writer per object.
class OutputFile {
  public:
    // check() refuses a destination that open would refuse, without creating
    // or touching anything: call it before long work so a bad path fails fast.
    static void check(const std::string& path, std::string_view what);

    // Opens the temporary file (or the device or FIFO, which may block until
    // a FIFO has a reader).
    OutputFile(std::string path, std::string what);
    OutputFile(const OutputFile&) = delete;
    OutputFile& operator=(const OutputFile&) = delete;
    ~OutputFile();

    // write() appends; it throws InputError when the write fails.
    void write(std::string_view data);
    // commit() makes the written data the file at path(); without it, the
    // destructor discards it.
    void commit();

    const std::string& path() const { return path_; }

  private:
    [[noreturn]] void fail(std::string_view doing, int err) const;

    std::string path_;    // as given, for messages
    std::string target_;  // what is written: path_, or where its links lead
    std::string what_;
    std::string tmp_;  // empty when writing in place
    int fd_ = -1;
    bool committed_ = false;
};

// write_output_file() writes `data` to `path` through an OutputFile.
void write_output_file(const std::string& path, std::string_view data, std::string_view what);

}  // namespace schedkit
