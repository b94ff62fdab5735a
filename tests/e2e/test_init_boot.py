"""EIFs built by `eifkit build`, with eifkit's init and Debian's kernel,
booted under QEMU by `eifkit run`.

Each boot is one EIF whose app is a busybox sh script that prints "T ..."
markers; the tests below read them from the console. Boots are few and
shared (module-scoped fixtures):

- x86_64 and aarch64 (qemu-system-aarch64) with everything: an EIF made
  by `eifkit build` (its default init, libexec/eifkit/init-ARCH) from a
  root filesystem folder staged here (busybox as /bin/busybox and
  symlinks, the script, files with chosen modes, setuid/setgid/sticky,
  an owner kept with --keep-owners, symlinks, hard links, a FIFO, files
  added with --file), --entrypoint and --, --env, --workdir, and --nsm
  with the kernel's vsock.ko standing in for nsm.ko. The guest lists its
  whole root filesystem (stat, readlink, sha256sum) and the test compares
  it, entry by entry, with the folder the build was given;
- x86_64 the way nitro-cli lays an EIF out (no workdir, empty env, no
  nsm.ko, another kernel given with --kernel): these ramdisks are written
  here in Python (cpio newc), to show that our init runs nitro-cli-style
  ramdisks that eifkit did not make;
- x86_64 without /cmd, which `eifkit build` cannot produce: ramdisks
  written here too, put together with `eifkit assemble`;
- x86_64 straight under QEMU, without `eifkit run`'s heartbeat switch.

They run when EIFKIT_BOOT=1 (make check-init, which first fetches the
kernels into build/kernels with scripts/fetch-kernel.sh); otherwise they
are skipped. With EIFKIT_BOOT=1 anything missing is a failure.
"""
import functools
import hashlib
import os
import pathlib
import re
import stat
import struct
import subprocess
import time

import pytest

from conftest import ROOT, fake_kernel, run

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
# The builds' SOURCE_DATE_EPOCH: every mtime in the ramdisks, which the
# kernel keeps when it unpacks them.
SDE = 1700000000

if not BOOTING:
    pytestmark = pytest.mark.skip(
        reason="boots EIFs under QEMU: run by make check-init (EIFKIT_BOOT=1)")


# ---- cpio newc, for the ramdisks eifkit build does not write ------------

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


# ---- helpers -------------------------------------------------------------

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


def build_eif(tmp, name, arch, *args):
    """`eifkit build` with the arch's Debian kernel and eifkit's default
    init (libexec/eifkit/init-ARCH next to the binary) into tmp/name.eif."""
    kd = kernel_dir(arch)
    need(kd / "vmlinuz", kd / "config", init_path(arch))
    eif = tmp / f"{name}.eif"
    r = run("build", "-o", eif, "--kernel", kd / "vmlinuz",
            "--kernel-config", kd / "config", "--arch", arch,
            "--name", name, *args, env={"SOURCE_DATE_EPOCH": str(SDE)})
    assert r.code == 0, r
    assert b'"PCR2"' in r.out, r
    return eif


def eif_ramdisks(eif):
    """The ramdisk sections of an EIF, in order (read here, not by
    eifkit: for booting them without `eifkit run`)."""
    data = eif.read_bytes()
    h = struct.unpack_from(">4sHHQQHH32Q32QI", data)
    assert h[0] == b".eif", eif
    out = []
    for off in h[7:7 + h[6]]:
        typ, _, size = struct.unpack_from(">HHQ", data, off)
        if typ == 3:
            out.append(data[off + 12:off + 12 + size])
    return out


