// rng.h: the random streams of a run: xoshiro256** seeded through splitmix64.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <limits>

namespace schedkit {

// splitmix64_next() advances `state` by the golden-ratio increment and
// returns its mixed value (Steele, Lea and Flood's SplitMix64): the
// recommended way to seed xoshiro from one 64-bit number.
inline uint64_t splitmix64_next(uint64_t& state) {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

// Rng is xoshiro256** (Blackman and Vigna): 256 bits of state, period
// 2^256 - 1, fast, and the same numbers on every platform and standard
// library. A UniformRandomBitGenerator. Each task of a run has its own
// (stream_for()), so what a task draws does not depend on the order in
// which the scheduler ran the tasks.
class Rng {
  public:
    using result_type = uint64_t;

    // Rng(seed) fills the state from splitmix64(seed); never all zero.
    explicit Rng(uint64_t seed = 1) {
        uint64_t sm = seed;
        for (uint64_t& w : s_)
            w = splitmix64_next(sm);
    }
    // from_state() starts from a given state (reference test vectors); it
    // must not be all zero.
    static Rng from_state(uint64_t a, uint64_t b, uint64_t c, uint64_t d) {
        Rng r;
        r.s_[0] = a;
        r.s_[1] = b;
        r.s_[2] = c;
        r.s_[3] = d;
        return r;
    }

    static constexpr result_type min() { return 0; }
    static constexpr result_type max() { return std::numeric_limits<result_type>::max(); }

    result_type operator()() {
        uint64_t result = rotl(s_[1] * 5, 7) * 9;
        uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }

  private:
    static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    uint64_t s_[4];
};

// stream_seed() derives the seed of one stream of a run from the run's seed
// and a path of numbers (group, task index, ...): each step mixes the next
// number in with splitmix64, so nearby paths give unrelated streams.
inline uint64_t stream_seed(uint64_t run_seed, uint64_t a, uint64_t b = 0, uint64_t c = 0) {
    uint64_t state = run_seed;
    uint64_t h = splitmix64_next(state);
    for (uint64_t part : {a, b, c}) {
        state = h ^ part;
        h = splitmix64_next(state);
    }
    return h;
}

// Stream kinds, the first number of a stream_seed() path: the arrival times
// of a group, an initial task's draws, a spawned task's draws.
inline constexpr uint64_t kArrivalStream = 1;
inline constexpr uint64_t kTaskStream = 2;
inline constexpr uint64_t kChildStream = 3;
inline constexpr uint64_t kThreadStream = 4;  // the simulator's lightweight threads

// task_stream() seeds the draws of the `index`-th initial task of group
// `group`; child_stream() those of the `nth` task (from 0) a task with
// stream `parent` spawns. Neither depends on when the scheduler runs what,
// so under every policy the same task draws the same durations.
inline uint64_t task_stream(uint64_t run_seed, int group, uint64_t index) {
    return stream_seed(run_seed, kTaskStream, static_cast<uint64_t>(group), index);
}
inline uint64_t child_stream(uint64_t parent, uint64_t nth) {
    return stream_seed(parent, kChildStream, nth);
}

}  // namespace schedkit
