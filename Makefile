# concbench: the only build system. `make help` lists the targets.

CC      ?= cc
BUILD   ?= build
OPT     ?= -O2
SAN     ?=
PKGS    := hwloc jansson libcurl libcrypto libmicrohttpd liburing
TPKGS   := criterion

# Libraries come from pkg-config; when one is missing, the targets below run
# `make deps` first and then call themselves again, so a fresh machine needs one command.
MISSING := $(shell for p in $(PKGS) $(TPKGS); do pkg-config --exists $$p || echo $$p; done)

# Includes name their folder ("lib/stats.h"), so every tie between rooms shows.
CPPFLAGS += -D_GNU_SOURCE -I.
CFLAGS   += -std=c11 $(OPT) -g -Wall -Wextra -Werror -pthread $(SAN) \
            $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS   += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm -pthread
LDFLAGS  += $(SAN)

# The commit the binary is built from (scripts/git-commit: the short hash, -dirty with
# uncommitted changes, the hash git archive wrote into .commit in a tarball, else unknown).
GIT_COMMIT := $(shell scripts/git-commit)
VERSION    := 0.1.0
BUILD_INFO := -DCONCBENCH_VERSION='"$(VERSION)"' -DCONCBENCH_GIT_COMMIT='"$(GIT_COMMIT)"' \
              -DCONCBENCH_CFLAGS='"$(strip $(OPT) $(SAN))"'

