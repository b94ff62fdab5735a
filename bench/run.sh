#!/bin/sh
# make bench: eifkit's speed and memory as ratios to a floor measured in
# the same run. Not a test: it prints figures, it does not pass or fail.
#
# The floor is one SHA-384 pass with OpenSSL (`openssl dgst -sha384`, the
# code eifkit links) over the bytes an EIF writer must hash: PCR0 and
# PCR1/PCR2 are two SHA-384 streams over the same bytes, on two cores.
#
#   assemble: an EIF with a 1 GiB ramdisk
#   build:    a synthetic root filesystem (bench/gen_tree.py: 50,000
#             files of mixed sizes, 1 GiB, cached in build/bench/), vs
#             find | sort | cpio -o then eifkit assemble
#   oci:      the same tree as a 4-layer gzip OCI image with whiteouts
#             (bench/gen_image.py), vs umoci raw unpack then build
#             --rootfs; its floor adds the layers' gunzip time
#   entries:  200,000 empty files: peak RSS per entry
#   small:    the README's busybox example (Debian's kernel and busybox,
#             fetched by scripts/fetch-kernel.sh): mean milliseconds over
#             20 runs, beside the process start and the hashing alone
#
# Beside each floor, what an EIF writer costs apart from hashing: writing
# the bytes to a new file (assemble), and the same ramdisk written by
# eifkit ramdisk, which reads the tree but hashes nothing (build). Their
# CPU and the two SHA-384 passes share the two cores, which bounds the
# wall time from below: (2 x floor CPU + that CPU) / 2.
#
# Each command runs 3 times on warm page cache; the best wall time counts,
# and the spread (worst - best) is shown. CPU is user + system seconds of
# the best run. Peak RSS comes from GNU time (%M, KiB). The load average
# before and after is printed: figures from a loaded machine are not
# comparable with an idle one's.
set -eu
eifkit=$(realpath "${1:-build/eifkit}")
here=$(cd "$(dirname "$0")" && pwd)
kernels=$(realpath -m "${BENCH_KERNELS:-build/kernels}")
dir=${BENCH_DIR:-build/bench}
size_mib=${BENCH_MIB:-1024}
mkdir -p "$dir"
cd "$dir"

echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs"

if [ ! -f ramdisk.bin ] || [ "$(stat -c %s ramdisk.bin)" != $((size_mib * 1048576)) ]; then
	echo "bench: making a ${size_mib} MiB ramdisk of random bytes" >&2
	head -c $((size_mib * 1048576)) /dev/urandom >ramdisk.bin
fi
python3 "$here/fake_inputs.py" .
cat ramdisk.bin kernel.bin >/dev/null
rm -rf runs
mkdir runs

# Each row's command runs 3 times, the rows of one table taken in turn
# (floor, peer, eifkit, floor, peer, eifkit, ...): this machine's speed
# drifts over minutes, and a floor measured before its rows would carry
# that drift into every ratio.
#
# once LABEL CMD...: run CMD once, its "seconds peak_kib user sys" added
# to runs/LABEL
once() {
	label=$1
	shift
	# start each run alike: no output file to replace, no dirty pages
	# from the previous run still being written back
	rm -f out.eif pipe.cpio
	rm -rf unpacked
	sync
	/usr/bin/time -f "%e %M %U %S" -o "runs/$label" -a "$@" >/dev/null
}
# best LABEL: "seconds peak_kib cpu_seconds spread" of LABEL's fastest run
best() {
	sort -n "runs/$1" | awk 'NR == 1 { t = $1; m = $2; c = $3 + $4 }
		{ w = $1 } END { printf "%s %s %.2f %.2f\n", t, m, c, w - t }'
}
# best_of CMD...: the same for one command alone, 3 runs
best_of() {
	rm -f runs/one
	for i in 1 2 3; do
		once one "$@"
	done
	best one
}

header() {
	echo
	printf '%-50s %8s %7s %6s %9s %6s %6s\n' "$1" "wall s" "spread" \
		"cpu s" "peak RSS" "wall x" "cpu x"
}

# row LABEL "SECONDS KIB CPU SPREAD" "FLOOR_SECONDS FLOOR_CPU": wall over
# the floor's wall, CPU over the floor's CPU
row() {
	set -- "$1" $2 $3
	printf '%-50s %8s %7s %6s %5s MiB %6.2f %6.2f\n' "$1" "$2" "$5" "$4" \
		"$(($3 / 1024))" "$(echo "scale=3; $2 / $6" | bc)" \
		"$(echo "scale=3; $4 / $7" | bc)"
}
# floor_of "SECONDS KIB CPU SPREAD": "SECONDS CPU"
floor_of() {
	set -- $1
	echo "$1 $3"
}

