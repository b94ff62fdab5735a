"""Outputs and inputs of every command that writes a file (#9, #10).

Outputs are only ever regular files eifkit creates: a folder, a device, a
FIFO or a symlink at the output path is refused, and so is an output that
is one of the inputs; these checks come before any work (stdout stays
empty, no input is read). The file appears only when complete (O_TMPFILE
+ linkat, or a named temporary removed on every catchable signal where the
filesystem has no O_TMPFILE). Inputs must be regular files, or pipes where
docs/eifkit.md says a stream is read."""
import os
import resource
import shlex
import shutil
import signal
import stat
import subprocess

import pytest

from conftest import fake_kernel, VECTORS, eifkit_path, run
from test_ramdisk_system import GOLDEN

A = VECTORS / "a-one-ramdisk"
S = VECTORS / "f-signed-p384"


@pytest.fixture
def w(tmp_path):
    """A small work folder: kernel, rootfs, env file, keys, an EIF."""
    (tmp_path / "kernel").write_bytes(fake_kernel(size=4000))
    (tmp_path / "rootfs" / "bin").mkdir(parents=True)
    (tmp_path / "rootfs" / "bin" / "app").write_bytes(b"#!/bin/sh\n")
    (tmp_path / "env").write_text("A=1\n")
    for f in ("key.pem", "cert.pem"):
        shutil.copy(S / f, tmp_path / f)
    shutil.copy(A / "expected.eif", tmp_path / "in.eif")
    shutil.copy(A / "ramdisk0", tmp_path / "ramdisk0")
    return tmp_path


def argv(cmd, w, out, *more):
    """A complete, valid command line of cmd writing out, more options
    added before the command."""
    if cmd == "build":
        return ["build", "--no-app-check", "--kernel", w / "kernel", "--init", GOLDEN / "init",
                "--rootfs", w / "rootfs", "--env-file", w / "env",
                "-o", out, *more, "--", "/bin/app"]
    if cmd == "assemble":
        return ["assemble", "--kernel", w / "kernel", "--cmdline", "x",
                "--ramdisk", w / "ramdisk0", "-o", out, *more]
    if cmd == "sign":
        return ["sign", w / "in.eif", "--signing-certificate", w / "cert.pem",
                "--private-key", w / "key.pem", "-o", out, *more]
    return ["ramdisk", "--layout", "user", "--rootfs", w / "rootfs",
            "--env-file", w / "env", "-o", out, *more, "--", "/bin/app"]


COMMANDS = ["build", "assemble", "sign", "ramdisk"]


def snapshot(d):
    """Names, types and contents of everything below d (not following
    symlinks): a failed command must leave it exactly as it was."""
    out = {}
    for root, dirs, files in os.walk(d):
        for n in dirs + files:
            p = os.path.join(root, n)
            st = os.lstat(p)
            data = (open(p, "rb").read() if stat.S_ISREG(st.st_mode) else
                    os.readlink(p) if stat.S_ISLNK(st.st_mode) else None)
            out[os.path.relpath(p, d)] = (stat.S_IFMT(st.st_mode), data)
    return out


def refused(r, cmd, *needles):
    assert r.code == 1, r
    err = r.err.decode()
    assert err.startswith(f"eifkit {cmd}: ") and err.count("\n") == 1, err
    for n in needles:
        assert str(n) in err, (n, err)
    assert r.out == b"", "work was done before the output was checked"


# ---- what the output path may be ----------------------------------------------

@pytest.mark.parametrize("cmd", COMMANDS)
def test_output_is_a_folder(w, cmd):
    before = snapshot(w)
    (w / "out").mkdir()
    r = run(*argv(cmd, w, w / "out"))
    refused(r, cmd, f"'{w / 'out'}'", "is a directory")
    assert "(null)" not in r.err.decode()
    (w / "out").rmdir()
    assert snapshot(w) == before


@pytest.mark.parametrize("cmd", COMMANDS)
def test_output_in_a_missing_folder(w, cmd):
    r = run(*argv(cmd, w, w / "nope" / "o"))
    refused(r, cmd, w / "nope")


