#include "schedkit/cpuset.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <set>

#include "schedkit/error.h"

using schedkit::CpuSet;
using schedkit::InputError;

TEST(CpuSet, ParsesListSyntax) {
    CpuSet s = CpuSet::parse("0-3,8,10-11");
    EXPECT_EQ(s.to_vector(), (std::vector<int>{0, 1, 2, 3, 8, 10, 11}));
    EXPECT_EQ(s.count(), 7);
    EXPECT_EQ(s.first(), 0);
    EXPECT_EQ(s.last(), 11);
    EXPECT_EQ(s.to_string(), "0-3,8,10-11");
}

TEST(CpuSet, PrintsMaximalRanges) {
    CpuSet s = CpuSet::parse("3,1,2,0,64,65,200");
    EXPECT_EQ(s.to_string(), "0-3,64-65,200");
    EXPECT_EQ(CpuSet{}.to_string(), "");
    EXPECT_TRUE(CpuSet::parse("").empty());
    EXPECT_EQ(CpuSet::parse("0-2\n").to_string(), "0-2");
}

TEST(CpuSet, SetAlgebra) {
    CpuSet a = CpuSet::parse("0-7"), b = CpuSet::parse("4-11");
    EXPECT_EQ((a | b).to_string(), "0-11");
    EXPECT_EQ((a & b).to_string(), "4-7");
    EXPECT_EQ((a - b).to_string(), "0-3");
    EXPECT_TRUE(a.intersects(b));
    EXPECT_FALSE(CpuSet::parse("0-3").intersects(CpuSet::parse("4-200")));
    EXPECT_TRUE(CpuSet::parse("1-2").is_subset_of(a));
    EXPECT_FALSE(b.is_subset_of(a));
    EXPECT_EQ((a - a), CpuSet{});  // difference trims to a canonical empty set
}

void expect_rejected(const char* text, const char* fragment) {
    try {
        CpuSet::parse(text, "--cpus");
        ADD_FAILURE() << "accepted '" << text << "'";
    } catch (const InputError& e) {
        std::string msg = e.what();
        EXPECT_NE(msg.find("--cpus"), std::string::npos) << msg;
        EXPECT_NE(msg.find(fragment), std::string::npos) << msg;
    }
}

TEST(CpuSet, RejectsMalformedLists) {
    expect_rejected("0-", "column 3: expected a CPU number");
    expect_rejected("a", "column 1: expected a CPU number");
    expect_rejected("1,,2", "column 3");
    expect_rejected("3-1", "range end 1 below start 3");
    expect_rejected("0-3,", "trailing ','");
    expect_rejected("0;1", "unexpected ';'");
    expect_rejected("-1", "column 1");
    expect_rejected("99999999", "CPU number above");
}

RC_GTEST_PROP(CpuSetProperty, PrintParseRoundTrips, (const std::set<uint16_t>& cpus)) {
    CpuSet s;
    for (auto c : cpus)
        s.set(c % 2048);
    CpuSet back = CpuSet::parse(s.to_string());
    RC_ASSERT(back == s);
    std::set<int> expect;
    for (auto c : cpus)
        expect.insert(c % 2048);
    RC_ASSERT(back.count() == static_cast<int>(expect.size()));
    RC_ASSERT(back.to_vector() == std::vector<int>(expect.begin(), expect.end()));
}

RC_GTEST_PROP(CpuSetProperty, AlgebraMatchesStdSet,
              (const std::set<uint8_t>& xs, const std::set<uint8_t>& ys)) {
    CpuSet a, b;
    for (auto x : xs)
        a.set(x);
    for (auto y : ys)
        b.set(y);
    std::vector<int> uni, inter, diff;
    for (int c = 0; c < 256; ++c) {
        bool in_a = xs.count(static_cast<uint8_t>(c)) > 0,
             in_b = ys.count(static_cast<uint8_t>(c)) > 0;
        if (in_a || in_b)
            uni.push_back(c);
        if (in_a && in_b)
            inter.push_back(c);
        if (in_a && !in_b)
            diff.push_back(c);
    }
    RC_ASSERT((a | b).to_vector() == uni);
    RC_ASSERT((a & b).to_vector() == inter);
    RC_ASSERT((a - b).to_vector() == diff);
    RC_ASSERT(a.intersects(b) == !inter.empty());
}
