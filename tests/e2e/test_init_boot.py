"""eifkit's init booted under QEMU by `eifkit run`, with Debian's kernel.

Each boot is one EIF whose app is a busybox sh script that prints "T ..."
markers; the tests below read them from the console. Boots are few and
shared (module-scoped fixtures): x86_64 with everything, x86_64 the way
nitro-cli lays an EIF out (no workdir, empty env, no nsm.ko, another
kernel given with --kernel), x86_64 without /cmd, and aarch64 with
everything under qemu-system-aarch64.

They run when EIFKIT_BOOT=1 (make check-init, which first fetches the
kernels into build/kernels with scripts/fetch-kernel.sh); otherwise they
are skipped. The ramdisks are written here (cpio newc) in the layout
`eifkit build` writes, and assembled with `eifkit assemble`.
"""
import functools
import os
import pathlib
import re
import subprocess
import time

import pytest

from conftest import ROOT, run

BUILD = pathlib.Path(os.environ.get("EIFKIT_BUILD", ROOT / "build"))
KERNELS = BUILD / "kernels"
DEB_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}
BOOTING = os.environ.get("EIFKIT_BOOT") == "1"
# Bounded but generous: about 2 s with KVM, 10 s emulated on x86_64, and
# a minute or more for aarch64 emulated on an x86_64 host.
BOOT_TIMEOUT = {"x86_64": 240, "aarch64": 600}
CMDLINE = {
    # nitro-cli's own command lines; `run` adds the console and the
    # heartbeat switch.
    "x86_64": "reboot=k panic=30 pci=off nomodules console=ttyS0 "
              "i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd "
              "random.trust_cpu=on",
    "aarch64": "reboot=k panic=30 pci=off nomodules console=ttyS0 "
               "random.trust_cpu=on",
}

if not BOOTING:
    pytestmark = pytest.mark.skip(
        reason="boots EIFs under QEMU: run by make check-init (EIFKIT_BOOT=1)")


# ---- cpio newc, the layout `eifkit build` writes -----------------------

def newc(entries, ino=721, mtime=0):
    """entries: dicts with name, kind (dir/file/symlink), mode, data or
    target, optional uid, gid, link (hard-link group: data on the last)."""
    total = {}
    for e in entries:
        if e.get("link"):
            total[e["link"]] = total.get(e["link"], 0) + 1
    seen, inos, out = {}, {}, bytearray()

    def put(name, mode, data, nlink, this_ino, uid=0, gid=0):
        name_b = name.encode() + b"\0"
        fields = [this_ino, mode, uid, gid, nlink, mtime, len(data), 3, 1,
                  0, 0, len(name_b), 0]
        out.extend(b"070701" + b"".join(b"%08X" % f for f in fields))
        out.extend(name_b)
        out.extend(b"\0" * (-len(out) % 4))
        out.extend(data)
        out.extend(b"\0" * (-len(out) % 4))

    for e in entries:
        kind, nlink = e["kind"], 1
        if kind == "dir":
            mode, data, nlink = 0o040000 | e["mode"], b"", 2
        elif kind == "symlink":
            mode, data = 0o120777, e["target"].encode()
        else:
            mode, data = 0o100000 | e["mode"], e["data"]
        link = e.get("link")
        if link:
            if link not in inos:
                inos[link], ino = ino, ino + 1
            this_ino, nlink = inos[link], total[link]
            seen[link] = seen.get(link, 0) + 1
            if seen[link] < total[link]:
                data = b""
        else:
            this_ino, ino = ino, ino + 1
        put(e["name"], mode, data, nlink, this_ino, e.get("uid", 0),
            e.get("gid", 0))
    put("TRAILER!!!", 0, b"", 1, 0)
    out.extend(b"\0" * (-len(out) % 512))
    return bytes(out)


def d(name, mode=0o755):
    return {"name": name, "kind": "dir", "mode": mode}


def f(name, data, mode=0o644, **kw):
    return {"name": name, "kind": "file", "mode": mode,
            "data": data if isinstance(data, bytes) else data.encode(), **kw}