# The rooms (docs/architecture.md). The fuzz targets link the lists they need
# by name, so a file that moves moves for them too.
COMMON_SRCS   := $(wildcard lib/*.c)
WORKLOAD_SRCS := $(wildcard workloads/*.c)
RUNNER_SRCS   := $(wildcard runners/*.c)
# The fixture server's request parsing, which needs no libmicrohttpd (its fuzzer links it alone).
REQUEST_SRCS  := fixture/request.c
FIXTURE_SRCS  := $(wildcard fixture/*.c)
# The result-file loader and the claims it judges (its fuzzer links them alone).
LOADER_SRCS   := readers/resultfile.c readers/claims.c readers/tasksweep.c
READER_SRCS   := $(wildcard readers/*.c)
BENCH_SRCS    := $(filter-out bench/main.c bench/bare_primes.c bench/mpi_ranks.c,$(wildcard bench/*.c))
$(foreach f,$(REQUEST_SRCS) $(LOADER_SRCS),$(if $(wildcard $(f)),,$(error Makefile: $(f) is gone; fix the lists above)))

LIB_SRCS  := $(COMMON_SRCS) $(WORKLOAD_SRCS) $(RUNNER_SRCS) $(FIXTURE_SRCS) $(READER_SRCS) \
             $(BENCH_SRCS)
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
TEST_SRCS := $(wildcard tests/*.c)
TEST_OBJS := $(TEST_SRCS:%.c=$(BUILD)/obj/%.o)
BIN       := $(BUILD)/concbench
BARE      := $(BUILD)/bare-primes
TEST_BIN  := $(BUILD)/test-concbench

# The mpi strategy's ranks (bench/mpi_ranks.c, docs/mpi.md): a program of their
# own, so that concbench itself never links or initialises MPI. Built where
# Open MPI is (make deps installs it) and not under a sanitizer (Open MPI's
# own leaks and races are not ours); without it, mpi is listed as unavailable.
.DEFAULT_GOAL := all
HAVE_MPI := $(if $(SAN),,$(shell pkg-config --exists ompi-c 2>/dev/null && echo 1))
MPI_BIN  := $(if $(HAVE_MPI),$(BUILD)/concbench-mpi)
ifneq ($(HAVE_MPI),)
$(BUILD)/obj/runners/mpi.o: CPPFLAGS += -DHAVE_MPI
$(BUILD)/obj/bench/mpi_ranks.o: CPPFLAGS += $(shell pkg-config --cflags ompi-c)
$(MPI_BIN): $(BUILD)/obj/bench/mpi_ranks.o $(LIB_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs ompi-c) $(LDLIBS)
endif

# How the tests find the binary under test.
$(TEST_OBJS): CPPFLAGS += -DCONCBENCH_BIN='"$(abspath $(BIN))"' $(shell pkg-config --cflags $(TPKGS) 2>/dev/null)
$(BUILD)/obj/bench/machine.o: CPPFLAGS += $(BUILD_INFO)
$(BUILD)/obj/bench/result.o: CPPFLAGS += $(BUILD_INFO)
# machine.o bakes the commit in: rebuilt when the commit changes, not only when
# machine.c does. The stamp is rewritten only when its content differs.
$(BUILD)/obj/bench/machine.o: $(BUILD)/git-commit
$(BUILD)/git-commit: FORCE
	@mkdir -p $(dir $@)
	@echo '$(GIT_COMMIT)' | cmp -s - $@ || echo '$(GIT_COMMIT)' >$@
FORCE:

TEST_ARGS ?= --jobs 1

.PHONY: test-python
.PHONY: all test bench bench-quick clean deps bench-tools asan tsan format format-check help plot \
        valgrind fuzz workflow-lint

ifneq ($(strip $(MISSING)),)
all test bench bench-quick asan tsan valgrind fuzz:
	@echo "concbench: missing libraries ($(strip $(MISSING))); running make deps" >&2
	$(MAKE) deps
	$(MAKE) $@
else
all: $(BIN) $(BARE) $(MPI_BIN)

test: $(BIN) $(BARE) $(MPI_BIN) $(TEST_BIN) workflow-lint
	$(TEST_BIN) $(TEST_ARGS)
	$(MAKE) test-python

# The Python twins' own tests (py/tests): their checksums against the C
# workloads', the failure paths. Debian's python3, where make deps put NumPy.
PYTHON_TEST ?= $(shell test -x /usr/bin/python3 && echo /usr/bin/python3 || echo python3)
test-python: $(BIN)
	CONCBENCH_BIN=$(abspath $(BIN)) $(PYTHON_TEST) -m unittest discover -s py/tests -t py

# The default suite: every workload and strategy over the worker sweep; the
# result lands in results/<host>-<UTC time>.json and the summary is printed.
# It also traces the cells whose timelines tell the GIL's story (README: "See
# the lock") into TRACE, and draws them beside the other charts.
TRACE       ?= results/traces/bench-trace.json
TRACE_CELLS ?= primes/gil/2,primes/threads/2,mixed/gil/2

bench: $(BIN) $(MPI_BIN)
	@mkdir -p $(dir $(TRACE))
	$(BIN) run --trace $(TRACE) --trace-cells $(TRACE_CELLS) $(BENCH_ARGS)
	@scripts/plot --run-args $(BENCH_ARGS) || echo "make: no plots (make deps installs gnuplot-nox)" >&2
	@scripts/plot --trace $(TRACE) || echo "make: no timelines (make deps installs gnuplot-nox)" >&2

# The plots are drawn from what was measured even when a cell failed; the
# target's exit status is then the run's.
bench-quick: $(BIN) $(MPI_BIN)
	@echo "$(BIN) run --quick $(BENCH_ARGS)"; rc=0; $(BIN) run --quick $(BENCH_ARGS) || rc=$$?; \
	scripts/plot --run-args $(BENCH_ARGS) || echo "make: no plots (make deps installs gnuplot-nox)" >&2; \
	exit $$rc

asan:
	$(MAKE) BUILD=build-asan OPT=-O1 \
	  SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" test

# A quick run of every workload and strategy under valgrind's memcheck: no
# errors, no definite leaks (-s all: the compiled strategies; the py-* ones are
# an interpreter's memory, not ours). io_uring writes what memcheck cannot see, so the
# files workload uses its thread-pool backend here.
valgrind: $(BIN) $(MPI_BIN)
	valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
	  --show-leak-kinds=definite $(BIN) run --quick \
	  -w primes,mandelbrot,triad,sleep,mixed,files,http -s all -n 1,2 -r 1 --warmup 0 --quiet \
	  -p primes.limit=200000 -p mixed.limit=300000 -p triad.elements=262144 \
	  -p files.backend=threadpool -o $(BUILD)/valgrind-run.json
	@echo "valgrind: no errors, no definite leaks"

# The threaded tests (the GIL's behaviours, the runners, the event loop) built
# against a small stand-in for Criterion (tests/tsan/), which TSan can run.
SHIM_TEST_SRCS := tests/tsan/main.c tests/test_gil.c tests/test_runners.c tests/test_loop.c
SHIM_TEST_OBJS := $(SHIM_TEST_SRCS:%.c=$(BUILD)/obj/shim/%.o)

$(BUILD)/obj/shim/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) -Itests/tsan $(CPPFLAGS) -DCONCBENCH_BIN='"$(abspath $(BIN))"' $(CFLAGS) -MMD -MP \
	  -c -o $@ $<

$(BUILD)/tsan-tests: $(SHIM_TEST_OBJS) $(LIB_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Criterion cannot start under ThreadSanitizer (its inheritable arena fails to
# map), so the TSan build runs the binary itself through every strategy.
# -s all: the compiled strategies; the py-* ones run their tasks in an interpreter
# TSan does not see into (runners/python.c itself is single-threaded).
tsan:
	$(MAKE) BUILD=build-tsan OPT=-O1 SAN="-fsanitize=thread" build-tsan/concbench \
	  build-tsan/tsan-tests
	TSAN_OPTIONS="halt_on_error=1 exitcode=66" build-tsan/tsan-tests
	TSAN_OPTIONS="halt_on_error=1 exitcode=66" build-tsan/concbench run -w all -s all --quick -r 2 \
	  -n 1,2,4 -p triad.elements=262144 -p files.count=8 --quiet -o build-tsan/tsan-run.json
	@echo "tsan: no data races reported"

# libFuzzer: each target for FUZZ_SECONDS on a copy of its seeds (fuzz/corpus/)
# with its dictionary (fuzz/TARGET.dict), so new inputs, logs and crash
# reproducers stay in build-fuzz/.
fuzz:
	@command -v $(FUZZ_CC) >/dev/null 2>&1 || $(MAKE) deps
	$(MAKE) $(FUZZ_BINS)
	@for t in $(FUZZ_TARGETS); do \
	  rm -rf build-fuzz/corpus/$$t build-fuzz/crash-$$t; \
	  mkdir -p build-fuzz/corpus/$$t build-fuzz/crash-$$t; \
	  cp fuzz/corpus/$$t/* build-fuzz/corpus/$$t/; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS) s (log: build-fuzz/fuzz-$$t.log)"; \
	  if ! build-fuzz/fuzz-$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 -print_final_stats=1 \
	      -dict=fuzz/$$t.dict -artifact_prefix=build-fuzz/crash-$$t/ build-fuzz/corpus/$$t \
	      >build-fuzz/fuzz-$$t.log 2>&1; then \
	    tail -n 60 build-fuzz/fuzz-$$t.log; \
	    echo "fuzz: $$t failed; the input is in build-fuzz/crash-$$t/" >&2; exit 1; \
	  fi; \
	  grep -E '^(Done|stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb))' build-fuzz/fuzz-$$t.log; \
	  echo "fuzz: $$t: no crash, $$(ls build-fuzz/corpus/$$t | wc -l) inputs in its corpus"; \
	done

endif

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := resultfile request
FUZZ_BINS    := $(FUZZ_TARGETS:%=build-fuzz/fuzz-%)
FUZZ_CFLAGS  := -std=c11 -g -O1 -Wall -Wextra -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=undefined -fno-omit-frame-pointer \
                $(shell pkg-config --cflags $(PKGS) 2>/dev/null)

# Each target's sources: its harness, then the lists above that it needs.
FUZZ_resultfile_SRCS := fuzz/fuzz_resultfile.c $(LOADER_SRCS) lib/stats.c
FUZZ_resultfile_LIBS := $(shell pkg-config --libs jansson 2>/dev/null) -lm
FUZZ_request_SRCS    := fuzz/fuzz_request.c $(REQUEST_SRCS)
FUZZ_request_LIBS    := -lm
FUZZ_HDRS            := $(wildcard lib/*.h workloads/*.h runners/*.h fixture/*.h readers/*.h)

define FUZZ_RULE
build-fuzz/fuzz-$(1): $$(FUZZ_$(1)_SRCS) $$(FUZZ_HDRS)
	@mkdir -p build-fuzz
	$$(FUZZ_CC) $$(CPPFLAGS) $$(FUZZ_CFLAGS) -o $$@ $$(FUZZ_$(1)_SRCS) $$(FUZZ_$(1)_LIBS)
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call FUZZ_RULE,$(t))))

$(BIN): $(BUILD)/obj/bench/main.o $(LIB_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BARE): $(BUILD)/obj/bench/bare_primes.o
	$(CC) $(LDFLAGS) -o $@ $^ -lm

$(TEST_BIN): $(TEST_OBJS) $(LIB_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs $(TPKGS) 2>/dev/null) $(LDLIBS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

deps:
	scripts/install-deps $(PKGS) $(TPKGS)

# The GitHub workflows against the workflow schema, with action-validator
# (npm's @action-validator/cli, which make deps installs into build-tools/npm).
WORKFLOW_LINTER := build-tools/npm/node_modules/.bin/action-validator
workflow-lint:
	@[ -x $(WORKFLOW_LINTER) ] || $(MAKE) deps
	@for f in .github/workflows/*.yml; do \
	  $(WORKFLOW_LINTER) $$f || { echo "workflow-lint: $$f does not pass action-validator" >&2; exit 1; }; \
	done; echo "workflow-lint: .github/workflows/*.yml pass action-validator"

# SVG and PNG charts into results/plots/<name>/; RESULTS defaults to the newest
# results/*.json, and several files add the cross-machine charts.
plot:
	scripts/plot $(if $(RESULTS),$(RESULTS),--latest)

# wrk and fio, for scripts/bench-vs-wrk and scripts/bench-vs-fio.
bench-tools:
	BENCH_TOOLS=1 scripts/install-deps $(PKGS) $(TPKGS)

# Every C file in the tree (the build folders aside), so that a new folder or
# file cannot escape; format-check fails, listing them, where one is not
# formatted (CI runs it).
FORMAT_SRCS := $(shell find . \( -name .git -o -name 'build*' \) -prune -o -name '*.[ch]' -print)

format:
	clang-format -i $(FORMAT_SRCS)

format-check:
	@bad=0; for f in $(FORMAT_SRCS); do \
	  clang-format --dry-run -Werror $$f >/dev/null 2>&1 || { echo "format-check: $$f is not formatted (make format)"; bad=1; }; \
	done; \
	[ $$bad -eq 0 ] && echo "format-check: $(words $(FORMAT_SRCS)) C files formatted"

clean:
	rm -rf build build-asan build-tsan build-fuzz

help:
	@echo "make              build build/concbench and build/bare-primes"
	@echo "make bench        the default suite into results/, with its summary, and the"
	@echo "                  timelines of a few cells (TRACE, TRACE_CELLS)"
	@echo "make bench-quick  the same in well under a minute (smaller sizes)"
	@echo "make test         unit and integration tests (Criterion), and workflow-lint"
	@echo "make workflow-lint  .github/workflows/ against action-validator (npm, via make deps)"
	@echo "make test         unit and integration tests (Criterion, then make test-python)"
	@echo "make test-python  the Python twins' tests (py/tests, unittest)"
	@echo "make plot RESULTS=file.json   charts (gnuplot) into results/plots/<name>/"
	@echo "make asan|tsan    the tests under AddressSanitizer+UBSan / ThreadSanitizer"
	@echo "make valgrind     a quick run of everything under valgrind memcheck"
	@echo "make fuzz         libFuzzer on the result-file reader and the server's request"
	@echo "                  parsing, FUZZ_SECONDS (60) each; fails on a crash"
	@echo "make format       clang-format every C file; make format-check: fail if one is not"
	@echo "make deps         install missing libraries (Debian/Ubuntu)"
	@echo "make bench-tools  also wrk and fio, for scripts/bench-vs-wrk and bench-vs-fio"
	@echo "make clean        remove the build folders"
