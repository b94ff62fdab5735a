#!/bin/sh
# make bench: eifkit's speed and memory as ratios to a floor measured in
# the same run. Not a test: it prints figures, it does not pass or fail.
#
#   assemble: an EIF with a 1 GiB ramdisk vs sha384sum over the same 1 GiB
#   build:    an EIF of a synthetic root filesystem (bench/gen_tree.py:
#             50,000 files of mixed sizes, 1 GiB, cached in build/bench/)
#             vs the pipeline find | sort | cpio -o -H newc --reproducible
#             followed by eifkit assemble (the same tree, with a system
#             ramdisk), and vs sha384sum over the user ramdisk build wrote
#             (the floor: one SHA-384 pass over the bytes)
#
# Each command runs 3 times on warm page cache; the best wall time counts.
# Peak RSS comes from GNU time (%M, KiB).
set -eu
eifkit=$(realpath "${1:-build/eifkit}")
here=$(cd "$(dirname "$0")" && pwd)
dir=${BENCH_DIR:-build/bench}
size_mib=${BENCH_MIB:-1024}
mkdir -p "$dir"
cd "$dir"

if [ ! -f ramdisk.bin ] || [ "$(stat -c %s ramdisk.bin)" != $((size_mib * 1048576)) ]; then
	echo "bench: making a ${size_mib} MiB ramdisk of random bytes" >&2
	head -c $((size_mib * 1048576)) /dev/urandom >ramdisk.bin
fi
head -c 1000000 /dev/urandom >kernel.bin
cat ramdisk.bin kernel.bin >/dev/null

# best_of CMD...: prints "seconds peak_kib" of the fastest of 3 runs
best_of() {
	best=""
	for i in 1 2 3; do
		# start each run alike: no output file to replace, no dirty pages
		# from the previous run still being written back
		rm -f out.eif pipe.cpio
		sync
		/usr/bin/time -f "%e %M" -o time.out "$@" >/dev/null
		t=$(cut -d' ' -f1 time.out)
		m=$(cut -d' ' -f2 time.out)
		if [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" = 1 ]; then
			best=$t
			mem=$m
		fi
	done
	echo "$best $mem"
}

floor=$(best_of sha384sum ramdisk.bin)
asm=$(best_of "$eifkit" assemble --kernel kernel.bin --cmdline "console=ttyS0" \
	--ramdisk ramdisk.bin -o out.eif)
rm -f out.eif

# row LABEL "SECONDS KIB" FLOOR_SECONDS
row() {
	t=${2% *} m=${2#* }
	printf '%-52s %8s %7s MiB %7.2f\n' "$1" "$t" "$((m / 1024))" \
		"$(echo "scale=3; $t / $3" | bc)"
}

ft=${floor% *}
printf '%-52s %8s %10s %7s\n' "command (${size_mib} MiB ramdisk)" "seconds" "peak RSS" "ratio"
row "sha384sum (floor)" "$floor" "$ft"
row "eifkit assemble" "$asm" "$ft"

# ---- build from a folder ----
files=${BENCH_FILES:-50000}
tree_mib=${BENCH_TREE_MIB:-1024}
python3 "$here/gen_tree.py" rootfs "$files" "$tree_mib"
[ -f init.bin ] || head -c 742968 /dev/urandom >init.bin
cmdline="reboot=k panic=30 pci=off nomodules console=ttyS0"
app="--entrypoint /bin/app"
"$eifkit" ramdisk --layout system --init init.bin -o system.cpio
# the floor's input: the user ramdisk build writes, checked against the
# PCR2 a build prints
"$eifkit" ramdisk --layout user --rootfs rootfs $app -o user.cpio
"$eifkit" build -o out.eif --kernel kernel.bin --init init.bin \
	--cmdline "$cmdline" --rootfs rootfs $app >build.json
want=$(python3 -c 'import hashlib, sys
d = bytes.fromhex(sys.argv[1])
print(hashlib.sha384(bytes(48) + d).hexdigest())' "$(sha384sum user.cpio | cut -d' ' -f1)")
grep -q "\"PCR2\": \"$want\"" build.json || {
	echo "bench: user.cpio is not the user ramdisk of the build" >&2
	exit 1
}
cat user.cpio >/dev/null
tar cf - rootfs 2>/dev/null | cat >/dev/null # warm page cache

floor=$(best_of sha384sum user.cpio)
build=$(best_of "$eifkit" build -o out.eif --kernel kernel.bin --init init.bin \
	--cmdline "$cmdline" --rootfs rootfs $app)
pipe=$(best_of sh -c "cd rootfs && find . | LC_ALL=C sort |
	cpio -o -H newc --reproducible --quiet >../pipe.cpio && cd .. &&
	'$eifkit' assemble --kernel kernel.bin --cmdline '$cmdline' \
		--ramdisk system.cpio --ramdisk pipe.cpio -o out.eif")
rm -f out.eif pipe.cpio

ft=${floor% *}
rd_mib=$(($(stat -c %s user.cpio) / 1048576))
echo
printf '%-52s %8s %10s %7s\n' "command (${files} files, ${rd_mib} MiB user ramdisk)" \
	"seconds" "peak RSS" "ratio"
row "sha384sum over the user ramdisk (floor)" "$floor" "$ft"
row "eifkit build" "$build" "$ft"
row "find | sort | cpio -o, then eifkit assemble" "$pipe" "$ft"
