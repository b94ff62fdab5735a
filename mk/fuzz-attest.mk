# mk/fuzz-attest.mk: the libFuzzer target for the CBOR decoder and the
# attestation document reader (src/lib/base/cbor.c, src/lib/eif/attest.c),
# built and run like the EIF reader's in the top Makefile. Included by the
# top Makefile.
#
#   make fuzz                 also builds $(B)/fuzz/fuzz_attest
#   make fuzz-replay-attest   every input of tests/fuzz/corpus/attest once
#   make fuzz-run-attest      fuzz for FUZZ_SECONDS (600); new inputs go to
#                             $(B)/fuzz/new-attest, not into the stored corpus

.PHONY: fuzz-replay-attest fuzz-run-attest
CHECK_TARGETS += fuzz-replay-attest

$(B)/fuzz/fuzz_attest: tests/fuzz/fuzz_attest.c $(LIB_SRC) $(LIB_HDR)
	@mkdir -p $(dir $@)
	clang -std=c11 $(FUZZ_FLAGS) -Isrc/lib $(shell $(PKG_CONFIG) --cflags $(PKGS)) \
	  -DEIFKIT_VERSION='"$(VERSION)"' -o $@ $< $(LIB_SRC) $(LDLIBS_ALL)
fuzz: $(B)/fuzz/fuzz_attest
fuzz-replay-attest: $(B)/fuzz/fuzz_attest
	@sh scripts/fuzz-replay.sh $< tests/fuzz/corpus/attest
fuzz-run-attest: $(B)/fuzz/fuzz_attest
	@mkdir -p $(B)/fuzz/new-attest
	$< -max_total_time=$${FUZZ_SECONDS:-600} -max_len=16384 \
	  -artifact_prefix=$(B)/fuzz/ $(B)/fuzz/new-attest tests/fuzz/corpus/attest