def ln(name, target):
    return {"name": name, "kind": "symlink", "target": target}


def system_ramdisk(init, nsm=None):
    es = [d("dev"), f("init", init.read_bytes(), 0o755)]
    if nsm:
        es.append(f("nsm.ko", nsm.read_bytes(), 0o755))
    return newc(es)


def user_ramdisk(tree, cmd=None, env=None, workdir=None):
    """tree: entries named relative to rootfs/; cmd and env lists."""
    es = [d("rootfs")]
    names = {e["name"] for e in tree}
    for top in ("dev", "proc", "run", "sys", "tmp", "var"):
        if top not in names:
            tree = tree + [d(top)]
    for e in sorted(tree, key=lambda e: e["name"].encode()):
        es.append(dict(e, name="rootfs/" + e["name"]))
    if cmd is not None:
        es.append(f("cmd", "".join(a + "\n" for a in cmd)))
    if env is not None:
        es.append(f("env", "".join(v + "\n" for v in env)))
    if workdir is not None:
        es.append(f("workdir", workdir + "\n"))
    return newc(es, ino=1)


def need(*paths):
    for p in paths:
        if not pathlib.Path(p).exists():
            pytest.fail(f"{p} is missing: run make check-init "
                        "(it builds the init and runs scripts/fetch-kernel.sh)")


def kernel_dir(arch):
    return KERNELS / DEB_ARCH[arch]


def init_path(arch):
    return BUILD / "libexec" / "eifkit" / f"init-{arch}"


def make_eif(tmp, name, arch, ramdisks, kernel=None):
    """Write the ramdisks and assemble them with the arch's Debian kernel
    (or the given kernel file) into tmp/name.eif."""
    args = ["assemble", "--kernel", kernel or kernel_dir(arch) / "vmlinuz",
            "--cmdline", CMDLINE[arch], "--arch", arch, "--name", name,
            "-o", tmp / f"{name}.eif"]
    for i, data in enumerate(ramdisks):
        p = tmp / f"{name}.ramdisk{i}"
        p.write_bytes(data)
        args += ["--ramdisk", p]
    r = run(*args)
    assert r.code == 0, r
    return tmp / f"{name}.eif"


class Boot:
    def __init__(self, result, seconds):
        self.code, self.err, self.seconds = result.code, result.err.decode(), seconds
        self.console = result.out.decode(errors="replace").replace("\r", "")
        self.lines = self.console.splitlines()

    def marks(self, prefix):
        """Values of the lines "T <prefix>..." (after the prefix)."""
        return [l[2 + len(prefix):] for l in self.lines
                if l.startswith("T " + prefix)]

    def mark(self, prefix):
        v = self.marks(prefix)
        assert len(v) == 1, (prefix, v, self.console[-3000:])
        return v[0]


@functools.lru_cache(maxsize=None)
def accel():
    """--accel for the boots: EIFKIT_RUN_ACCEL, else auto when KVM really
    boots a kernel here, else tcg. (Nested KVM can hang: on an AMD host
    nested in Firecracker, QEMU with -accel kvm stops right after the
    kernel's setup code, with /dev/kvm open and no error.)"""
    if os.environ.get("EIFKIT_RUN_ACCEL"):
        return os.environ["EIFKIT_RUN_ACCEL"]
    if os.uname().machine != "x86_64" or not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return "auto"
    try:
        cp = subprocess.run(
            ["qemu-system-x86_64", "-accel", "kvm", "-cpu", "host", "-m", "256",
             "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
             "-serial", "stdio", "-kernel", kernel_dir("x86_64") / "vmlinuz",
             "-append", "console=ttyS0 panic=-1"],
            stdin=subprocess.DEVNULL, capture_output=True, timeout=20)
        ok = b"Kernel panic" in cp.stdout
    except subprocess.TimeoutExpired:
        ok = False
    print(f"KVM {'boots a kernel' if ok else 'does not boot a kernel'} here: "
          f"--accel {'auto' if ok else 'tcg'}")
    return "auto" if ok else "tcg"