# bound "FLOOR" "OTHER": the wall time two SHA-384 passes and OTHER's CPU
# need at the least on two cores, and its ratio to the floor's wall
bound() {
	set -- $1 $2
	b=$(echo "scale=3; (2 * $3 + $7) / 2" | bc)
	printf '(lower bound on two cores: (2 x %s + %s) / 2 = %.2f s, %.2fx)\n' \
		"$3" "$7" "$b" "$(echo "scale=3; $b / $1" | bc)"
}

# ---- assemble ----
for round in 1 2 3; do
	once asm-floor openssl dgst -sha384 ramdisk.bin
	once asm-sha sha384sum ramdisk.bin
	once asm-copy sh -c 'cat ramdisk.bin >out.eif'
	once asm "$eifkit" assemble --kernel kernel.bin --cmdline "console=ttyS0" \
		--ramdisk ramdisk.bin -o out.eif
done
floor=$(best asm-floor) sha=$(best asm-sha) copy=$(best asm-copy) asm=$(best asm)
rm -f out.eif
ft=$(floor_of "$floor")
header "assemble, ${size_mib} MiB ramdisk"
row "openssl dgst -sha384 (floor)" "$floor" "$ft"
row "sha384sum" "$sha" "$ft"
row "cat to a new file (writing, no hashing)" "$copy" "$ft"
row "eifkit assemble" "$asm" "$ft"
bound "$floor" "$copy"

# ---- build from a folder ----
files=${BENCH_FILES:-50000}
tree_mib=${BENCH_TREE_MIB:-1024}
python3 "$here/gen_tree.py" rootfs "$files" "$tree_mib"
[ -f init.bin ] || head -c 742968 /dev/urandom >init.bin
cmdline="reboot=k panic=30 pci=off nomodules console=ttyS0"
app="--file app.elf:/bin/app:0755 --entrypoint /bin/app"
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

for round in 1 2 3; do
	once b-floor openssl dgst -sha384 user.cpio
	once b-build "$eifkit" build -o out.eif --kernel kernel.bin \
		--init init.bin --cmdline "$cmdline" --rootfs rootfs $app
	once b-unchecked "$eifkit" build -o out.eif --kernel kernel.bin \
		--init init.bin --cmdline "$cmdline" --rootfs rootfs $app \
		--no-kernel-check --no-app-check
	once b-ramdisk "$eifkit" ramdisk --layout user --rootfs rootfs $app \
		-o out.eif
	once b-pipe sh -c "cd rootfs && find . | LC_ALL=C sort |
		cpio -o -H newc --reproducible --quiet >../pipe.cpio && cd .. &&
		'$eifkit' assemble --kernel kernel.bin --cmdline '$cmdline' \
			--ramdisk system.cpio --ramdisk pipe.cpio -o out.eif"
done
floor=$(best b-floor) build=$(best b-build) unchecked=$(best b-unchecked)
rdonly=$(best b-ramdisk) pipe=$(best b-pipe)
rm -f out.eif pipe.cpio

ft=$(floor_of "$floor")
rd_mib=$(($(stat -c %s user.cpio) / 1048576))
header "build, ${files} files, ${rd_mib} MiB user ramdisk"
row "openssl dgst -sha384 over the user ramdisk (floor)" "$floor" "$ft"
row "eifkit ramdisk --layout user (no hashing)" "$rdonly" "$ft"
row "eifkit build" "$build" "$ft"
row "eifkit build --no-kernel-check --no-app-check" "$unchecked" "$ft"
row "find | sort | cpio -o, then eifkit assemble" "$pipe" "$ft"
bound "$floor" "$rdonly"

