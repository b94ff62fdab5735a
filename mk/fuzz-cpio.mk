# mk/fuzz-cpio.mk: the libFuzzer target for the cpio newc reader
# (src/lib/cpio_read.c) and the name escaping of eifkit ls, built and run
# like the EIF reader's in the top Makefile. Included by the top Makefile.
#
#   make fuzz               also builds $(B)/fuzz/fuzz_cpio_read
#   make fuzz-replay-cpio   every input of tests/fuzz/corpus/cpio_read once
#   make fuzz-run-cpio      fuzz for FUZZ_SECONDS (600); new inputs go to
#                           $(B)/fuzz/new-cpio, not into the stored corpus

.PHONY: fuzz-replay-cpio fuzz-run-cpio
CHECK_TARGETS += fuzz-replay-cpio

$(B)/fuzz/fuzz_cpio_read: tests/fuzz/fuzz_cpio_read.c $(LIB_SRC) $(LIB_HDR)
	@mkdir -p $(dir $@)
	clang -std=c11 $(FUZZ_FLAGS) -Isrc/lib $(shell $(PKG_CONFIG) --cflags $(PKGS)) \
	  -DEIFKIT_VERSION='"$(VERSION)"' -o $@ $< $(LIB_SRC) $(LDLIBS_ALL)
fuzz: $(B)/fuzz/fuzz_cpio_read
fuzz-replay-cpio: $(B)/fuzz/fuzz_cpio_read
	@sh scripts/fuzz-replay.sh $< tests/fuzz/corpus/cpio_read
fuzz-run-cpio: $(B)/fuzz/fuzz_cpio_read
	@mkdir -p $(B)/fuzz/new-cpio
	$< -max_total_time=$${FUZZ_SECONDS:-600} -max_len=65536 \
	  -artifact_prefix=$(B)/fuzz/ $(B)/fuzz/new-cpio tests/fuzz/corpus/cpio_read
