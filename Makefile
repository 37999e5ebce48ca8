# Thin wrapper over meson + ninja with the conventional entry points.
#   make            build (build/)
#   make demo       install what is missing, build, show the sandbox at work
#   make check      the whole test suite (unit, integration as root and as an
#                   unprivileged user, escape), ending with prove's summary
#   make check-unit | check-integration | check-escape
#   make lint | fuzz | bench | bench-srt | bench-podman | install | clean

BUILD ?= build
MESON ?= meson
PREFIX ?= /usr/local
DESTDIR ?=

.PHONY: all build demo deps check check-unit check-integration check-escape check-slow check-asan lint fuzz bench bench-srt bench-podman \
	install clean

all: build

$(BUILD)/build.ninja:
	$(MESON) setup $(BUILD) --prefix=$(PREFIX)

build: $(BUILD)/build.ninja
	ninja -C $(BUILD)

deps:
	@./scripts/deps.sh

demo: deps
	@$(MAKE) --no-print-directory build
	@./scripts/demo.sh $(BUILD)/src/cli/hutch

check: build
	@./tests/run-suites.sh $(BUILD) all

check-unit: build
	@./tests/run-suites.sh $(BUILD) unit

check-integration: build
	@./tests/run-suites.sh $(BUILD) integration

check-escape: build
	@./tests/run-suites.sh $(BUILD) escape

# Minutes each: the Debian package build and the cgroup v2 run in User-mode Linux.
check-slow: build
	@HUTCH_SLOW_TESTS=1 HUTCH_TEST_NO_USER=1 HUTCH=$(BUILD)/src/cli/hutch \
		prove --timer tests/integration/install.t tests/integration/limits-cgroup2.t

# Unit and integration suites built with AddressSanitizer and UBSan; any report fails.
check-asan:
	@[ -f build-asan/build.ninja ] || $(MESON) setup build-asan -Db_sanitize=address,undefined
	@ninja -C build-asan
	@UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ./tests/run-suites.sh build-asan unit
	@rm -rf build-asan/san && mkdir -p build-asan/san && chmod 1777 build-asan/san && \
	 UBSAN_OPTIONS=halt_on_error=1:log_path=$$PWD/build-asan/san/ubsan \
	 ASAN_OPTIONS=log_path=$$PWD/build-asan/san/asan \
	 HUTCH_TEST_NO_USER=1 ./tests/run-suites.sh build-asan integration && \
	 [ -z "$$(ls build-asan/san)" ] || { cat build-asan/san/* 2>/dev/null | head -50; exit 1; }

lint:
	@./scripts/lint.sh

fuzz:
	@./tests/fuzz/run.sh $${FUZZ_SECONDS:-60}

bench: build
	@./bench/startup.sh

# Against Anthropic's sandbox-runtime, installed by hand from npm (not in check or CI).
bench-srt: build
	@./bench/srt.sh $(BUILD)

# Against podman (the Docker stand-in; skipped when podman is missing; not in check or CI).
bench-podman: build
	@./bench/podman.sh $(BUILD)

install: build
	$(MESON) configure $(BUILD) --prefix=$(PREFIX)
	DESTDIR=$(DESTDIR) meson install -C $(BUILD)
	@grep -s . $(BUILD)/apparmor/install-note.txt || true

clean:
	rm -rf $(BUILD)
