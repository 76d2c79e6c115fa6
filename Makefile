# The two commands of the quick start: `make run` and `make test`.
BUILD_DIR ?= build
MAKEFLAGS += --no-print-directory
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSCHEDKIT_WERROR=ON

.PHONY: all deps configure build run test sanitize sanitize-thread sanitize-address stress stress-address fuzz format clean

all: build

deps:
	@scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD_DIR) $(CMAKE_FLAGS) >/dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

# run: the main job on its built-in default.
run: build
	@scripts/main-job.sh $(BUILD_DIR)/bin/schedkit

test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

# sanitize: the whole test suite under ThreadSanitizer (build-tsan), then
# under AddressSanitizer and UndefinedBehaviorSanitizer in one build
# (build-asan; they combine at little extra cost, TSan combines with
# neither). Benchmarks and examples are left out: no test runs them, and
# `make build` already compiles them. Any report fails the test it came from.
TSAN_BUILD_DIR ?= build-tsan
ASAN_BUILD_DIR ?= build-asan
SANITIZE_CMAKE_FLAGS ?= $(CMAKE_FLAGS) -DSCHEDKIT_BUILD_BENCH=OFF -DSCHEDKIT_BUILD_EXAMPLES=OFF
TSAN_OPTIONS ?= suppressions=$(CURDIR)/tests/tsan.supp second_deadlock_stack=1
ASAN_OPTIONS ?= detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1
UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=1

sanitize: sanitize-thread sanitize-address

sanitize-thread: deps
	@cmake -S . -B $(TSAN_BUILD_DIR) $(SANITIZE_CMAKE_FLAGS) -DSCHEDKIT_SANITIZE=thread >/dev/null
	@cmake --build $(TSAN_BUILD_DIR) -j $(JOBS)
	@cd $(TSAN_BUILD_DIR) && TSAN_OPTIONS="$(TSAN_OPTIONS)" ctest --output-on-failure -j $(JOBS)

sanitize-address: deps
	@cmake -S . -B $(ASAN_BUILD_DIR) $(SANITIZE_CMAKE_FLAGS) -DSCHEDKIT_SANITIZE=address,undefined >/dev/null
	@cmake --build $(ASAN_BUILD_DIR) -j $(JOBS)
	@cd $(ASAN_BUILD_DIR) && ASAN_OPTIONS="$(ASAN_OPTIONS)" UBSAN_OPTIONS="$(UBSAN_OPTIONS)" \
		ctest --output-on-failure -j $(JOBS)

# stress: the five failure stories' stress tests (ctest label `stress`) at
# the issue's full counts (SCHEDKIT_STRESS=full: 10^6 tasks under 10^3
# switches, thousands of switches, ...), under TSan, then ASan + UBSan, in
# the same build directories as `make sanitize`. See docs/stress.md.
STRESS_TARGETS = stress_sim_test stress_runtime_test
stress: deps
	@cmake -S . -B $(TSAN_BUILD_DIR) $(SANITIZE_CMAKE_FLAGS) -DSCHEDKIT_SANITIZE=thread >/dev/null
	@cmake --build $(TSAN_BUILD_DIR) -j $(JOBS) --target $(STRESS_TARGETS)
	@cd $(TSAN_BUILD_DIR) && SCHEDKIT_STRESS=full TSAN_OPTIONS="$(TSAN_OPTIONS)" \
		ctest --output-on-failure -L stress
	@cmake -S . -B $(ASAN_BUILD_DIR) $(SANITIZE_CMAKE_FLAGS) -DSCHEDKIT_SANITIZE=address,undefined >/dev/null
	@cmake --build $(ASAN_BUILD_DIR) -j $(JOBS) --target $(STRESS_TARGETS)
	@cd $(ASAN_BUILD_DIR) && SCHEDKIT_STRESS=full ASAN_OPTIONS="$(ASAN_OPTIONS)" \
		UBSAN_OPTIONS="$(UBSAN_OPTIONS)" ctest --output-on-failure -L stress

# stress-address: the stress tests at `make test`'s reduced counts under
# ASan + UBSan (build-asan, only the stress targets and the library): the
# pass CI adds to the whole suite's TSan pass.
stress-address: deps
	@cmake -S . -B $(ASAN_BUILD_DIR) $(SANITIZE_CMAKE_FLAGS) -DSCHEDKIT_SANITIZE=address,undefined >/dev/null
	@cmake --build $(ASAN_BUILD_DIR) -j $(JOBS) --target $(STRESS_TARGETS)
	@cd $(ASAN_BUILD_DIR) && ASAN_OPTIONS="$(ASAN_OPTIONS)" UBSAN_OPTIONS="$(UBSAN_OPTIONS)" \
		ctest --output-on-failure -j $(JOBS) -L stress

format:
	@find include src tools tests bench examples -name '*.h' -o -name '*.cpp' | xargs clang-format -i

# fuzz: the libFuzzer targets (clang, ASan+UBSan, in build-fuzz), each for
# FUZZ_SECONDS (default 20); FUZZ_RUNS=1000000 for a count. docs/fuzzing.md.
fuzz: deps
	@scripts/fuzz.sh

clean:
	@rm -rf $(BUILD_DIR) $(TSAN_BUILD_DIR) $(ASAN_BUILD_DIR) build-fuzz