def boot(eif, arch, *opts):
    t = time.monotonic()
    r = run("run", "--timeout", BOOT_TIMEOUT[arch], "--accel", accel(), *opts, eif)
    b = Boot(r, time.monotonic() - t)
    eif.with_suffix(".console").write_bytes(r.out)  # kept for a look
    print(f"boot {eif.name}: exit {b.code} in {b.seconds:.1f} s")
    return b


# ---- the app: a busybox sh script that reports what it finds ------------

APP_SH = r"""
echo "T argc=$#"
for a in "$@"; do echo "T arg=[$a]"; done
for v in GREETING EMPTY WITH_EQ PATH; do eval "echo \"T env $v=[\${$v-unset}]\""; done
echo "T pwd=$(pwd)"
set -- $(cut -d' ' -f1,4,5,6 /proc/$$/stat)
echo "T proc pid=$1 ppid=$2 pgid=$3 sid=$4"
echo "T sigblk=$(sed -n 's/^SigBlk:[[:space:]]*//p' /proc/$$/status)"
while read -r src mnt type opts rest; do echo "T mount $mnt $type $opts"; done </proc/mounts
for p in /data/file /data/exec /data/suid /data/dir /data/dir/deep /data/link \
         /data/hl1 /data/hl2 /data/owned; do
  echo "T stat $(stat -c '%n %F %a %h %u:%g %s' "$p")"
done
echo "T readlink $(readlink /data/link)"
echo "T inodes $(stat -c %i /data/hl1) $(stat -c %i /data/hl2)"
echo "T content $(cat /data/file)"
echo "T root $(ls -a / | tr '\n' ' ')"
echo "T devlinks $(readlink /dev/fd) $(readlink /dev/stdin) $(readlink /dev/stdout) $(readlink /dev/stderr)"
echo "T modules $(cut -d' ' -f1 /proc/modules | sort | tr '\n' ' ')"
echo "T nsm-module $([ -e /sys/module/vsock ] && echo loaded || echo absent)"
echo "T lo flags=$(cat /sys/class/net/lo/flags)"
ping -c 1 -W 2 127.0.0.1 >/dev/null 2>&1 && echo "T ping ok" || echo "T ping failed"
echo "T cgroups $(ls /sys/fs/cgroup | tr '\n' ' ')"
(sleep 0.2 &)
sleep 1
echo "T zombies $(grep -l '^State:[[:space:]]*Z' /proc/[0-9]*/status 2>/dev/null | wc -l)"
trap 'echo "T got TERM"' TERM
trap 'echo "T got INT"' INT
kill -TERM 1
sleep 1
kill -INT 1
sleep 1
if [ -x /hb/test_heartbeat ]; then
  insmod /hb/vmw_vsock_virtio_transport_common.ko && insmod /hb/vsock_loopback.ko
  /hb/test_heartbeat 9000 | sed 's/^/T hb /'
fi
echo "T done"
exit 3
"""

APP_ARGV = ["sh", "/app.sh", "one two", "", "  three  ", "x=y"]
APP_ENV = ["GREETING=hello enclave", "EMPTY=", "WITH_EQ=a=b",
           "PATH=/opt/tools/bin:/bin"]


