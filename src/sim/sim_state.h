// sim_state.h: the simulator's per-task and per-CPU state.
#pragma once

#include <charconv>
#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "schedkit/policy.h"
#include "schedkit/task.h"
#include "schedkit/workload.h"

namespace schedkit::sim {

// SimTask is a Task plus the program it executes: its group's behavior,
// where it is in it, and the join bookkeeping of spawn steps.
struct SimTask {
    Task task;
    const GroupSpec* group = nullptr;
    uint32_t index = 0;
    size_t step = 0;
    int repeat_left = 1;
    uint64_t remaining_ns = 0;  // of the current run burst, including cache refill
    uint64_t demand_ns = 0;     // sampled run bursts so far (service demand)
    Rng rng;                    // this task's own draws (rng.h)
    uint64_t stream = 0;        // its seed, from which its children's derive
    uint64_t children = 0;      // tasks it has spawned so far
    int last_cpu = -1;          // CPU of its previous run, for migration cost
    SimTask* parent = nullptr;  // joins this task when non-null
    int pending_children = 0;
    bool waiting_join = false;
    // Critical path: the earliest virtual time this task could reach its
    // current step with unlimited CPUs, and the latest such end among the
    // children it joins.
    uint64_t path_ns = 0;
    uint64_t join_path_ns = 0;
    int32_t thread = -1;  // a lightweight thread: its index in the ThreadDriver
};

// task_name() is "<group>#<instance>", built by hand: fmt::format's parsing
// was 3% of a run that spawns many short tasks.
inline std::string task_name(const std::string& group, int instance) {
    char digits[16];
    char* end = std::to_chars(digits, digits + sizeof digits, instance).ptr;
    std::string name;
    name.reserve(group.size() + 1 + static_cast<size_t>(end - digits));
    name += group;
    name += '#';
    name.append(digits, end);
    return name;
}

// TaskTable holds the simulator's tasks at stable addresses (the core links
// them into its lists), in chunks of kChunk: finding task i reads a chunk
// pointer from a table small enough to stay cached, where std::deque (one
// SimTask per node) read one pointer per task, a cache miss of its own at
// 100,000 tasks. A slot whose task exited is released and handed to the
// next task created (acquire()), so the table holds as many slots as tasks
// were ever alive at once, not as many as the run created.
class TaskTable {
  public:
    // acquire() is a fresh SimTask in a free slot, else in a new one.
    SimTask& acquire() {
        if (!free_.empty()) {
            uint32_t slot = free_.back();
            free_.pop_back();
            SimTask& st = (*this)[slot];
            st.~SimTask();
            new (&st) SimTask();
            st.index = slot;
            return st;
        }
        if (size_ % kChunk == 0)
            chunks_.push_back(std::make_unique<SimTask[]>(kChunk));
        ++size_;
        SimTask& st = (*this)[size_ - 1];
        st.index = static_cast<uint32_t>(size_ - 1);
        return st;
    }
    // release() frees the slot of an exited task nothing refers to any more.
    void release(uint32_t slot) { free_.push_back(slot); }
    // size() counts slots, live or free (free ones hold an exited task).
    size_t size() const { return size_; }
    SimTask& operator[](size_t i) { return chunks_[i / kChunk][i % kChunk]; }
    const SimTask& operator[](size_t i) const { return chunks_[i / kChunk][i % kChunk]; }

  private:
    static constexpr size_t kChunk = 256;
    std::vector<std::unique_ptr<SimTask[]>> chunks_;
    std::vector<uint32_t> free_;
    size_t size_ = 0;
};

// PendingArrival is one of the spec's initial tasks before it arrives: its
// (scaled) time and its place in draw_arrivals() order, from which its
// group, instance and id follow. The task itself is created when it
// arrives, so memory follows the tasks alive, not all the run's; a
// lightweight thread's is created up front (`slot`), as the ThreadDriver
// needs every thread from the start.
struct PendingArrival {
    static constexpr uint32_t kNoSlot = UINT32_MAX;
    uint64_t at_ns;
    uint32_t ordinal;
    uint32_t slot = kNoSlot;
};

// CpuState is what the simulator knows of one CPU besides its run queue.
struct CpuState {
    SimTask* current = nullptr;
    uint64_t quantum_start_ns = 0;  // start of the current time slice
    uint64_t seg_start_ns = 0;      // start of the current run segment (trace slice)
    uint16_t gen = 0;               // invalidates a pending SliceEnd on preemption
    bool resched_pending = false;
    bool tick_armed = false;  // a Tick event of the current epoch is pending (NOHZ)
    bool eof = false;
    TaskId last_task = 0;  // for the context-switch cost
    // The current segment starts a run (a pick), after waiting run_wait_ns.
    bool run_start = false;
    uint64_t run_wait_ns = 0;
    // Frequency: the speed of the current run segment, read from the run
    // queue's freq_level when the segment starts. A governor's change takes
    // effect at the next segment, i.e. within one time slice.
    uint32_t seg_speed_pm = 1000;
    // Energy and sleep: busy time is priced per segment at its speed; idle
    // time splits into asleep (the policy put the CPU to sleep and it runs
    // nothing) and awake.
    double busy_energy_j = 0;
    uint64_t busy_ns = 0;  // run segments plus context-switch time
    bool asleep = false;   // sleeping and running nothing, since asleep_since_ns
    uint64_t asleep_since_ns = 0;
    std::vector<std::pair<uint64_t, uint64_t>> sleeps;  // closed asleep intervals
};

struct PendingSwitch {
    uint64_t at_ns;
    std::unique_ptr<Policy> next;
};

}  // namespace schedkit::sim
