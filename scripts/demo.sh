#!/bin/sh
# make demo: build an EIF from the example inputs, print its PCRs, then
# describe and verify it.
set -e
eifkit=${1:-build/eifkit}
ex=tests/vectors/d-newc-ramdisks
out=build/demo
mkdir -p "$out"
echo "== eifkit assemble (kernel + 2 newc ramdisks -> $out/hello.eif)" >&2
"$eifkit" assemble --kernel $ex/bzImage \
	--cmdline "reboot=k panic=30 pci=off nomodules console=ttyS0 i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd random.trust_cpu=on" \
	--ramdisk $ex/ramdisk0 --ramdisk $ex/ramdisk1 --name hello --version 1.0 \
	--output "$out/hello.eif" --pcrs "$out/hello.pcrs.json"
echo "== eifkit describe --text" >&2
"$eifkit" describe --text "$out/hello.eif"
echo "== eifkit verify --pcrs" >&2
"$eifkit" verify "$out/hello.eif" --pcrs "$out/hello.pcrs.json"
