// spec_support.h: the spec parser's errors, as the workload tests check them.
#pragma once

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

#include "schedkit/error.h"
#include "schedkit/workload.h"

namespace schedkit::test {

// error_of() is the InputError message parsing `yaml` (named t.yaml)
// produces, or a marker that makes the caller's comparison fail visibly.
inline std::string error_of(const std::string& yaml) {
    try {
        parse_workload(yaml, "t.yaml");
    } catch (const InputError& e) {
        return e.what();
    }
    return "<no error>";
}

// SpecError is a spec that must be refused at `where` ("line:column") with
// a message containing `fragment`.
struct SpecError {
    const char* yaml;
    const char* where;
    const char* fragment;
};

// expect_spec_errors() checks each case's message: one line,
// "t.yaml:WHERE: ...FRAGMENT...; expected ...".
inline void expect_spec_errors(std::initializer_list<SpecError> cases) {
    for (const SpecError& c : cases) {
        std::string msg = error_of(c.yaml);
        EXPECT_EQ(msg.rfind(std::string("t.yaml:") + c.where + ": ", 0), 0u) << msg;
        EXPECT_NE(msg.find(c.fragment), std::string::npos) << msg;
        EXPECT_NE(msg.find("; expected "), std::string::npos) << msg;
        EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    }
}

}  // namespace schedkit::test
