#include "progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <cstdio>

namespace schedkit::cli {

namespace {

using Clock = std::chrono::steady_clock;

// A terminal line appears once a command has run this long.
constexpr auto kTtyDelay = std::chrono::seconds(2);
constexpr auto kTtyRedraw = std::chrono::milliseconds(200);
constexpr auto kFileRedraw = std::chrono::seconds(1);

std::atomic<bool> g_stop{false};
std::atomic<int> g_signal{0};
static_assert(std::atomic<bool>::is_always_lock_free && std::atomic<int>::is_always_lock_free,
              "the signal handler needs lock-free atomics");

extern "C" void on_signal(int sig) {
    g_signal.store(sig, std::memory_order_relaxed);
    g_stop.store(true, std::memory_order_relaxed);
}

std::string count(double v) {
    if (v >= 1e9)
        return fmt::format("{:.2f}G", v / 1e9);
    if (v >= 1e6)
        return fmt::format("{:.2f}M", v / 1e6);
    if (v >= 1e3)
        return fmt::format("{:.1f}k", v / 1e3);
    return fmt::format("{:.0f}", v);
}

std::string virtual_time(uint64_t ns) {
    double us = static_cast<double>(ns) / 1e3;
    if (us < 1e3)
        return fmt::format("{:.0f} us", us);
    if (us < 1e6)
        return fmt::format("{:.3f} ms", us / 1e3);
    return fmt::format("{:.3f} s", us / 1e6);
}

std::string eta(double seconds) {
    if (seconds < 60)
        return fmt::format("{:.0f} s", seconds);
    if (seconds < 3600)
        return fmt::format("{:.0f} min {:.0f} s", std::floor(seconds / 60),
                           std::fmod(seconds, 60.0));
    return fmt::format("{:.1f} h", seconds / 3600);
}

}  // namespace

void ProgressFlags::add_to(CLI::App& cmd) {
    auto* p = cmd.add_flag("--progress", force,
                           "Show a progress line on stderr (default: when stderr is a terminal "
                           "and the command runs over 2 s)");
    cmd.add_flag("--quiet", quiet, "Never show the progress line")->excludes(p);
}

Progress::Progress(const ProgressFlags& flags, std::string what)
    : enabled_(!flags.quiet && (flags.force || isatty(STDERR_FILENO) != 0)),
      tty_(isatty(STDERR_FILENO) != 0),
      force_(flags.force),
      what_(std::move(what)),
      start_(Clock::now()),
      last_draw_(start_) {}

Progress::~Progress() {
    finish();
}

void Progress::stage(size_t index, size_t count, const std::string& name) {
    std::lock_guard lock(mu_);
    events_before_ += last_events_;
    last_events_ = 0;
    stage_index_ = index;
    stage_count_ = count == 0 ? 1 : count;
    stage_name_ = name;
}

std::function<void(const SimProgress&)> Progress::callback() {
    if (!enabled_)
        return {};
    return [this](const SimProgress& p) { update(p); };
}

void Progress::update(const SimProgress& p) {
    if (!enabled_)
        return;
    auto now = Clock::now();
    std::lock_guard lock(mu_);
    last_events_ = p.events;
    if (!force_ && now - start_ < kTtyDelay)
        return;
    if (drawn_ && now - last_draw_ < (tty_ ? kTtyRedraw : kFileRedraw))
        return;
    draw(p, now);
}

void Progress::draw(const SimProgress& p, Clock::time_point now) {
    double elapsed = std::chrono::duration<double>(now - start_).count();
    double fraction =
        (static_cast<double>(stage_index_) + p.fraction) / static_cast<double>(stage_count_);
    auto events = static_cast<double>(events_before_ + p.events);
    std::string line = what_;
    if (stage_count_ > 1)
        line += fmt::format(" [{}/{} {}]", stage_index_ + 1, stage_count_, stage_name_);
    line += fmt::format(": {} events, virtual {}, {:.1f}%, {} events/s", count(events),
                        virtual_time(p.now_ns), 100.0 * fraction,
                        count(elapsed > 0 ? events / elapsed : 0));
    if (fraction > 0.001)
        line += ", ETA " + eta(elapsed * (1 - fraction) / fraction);
    if (tty_)
        fmt::print(stderr, "\r{}\x1b[K", line);
    else
        fmt::print(stderr, "{}\n", line);
    std::fflush(stderr);
    last_draw_ = now;
    drawn_ = true;
}

void Progress::finish() {
    std::lock_guard lock(mu_);
    if (drawn_ && tty_) {
        fmt::print(stderr, "\r\x1b[K");
        std::fflush(stderr);
    }
    drawn_ = false;
}

void install_interrupt_handlers() {
    struct sigaction sa = {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND;  // a second signal kills as usual
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
}

const std::atomic<bool>* interrupt_flag() {
    return &g_stop;
}

bool interrupted() {
    return g_stop.load(std::memory_order_relaxed);
}

int interrupted_status() {
    int sig = g_signal.load(std::memory_order_relaxed);
    return 128 + (sig != 0 ? sig : SIGINT);
}

int interrupted_run(const char* what, double makespan_us) {
    fmt::print(stderr,
               "schedkit: interrupted at virtual time {:.3f} ms; the summary covers the {} so "
               "far (\"interrupted\": true)\n",
               makespan_us / 1e3, what);
    return interrupted_status();
}

}  // namespace schedkit::cli
