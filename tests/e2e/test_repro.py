"""eifkit build is reproducible and streams.

The same inputs must give the same SHA-256 whatever the input files'
mtimes and owners, the order their files and directories were created in
(and so the order directories list them and their inode numbers), the
umask, TZ, LANG/LC_ALL, the clock, the current directory and the absolute
paths of the inputs, the user running it, and the CPUs it may use. Each
variation is applied on its own and compared with a baseline, so a failure
names the variation. disorderfs (shuffled and reversed directory listings)
and reprotest (its own set of variations) run where FUSE works.

Memory: peak RSS (GNU time's %M, which counts eifkit alone) stays under
32 MiB for a 10 MiB tree and for a 2 GiB one (sparse files: no disk
used), and strace shows that nothing but the output is written: no
temporary cpio file.
"""
import hashlib
import os
import pathlib
import random
import shutil
import stat
import subprocess
import tempfile

import pytest

from conftest import fake_kernel, eifkit_path

IS_ROOT = os.geteuid() == 0
NOBODY = 65534
GOLDEN = pathlib.Path(__file__).resolve().parent / "golden" / "system-ramdisk"


# ---- the inputs ----------------------------------------------------------------

# every input is readable by nobody, who builds it too
DIRS = {"bin": 0o755, "etc": 0o755, "etc/ssl": 0o755, "tmp": 0o1777,
        "usr/lib/x": 0o755, "usr/lib": 0o755, "usr": 0o755, "var/empty": 0o775,
        "var": 0o755, "srv/many": 0o755, "srv": 0o2755}
FILES = {"bin/app": (b"\x7fELF app" * 100, 0o755),
         "bin/su": (b"setuid", 0o4755),
         "etc/hosts": (b"127.0.0.1 localhost\n", 0o644),
         "etc/ssl/key": (b"not secret", 0o604),
         "usr/lib/x/lib.so": (bytes(range(256)) * 64, 0o755),
         "empty": (b"", 0o644)}
FILES.update({f"srv/many/f{i:03d}": (b"%d\n" % i * (i % 7), 0o644)
              for i in range(150)})
LINKS = {"bin/sh": "app", "etc/abs": "/etc/hosts", "lib": "usr/lib"}
HARD = [("bin/app", "bin/app-alias", "usr/lib/x/app3")]


