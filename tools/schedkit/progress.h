// progress.h: a progress line on stderr for long commands, and the
// interruption (SIGINT, SIGTERM) that ends them with a partial summary.
#pragma once

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include "schedkit/sim.h"

namespace schedkit::cli {

// ProgressFlags are --progress and --quiet. By default the line shows when
// stderr is a terminal and the command has run for 2 s.
struct ProgressFlags {
    bool force = false;  // --progress: show it at once, even into a file
    bool quiet = false;  // --quiet: never show it
    void add_to(CLI::App& cmd);
};

// Progress draws one status line on stderr: events, virtual time, % of the
// expected work, event rate and ETA. On a terminal the line is redrawn in
// place (and erased by finish()); into a file (--progress) it is a new line
// at most every second. Thread-safe: a sweep's workers may all report.
class Progress {
  public:
    Progress(const ProgressFlags& flags, std::string what);
    ~Progress();
    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;

    // stage() says run `index` of `count` (0-based) starts, named `name`:
    // the fraction shown is over all of them. A single run needs no stage.
    void stage(size_t index, size_t count, const std::string& name);
    // update() is a SimConfig::progress callback for the current stage.
    void update(const SimProgress& p);
    // callback() wraps update() for SimConfig::progress (empty when the line
    // can never show, so the simulator skips the estimate).
    std::function<void(const SimProgress&)> callback();
    // finish() erases a terminal line; the destructor calls it.
    void finish();

  private:
    void draw(const SimProgress& p, std::chrono::steady_clock::time_point now);

    bool enabled_ = false;
    bool tty_ = false;
    bool force_ = false;
    std::string what_;
    std::mutex mu_;  // guards the fields below
    std::string stage_name_;
    size_t stage_index_ = 0, stage_count_ = 1;
    uint64_t events_before_ = 0;  // events of finished stages
    uint64_t last_events_ = 0;
    std::chrono::steady_clock::time_point start_, last_draw_;
    bool drawn_ = false;  // a terminal line is on screen
};

// install_interrupt_handlers() makes SIGINT and SIGTERM set interrupt_flag()
// instead of killing the process; a second signal kills it as usual.
void install_interrupt_handlers();
// interrupt_flag() is what SimConfig::stop points at.
const std::atomic<bool>* interrupt_flag();
bool interrupted();
// interrupted_status() is the exit status of an interrupted command: 128 +
// the signal number (130 for SIGINT, 143 for SIGTERM), as a shell reports.
int interrupted_status();
// interrupted_run() says on stderr where an interrupted simulation of
// `what` ("run", "replay") stopped in virtual time and returns
// interrupted_status().
int interrupted_run(const char* what, double makespan_us);

}  // namespace schedkit::cli
