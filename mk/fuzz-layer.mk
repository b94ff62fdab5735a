# mk/fuzz-layer.mk: the libFuzzer target for container layers
# (src/lib/image/layer.c and paxcheck.c through to tree_finish), built and
# run like the EIF reader's in the top Makefile. Included by the top
# Makefile.
#
#   make fuzz                also builds $(B)/fuzz/fuzz_layer
#   make fuzz-replay-layer   every input of tests/fuzz/corpus/layer once
#   make fuzz-run-layer      fuzz for FUZZ_SECONDS (600); new inputs go to
#                            $(B)/fuzz/new-layer, not into the stored corpus
#
# tests/fuzz/layer_seeds.py wrote the stored seeds (tar, pax, gzip, zstd,
# whiteouts, links over several layers).

.PHONY: fuzz-replay-layer fuzz-run-layer
CHECK_TARGETS += fuzz-replay-layer

$(B)/fuzz/fuzz_layer: tests/fuzz/fuzz_layer.c $(LIB_SRC) $(LIB_HDR)
	@mkdir -p $(dir $@)
	clang -std=c11 $(FUZZ_FLAGS) -Isrc/lib $(shell $(PKG_CONFIG) --cflags $(PKGS)) \
	  -DEIFKIT_VERSION='"$(VERSION)"' -o $@ $< $(LIB_SRC) $(LDLIBS_ALL)
fuzz: $(B)/fuzz/fuzz_layer
fuzz-replay-layer: $(B)/fuzz/fuzz_layer
	@sh scripts/fuzz-replay.sh $< tests/fuzz/corpus/layer
fuzz-run-layer: $(B)/fuzz/fuzz_layer
	@mkdir -p $(B)/fuzz/new-layer
	$< -max_total_time=$${FUZZ_SECONDS:-600} -max_len=65536 \
	  -artifact_prefix=$(B)/fuzz/ $(B)/fuzz/new-layer tests/fuzz/corpus/layer