def stage_busybox(root, arch):
    """A minimal root filesystem folder: /bin/busybox and /bin/sh."""
    need(kernel_dir(arch) / "busybox")
    (root / "bin").mkdir(parents=True)
    bb = root / "bin" / "busybox"
    bb.write_bytes((kernel_dir(arch) / "busybox").read_bytes())
    bb.chmod(0o755)
    os.symlink("busybox", root / "bin" / "sh")
    return root


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
echo "T cmdline=[$(tr '\0' '|' </proc/$$/cmdline)]"
tr '\0' '\n' </proc/$$/environ | while IFS= read -r v; do echo "T environ [$v]"; done
for v in GREETING EMPTY WITH_EQ PATH; do eval "echo \"T env $v=[\${$v-unset}]\""; done
echo "T pwd=$(pwd)"
set -- $(cut -d' ' -f1,4,5,6 /proc/$$/stat)
echo "T proc pid=$1 ppid=$2 pgid=$3 sid=$4"
echo "T sigblk=$(sed -n 's/^SigBlk:[[:space:]]*//p' /proc/$$/status)"
while read -r src mnt type opts rest; do echo "T mount $mnt $type $opts"; done </proc/mounts
find / -xdev | while IFS= read -r p; do
  echo "T stat $(stat -c '%n|%F|%a|%h|%u:%g|%s|%Y|%i' "$p")"
  if [ -L "$p" ]; then echo "T link $p|$(readlink "$p")"; fi
done
find / -xdev -type f -exec sha256sum {} + | sed 's/^/T sum /'
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
insmod /hb/vmw_vsock_virtio_transport_common.ko && insmod /hb/vsock_loopback.ko
/hb/test_heartbeat 9000 | sed 's/^/T hb /'
echo "T done"
exit 3
"""

# --entrypoint sh -- /app.sh ...: sh is a bare name, found through the
# app's PATH only (/opt/tools/bin/sh; there is no /bin/sh).
APP_ENTRYPOINT = "sh"
APP_ARGS = ["/app.sh", "one two", "", "  three  ", "x=y"]
APP_ENV = ["GREETING=hello enclave", "EMPTY=", "WITH_EQ=a=b",
           "PATH=/opt/tools/bin:/bin"]
APP_WORKDIR = "/data/dir"
HB_MODULES = ("vmw_vsock_virtio_transport_common", "vsock_loopback")
# What `eifkit build` adds to every rootfs, and where init mounts.
BUILD_ADDED = ("/dev", "/proc", "/run", "/sys", "/tmp", "/var")
MOUNTED = ("/dev", "/proc", "/run", "/sys", "/tmp")


def stage_app_rootfs(root, arch):
    """The full boot's root filesystem folder. Returns the --file inputs
    as (SRC, DEST, MODE or None)."""
    kd = kernel_dir(arch)

    def mkdir(rel, mode=0o755):
        (root / rel).mkdir()
        os.chmod(root / rel, mode)

    def put(rel, data, mode=0o644):
        (root / rel).write_bytes(data if isinstance(data, bytes) else data.encode())
        os.chmod(root / rel, mode)

    root.mkdir()
    mkdir("bin")
    put("bin/busybox", (kd / "busybox").read_bytes(), 0o755)
    for applet in ("cat", "ls", "stat"):
        os.symlink("busybox", root / "bin" / applet)
    mkdir("usr")
    mkdir("usr/bin")
    os.symlink("/bin/busybox", root / "usr/bin/env")
    mkdir("opt")
    mkdir("opt/tools")
    mkdir("opt/tools/bin")
    os.symlink("/bin/busybox", root / "opt/tools/bin/sh")
    put("app.sh", APP_SH, 0o755)
    mkdir("data")
    put("data/file", "hello file\n", 0o640)
    put("data/exec", "#!/bin/sh\necho hi\n", 0o755)
    put("data/empty", b"", 0o444)
    put("data/with space", "spaced\n", 0o644)
    put("data/suid", "s", 0o4755)
    put("data/sgid", "g", 0o2711)
    mkdir("data/sticky", 0o1777)
    mkdir("data/dir")
    put("data/dir/deep", "deep", 0o600)
    os.chmod(root / "data/dir", 0o700)
    os.symlink("file", root / "data/link")
    os.symlink("dir", root / "data/dirlink")
    os.symlink("../nowhere/x", root / "data/dangling")
    put("data/hl1", "linked\n", 0o644)
    os.link(root / "data/hl1", root / "data/hl2")
    os.link(root / "data/hl1", root / "data/dir/hl3")
    put("data/owned", "o", 0o604)
    if os.geteuid() == 0:
        os.chown(root / "data/owned", 1000, 2000)
        os.chmod(root / "data/owned", 0o604)
    os.mkfifo(root / "data/fifo")
    os.chmod(root / "data/fifo", 0o620)
    hb = BUILD / "init" / f"test_heartbeat-{arch}"
    return [(hb, "/hb/test_heartbeat", 0o755)] + [
        (kd / "modules" / f"{m}.ko", f"/hb/{m}.ko", None) for m in HB_MODULES]


def kind(st):
    """busybox stat's %F."""
    if stat.S_ISREG(st.st_mode):
        return "regular empty file" if st.st_size == 0 else "regular file"
    return {stat.S_IFDIR: "directory", stat.S_IFLNK: "symbolic link",
            stat.S_IFIFO: "fifo"}[stat.S_IFMT(st.st_mode)]


