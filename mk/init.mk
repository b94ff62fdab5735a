# mk/init.mk: the enclave init (init/), `eifkit run`'s tests and the
# run demo. Included by the top Makefile.
#
#   make init         init-x86_64 and init-aarch64 in $(B)/libexec/eifkit/
#   make check-init   builds them twice in other folders and compares,
#                     then boots test EIFs under QEMU (tests/e2e/test_init*,
#                     test_run*): see docs/eifkit-run.md
#   make demo-run     an EIF of Debian's busybox-static and kernel with
#                     eifkit's init, run under QEMU, and its PCRs
#
# The init is static and built with musl (Debian's musl-tools; for aarch64
# musl-dev:arm64, whose aarch64-linux-musl-gcc wraps gcc-aarch64-linux-gnu):
# the same toolchain gives the same bytes, in any folder, at any time.
# Those bytes are measured into PCR1, so the compilers are not chosen by
# what happens to be installed: init/toolchain.sh installs these ones.

INIT_ARCHES     := x86_64 aarch64
INIT_CC_x86_64  ?= x86_64-linux-musl-gcc
INIT_CC_aarch64 ?= aarch64-linux-musl-gcc
INIT_SRC        := init/init.c init/config.c init/exec.c init/heartbeat.c \
                   init/mounts.c init/msg.c
INIT_HDR        := init/init.h init/heartbeat.h
INIT_OUT        := $(B)/libexec/eifkit
INIT_BINS       := $(INIT_ARCHES:%=$(INIT_OUT)/init-%)
HBTEST_BINS     := $(INIT_ARCHES:%=$(B)/init/test_heartbeat-%)
HOST_ARCH       := $(shell uname -m)

# No build paths, build ids or timestamps reach the output: sources are
# named relative to the top folder (and any absolute one is mapped away),
# --build-id=none, -s strips the symbols; nothing reads the clock.
INIT_CFLAGS     := -std=c11 -Os -Wall -Wextra -Wshadow -Wformat=2 \
                   -Wstrict-prototypes -Wmissing-prototypes \
                   -ffunction-sections -fdata-sections \
                   -fno-asynchronous-unwind-tables -fno-ident \
                   -static -no-pie -s -Wl,--gc-sections -Wl,--build-id=none
INIT_PREFIX_MAP  = -ffile-prefix-map=$(CURDIR)/=
# Of the flags make check passes, only -Werror: nothing else may change
# the bytes.
INIT_WERROR      = $(filter -Werror,$(EXTRA_CFLAGS))

.PHONY: init init-repro check-init kernels demo-run install-init
CHECK_TARGETS += check-init

# `make` builds this machine's init too (build's default --init).
ifneq ($(filter $(HOST_ARCH),$(INIT_ARCHES)),)
all: $(INIT_OUT)/init-$(HOST_ARCH)
endif
install: install-init

init: $(INIT_BINS)

# Installs an arch's compiler (for aarch64 also dpkg's arm64
# architecture) only when it is missing. Never a file: always runs.
init-toolchain-%:
	@command -v $(INIT_CC_$*) >/dev/null 2>&1 || sh init/toolchain.sh $*

$(INIT_OUT)/init-%: $(INIT_SRC) $(INIT_HDR) mk/init.mk | init-toolchain-%
	@mkdir -p $(dir $@)
	$(INIT_CC_$*) $(INIT_CFLAGS) $(INIT_WERROR) $(INIT_PREFIX_MAP) -o $@ $(INIT_SRC)

$(B)/init/test_heartbeat-%: init/test_heartbeat.c init/heartbeat.c init/heartbeat.h mk/init.mk | init-toolchain-%
	@mkdir -p $(dir $@)
	$(INIT_CC_$*) $(INIT_CFLAGS) $(INIT_WERROR) $(INIT_PREFIX_MAP) -o $@ \
	  init/test_heartbeat.c init/heartbeat.c

# Build each init again in two other folders (other names, other depths,
# another umask and time zone) and compare the bytes.
init-repro: $(INIT_BINS)
	@$(foreach a,$(INIT_ARCHES),sh init/check-repro.sh $(INIT_OUT)/init-$(a) \
	  $(B)/init-repro/$(a) "$(INIT_CC_$(a))" "$(INIT_CFLAGS)" $(INIT_SRC) &&) true

kernels:
	@sh scripts/fetch-kernel.sh $(B)/kernels

# EIFKIT_BOOT=1: the tests that boot EIFs under QEMU run (and fail when
# something they need is missing) instead of being skipped.
check-init: init-repro $(HBTEST_BINS) $(B)/eifkit kernels
	@EIFKIT=$(CURDIR)/$(B)/eifkit EIFKIT_BOOT=1 EIFKIT_BUILD=$(CURDIR)/$(B) \
	  sh scripts/run-pytest.sh tests/e2e/test_init_build.py \
	  tests/e2e/test_init_boot.py tests/e2e/test_boot_image.py tests/e2e/test_run.py \
	  tests/e2e/test_kernel.py

demo-run: $(INIT_BINS) $(B)/eifkit kernels
	@sh scripts/demo-run.sh $(B)

install-init: $(INIT_BINS)
	install -d $(DESTDIR)$(LIBEXECDIR)/eifkit
	$(foreach a,$(INIT_ARCHES),install -m 0755 $(INIT_OUT)/init-$(a) \
	  $(DESTDIR)$(LIBEXECDIR)/eifkit/init-$(a) &&) true
