#include "schedkit/cpuset.h"

#include <fmt/format.h>

#include <bit>
#include <charconv>
#include <limits>

#include "schedkit/error.h"

namespace schedkit {

namespace {

[[noreturn]] void fail(std::string_view what, std::string_view text, size_t col,
                       std::string_view expected) {
    throw InputError(fmt::format("{}: column {}: {} in '{}' (expected a CPU list like 0-3,8,10-11)",
                                 what, col + 1, expected, text));
}

// read_number() parses a decimal at text[pos]; advances pos.
int read_number(std::string_view what, std::string_view text, size_t& pos) {
    size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9')
        ++pos;
    if (start == pos)
        fail(what, text, start, "expected a CPU number");
    long long v = 0;
    auto [ptr, ec] = std::from_chars(text.data() + start, text.data() + pos, v);
    (void)ptr;
    if (ec != std::errc{} || v > kMaxCpuId)
        fail(what, text, start, fmt::format("CPU number above {}", kMaxCpuId));
    return static_cast<int>(v);
}

}  // namespace

CpuSet CpuSet::parse(std::string_view text, std::string_view what) {
    CpuSet set;
    size_t pos = 0;
    // Surrounding whitespace and one trailing newline (as in /sys files) are fine.
    while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
        text.remove_suffix(1);
    while (pos < text.size() && text[pos] == ' ')
        ++pos;
    if (pos == text.size())
        return set;  // empty list is the empty set
    for (;;) {
        int lo = read_number(what, text, pos);
        int hi = lo;
        if (pos < text.size() && text[pos] == '-') {
            ++pos;
            size_t hi_col = pos;
            hi = read_number(what, text, pos);
            if (hi < lo)
                fail(what, text, hi_col, fmt::format("range end {} below start {}", hi, lo));
        }
        for (int c = lo; c <= hi; ++c)
            set.set(c);
        if (pos == text.size())
            break;
        if (text[pos] != ',')
            fail(what, text, pos, fmt::format("unexpected '{}'", text[pos]));
        ++pos;
        if (pos == text.size())
            fail(what, text, pos, "trailing ','");
    }
    return set;
}

CpuSet CpuSet::range(int first, int last) {
    CpuSet s;
    for (int c = first; c <= last; ++c)
        s.set(c);
    return s;
}

CpuSet CpuSet::single(int cpu) {
    CpuSet s;
    s.set(cpu);
    return s;
}

void CpuSet::set(int cpu) {
    size_t w = static_cast<size_t>(cpu) / 64;
    if (w >= words_.size())
        words_.resize(w + 1, 0);
    words_[w] |= uint64_t{1} << (cpu % 64);
}

void CpuSet::reset(int cpu) {
    size_t w = static_cast<size_t>(cpu) / 64;
    if (w >= words_.size())
        return;
    words_[w] &= ~(uint64_t{1} << (cpu % 64));
    trim();
}

bool CpuSet::test(int cpu) const {
    if (cpu < 0)
        return false;
    size_t w = static_cast<size_t>(cpu) / 64;
    return w < words_.size() && (words_[w] >> (cpu % 64) & 1);
}

int CpuSet::count() const {
    int n = 0;
    for (uint64_t w : words_)
        n += std::popcount(w);
    return n;
}

bool CpuSet::empty() const {
    return words_.empty();
}

int CpuSet::first() const {
    return next(-1);
}

int CpuSet::next(int cpu) const {
    int c = cpu + 1;
    size_t w = static_cast<size_t>(c) / 64;
    if (w >= words_.size())
        return -1;
    uint64_t bits = words_[w] & (~uint64_t{0} << (c % 64));
    while (true) {
        if (bits)
            return static_cast<int>(w * 64 + std::countr_zero(bits));
        if (++w >= words_.size())
            return -1;
        bits = words_[w];
    }
}

int CpuSet::last() const {
    if (words_.empty())
        return -1;
    size_t w = words_.size() - 1;
    return static_cast<int>(w * 64 + 63 - std::countl_zero(words_[w]));
}

bool CpuSet::intersects(const CpuSet& o) const {
    size_t n = std::min(words_.size(), o.words_.size());
    for (size_t i = 0; i < n; ++i)
        if (words_[i] & o.words_[i])
            return true;
    return false;
}

bool CpuSet::is_subset_of(const CpuSet& o) const {
    for (size_t i = 0; i < words_.size(); ++i) {
        uint64_t other = i < o.words_.size() ? o.words_[i] : 0;
        if (words_[i] & ~other)
            return false;
    }
    return true;
}

CpuSet& CpuSet::operator|=(const CpuSet& o) {
    if (o.words_.size() > words_.size())
        words_.resize(o.words_.size(), 0);
    for (size_t i = 0; i < o.words_.size(); ++i)
        words_[i] |= o.words_[i];
    return *this;
}

CpuSet& CpuSet::operator&=(const CpuSet& o) {
    for (size_t i = 0; i < words_.size(); ++i)
        words_[i] &= i < o.words_.size() ? o.words_[i] : 0;
    trim();
    return *this;
}

CpuSet& CpuSet::operator-=(const CpuSet& o) {
    size_t n = std::min(words_.size(), o.words_.size());
    for (size_t i = 0; i < n; ++i)
        words_[i] &= ~o.words_[i];
    trim();
    return *this;
}

bool operator==(const CpuSet& a, const CpuSet& b) {
    return a.words_ == b.words_;
}

bool operator<(const CpuSet& a, const CpuSet& b) {
    return a.words_ < b.words_;  // canonical: no trailing zero words
}

void CpuSet::trim() {
    while (!words_.empty() && words_.back() == 0)
        words_.pop_back();
}

std::string CpuSet::to_string() const {
    std::string out;
    int c = first();
    while (c >= 0) {
        int end = c;
        while (test(end + 1))
            ++end;
        if (!out.empty())
            out += ',';
        out += end == c ? fmt::format("{}", c) : fmt::format("{}-{}", c, end);
        c = next(end);
    }
    return out;
}

std::vector<int> CpuSet::to_vector() const {
    std::vector<int> v;
    for_each([&](int c) { v.push_back(c); });
    return v;
}

}  // namespace schedkit