def app_tree(arch):
    """busybox only as /bin/busybox and /opt/tools/bin/sh: `sh` is found
    through the app's PATH alone (not in AWS's fixed one)."""
    kd = kernel_dir(arch)
    hb = BUILD / "init" / f"test_heartbeat-{arch}"
    tree = [
        d("bin"), f("bin/busybox", (kd / "busybox").read_bytes(), 0o755),
        d("opt"), d("opt/tools"), d("opt/tools/bin"),
        ln("opt/tools/bin/sh", "/bin/busybox"),
        f("app.sh", APP_SH, 0o755),
        d("data"),
        f("data/file", "hello file\n", 0o640),
        f("data/exec", "#!/bin/sh\necho hi\n", 0o755),
        f("data/suid", "s", 0o4755),
        d("data/dir", 0o700), f("data/dir/deep", "deep", 0o600),
        ln("data/link", "file"),
        f("data/hl1", "linked\n", 0o644, link="hl"),
        f("data/hl2", "linked\n", 0o644, link="hl"),
        f("data/owned", "o", 0o604, uid=1000, gid=2000),
    ]
    if hb.exists():
        tree += [d("hb"), f("hb/test_heartbeat", hb.read_bytes(), 0o755)]
        for m in ("vmw_vsock_virtio_transport_common", "vsock_loopback"):
            tree.append(f(f"hb/{m}.ko", (kd / "modules" / f"{m}.ko").read_bytes()))
    return tree


def full_boot(tmp_path_factory, arch):
    kd = kernel_dir(arch)
    need(kd / "vmlinuz", kd / "busybox", init_path(arch),
         BUILD / "init" / f"test_heartbeat-{arch}")
    tmp = tmp_path_factory.mktemp(f"boot-{arch}")
    eif = make_eif(tmp, f"full-{arch}", arch, [
        system_ramdisk(init_path(arch), kd / "modules" / "vsock.ko"),
        user_ramdisk(app_tree(arch), APP_ARGV, APP_ENV, "/data/dir"),
    ])
    return boot(eif, arch)


@pytest.fixture(scope="module")
def x86(tmp_path_factory):
    return full_boot(tmp_path_factory, "x86_64")


@pytest.fixture(scope="module")
def arm(tmp_path_factory):
    return full_boot(tmp_path_factory, "aarch64")


@pytest.fixture(scope="module", params=["x86_64", "aarch64"])
def full(request):
    return request.getfixturevalue("x86" if request.param == "x86_64" else "arm")


# ---- what every full boot shows ----------------------------------------

def test_app_status_is_run_status(full):
    assert "eifkit-init: app exited with status 3" in full.lines, full.console[-3000:]
    assert full.code == 3, (full.err, full.console[-3000:])
    assert full.marks("done") == [""]


def test_argv(full):
    assert full.mark("argc=") == str(len(APP_ARGV) - 2)
    assert full.marks("arg=") == [f"[{a}]" for a in APP_ARGV[2:]]


def test_env_and_path_lookup(full):
    assert full.mark("env GREETING=") == "[hello enclave]"
    assert full.mark("env EMPTY=") == "[]"
    assert full.mark("env WITH_EQ=") == "[a=b]"
    # sh exists only as /opt/tools/bin/sh: found through the app's PATH
    assert full.mark("env PATH=") == "[/opt/tools/bin:/bin]"


def test_workdir(full):
    assert full.mark("pwd=") == "/data/dir"


def test_own_session_signals_unblocked(full):
    m = re.fullmatch(r"pid=(\d+) ppid=(\d+) pgid=(\d+) sid=(\d+)", full.mark("proc "))
    pid, ppid, pgid, sid = m.groups()
    assert ppid == "1" and pgid == pid and sid == pid, m.group(0)
    assert int(full.mark("sigblk="), 16) == 0


def test_mounts(full):
    mounts = {}
    for v in full.marks("mount "):
        mnt, typ, opts = v.split(" ")
        mounts[mnt] = (typ, set(opts.split(",")))
    want = {"/dev": "devtmpfs", "/proc": "proc", "/sys": "sysfs",
            "/tmp": "tmpfs", "/run": "tmpfs", "/dev/shm": "tmpfs",
            "/dev/pts": "devpts", "/sys/fs/cgroup": "tmpfs"}
    for mnt, typ in want.items():
        assert mnt in mounts and mounts[mnt][0] == typ, (mnt, mounts)
    for mnt in ("/proc", "/sys", "/tmp", "/run", "/dev/shm"):
        assert {"nosuid", "nodev", "noexec"} <= mounts[mnt][1], (mnt, mounts[mnt])
    assert "mode=755" in mounts["/run"][1]
    cg = [m for m, (t, _) in mounts.items() if t == "cgroup"]
    assert "/sys/fs/cgroup/memory" in cg or "/sys/fs/cgroup/cpu" in cg, cg
    assert set(full.mark("cgroups ").split()) == {c.rsplit("/", 1)[1] for c in cg}


