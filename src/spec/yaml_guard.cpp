// yaml_guard.cpp: the YAML shape check that runs before yaml-cpp builds a
// tree (see yaml_guard.h).
#include "spec/yaml_guard.h"

#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/parser.h>

#include <sstream>
#include <vector>

#include "schedkit/budget.h"
#include "schedkit/error.h"
#include "schedkit/workload.h"

namespace schedkit::detail {

namespace {

// ShapeCounter counts nodes as the parser reports them. A node with an
// anchor records its subtree's size, so an alias to it counts that much.
class ShapeCounter final : public YAML::EventHandler {
  public:
    ShapeCounter(const std::string& path, uint64_t max_nodes) : path_(path), max_(max_nodes) {}

    void OnDocumentStart(const YAML::Mark& m) override {
        if (++documents_ > 1)
            fail(m, "a second YAML document (after '---'); expected one document per spec file");
    }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark& m, YAML::anchor_t a) override { leaf(m, a); }
    void OnAlias(const YAML::Mark& m, YAML::anchor_t a) override {
        add(m, a < sizes_.size() ? sizes_[a] : 1, true);
    }
    void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t a,
                  const std::string&) override {
        leaf(m, a);
    }
    void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t a,
                         YAML::EmitterStyle::value) override {
        open(m, a);
    }
    void OnSequenceEnd() override { close(); }
    void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t a,
                    YAML::EmitterStyle::value) override {
        open(m, a);
    }
    void OnMapEnd() override { close(); }

  private:
    struct Open {
        YAML::anchor_t anchor;
        uint64_t start;
    };

    void leaf(const YAML::Mark& m, YAML::anchor_t a) {
        add(m, 1, false);
        record(a, 1);
    }
    void open(const YAML::Mark& m, YAML::anchor_t a) {
        add(m, 1, false);
        open_.push_back({a, total_ - 1});
    }
    void close() {
        if (open_.empty())
            return;
        Open o = open_.back();
        open_.pop_back();
        record(o.anchor, total_ - o.start);
    }
    void record(YAML::anchor_t a, uint64_t size) {
        if (a == YAML::NullAnchor)
            return;
        if (a >= sizes_.size())
            sizes_.resize(a + 1, 1);
        sizes_[a] = size;
    }
    void add(const YAML::Mark& m, uint64_t n, bool alias) {
        total_ = n > max_ - std::min(total_, max_) ? max_ + 1 : total_ + n;
        if (total_ <= max_)
            return;
        fail(m,
             alias ? fmt::format("aliases expand the spec to more than {} YAML nodes", max_)
                   : fmt::format("the spec has more than {} YAML nodes", max_),
             true);
    }
    [[noreturn]] void fail(const YAML::Mark& m, std::string_view what, bool budget = false) const {
        std::string where = fmt::format("{}:{}:{}", path_, m.line < 0 ? 1 : m.line + 1,
                                        m.column < 0 ? 1 : m.column + 1);
        if (budget)
            budget_exceeded(fmt::format("{}: {} (one per {} bytes of the spec budget)", where, what,
                                        kSpecBytesPerNode),
                            "--max-spec-bytes", max_ * kSpecBytesPerNode);
        throw InputError(fmt::format("{}: {}", where, what));
    }

    const std::string& path_;
    uint64_t max_;
    uint64_t total_ = 0;
    int documents_ = 0;
    std::vector<Open> open_;
    std::vector<uint64_t> sizes_;  // by anchor id: the anchored subtree's node count
};

}  // namespace

void check_yaml_shape(std::string_view yaml, const std::string& path, uint64_t max_nodes) {
    std::istringstream in{std::string(yaml)};
    YAML::Parser parser(in);
    ShapeCounter counter(path, max_nodes);
    // Syntax errors are left to YAML::Load, which reports them the same way.
    try {
        while (parser.HandleNextDocument(counter)) {
        }
    } catch (const YAML::Exception&) {
    }
}

}  // namespace schedkit::detail
