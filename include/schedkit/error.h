// error.h: the one error type for bad input at schedkit's edges.
#pragma once

#include <stdexcept>
#include <string>

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

}  // namespace schedkit
