// error.h: the one error type for bad input at schedkit's edges.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace schedkit {

// InputError reports bad input: a spec, a trace, a topology, a CPU list or a
// command-line flag. what() is one line that names the input, the place
// (file:line:column when there is one) and what was expected. The CLI prints it
// and exits with status 2. Broken internal invariants are never InputErrors;
// they assert.
class InputError : public std::runtime_error {
  public:
    explicit InputError(const std::string& message) : std::runtime_error(message) {}
};

// one_line() makes text safe to print as one line: newlines, tabs and other
// control bytes become \n, \t, \xNN (bad input is echoed in messages, and
// may hold anything).
inline std::string one_line(std::string_view text) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(text.size());
    for (char ch : text) {
        auto c = static_cast<unsigned char>(ch);
        if (c == '\n')
            out += "\\n";
        else if (c == '\r')
            out += "\\r";
        else if (c == '\t')
            out += "\\t";
        else if (c < 0x20 || c == 0x7f)
            out += {'\\', 'x', kHex[c >> 4], kHex[c & 15]};
        else
            out += ch;
    }
    return out;
}

}  // namespace schedkit