@pytest.mark.parametrize("cmd", COMMANDS)
def test_output_is_dev_null(w, cmd):
    r = run(*argv(cmd, w, "/dev/null"))
    refused(r, cmd, "/dev/null", "not a regular file")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


@pytest.mark.parametrize("cmd", COMMANDS)
def test_output_is_a_fifo(w, cmd):
    os.mkfifo(w / "fifo")
    r = run(*argv(cmd, w, w / "fifo"))  # must not block on the FIFO
    refused(r, cmd, "fifo", "not a regular file")
    assert stat.S_ISFIFO(os.lstat(w / "fifo").st_mode)


@pytest.mark.parametrize("dangling", [False, True])
@pytest.mark.parametrize("cmd", COMMANDS)
def test_output_is_a_symlink(w, cmd, dangling):
    target = w / "target"
    if not dangling:
        target.write_bytes(b"keep")
    os.symlink(target, w / "link")
    before = snapshot(w)
    r = run(*argv(cmd, w, w / "link"))
    refused(r, cmd, "link", "symbolic link")
    assert snapshot(w) == before


@pytest.mark.parametrize("cmd", COMMANDS)
def test_output_written_to_a_regular_file(w, cmd):
    """The control: the same command lines succeed, and replace a
    previous regular file."""
    (w / "o").write_bytes(b"previous")
    r = run(*argv(cmd, w, w / "o"))
    assert r.code == 0, r
    assert (w / "o").read_bytes() != b"previous"


# ---- an output that is an input -------------------------------------------------

SAME = [
    ("build", "--kernel", "kernel"),
    ("build", "--env-file", "env"),
    ("build", "--rootfs", "rootfs/bin/app"),
    ("build", "--rootfs", "rootfs/new.eif"),   # not there yet: still inside
    ("assemble", "--kernel", "kernel"),
    ("assemble", "--ramdisk", "ramdisk0"),
    ("sign", "--private-key", "key.pem"),
    ("sign", "--signing-certificate", "cert.pem"),
    ("ramdisk", "--env-file", "env"),
    ("ramdisk", "--rootfs", "rootfs/bin/app"),
]


@pytest.mark.parametrize("cmd,what,name", SAME)
def test_output_is_an_input(w, cmd, what, name):
    before = snapshot(w)
    r = run(*argv(cmd, w, w / name))
    refused(r, cmd, name, what)
    assert snapshot(w) == before


@pytest.mark.parametrize("cmd,what", [("build", "--kernel"),
                                      ("assemble", "--kernel"),
                                      ("sign", "--private-key")])
def test_output_is_an_input_by_another_name(w, cmd, what):
    """Same device and inode: a hard link and a path through a symlinked
    folder are the same file as the input."""
    name = "key.pem" if what == "--private-key" else "kernel"
    os.link(w / name, w / "hard")
    os.symlink(w, w / "via")
    before = snapshot(w)
    for out in (w / "hard", w / "via" / name):
        r = run(*argv(cmd, w, out))
        refused(r, cmd, what)
    assert snapshot(w) == before


def test_build_file_source_is_the_output(w):
    r = run("build", "--no-app-check", "--kernel", w / "kernel", "--init", GOLDEN / "init",
            "--file", f"{w / 'env'}:/etc/env", "-o", w / "env", "--", "/a")
    refused(r, "build", "--file")
    assert (w / "env").read_text() == "A=1\n"


def test_system_ramdisk_init_is_the_output(w):
    shutil.copy(GOLDEN / "init", w / "init")
    r = run("ramdisk", "--layout", "system", "--init", w / "init",
            "-o", w / "init")
    refused(r, "ramdisk", "--init")
    assert (w / "init").read_bytes() == (GOLDEN / "init").read_bytes()


def test_sign_in_place_stays_allowed(w):
    """The EIF sign reads may be the one it writes (documented): it is
    read whole before the new file replaces it."""
    r = run(*argv("sign", w, w / "in.eif"))
    assert r.code == 0, r
    assert run("verify", w / "in.eif", "--signing-certificate",
               w / "cert.pem").code == 0