def expected_rootfs(root, files):
    """What the guest's root filesystem must hold, from the folder and
    the --file inputs: path -> {type, mode, nlink, owner, size, mtime,
    key (hard-link identity), link (symlink target), sha256}."""
    exp = {}

    def entry(path, st, **kw):
        exp[path] = dict(type=kind(st), mode=f"{stat.S_IMODE(st.st_mode):o}",
                         owner=f"{st.st_uid}:{st.st_gid}", mtime=str(SDE),
                         size=None if stat.S_ISDIR(st.st_mode) else str(st.st_size),
                         key=None, link=None, sha256=None, **kw)

    def new_dir(path):
        exp[path] = dict(type="directory", mode="755", owner="0:0",
                         mtime=str(SDE), size=None, key=None, link=None,
                         sha256=None)

    new_dir("/")  # rootfs/ itself: 0755 0:0 whatever the folder's are
    for dirpath, dirs, names in os.walk(root):
        for n in dirs + names:
            p = pathlib.Path(dirpath) / n
            st = p.lstat()
            path = "/" + str(p.relative_to(root))
            entry(path, st)
            if stat.S_ISLNK(st.st_mode):
                exp[path]["link"] = os.readlink(p)
            elif stat.S_ISREG(st.st_mode):
                exp[path]["key"] = (st.st_dev, st.st_ino)
                exp[path]["sha256"] = hashlib.sha256(p.read_bytes()).hexdigest()
    for path in BUILD_ADDED:
        new_dir(path)
    for src, dest, mode in files:
        for i in range(1, dest.count("/")):
            parent = dest.rsplit("/", dest.count("/") - i)[0]
            if parent not in exp:
                new_dir(parent)  # missing parents of a --file: 0755
        st = os.stat(src)
        entry(dest, st)
        if mode is not None:
            exp[dest]["mode"] = f"{mode:o}"
        exp[dest]["key"] = ("file", dest)
        exp[dest]["sha256"] = hashlib.sha256(pathlib.Path(src).read_bytes()).hexdigest()
    # nlink: links inside the tree for files, 2 + subdirectories for dirs
    keys = [e["key"] for e in exp.values() if e["key"]]
    for path, e in exp.items():
        if e["type"] == "directory":
            e["nlink"] = str(2 + sum(
                1 for q, o in exp.items() if o["type"] == "directory" and q != "/"
                and q.rsplit("/", 1)[0] == ("" if path == "/" else path)))
        elif e["key"]:
            e["nlink"] = str(keys.count(e["key"]))
        else:
            e["nlink"] = "1"
    return exp


def guest_rootfs(b):
    """The guest's `find / -xdev` as path -> the same fields."""
    got = {}
    for v in b.marks("stat "):
        path, typ, mode, nlink, owner, size, mtime, ino = v.split("|")
        got[path] = dict(type=typ, mode=mode, nlink=nlink, owner=owner,
                         size=size, mtime=mtime, ino=ino)
    for v in b.marks("link "):
        path, target = v.split("|", 1)
        got[path]["link"] = target
    for v in b.marks("sum "):
        digest, path = v.split("  ", 1)
        got[path]["sha256"] = digest
    return got