def test_dev_links(full):
    assert full.mark("devlinks ") == \
        "/proc/self/fd /proc/self/fd/0 /proc/self/fd/1 /proc/self/fd/2"


def test_rootfs_files_modes_links(full):
    stats = {}
    for v in full.marks("stat "):
        path, rest = v.split(" ", 1)
        stats[path] = rest
    assert stats["/data/file"] == "regular file 640 1 0:0 11"
    assert stats["/data/exec"] == "regular file 755 1 0:0 18"
    assert stats["/data/suid"] == "regular file 4755 1 0:0 1"
    assert stats["/data/dir"].startswith("directory 700 2 0:0 ")
    assert stats["/data/dir/deep"] == "regular file 600 1 0:0 4"
    assert stats["/data/link"] == "symbolic link 777 1 0:0 4"
    assert stats["/data/hl1"] == "regular file 644 2 0:0 7"
    assert stats["/data/hl2"] == "regular file 644 2 0:0 7"
    assert stats["/data/owned"] == "regular file 604 1 1000:2000 1"
    assert full.mark("readlink ") == "file"
    a, b = full.mark("inodes ").split()
    assert a == b
    assert full.mark("content ") == "hello file"


def test_cmd_env_workdir_removed(full):
    root = full.mark("root ").split()
    for gone in ("cmd", "env", "workdir", "init", "nsm.ko", "rootfs"):
        assert gone not in root, root
    assert {"bin", "data", "dev", "proc", "sys", "tmp", "run"} <= set(root)


def test_nsm_module_loaded(full):
    # vsock.ko stood in for nsm.ko: init loaded it with finit_module
    assert full.mark("nsm-module ") == "loaded"
    assert "vsock" in full.mark("modules ").split()


def test_loopback_up(full):
    assert int(full.mark("lo flags="), 16) & 0x1  # IFF_UP
    assert full.mark("ping ") == "ok"


def test_orphans_reaped(full):
    assert full.mark("zombies ") == "0"


def test_signals_forwarded(full):
    assert "eifkit-init: passing SIGTERM on to the app" in full.lines
    assert "eifkit-init: passing SIGINT on to the app" in full.lines
    assert full.marks("got TERM") == [""]
    assert full.marks("got INT") == [""]


def test_heartbeat_against_vsock_loopback(full):
    """init's heartbeat code (heartbeat.c) against a real AF_VSOCK listener
    on CID 1, inside the guest, where Debian's vsock_loopback module is."""
    hb = full.marks("hb ")
    assert hb, full.console[-3000:]
    assert hb[-1] == "heartbeat test: 4 of 4 passed", hb


def test_no_init_errors(full):
    bad = [l for l in full.lines if l.startswith("eifkit-init: ")
           and "passing SIG" not in l and "app exited" not in l]
    assert bad == []


# ---- the nitro-cli layout, and --kernel ---------------------------------

@pytest.fixture(scope="module")
def compat(tmp_path_factory):
    arch = "x86_64"
    kd = kernel_dir(arch)
    need(kd / "vmlinuz", kd / "busybox", init_path(arch))
    tmp = tmp_path_factory.mktemp("compat")
    # nitro-cli's layout: no workdir file; an image without ENV gives an
    # empty env (AWS's init then uses its fixed PATH); no nsm.ko. The
    # EIF's own kernel stands for one built for Nitro, which QEMU cannot
    # boot: --kernel replaces it.
    fake_kernel = tmp / "nitro-bzImage"
    fake_kernel.write_bytes(b"not a kernel QEMU can boot\n" * 100)
    script = ('echo "T pwd=$(pwd)"; echo "T path=[$PATH]"; '
              'echo "T nsm-module $([ -e /sys/module/vsock ] && echo loaded || echo absent)"; '
              'echo "T root $(ls / | tr "\\n" " ")"')
    tree = [d("bin"), f("bin/busybox", (kd / "busybox").read_bytes(), 0o755)]
    eif = make_eif(tmp, "compat", arch, [
        system_ramdisk(init_path(arch)),
        user_ramdisk(tree, ["busybox", "sh", "-c", script], []),
    ], kernel=fake_kernel)
    return boot(eif, arch, "--kernel", kd / "vmlinuz")