@pytest.mark.parametrize("cmd", ["build", "assemble"])
def test_pcrs_and_output_one_file(w, cmd):
    r = run(*argv(cmd, w, w / "o.eif", "--pcrs", w / "o.eif"))
    refused(r, cmd, "two outputs in one file")
    assert not (w / "o.eif").exists()


@pytest.mark.parametrize("cmd", ["build", "assemble"])
def test_pcrs_is_a_folder(w, cmd):
    r = run(*argv(cmd, w, w / "o.eif", "--pcrs", "/tmp"))
    refused(r, cmd, "'/tmp'", "is a directory")
    assert not (w / "o.eif").exists()


# ---- a failure at the very end leaves nothing -----------------------------------

@pytest.mark.parametrize("cmd", ["build", "assemble", "sign"])
def test_stdout_full(w, cmd):
    """The measurements go to stdout last; if they cannot be written the
    EIF (and --pcrs) are not left behind either."""
    more = [] if cmd == "sign" else ["--pcrs", w / "p.json"]
    with open("/dev/full", "wb") as full:
        cp = subprocess.run([eifkit_path(), *map(str, argv(cmd, w, w / "o.eif",
                                                          *more))],
                            stdout=full, stderr=subprocess.PIPE, timeout=120)
    assert cp.returncode == 1, cp.stderr
    assert cp.stderr == (f"eifkit {cmd}: cannot write to stdout: "
                         "No space left on device\n").encode(), cp.stderr
    assert not (w / "o.eif").exists() and not (w / "p.json").exists()
    assert [p for p in os.listdir(w) if p.startswith(".")] == []


# ---- inputs that are not regular files ------------------------------------------

def timed_run(*args):
    cp = subprocess.run([eifkit_path(), *map(str, args)], capture_output=True,
                        timeout=60)  # a blocked open would hang here
    return cp


@pytest.mark.parametrize("args", [
    ["describe", "{fifo}"], ["describe", "--text", "{fifo}"], ["ls", "{fifo}"],
    ["verify", "{fifo}"], ["pcr", "{fifo}"],
])
def test_eif_readers_refuse_a_fifo(w, args):
    os.mkfifo(w / "fifo")
    cp = timed_run(*[a.format(fifo=w / "fifo") for a in args])
    assert cp.returncode == 1, cp
    msg = f"'{w / 'fifo'}': is a pipe; this input must be a regular file\n"
    if args[0] == "verify":  # its report, on stdout
        assert cp.stdout.endswith(msg.encode()), cp.stdout
    else:
        assert cp.stderr == f"eifkit {args[0]}: {msg}".encode()


@pytest.mark.parametrize("cmd,what,dev", [
    ("build", "--kernel", "fifo"), ("build", "--kernel", "/dev/zero"),
    ("assemble", "--kernel", "/dev/zero"), ("assemble", "--ramdisk", "/dev/zero"),
    ("build", "--env-file", "fifo"), ("build", "--init", "/dev/zero"),
    ("sign", "--private-key", "fifo"),
])
def test_inputs_must_be_regular(w, cmd, what, dev):
    if dev == "fifo":
        os.mkfifo(w / "fifo")
        dev = w / "fifo"
    a = [str(x) for x in argv(cmd, w, w / "o")]
    a[a.index(what) + 1] = str(dev)
    cp = timed_run(*a)
    assert cp.returncode == 1, cp
    assert b"regular file" in cp.stderr, cp.stderr
    assert str(dev).encode() in cp.stderr and cp.stderr.count(b"\n") == 1
    assert not (w / "o").exists()
    assert [p for p in os.listdir(w) if p.startswith(".")] == []


def test_assemble_ramdisk_from_a_pipe(w):
    """--ramdisk may be a pipe (a stream: documented, 16 GiB at most): the
    EIF equals the one from the file."""
    r = run(*argv("assemble", w, w / "file.eif"))
    assert r.code == 0, r
    data = (w / "ramdisk0").read_bytes()
    a = [str(x) for x in argv("assemble", w, w / "pipe.eif")]
    a[a.index("--ramdisk") + 1] = "/dev/stdin"
    cp = subprocess.run([eifkit_path(), *a], input=data, capture_output=True,
                        timeout=60)
    assert cp.returncode == 0, cp.stderr
    assert (w / "pipe.eif").read_bytes() == (w / "file.eif").read_bytes()


