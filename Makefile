# eifkit: GNU make + pkg-config. `make demo` and `make check` install
# missing Debian/Ubuntu packages first (scripts/deps.sh).

VERSION     := 0.1.0
PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
LIBEXECDIR  ?= $(PREFIX)/libexec
DOCDIR      ?= $(PREFIX)/share/doc/eifkit

CC          ?= cc
PKG_CONFIG  ?= pkg-config
PKGS        := libcrypto zlib libdeflate libarchive p11-kit-1
B           ?= build

WARN        := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes \
               -Wmissing-prototypes -Wno-unused-parameter
CFLAGS      ?= -O2 -g
# The build folder is mapped away (debug info, __FILE__), so the same
# sources give the same eifkit bytes in any folder (make repro-bin).
ALL_CFLAGS   = -std=c11 $(WARN) $(CPPFLAGS) $(CFLAGS) $(EXTRA_CFLAGS) \
               -ffile-prefix-map=$(CURDIR)=. \
               -DEIFKIT_VERSION='"$(VERSION)"' \
               -Isrc/lib $(shell $(PKG_CONFIG) --cflags $(PKGS))
LDLIBS_ALL   = $(shell $(PKG_CONFIG) --libs $(PKGS)) -lpthread

LIB_SRC     := $(sort $(wildcard src/lib/*.c src/lib/*/*.c))
LIB_HDR     := $(sort $(wildcard src/lib/*.h src/lib/*/*.h))
CLI_SRC     := $(sort $(wildcard src/cli/*.c))
UNIT_SRC    := $(sort $(wildcard tests/unit/test_*.c))
LIB_OBJ     := $(LIB_SRC:%.c=$(B)/%.o)
CLI_OBJ     := $(CLI_SRC:%.c=$(B)/%.o)
UNIT_BIN    := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)

.PHONY: all check-lib deps deps-check deps-demo deps-bench deps-build demo check unit unit-asan e2e fuzz fuzz-run fuzz-replay \
        bench install clean
.DELETE_ON_ERROR:

all: $(B)/eifkit

$(B)/%.o: %.c $(LIB_HDR) $(wildcard src/cli/*.h tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Isrc/cli -c -o $@ $<

$(B)/libeifkit.a: $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(B)/eifkit: $(CLI_OBJ) $(B)/libeifkit.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(CLI_OBJ) $(B)/libeifkit.a $(LDLIBS_ALL)

$(B)/tests/%: $(B)/tests/unit/%.o $(B)/libeifkit.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(B)/libeifkit.a $(LDLIBS_ALL)

deps deps-check:
	@sh scripts/deps.sh check
deps-demo deps-bench deps-build:
	@sh scripts/deps.sh $(@:deps-%=%)

# Unit tests: one binary per module, each prints "N passed, N failed".
unit: $(UNIT_BIN)
	@sh scripts/run-unit.sh $(UNIT_BIN)

# The same unit tests under AddressSanitizer + UndefinedBehaviorSanitizer.
unit-asan:
	@$(MAKE) --no-print-directory B=build-asan CC=clang \
	  CFLAGS='-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all' \
	  LDFLAGS='-fsanitize=address,undefined' unit

e2e: all
	@EIFKIT=$(CURDIR)/$(B)/eifkit sh scripts/run-pytest.sh tests/e2e

# libFuzzer target for the EIF reader; fuzz-replay runs the stored corpus.
FUZZ_FLAGS = -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
$(B)/fuzz/fuzz_eif_read: tests/fuzz/fuzz_eif_read.c $(LIB_SRC) $(LIB_HDR)
	@mkdir -p $(dir $@)
	clang -std=c11 $(FUZZ_FLAGS) -Isrc/lib $(shell $(PKG_CONFIG) --cflags $(PKGS)) \
	  -DEIFKIT_VERSION='"$(VERSION)"' -o $@ $< $(LIB_SRC) $(LDLIBS_ALL)
fuzz: $(B)/fuzz/fuzz_eif_read
fuzz-replay: $(B)/fuzz/fuzz_eif_read
	@sh scripts/fuzz-replay.sh $< tests/fuzz/corpus/eif_read
fuzz-run: $(B)/fuzz/fuzz_eif_read
	@mkdir -p $(B)/fuzz/new
	$< -max_total_time=$${FUZZ_SECONDS:-600} -max_len=65536 $(B)/fuzz/new tests/fuzz/corpus/eif_read

# gcc builds the binary and unit tests, clang the sanitizer ones: both
# must be free of warnings.
# Module makefiles (mk/*.mk) add their own checks to CHECK_TARGETS.
CHECK_TARGETS := all check-lib unit unit-asan e2e fuzz-replay
check: deps-check
	@$(MAKE) --no-print-directory EXTRA_CFLAGS=-Werror $(CHECK_TARGETS)

# The library's layers and its calls (scripts/check-lib.sh says which).
check-lib: $(B)/libeifkit.a
	@sh scripts/check-lib.sh $(B)/libeifkit.a

demo: deps-demo
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory demo-run

bench: deps-bench
	@$(MAKE) --no-print-directory all
	@sh bench/run.sh $(B)/eifkit

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DOCDIR)
	install -m 0755 $(B)/eifkit $(DESTDIR)$(BINDIR)/eifkit
	install -m 0644 README.md docs/*.md $(DESTDIR)$(DOCDIR)/

clean:
	rm -rf build build-asan

# Module makefiles (the enclave init, ...): each adds its own targets.
-include $(sort $(wildcard mk/*.mk))