def test_compat_runs_with_defaults(compat):
    assert compat.code == 0, (compat.err, compat.console[-3000:])
    assert "eifkit-init: app exited with status 0" in compat.lines
    assert compat.mark("pwd=") == "/"
    assert compat.mark("path=") == "[/sbin:/usr/sbin:/bin:/usr/bin]"


def test_compat_missing_nsm_is_fine(compat):
    assert compat.mark("nsm-module ") == "absent"
    assert not [l for l in compat.lines if l.startswith("eifkit-init: ")
                and "app exited" not in l]


# ---- no /cmd: a message and power off, not a crash ----------------------

@pytest.fixture(scope="module")
def nocmd(tmp_path_factory):
    arch = "x86_64"
    kd = kernel_dir(arch)
    need(kd / "vmlinuz", init_path(arch))
    tmp = tmp_path_factory.mktemp("nocmd")
    eif = make_eif(tmp, "nocmd", arch, [
        system_ramdisk(init_path(arch)),
        user_ramdisk([d("bin")], None, ["PATH=/bin"]),
    ])
    return boot(eif, arch)


def test_missing_cmd_is_a_message_not_a_crash(nocmd):
    assert "eifkit-init: /cmd is missing: the user ramdisk names no command to run" \
        in nocmd.lines, nocmd.console[-3000:]
    assert "Kernel panic" not in nocmd.console
    assert "Attempted to kill init" not in nocmd.console
    assert nocmd.code == 1
    assert "no exit status" in nocmd.err, nocmd.err


# ---- the heartbeat is on unless the kernel command line says off --------

def test_heartbeat_is_on_by_default(tmp_path):
    """Booted by QEMU directly: `eifkit run` always adds the switch. No
    vsock here, so init must stop before the app, saying why."""
    arch = "x86_64"
    kd = kernel_dir(arch)
    need(kd / "vmlinuz", kd / "busybox", init_path(arch))
    tree = [d("bin"), f("bin/busybox", (kd / "busybox").read_bytes(), 0o755)]
    initrd = tmp_path / "initrd"
    initrd.write_bytes(system_ramdisk(init_path(arch)) + user_ramdisk(
        tree, ["/bin/busybox", "echo", "T app ran"], ["PATH=/bin"]))
    kvm = accel() == "auto" and os.access("/dev/kvm", os.R_OK | os.W_OK)
    cp = subprocess.run(
        ["qemu-system-x86_64", *(["-accel", "kvm", "-cpu", "host"] if kvm
                                 else ["-accel", "tcg", "-cpu", "max"]),
         "-m", "512", "-nodefaults", "-no-user-config", "-display", "none",
         "-no-reboot", "-serial", "stdio", "-kernel", kd / "vmlinuz",
         "-initrd", initrd, "-append", "console=ttyS0 panic=30 quiet"],
        stdin=subprocess.DEVNULL, capture_output=True,
        timeout=BOOT_TIMEOUT[arch])
    out = cp.stdout.decode(errors="replace").replace("\r", "")
    assert "eifkit-init: no heartbeat: outside a Nitro Enclave, boot with " \
           "eifkit.heartbeat=off" in out, out[-3000:]
    # no nsm.ko (vsock.ko) was loaded: this kernel has no AF_VSOCK yet
    assert "eifkit-init: heartbeat: socket(AF_VSOCK) vsock 3:9000: " \
           "EAFNOSUPPORT (Address family not supported by protocol)" in out
    assert "T app ran" not in out
    assert "Kernel panic" not in out
