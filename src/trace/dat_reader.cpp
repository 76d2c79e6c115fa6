// trace-cmd's binary trace.dat, read through libtracecmd: each scheduler
// record is printed by libtraceevent (with trace-cmd's plugins, as `trace-cmd
// report` prints it) and decoded by the same field parser as the text forms.
#include <fmt/format.h>
#include <sched.h>
#include <traceevent/event-parse.h>
#include <traceevent/trace-seq.h>

#include <cstring>
#include <memory>

#include "schedkit/error.h"
#include "trace/sched_event.h"

// trace-cmd.h includes tracefs.h, which does not compile as C++ (an int
// passed as an enum), so the few libtracecmd functions used here are
// declared as trace-cmd.h declares them.
extern "C" {
struct tracecmd_input;
tracecmd_input* tracecmd_open(const char* file, int flags);
void tracecmd_close(tracecmd_input* handle);
tep_handle* tracecmd_get_tep(tracecmd_input* handle);
int tracecmd_iterate_events(tracecmd_input* handle, cpu_set_t* cpus, int cpu_size,
                            int (*callback)(tracecmd_input* handle, tep_record*, int, void*),
                            void* callback_data);
void tracecmd_set_loglevel(tep_loglevel level);
}

namespace schedkit::trace {

namespace {

struct DatState {
    tep_handle* tep = nullptr;
    TraceBuilder* builder = nullptr;
    const std::string* name = nullptr;
    std::string error;  // the first bad record
    trace_seq seq{};
};

int on_record(tracecmd_input*, tep_record* record, int cpu, void* data) {
    auto* st = static_cast<DatState*>(data);
    tep_event* event = tep_find_event_by_record(st->tep, record);
    if (event == nullptr || event->system == nullptr || event->name == nullptr ||
        std::strcmp(event->system, "sched") != 0)
        return 0;
    SchedEvent e;
    if (!event_kind(event->name, e.kind))
        return 0;
    e.ts_ns = record->ts;
    e.cpu = cpu;
    e.cur_pid = tep_data_pid(st->tep, record);
    const char* comm = tep_data_comm_from_pid(st->tep, e.cur_pid);
    e.cur_comm = comm != nullptr ? comm : "";
    trace_seq_reset(&st->seq);
    tep_print_event(st->tep, &st->seq, record, "%s", TEP_PRINT_INFO);
    trace_seq_terminate(&st->seq);
    std::string_view fields(st->seq.buffer, st->seq.len);
    std::string expected;
    if (e.cpu < 0 || e.cpu >= 65536 || !parse_event_fields(trim(fields), e, expected)) {
        st->error = fmt::format(
            "{}: record at offset {} (CPU {}): cannot read {} '{}'; expected {}", *st->name,
            record->offset, cpu, event->name, trim(fields).substr(0, 120), expected);
        return 1;  // stop iterating
    }
    st->builder->add(e);
    return 0;
}

}  // namespace

// read_trace_dat() reads the trace.dat at `path` through libtracecmd;
// `name` names it in errors.
Trace read_trace_dat(const std::string& path, const std::string& name) {
    tracecmd_set_loglevel(TEP_LOG_NONE);
    std::unique_ptr<tracecmd_input, void (*)(tracecmd_input*)> in(tracecmd_open(path.c_str(), 0),
                                                                  tracecmd_close);
    if (!in)
        throw InputError(
            fmt::format("{}: libtracecmd cannot open it; expected a trace.dat "
                        "written by trace-cmd record or extract",
                        name));
    Trace out;
    out.name = name;
    out.form = TraceForm::TraceCmdDat;
    TraceBuilder builder(out);
    DatState st;
    st.tep = tracecmd_get_tep(in.get());
    st.builder = &builder;
    st.name = &name;
    trace_seq_init(&st.seq);
    int rc = tracecmd_iterate_events(in.get(), nullptr, 0, on_record, &st);
    trace_seq_destroy(&st.seq);
    if (!st.error.empty())
        throw InputError(st.error);
    if (rc < 0)
        throw InputError(
            fmt::format("{}: libtracecmd cannot read its events; expected a complete "
                        "trace.dat",
                        name));
    if (out.events == 0)
        throw InputError(
            fmt::format("{}: no scheduler event in this trace.dat; expected "
                        "sched_switch and sched_wakeup records (trace-cmd record -e "
                        "sched)",
                        name));
    builder.finish();
    out.num_cpus = std::max(out.num_cpus, tep_get_cpus(st.tep));
    return out;
}

}  // namespace schedkit::trace