def populate(root, seed):
    """Create the tree in an order that depends on seed (0: sorted)."""
    linked = {p for g in HARD for p in g}
    items = ([("d", p) for p in DIRS] +
             [("f", p) for p in FILES if p not in linked] +
             [("l", p) for p in LINKS] + [("h", g) for g in HARD] +
             [("p", "srv/fifo")])
    if IS_ROOT:
        items.append(("c", "dev-null"))
    rng = random.Random(seed)
    if seed:
        rng.shuffle(items)
    else:
        items.sort(key=lambda i: str(i[1]))
    old = os.umask(0o022)
    try:
        root.mkdir(parents=True)
        for kind, p in items:
            if kind == "h":
                p = list(p)
                rng.shuffle(p)
                first, rest = p[0], p[1:]
                (root / first).parent.mkdir(parents=True, exist_ok=True)
                (root / first).write_bytes(FILES[HARD[0][0]][0])
                os.chmod(root / first, FILES[HARD[0][0]][1])
                for q in rest:
                    (root / q).parent.mkdir(parents=True, exist_ok=True)
                    os.link(root / first, root / q)
                continue
            (root / p).parent.mkdir(parents=True, exist_ok=True)
            if kind == "d":
                (root / p).mkdir(exist_ok=True)
            elif kind == "f":
                (root / p).write_bytes(FILES[p][0])
                os.chmod(root / p, FILES[p][1])
            elif kind == "l":
                os.symlink(LINKS[p], root / p)
            elif kind == "p":
                os.mkfifo(root / p, 0o640)
            else:
                os.mknod(root / p, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        for p, mode in DIRS.items():
            os.chmod(root / p, mode)
    finally:
        os.umask(old)


def touch_all(base, seed, owners=False):
    """Random mtimes (and owners) on every input, the folder included."""
    rng = random.Random(seed)
    for dirpath, dirnames, filenames in os.walk(base):
        for n in dirnames + filenames + ["."]:
            p = os.path.join(dirpath, n)
            t = rng.randrange(1, 2_000_000_000)
            if owners:  # chown clears setuid and setgid: put them back
                mode = os.lstat(p).st_mode
                os.lchown(p, rng.randrange(1, 60000), rng.randrange(1, 60000))
                if not stat.S_ISLNK(mode):
                    os.chmod(p, stat.S_IMODE(mode))
            os.utime(p, (t, t), follow_symlinks=False)


def make_inputs(base, seed=0):
    """base/{kernel,init,nsm.ko,env,rootfs}: world-readable, so that
    nobody can read them too."""
    populate(base / "rootfs", seed)
    (base / "kernel").write_bytes(
        fake_kernel(fill=hashlib.sha256(b"k").digest() * 300))
    shutil.copyfile(GOLDEN / "init", base / "init")
    shutil.copyfile(GOLDEN / "nsm.ko", base / "nsm.ko")
    (base / "env").write_text("# env\nA=1\nB=two words\n")
    for p in (base, *base.parents):
        if str(p).startswith(tempfile.gettempdir() + "/"):
            os.chmod(p, 0o755)
    return base


def build_args(base, *extra):
    b = pathlib.Path(base)
    return ["--kernel", b / "kernel", "--init", b / "init", "--nsm",
            b / "nsm.ko", "--rootfs", b / "rootfs", "--env-file", b / "env",
            "--env", "C=3", "--workdir", "/srv", "--entrypoint", "/bin/app",
            *extra, "--", "serve", "--port", "8000"]


CLEAN_ENV = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"}


def build_hash(out_dir, args, env=None, cwd=None, prefix=(), umask=None):
    out = pathlib.Path(out_dir) / "out.eif"
    if out.exists():
        out.unlink()

    def pre():
        if umask is not None:
            os.umask(umask)
    cp = subprocess.run([*prefix, eifkit_path(), "build", "--no-app-check", "-o", str(out),
                         *map(str, args)], env=dict(CLEAN_ENV, **(env or {})),
                        cwd=cwd, capture_output=True, preexec_fn=pre)
    assert cp.returncode == 0, (prefix, args, cp.stderr)
    h = hashlib.sha256(out.read_bytes()).hexdigest()
    out.unlink()
    return h


@pytest.fixture(scope="module")
def work():
    """A world-readable scratch folder (pytest's own is root-only): the
    inputs, and an output folder nobody may write to."""
    d = pathlib.Path(tempfile.mkdtemp(prefix="eifkit-repro-"))
    os.chmod(d, 0o755)
    out = d / "out"
    out.mkdir()
    os.chmod(out, 0o777)
    make_inputs(d / "a")
    try:
        yield d
    finally:
        for dfs in d.glob("dfs-*/rootfs"):
            subprocess.run(["fusermount", "-u", str(dfs)], capture_output=True)
        shutil.rmtree(d)


def assert_same(hashes):
    base = hashes["baseline"]
    differ = sorted(k for k, h in hashes.items() if h != base)
    assert differ == [], f"these variations change the output: {differ}"


@pytest.mark.parametrize("keep", [False, True], ids=["normalised", "kept"])
def test_variations(work, keep):
    extra = ["--keep-owners", "--keep-mtimes"] if keep else []
    out = work / "out"
    a = work / "a"
    h = {"baseline": build_hash(out, build_args(a, *extra))}

    # the input files' mtimes (and owners): a copy made in the same order
    if not keep:
        m = make_inputs(work / "mtimes")
        touch_all(m, 1, owners=IS_ROOT)
        h["input mtimes" + (" and owners" if IS_ROOT else "")] = \
            build_hash(out, build_args(m, *extra))
    # creation order: shuffled twice (other listing order, other inodes)
    for seed in (1, 2):
        c = make_inputs(work / f"order{seed}-{int(keep)}", seed)
        if keep:  # same mtimes as the baseline's inputs
            for p in a.rglob("*"):
                q = c / p.relative_to(a)
                st = os.lstat(p)
                os.utime(q, ns=(st.st_mtime_ns, st.st_mtime_ns),
                         follow_symlinks=False)
            os.utime(c / "rootfs", ns=(0, 0))
        h[f"creation order {seed}"] = build_hash(out, build_args(c, *extra))
    h["umask 077"] = build_hash(out, build_args(a, *extra), umask=0o077)
    h["umask 000"] = build_hash(out, build_args(a, *extra), umask=0)
    for tz in ("Pacific/Kiritimati", "America/St_Johns", "UTC+12"):
        h[f"TZ={tz}"] = build_hash(out, build_args(a, *extra), env={"TZ": tz})
    for loc in ("tr_TR.UTF-8", "C.UTF-8", "POSIX", "de_DE.ISO-8859-1"):
        h[f"LANG/LC_ALL={loc}"] = build_hash(
            out, build_args(a, *extra), env={"LANG": loc, "LC_ALL": loc})
    if shutil.which("faketime"):
        h["clock 2031"] = build_hash(out, build_args(a, *extra),
                                     prefix=["faketime", "2031-05-06 07:08:09"])
    # the current directory, with relative paths to the same inputs
    h["cwd: relative paths"] = build_hash(out, build_args("a", *extra), cwd=work)
    deep = work / "x" / "y" / "z"
    deep.mkdir(parents=True, exist_ok=True)
    h["cwd: ../../../a"] = build_hash(out, build_args("../../../a", *extra),
                                      cwd=deep)
    h["cwd: / and absolute paths"] = build_hash(out, build_args(a, *extra),
                                                cwd="/")
    # the absolute paths of the inputs: the same tree somewhere else
    far = work / "some" / "where" / "else entirely"
    if not far.exists():
        far.parent.mkdir(parents=True)
        subprocess.run(["cp", "-a", str(a), str(far)], check=True)
        for p in (far.parent, *far.parent.parents):
            if p != work and str(p).startswith(str(work)):
                os.chmod(p, 0o755)
    h["absolute paths (cp -a)"] = build_hash(out, build_args(far, *extra))
    # the user
    if IS_ROOT:
        h["user nobody"] = build_hash(
            out, build_args(a, *extra),
            prefix=["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}",
                    "--clear-groups"])
    # CPUs
    if shutil.which("taskset") and os.cpu_count() > 1:
        h["taskset -c 0"] = build_hash(out, build_args(a, *extra),
                                       prefix=["taskset", "-c", "0"])
        h["taskset -c 0,1"] = build_hash(out, build_args(a, *extra),
                                         prefix=["taskset", "-c", "0,1"])
    assert len(h) >= 15
    assert_same(h)


def test_source_date_epoch_zero_is_the_default(work):
    out = work / "out"
    args = build_args(work / "a")
    assert build_hash(out, args) == build_hash(out, args,
                                               env={"SOURCE_DATE_EPOCH": "0"})
    assert build_hash(out, args) != build_hash(out, args,
                                               env={"SOURCE_DATE_EPOCH": "1"})


# ---- disorderfs and reprotest --------------------------------------------------

def fuse_problem(work):
    """Why disorderfs cannot run here, or None."""
    if not shutil.which("disorderfs") or not shutil.which("fusermount"):
        return "disorderfs is not installed (apt-get install disorderfs)"
    if not os.path.exists("/dev/fuse"):
        return "/dev/fuse does not exist in this sandbox"
    src, mnt = work / "fuse-probe-src", work / "fuse-probe"
    src.mkdir(exist_ok=True)
    mnt.mkdir(exist_ok=True)
    cp = subprocess.run(["disorderfs", "-q", str(src), str(mnt)],
                        capture_output=True, text=True)
    if cp.returncode != 0:
        return f"mounting disorderfs failed: {cp.stderr.strip()}"
    subprocess.run(["fusermount", "-u", str(mnt)], check=True)
    return None


@pytest.mark.parametrize("how", ["--shuffle-dirents=yes",
                                 "--reverse-dirents=yes"])
def test_disorderfs(work, how):
    why = fuse_problem(work)
    if why:
        pytest.skip(why)
    out = work / "out"
    base = build_hash(out, build_args(work / "a"))
    dfs = work / f"dfs-{how[2:9]}"
    if not dfs.exists():
        shutil.copytree(work / "a", dfs, symlinks=True,
                        ignore=shutil.ignore_patterns("rootfs"))
        os.chmod(dfs, 0o755)
    (dfs / "rootfs").mkdir(exist_ok=True)
    subprocess.run(["disorderfs", "-q", how, str(work / "a" / "rootfs"),
                    str(dfs / "rootfs")], check=True)
    try:
        # the mount really lists in another order
        assert os.listdir(dfs / "rootfs" / "srv" / "many") != \
            os.listdir(work / "a" / "rootfs" / "srv" / "many")
        assert build_hash(out, build_args(dfs)) == base
    finally:
        subprocess.run(["fusermount", "-u", str(dfs / "rootfs")], check=True)


def test_reprotest(work):
    """reprotest's own variations (+all): environment, build path, kernel
    personality, ASLR, CPUs, the clock (faketime), disorderfs file
    ordering, domain and host name, home, locales, PATH, time zone, umask.
    Not user_group: it needs sudo, and reprotest 0.7.23 calls sudo with an
    option that Debian 12's sudo refuses; test_variations runs eifkit as
    nobody itself."""
    missing = [p for p in ("reprotest", "faketime") if not shutil.which(p)]
    if missing:
        pytest.skip(f"not installed: {' '.join(missing)} (apt-get install "
                    "reprotest faketime; make check installs them)")
    why = fuse_problem(work)
    if why:
        pytest.skip(f"reprotest varies file ordering with disorderfs: {why}")
    src = work / "reprotest-src"
    if not src.exists():
        subprocess.run(["cp", "-a", str(work / "a"), str(src)], check=True)
        (src / "build.sh").write_text(
            "set -e\n"
            f"'{eifkit_path()}' build -o out.eif --kernel kernel --init init "
            "--nsm nsm.ko --rootfs rootfs --env-file env --entrypoint /bin/app "
            "--no-app-check"
            " -- serve\n")
    cp = subprocess.run(["reprotest", "--min-cpus=2", "--vary=+all,-user_group",
                         "-s", str(src), "sh build.sh", "out.eif"],
                        capture_output=True, text=True, timeout=300)
    assert cp.returncode == 0, cp.stdout[-3000:] + cp.stderr[-3000:]
    assert "Reproduction successful" in cp.stdout, cp.stdout


# ---- streaming -------------------------------------------------------------------

LIMIT_KIB = 32 * 1024


def peak_rss_kib(args):
    cp = subprocess.run(["/usr/bin/time", "-f", "%M", eifkit_path(),
                         *map(str, args)], stdout=subprocess.DEVNULL,
                        stderr=subprocess.PIPE)
    assert cp.returncode == 0, cp.stderr
    return int(cp.stderr.decode().split()[-1])


def sized_tree(root, big):
    """1050 files of 10 KiB (over 10 MiB); with big, also two sparse files
    of 1 GiB - 1 and 1 GiB + 1 (over 2 GiB)."""
    for d in range(10):
        (root / f"d{d}").mkdir(parents=True)
        for i in range(105):
            (root / f"d{d}" / f"f{i}").write_bytes((b"%d." % i * 4096)[:10240])
    if big:
        for name, size in (("big1", (1 << 30) - 1), ("big2", (1 << 30) + 1)):
            with open(root / name, "wb") as f:
                f.truncate(size)


def test_peak_rss_is_flat(tmp_path):
    rss = {}
    for big in (False, True):
        root = tmp_path / f"rootfs-{big}"
        sized_tree(root, big)
        out = tmp_path / "o.eif"
        k = tmp_path / "kernel"
        k.write_bytes(fake_kernel())
        rss[big] = peak_rss_kib(["build", "--no-app-check", "-o", out, "--kernel",
                                 k, "--init", GOLDEN / "init",
                                 "--rootfs", root, "--entrypoint", "/x"])
        size = out.stat().st_size
        out.unlink()
        assert size > (2 << 30 if big else 10 << 20)
    assert rss[False] < LIMIT_KIB, f"10 MiB tree: {rss[False]} KiB"
    assert rss[True] < LIMIT_KIB, f"2 GiB tree: {rss[True]} KiB"
    assert rss[True] < rss[False] + 4096, rss  # flat: not the data's size


def test_no_temporary_file(tmp_path):
    """The only file opened for writing is the output, created unnamed in
    the output folder (O_TMPFILE), linked in under a temporary name and
    renamed over the path at the end; nothing is created elsewhere (no
    memfd, no named temporary while the data is written)."""
    if not shutil.which("strace"):
        pytest.skip("strace is not installed (apt-get install strace)")
    root = tmp_path / "rootfs"
    sized_tree(root, False)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    log = tmp_path / "strace.log"
    (tmp_path / "kernel").write_bytes(fake_kernel())
    cp = subprocess.run(["strace", "-f", "-qq", "-o", str(log), "-e",
                         "trace=open,openat,creat,memfd_create,rename,"
                         "renameat,renameat2,link,linkat",
                         eifkit_path(), "build", "--no-app-check", "-o", str(out_dir / "o.eif"),
                         "--kernel", str(tmp_path / "kernel"), "--init",
                         str(GOLDEN / "init"), "--rootfs", str(root),
                         "--entrypoint", "/x"], capture_output=True)
    assert cp.returncode == 0, cp.stderr
    lines = log.read_text().splitlines()
    writes = [line for line in lines
              if ("O_WRONLY" in line or "O_RDWR" in line or "O_CREAT" in line
                  or "O_TMPFILE" in line or "memfd_create(" in line
                  or "creat(" in line) and "= -1" not in line]
    assert len(writes) == 1 and "O_TMPFILE" in writes[0], writes
    assert writes[0].split('"')[1] == str(out_dir), writes
    links = [line for line in lines if "linkat(" in line and "= -1" not in line]
    assert len(links) == 1, links
    tmp_name = links[0].split('"')[-2]
    assert os.path.dirname(tmp_name) == str(out_dir), links
    renames = [line for line in log.read_text().splitlines() if "rename" in line]
    assert len(renames) == 1 and tmp_name in renames[0] and \
        str(out_dir / "o.eif") in renames[0], renames