def full_boot(tmp_path_factory, arch):
    kd = kernel_dir(arch)
    hb = BUILD / "init" / f"test_heartbeat-{arch}"
    need(kd / "vmlinuz", kd / "busybox", kd / "modules" / "vsock.ko",
         init_path(arch), hb, *(kd / "modules" / f"{m}.ko" for m in HB_MODULES))
    tmp = tmp_path_factory.mktemp(f"boot-{arch}")
    root = tmp / "rootfs"
    files = stage_app_rootfs(root, arch)
    args = ["--rootfs", root, "--keep-owners", "--nsm", kd / "modules" / "vsock.ko"]
    for src, dest, mode in files:
        args += ["--file", f"{src}:{dest}" + (f":{mode:o}" if mode else "")]
    for v in APP_ENV:
        args += ["--env", v]
    args += ["--workdir", APP_WORKDIR, "--entrypoint", APP_ENTRYPOINT,
             "--", *APP_ARGS]
    eif = build_eif(tmp, f"full-{arch}", arch, *args)
    b = boot(eif, arch)
    b.expected = expected_rootfs(root, files)
    return b


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


def test_argv_is_entrypoint_then_args(full):
    assert full.mark("argc=") == str(len(APP_ARGS) - 1)
    assert full.marks("arg=") == [f"[{a}]" for a in APP_ARGS[1:]]
    # the whole argv as exec'd: --entrypoint, then the words after --
    assert full.mark("cmdline=") == \
        "[" + "".join(a + "|" for a in [APP_ENTRYPOINT, *APP_ARGS]) + "]"


def test_env_exactly_and_path_lookup(full):
    # the app's environment is exactly the --env list, in order
    assert full.marks("environ ") == [f"[{v}]" for v in APP_ENV]
    assert full.mark("env GREETING=") == "[hello enclave]"
    assert full.mark("env EMPTY=") == "[]"
    assert full.mark("env WITH_EQ=") == "[a=b]"
    # sh exists only as /opt/tools/bin/sh: found through the app's PATH
    assert full.mark("env PATH=") == "[/opt/tools/bin:/bin]"


def test_workdir(full):
    assert full.mark("pwd=") == APP_WORKDIR


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


def test_rootfs_is_what_the_build_put_in(full):
    """Every entry of the guest's root filesystem, and nothing else, with
    the type, mode, link count, owner, size, mtime, symlink target and
    contents the build gave it from the folder and the --file inputs."""
    exp, got = full.expected, guest_rootfs(full)
    assert sorted(got) == sorted(exp)
    fields = ("type", "mode", "nlink", "owner", "size", "mtime", "link", "sha256")
    bad = {}
    for path, e in exp.items():
        if path in MOUNTED:
            assert got[path]["type"] == "directory", (path, got[path])
            continue
        want = {k: e[k] for k in fields if e[k] is not None}
        have = {k: got[path].get(k) for k in want}
        if have != want:
            bad[path] = (want, have)
    assert bad == {}