# ---- build from a container image ----
python3 "$here/gen_image.py" rootfs image app.elf
cat image/blobs/sha256/* >/dev/null
"$eifkit" ramdisk --layout user --oci image >/dev/null 2>&1 -o user-oci.cpio
cat user-oci.cpio >/dev/null
layers=$(python3 -c "import json
m = json.load(open('image/index.json'))['manifests'][0]['digest']
for l in json.load(open('image/blobs/sha256/' + m[7:]))['layers']:
    print('image/blobs/sha256/' + l['digest'][7:])")
have_umoci=$(command -v umoci || true)
for round in 1 2 3; do
	once o-floor openssl dgst -sha384 user-oci.cpio
	# shellcheck disable=SC2086 # the layers' paths have no blanks
	once o-gunzip sh -c 'for f; do gzip -dc "$f"; done' sh $layers
	once o-build "$eifkit" build -o out.eif --kernel kernel.bin \
		--init init.bin --cmdline "$cmdline" --oci image
	if [ -n "$have_umoci" ]; then
		once o-umoci sh -c "umoci raw unpack --rootless \
			--image image:bench unpacked >/dev/null 2>&1 &&
			'$eifkit' build -o out.eif --kernel kernel.bin \
				--init init.bin --cmdline '$cmdline' \
				--rootfs unpacked -- /bin/app"
	fi
done
sha_floor=$(best o-floor) gunzip=$(best o-gunzip) oci=$(best o-build)
umoci_row=""
if [ -n "$have_umoci" ]; then
	umoci_row=$(best o-umoci)
fi
rm -rf out.eif unpacked
set -- $sha_floor
f1=$1 c1=$3
set -- $gunzip
ft="$(echo "$f1 + $1" | bc) $(echo "$c1 + $3" | bc)"
oci_mib=$(($(stat -c %s user-oci.cpio) / 1048576))
header "build --oci, 4 gzip layers, ${oci_mib} MiB user ramdisk"
row "openssl dgst -sha384 over the user ramdisk" "$sha_floor" "$ft"
row "gzip -dc of the layers" "$gunzip" "$ft"
echo "(floor: the two lines above added: ${ft% *} s wall, ${ft#* } s CPU)"
row "eifkit build --oci" "$oci" "$ft"
[ -n "$umoci_row" ] && row "umoci raw unpack, then eifkit build --rootfs" "$umoci_row" "$ft"

# ---- memory per entry ----
entries=${BENCH_ENTRIES:-200000}
python3 - "$entries" <<'EOF'
import os, shutil, sys
n = int(sys.argv[1])
root = "many"
try:
    done = open(root + ".stamp").read() == str(n)
except OSError:
    done = False
if not done:
    shutil.rmtree(root, ignore_errors=True)
    for i in range(n):
        d = f"{root}/d{i // 1000:03d}"
        os.makedirs(d, exist_ok=True)
        open(f"{d}/f{i:06d}", "w").close()
    open(root + ".stamp", "w").write(str(n))
EOF
small=$(best_of "$eifkit" ramdisk --layout plain --rootfs many -o pipe.cpio)
none=$(best_of "$eifkit" ramdisk --layout plain --file app.elf:/a -o pipe.cpio)
rm -f pipe.cpio
set -- $small
m1=$2
set -- $none
echo
echo "ramdisk of $entries empty files: $(echo "$small" | cut -d' ' -f1) s," \
	"peak RSS $((m1 / 1024)) MiB; one file: $(($2 / 1024)) MiB;" \
	"$(((m1 - $2) * 1024 / entries)) bytes per entry"

# ---- the README's example ----
arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)
if [ ! -s "$kernels/$arch/vmlinuz" ] || [ ! -s "$kernels/$arch/busybox" ]; then
	sh "$here/../scripts/fetch-kernel.sh" "$kernels" "$arch" >&2 ||
		echo "bench: scripts/fetch-kernel.sh failed: the README's" \
			"example is not measured" >&2
fi
# mean_ms N CMD...: mean wall milliseconds of N runs, one decimal
mean_ms() {
	n=$1
	shift
	t0=$(date +%s%N)
	for i in $(seq "$n"); do
		rm -f out.eif
		"$@" >/dev/null 2>&1
	done
	echo "scale=1; ($(date +%s%N) - $t0) / $n / 1000000" | bc
}
if [ -s "$kernels/$arch/vmlinuz" ] && [ -s "$kernels/$arch/busybox" ]; then
	rm -rf small && mkdir -p small/bin
	cp "$kernels/$arch/busybox" small/bin/busybox
	ln -sf busybox small/bin/sh
	vmlinuz=$kernels/$arch/vmlinuz
	"$eifkit" build -o out.eif --kernel "$vmlinuz" --rootfs small -- \
		/bin/sh -c 'echo hello' >/dev/null
	eif_kib=$(($(stat -c %s out.eif) / 1024))
	cp out.eif small.eif
	s=$(best_of "$eifkit" build -o out.eif --kernel "$vmlinuz" \
		--rootfs small -- /bin/sh -c 'echo hello')
	b=$(mean_ms 20 "$eifkit" build -o out.eif --kernel "$vmlinuz" \
		--rootfs small -- /bin/sh -c 'echo hello')
	u=$(mean_ms 20 "$eifkit" build -o out.eif --kernel "$vmlinuz" \
		--rootfs small --no-kernel-check --no-app-check -- \
		/bin/sh -c 'echo hello')
	v=$(mean_ms 20 "$eifkit" --version)
	t=$(mean_ms 20 /bin/true)
	h=$(mean_ms 20 openssl dgst -sha384 small.eif)
	rm -f out.eif small.eif
	echo
	echo "the README's example (busybox, Debian's kernel, a ${eif_kib} KiB EIF)," \
		"mean of 20 runs:"
	printf '  %-52s %6s ms\n' "eifkit build" "$b" \
		"eifkit build --no-kernel-check --no-app-check" "$u" \
		"eifkit --version (starting the process)" "$v" \
		"/bin/true (starting any process here)" "$t" \
		"openssl dgst -sha384 over the EIF (one hash, its start)" "$h"
	echo "  peak RSS $(($(echo "$s" | cut -d' ' -f2) / 1024)) MiB"
fi
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
