// refuse_start.cpp: a plug-in whose start() throws: the switch to it must be
// refused with its message, the previous policy restarted.
#include <schedkit/plugin.hpp>

#include <stdexcept>

namespace {

class RefuseStart final : public schedkit::plugin::Policy {
  public:
    explicit RefuseStart(const schedkit::plugin::Options&) {}
    void start(schedkit::plugin::Host&, uint64_t) override {
        throw std::runtime_error("refuse-start will not start today");
    }
    int select_cpu(schedkit::plugin::Host&, const sk_task& t, sk_place_reason) override {
        return t.cpu >= 0 ? t.cpu : 0;
    }
};

}  // namespace

SCHEDKIT_PLUGIN(RefuseStart, "refuse-start", "test: refuses to start", nullptr, 0, 0)