def test_rootfs_modes_owners_links(full):
    """The same, spelled out for the entries chosen for it (so that a
    staging mistake on this host cannot hide behind the comparison)."""
    got = guest_rootfs(full)

    def s(path):
        g = got[path]
        return f"{g['type']} {g['mode']} {g['nlink']} {g['owner']} {g['size']}"

    me = f"{os.geteuid()}:{os.getegid()}"  # 0:0 as root
    owned = "1000:2000" if os.geteuid() == 0 else me
    assert s("/data/file") == f"regular file 640 1 {me} 11"
    assert s("/data/exec") == f"regular file 755 1 {me} 18"
    assert s("/data/empty") == f"regular empty file 444 1 {me} 0"
    assert s("/data/suid") == f"regular file 4755 1 {me} 1"
    assert s("/data/sgid") == f"regular file 2711 1 {me} 1"
    assert s("/data/sticky").startswith(f"directory 1777 2 {me} ")
    assert s("/data/dir").startswith(f"directory 700 2 {me} ")
    assert s("/data/dir/deep") == f"regular file 600 1 {me} 4"
    assert s("/data/fifo") == f"fifo 620 1 {me} 0"
    assert s("/data/owned") == f"regular file 604 1 {owned} 1"
    assert s("/data/link") == f"symbolic link 777 1 {me} 4"
    assert got["/data/link"]["link"] == "file"
    assert got["/data/dirlink"]["link"] == "dir"
    assert got["/data/dangling"]["link"] == "../nowhere/x"
    assert got["/opt/tools/bin/sh"]["link"] == "/bin/busybox"
    assert got["/bin/ls"]["link"] == "busybox"
    # one file with three names: one inode, nlink 3, the data on each
    hl = [got[p] for p in ("/data/hl1", "/data/hl2", "/data/dir/hl3")]
    assert {(g["type"], g["nlink"], g["size"], g["ino"]) for g in hl} == \
        {("regular file", "3", "7", hl[0]["ino"])}, hl
    assert {g["sha256"] for g in hl} == {hashlib.sha256(b"linked\n").hexdigest()}
    assert got["/data/file"]["ino"] != hl[0]["ino"]
    # --file: the MODE given, or the source's; parents made 0755
    assert s("/hb").startswith("directory 755 ")
    assert got["/hb/test_heartbeat"]["mode"] == "755"
    assert got["/bin/busybox"]["mtime"] == str(SDE)
    assert full.mark("content ") == "hello file"


def test_cmd_env_workdir_removed(full):
    root = full.mark("root ").split()
    for gone in ("cmd", "env", "workdir", "init", "nsm.ko", "rootfs"):
        assert gone not in root, root
    assert {"bin", "data", "dev", "proc", "sys", "tmp", "run", "var"} <= set(root)


def test_nsm_module_loaded(full):
    # vsock.ko given to build as --nsm: init loaded it with finit_module
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
    # nitro-cli's layout, written here rather than by eifkit build: no
    # workdir file; an image without ENV gives an empty env (AWS's init
    # then uses its fixed PATH); no nsm.ko. The EIF's own kernel stands
    # for one built for Nitro, which QEMU cannot boot: --kernel replaces it.
    nitro_kernel = tmp / "nitro-bzImage"
    nitro_kernel.write_bytes(fake_kernel(fill=b"not a kernel QEMU can boot\n" * 100))
    script = ('echo "T pwd=$(pwd)"; echo "T path=[$PATH]"; '
              'echo "T nsm-module $([ -e /sys/module/vsock ] && echo loaded || echo absent)"; '
              'echo "T root $(ls / | tr "\\n" " ")"')
    tree = [d("bin"), f("bin/busybox", (kd / "busybox").read_bytes(), 0o755)]
    eif = make_eif(tmp, "compat", arch, [
        system_ramdisk(init_path(arch)),
        user_ramdisk(tree, ["busybox", "sh", "-c", script], []),
    ], kernel=nitro_kernel)
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
    # eifkit build always writes /cmd (it refuses to build without a
    # command): this ramdisk is written here.
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
    """An EIF from eifkit build, booted by QEMU directly: `eifkit run`
    always adds the switch. No vsock here, so init must stop before the
    app, saying why."""
    arch = "x86_64"
    kd = kernel_dir(arch)
    need(kd / "vmlinuz", kd / "busybox", init_path(arch))
    root = stage_busybox(tmp_path / "rootfs", arch)
    eif = build_eif(tmp_path, "hb-on", arch, "--rootfs", root, "--env", "PATH=/bin",
                    "--", "/bin/busybox", "echo", "T app ran")
    initrd = tmp_path / "initrd"
    initrd.write_bytes(b"".join(eif_ramdisks(eif)))
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