# ---- signals ----------------------------------------------------------------------

def fallback_dir(tmp_path):
    """A folder on a filesystem without O_TMPFILE (a FUSE mount), where the
    output is a named temporary until it is complete."""
    for tool in ("disorderfs", "fusermount"):
        if not shutil.which(tool):
            pytest.fail(f"{tool} is missing: make deps-check installs it")
    if not os.path.exists("/dev/fuse"):
        pytest.skip("/dev/fuse does not exist in this sandbox")
    src, mnt = tmp_path / "fb.src", tmp_path / "fb"
    src.mkdir()
    mnt.mkdir()
    subprocess.run(["disorderfs", "-q", str(src), str(mnt)], check=True)
    return mnt


@pytest.fixture(params=["tmpfile", "named"])
def outdir(request, tmp_path):
    if request.param == "tmpfile":
        yield tmp_path / "out"
        return
    mnt = fallback_dir(tmp_path)
    try:
        yield mnt
    finally:
        subprocess.run(["fusermount", "-u", str(mnt)], capture_output=True)


def big_rootfs(w):
    with open(w / "rootfs" / "big", "wb") as f:
        f.write(os.urandom(1 << 20) * 8)


def test_sigxfsz_leaves_nothing(w, outdir):
    """ulimit -f below the EIF's size: the write fails with SIGXFSZ."""
    outdir.mkdir(exist_ok=True)
    big_rootfs(w)
    lim = 1 << 20

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (lim, lim))
    cp = subprocess.run([eifkit_path(), *map(str, argv("build", w, outdir / "o.eif"))],
                        capture_output=True, preexec_fn=limit, timeout=120)
    assert cp.returncode == -signal.SIGXFSZ, cp
    assert os.listdir(outdir) == []


def test_sigpipe_leaves_nothing(w, outdir):
    """stdout a pipe nobody reads: printing the measurements raises
    SIGPIPE after the EIF was written, and the EIF is not kept."""
    outdir.mkdir(exist_ok=True)
    r, wr = os.pipe()
    os.close(r)
    try:
        cp = subprocess.run([eifkit_path(), *map(str, argv("build", w, outdir / "o.eif"))],
                            stdout=wr, stderr=subprocess.PIPE, timeout=120,
                            restore_signals=True)
    finally:
        os.close(wr)
    assert cp.returncode == -signal.SIGPIPE, cp
    assert os.listdir(outdir) == []


@pytest.mark.parametrize("sig", ["SIGALRM", "SIGUSR1", "SIGUSR2", "SIGHUP",
                                 "SIGTERM", "SIGVTALRM"])
def test_signal_while_writing_leaves_nothing(w, outdir, sig):
    """Stopped under gdb where the EIF is being written, the signal is
    delivered: the temporary output goes with the process."""
    outdir.mkdir(exist_ok=True)
    a = [str(x) for x in argv("build", w, outdir / "o.eif")]
    cp = subprocess.run(
        ["gdb", "-q", "-nx", "-batch", "-ex", "set breakpoint pending on",
         "-ex", "break eif_write", "-ex", f"handle {sig} nostop noprint pass",
         # run's own arguments replace --args: name them all again
         "-ex", f"run {shlex.join(a)} > /dev/null 2>&1",
         "-ex", "shell ls -a " + str(outdir) + " > " + str(w / "during"),
         "-ex", f"signal {sig}", "-ex", 'printf "EXIT\\n"',
         "--args", eifkit_path(), *a],
        capture_output=True, timeout=300, text=True)
    log = cp.stdout + cp.stderr
    assert f"terminated with signal {sig}" in log, log
    during = (w / "during").read_text().split()
    if outdir.name == "fb":  # the named temporary existed while writing
        assert any(n.startswith(".o.eif.") for n in during), during
    assert os.listdir(outdir) == []
