#!/bin/sh
# make demo: an EIF of Debian's busybox-static and kernel with eifkit's
# init, built with `eifkit build`, booted with `eifkit run`; shows the
# app's output and the PCRs.
#
# usage: scripts/demo-run.sh [BUILD_DIR]   (after make init kernels)
set -e
B=${1:-build}
eifkit=$B/eifkit
case $(uname -m) in
aarch64) arch=aarch64 deb=arm64 ;;
*) arch=x86_64 deb=amd64 ;;
esac
k=$B/kernels/$deb
out=$B/demo-run
for f in "$eifkit" "$B/libexec/eifkit/init-$arch" "$k/vmlinuz" "$k/busybox"; do
	[ -e "$f" ] || { echo "demo-run: $f is missing (make init kernels)" >&2; exit 1; }
done

# The app's root filesystem: busybox and a script.
rm -rf "$out"
r=$out/rootfs
mkdir -p "$r/bin" "$r/app"
cp "$k/busybox" "$r/bin/busybox"
ln -s busybox "$r/bin/sh"
cat >"$r/app/hello.sh" <<'SCRIPT'
echo "Hello from the enclave side! $HELLO"
echo "kernel:  $(uname -sr) ($(uname -m))"
echo "argv:    $0 $*"
echo "workdir: $(pwd)"
echo "mounts:  $(cut -d' ' -f2 /proc/mounts | grep -v cgroup/ | tr '\n' ' ')"
echo "lo:      $(ip -4 -o addr show lo | awk '{print $4}')"
exit 0
SCRIPT

echo "== eifkit build ($arch, $(cat "$k/package"), eifkit's init)" >&2
"$eifkit" build -o "$out/hello.eif" --arch "$arch" \
	--kernel "$k/vmlinuz" --kernel-config "$k/config" \
	--rootfs "$r" --env PATH=/bin --env "HELLO=(env from the build)" \
	--workdir /app --name hello --pcrs "$out/hello.pcrs.json" \
	-- /bin/sh /app/hello.sh "first argument" >/dev/null
echo "== eifkit run $out/hello.eif (the app's output; --console shows the kernel's too)" >&2
status=0
"$eifkit" run --timeout 600 "$out/hello.eif" || status=$?
echo "== PCRs ($out/hello.pcrs.json)" >&2
cat "$out/hello.pcrs.json"
exit $status
