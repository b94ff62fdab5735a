"""eifkit build from folders: the app's command line and environment, the
blob folder, the default cmdline per arch, the metadata, what stdout says,
and errors (one line, exit 1, no output file; usage errors exit 2); files
changed between the scan and the read, and folders swapped for symlinks to
outside the tree after the scan or during it (issue #10), under gdb.

The EIF is read back here (newcref.eif_sections, parse), not by eifkit,
and its PCRs are recomputed with eifref.pcr."""
import json
import os
import shlex
import subprocess
import threading
import time

import pytest

from conftest import fake_kernel, eifkit_path, run
from eifref import pcr
from newcref import eif_ramdisks, eif_sections, parse
from test_ramdisk_system import GOLDEN

X86_CMDLINE = ("reboot=k panic=30 pci=off nomodules console=ttyS0 i8042.noaux "
               "i8042.nomux i8042.nopnp i8042.dumbkbd random.trust_cpu=on")
ARM_CMDLINE = ("reboot=k panic=30 pci=off nomodules console=ttyS0 "
               "random.trust_cpu=on root=/dev/ram0")
KCONFIG = ("#\n# Automatically generated file; DO NOT EDIT.\n"
           "# Linux/{arch} 4.14.256-209.484.amzn2.{arch} Kernel Configuration\n"
           "CONFIG_X=y\n")


@pytest.fixture
def inputs(tmp_path):
    k = tmp_path / "kernel"
    k.write_bytes(fake_kernel())
    root = tmp_path / "rootfs"
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "app").write_bytes(b"#!/bin/sh\necho app\n")
    os.chmod(root / "bin" / "app", 0o755)
    return {"kernel": k, "root": root, "tmp": tmp_path}


def build(inp, *args, out=None, env=None, cwd=None, base=True):
    out = out or inp["tmp"] / "o.eif"
    pre = ["--kernel", inp["kernel"], "--init", GOLDEN / "init"] if base else []
    r = run("build", "--no-app-check", "-o", out, *pre, *args, env=env, cwd=cwd)
    return r, out


def ok(inp, *args, **kw):
    r, out = build(inp, *args, **kw)
    assert r.code == 0, r
    return r, out


def user_files(eif):
    """cmd, env and workdir of the user ramdisk."""
    es = parse(eif_ramdisks(eif.read_bytes())[1])
    return {e["name"].decode(): e["data"] for e in es
            if b"/" not in e["name"] and e["name"] != b"rootfs"
            and e["name"] != b"TRAILER!!!"}


def assert_fails(r, out, *needles, code=1):
    assert r.code == code, r
    err = r.err.decode("utf-8", "replace")
    assert err.startswith("eifkit build: "), err
    if code == 1:
        assert err.count("\n") == 1, err
    for n in needles:
        assert str(n) in err, (n, err)
    assert not out.exists()
    left = [p.name for p in out.parent.iterdir() if p.name.startswith(".")]
    assert left == [], left


def test_help():
    r = run("build", "--no-app-check",  "--help")
    assert r.code == 0 and r.out.startswith(b"usage: eifkit build -o FILE.eif")
    doc = (GOLDEN.parents[3] / "docs" / "eifkit-build.md").read_text()
    usage = r.out.decode().split("\n\n")[0]
    assert "\n".join("    " + line for line in usage.splitlines()) in doc


# ---- the app -----------------------------------------------------------------

def test_entrypoint_then_words_after_dashdash(inputs):
    _, out = ok(inputs, "--rootfs", inputs["root"], "--entrypoint", "/bin/app",
                "--", "-c", "echo a  b", "", "--not-an-option", "--")
    assert user_files(out)["cmd"] == b"/bin/app\n-c\necho a  b\n\n--not-an-option\n--\n"
    _, out = ok(inputs, "--rootfs", inputs["root"], "--", "/bin/app", "x")
    assert user_files(out)["cmd"] == b"/bin/app\nx\n"
    _, out = ok(inputs, "--rootfs", inputs["root"], "--entrypoint", "/bin/app")
    assert user_files(out)["cmd"] == b"/bin/app\n"


def test_env_and_workdir(inputs):
    ef = inputs["tmp"] / "env"
    ef.write_bytes(b"# a comment\n\nA=from file\nB=b=c\nEMPTY=\nA2=x\n")
    _, out = ok(inputs, "--rootfs", inputs["root"], "--env", "Z=1",
                "--env-file", ef, "--env", "A=from flag", "--workdir",
                "/srv/app dir", "--entrypoint", "/bin/app")
    f = user_files(out)
    assert f["env"] == b"A=from flag\nB=b=c\nEMPTY=\nA2=x\nZ=1\n"
    assert f["workdir"] == b"/srv/app dir\n"
    _, out = ok(inputs, "--rootfs", inputs["root"], "--entrypoint", "/bin/app")
    f = user_files(out)
    assert f["env"] == b"" and "workdir" not in f


@pytest.mark.parametrize("where", ["entrypoint", "arg", "env", "workdir"])
def test_newline_refused(inputs, where):
    args = {"entrypoint": ["--entrypoint", "/bin/a\nb"],
            "arg": ["--entrypoint", "/bin/app", "--", "ok", "two\nlines"],
            "env": ["--env", "A=1\nB=2", "--entrypoint", "/bin/app"],
            "workdir": ["--workdir", "/a\nb", "--entrypoint", "/bin/app"]}[where]
    prev = inputs["tmp"] / "o.eif"
    r, out = build(inputs, "--rootfs", inputs["root"], *args)
    assert_fails(r, out, "newline")
    assert "\\n" in r.err.decode()  # shown escaped, on one line
    prev.write_bytes(b"previous")
    r, _ = build(inputs, "--rootfs", inputs["root"], *args)
    assert r.code == 1 and prev.read_bytes() == b"previous"


def test_nul_in_env_file_refused(inputs):
    ef = inputs["tmp"] / "env"
    ef.write_bytes(b"A=1\nB=x\0y\n")
    r, out = build(inputs, "--rootfs", inputs["root"], "--env-file", ef,
                   "--entrypoint", "/bin/app")
    assert_fails(r, out, f"'{ef}'", "NUL")


def test_env_not_key_value_refused(inputs):
    for bad in ("NOEQUALS", "=value"):
        r, out = build(inputs, "--rootfs", inputs["root"], "--env", bad,
                       "--entrypoint", "/bin/app")
        assert_fails(r, out, bad, "KEY=VALUE")


def test_no_command(inputs):
    r, out = build(inputs, "--rootfs", inputs["root"])
    assert_fails(r, out, "no command")


# ---- kernel, cmdline, blobs, metadata --------------------------------------

def sections(out):
    return {t: d for t, d in eif_sections(out.read_bytes()) if t in (1, 2, 5)}


@pytest.mark.parametrize("arch,cmdline", [("x86_64", X86_CMDLINE),
                                          ("aarch64", ARM_CMDLINE)])
def test_default_cmdline_is_nitro_clis(inputs, arch, cmdline):
    inputs["kernel"].write_bytes(fake_kernel(arch))
    _, out = ok(inputs, "--rootfs", inputs["root"], "--arch", arch,
                "--entrypoint", "/bin/app")
    assert sections(out)[2] == cmdline.encode()
    flags = int.from_bytes(out.read_bytes()[6:8], "big")
    assert flags == (1 if arch == "aarch64" else 0)


def make_blobs(d, arch="x86_64", cmdline=None, links=False):
    d.mkdir()
    kname = "bzImage" if arch == "x86_64" else "Image"
    src = d.parent / f"blobsrc-{arch}"
    src.mkdir(exist_ok=True)
    files = {kname: fake_kernel(arch, 3000, f"4.14.256-209.484.amzn2.{arch}"),
             f"{kname}.config":
             KCONFIG.format(arch=arch).encode(),
             "init": (GOLDEN / "init").read_bytes(),
             "nsm.ko": (GOLDEN / "nsm.ko").read_bytes()}
    if cmdline is not None:
        files["cmdline"] = cmdline
    for name, data in files.items():
        (src / name).write_bytes(data)
        if links:  # as in nitro-cli's samples: symlinks to the blobs
            os.symlink(src / name, d / name)
        else:
            (d / name).write_bytes(data)
    return d


@pytest.mark.parametrize("links", [False, True])
def test_blobs_folder(inputs, links):
    tmp = inputs["tmp"]
    b = make_blobs(tmp / "blobs", cmdline=b" \t" + X86_CMDLINE.encode() + b"\n\n",
                   links=links)
    r, out = ok(inputs, "--blobs", b, "--rootfs", inputs["root"],
                "--entrypoint", "/bin/app", base=False)
    r2, out2 = ok(inputs, "--kernel", b / "bzImage", "--kernel-config",
                  b / "bzImage.config", "--cmdline", X86_CMDLINE, "--init",
                  b / "init", "--nsm", b / "nsm.ko", "--rootfs",
                  inputs["root"], "--entrypoint", "/bin/app", base=False,
                  out=tmp / "explicit.eif")
    assert out.read_bytes() == out2.read_bytes()
    s = sections(out)
    assert s[1] == (b / "bzImage").read_bytes()
    assert s[2] == X86_CMDLINE.encode()  # trimmed
    assert eif_ramdisks(out.read_bytes())[0] == \
        (GOLDEN / "expected.cpio").read_bytes()
    meta = json.loads(s[5])
    assert meta["BuildMetadata"]["OperatingSystem"] == "Linux"
    assert meta["BuildMetadata"]["KernelVersion"] == "4.14.256"


def test_blobs_explicit_flags_win(inputs):
    tmp = inputs["tmp"]
    b = make_blobs(tmp / "blobs", cmdline=b"from blob\n")
    other_init = tmp / "other-init"
    other_init.write_bytes(b"another init")
    inputs["kernel"].write_bytes(fake_kernel(release="4.14.256-1"))
    _, out = ok(inputs, "--blobs", b, "--init", other_init, "--kernel",
                inputs["kernel"], "--cmdline", "mine", "--rootfs",
                inputs["root"], "--entrypoint", "/bin/app", base=False)
    s = sections(out)
    assert s[1] == inputs["kernel"].read_bytes() and s[2] == b"mine"
    es = parse(eif_ramdisks(out.read_bytes())[0])
    assert [(e["name"], e["data"]) for e in es[1:3]] == [
        (b"init", b"another init"), (b"nsm.ko", (b / "nsm.ko").read_bytes())]


def test_blobs_aarch64_without_cmdline(inputs):
    b = make_blobs(inputs["tmp"] / "blobs", arch="aarch64")
    _, out = ok(inputs, "--blobs", b, "--arch", "aarch64", "--rootfs",
                inputs["root"], "--entrypoint", "/bin/app", base=False)
    s = sections(out)
    assert s[1] == (b / "Image").read_bytes()
    assert s[2] == ARM_CMDLINE.encode()
    assert json.loads(s[5])["BuildMetadata"]["KernelVersion"] == "4.14.256"
    assert int.from_bytes(out.read_bytes()[6:8], "big") == 1


def test_blobs_errors(inputs):
    tmp = inputs["tmp"]
    b = make_blobs(tmp / "blobs")
    r, out = build(inputs, "--blobs", b, "--arch", "aarch64", "--rootfs",
                   inputs["root"], "--entrypoint", "/bin/app", base=False)
    assert_fails(r, out, f"'{b}'", "Image")
    (b / "cmdline").write_bytes(b"console=ttyS0\0evil")
    r, out = build(inputs, "--blobs", b, "--rootfs", inputs["root"],
                   "--entrypoint", "/bin/app", base=False)
    assert_fails(r, out, f"'{b / 'cmdline'}'", "NUL")


def test_metadata_defaults(inputs):
    r, out = ok(inputs, "--rootfs", str(inputs["root"]) + "//", "--entrypoint",
                "/bin/app", env={"SOURCE_DATE_EPOCH": "1700000000"})
    meta = json.loads(sections(out)[5])
    assert meta["ImageName"] == "rootfs" and meta["ImageVersion"] == "1.0"
    assert meta["BuildMetadata"]["BuildTime"] == "2023-11-14T22:13:20+00:00"
    assert meta["BuildMetadata"]["BuildTool"] == "eifkit"


# ---- stdout, --pcrs --------------------------------------------------------------

def test_stdout_is_the_measurements(inputs):
    pcrs = inputs["tmp"] / "pcrs.json"
    r, out = ok(inputs, "--rootfs", inputs["root"], "--entrypoint", "/bin/app",
                "--pcrs", pcrs)
    data = out.read_bytes()
    k, c = sections(out)[1], sections(out)[2]
    rd = eif_ramdisks(data)
    want = {"HashAlgorithm": "Sha384 { ... }", "PCR0": pcr(k + c + rd[0] + rd[1]),
            "PCR1": pcr(k + c + rd[0]), "PCR2": pcr(rd[1])}
    assert json.loads(r.out) == {"Measurements": want}
    assert json.loads(pcrs.read_text()) == want
    assert r.err == b""


# ---- errors ------------------------------------------------------------------

def test_failures_leave_no_output_and_keep_a_previous_file(inputs):
    tmp = inputs["tmp"]
    cases = [
        (["--rootfs", tmp / "missing", "--entrypoint", "x"], ["missing", "No such file"]),
        (["--rootfs", inputs["root"], "--entrypoint", "x", "--arch", "mips"], ["mips"], 2),
        (["--rootfs", inputs["root"], "--entrypoint", "x", "--metadata",
          tmp / "nometa"], ["nometa"]),
        (["--rootfs", inputs["root"], "--entrypoint", "x", "--nsm",
          tmp / "nonsm"], ["nonsm"]),
    ]
    for args, needles, *code in cases:
        code = code[0] if code else 1  # --arch is checked as usage (exit 2)
        r, out = build(inputs, *args)
        assert_fails(r, out, *needles, code=code)
        out.write_bytes(b"previous")
        r, _ = build(inputs, *args)
        assert r.code == code and out.read_bytes() == b"previous"
        out.unlink()


def test_missing_kernel(inputs):
    r, out = build(inputs, "--kernel", inputs["tmp"] / "nokernel", "--init",
                   GOLDEN / "init", "--rootfs", inputs["root"], "--entrypoint",
                   "x", base=False)
    assert_fails(r, out, "nokernel", "No such file")


@pytest.mark.parametrize("args", [
    [], ["-o", "x.eif"], ["--kernel", "k", "-o", "x.eif", "stray"],
    ["--kernel", "k", "-o", "x.eif", "--bogus"], ["--kernel", "k", "-o"],
    ["--kernel", "k", "-o", "x.eif", "--private-key", "k.pem"],
    ["--rootfs", "r", "-o", "x.eif", "--", "/bin/sh"],
])
def test_usage_errors_exit_2(tmp_path, args):
    r = run("build", "--no-app-check", *args, cwd=tmp_path)
    assert r.code == 2, r
    assert r.err.startswith(b"eifkit build: ")
    assert b"usage: eifkit build" in r.err
    assert list(tmp_path.iterdir()) == []


# ---- a file that changes between the scan and the read ------------------------

def build_paused(inp, change, *args, brk="eif_write"):
    """Run build under gdb, stopped where the tree has been scanned and
    the EIF is about to be written (at eif_write), run change(), and go
    on: change() runs exactly between the scan of the tree and the
    reading of its files. (Inputs must be regular files, so a FIFO can no
    longer hold eifkit there.) brk, a gdb breakpoint, stops it elsewhere
    (the first time it is reached)."""
    tmp = inp["tmp"]
    out = tmp / "o.eif"
    out.write_bytes(b"previous")
    ready, go = tmp / "gdb.ready", tmp / "gdb.go"
    so, se = tmp / "gdb.stdout", tmp / "gdb.stderr"
    argv = [eifkit_path(), "build", "--no-app-check", "-o", str(out), "--kernel",
            str(inp["kernel"]), "--init", str(GOLDEN / "init"),
            "--rootfs", str(inp["root"]), "--entrypoint", "/x",
            *map(str, args)]
    wait_go = f"touch {ready}; while [ ! -e {go} ]; do sleep 0.01; done"
    p = subprocess.Popen(
        ["gdb", "-q", "-nx", "-batch", "-ex", "set breakpoint pending on",
         "-ex", f"break {brk}",
         # run's own arguments replace --args: name them all again
         "-ex", f"run {shlex.join(argv[1:])} > {so} 2> {se}",
         "-ex", f"shell {wait_go}", "-ex", "delete", "-ex", "continue",
         "-ex", 'printf "EXITCODE %d\\n", $_exitcode', "--args", *argv],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 300  # gdb reads eifkit's symbols first
        while not ready.exists():
            assert p.poll() is None, p.stdout.read()
            assert time.time() < deadline, f"gdb never reached {brk}"
            time.sleep(0.01)
        change()
        go.touch()
        log = p.communicate(timeout=300)[0].decode()
    finally:
        if p.poll() is None:
            p.kill()
    code = [int(l.split()[1]) for l in log.splitlines()
            if l.startswith("EXITCODE ")]
    assert code, log
    for f in (ready, go):
        f.unlink()
    o, e = so.read_bytes(), se.read_text()
    so.unlink()
    se.unlink()
    assert out.read_bytes() == b"previous", "the previous file was replaced"
    return code[0], o, e


@pytest.mark.parametrize("how", ["shrink", "grow", "truncate", "fifo", "dir"])
def test_file_changed_after_the_scan(inputs, how):
    f = inputs["root"] / "bin" / "data"
    f.write_bytes(b"x" * 100_000)

    def change():
        if how == "shrink":
            os.truncate(f, 99_999)
        elif how == "grow":
            with open(f, "ab") as h:
                h.write(b"more")
        elif how == "truncate":
            os.truncate(f, 0)
        elif how == "fifo":  # would block a reader that opens it as it is
            f.unlink()
            os.mkfifo(f)
        else:
            f.unlink()
            f.mkdir()
    code, out, err = build_paused(inputs, change)
    assert code == 1, err
    assert err.startswith(f"eifkit build: '{f}': ") and err.count("\n") == 1, err
    assert ("changed" in err or "not a regular file" in err), err
    assert out == b""
    assert [p.name for p in inputs["tmp"].iterdir() if p.name.startswith(".")] == []


def test_file_unchanged_with_fifo_kernel(inputs):
    """The control for the test above: the same run without a change."""
    (inputs["root"] / "bin" / "data").write_bytes(b"x" * 100_000)
    code, out, err = build_paused(inputs, lambda: None,
                                  "-o", inputs["tmp"] / "new.eif")
    assert code == 0, err
    assert (inputs["tmp"] / "new.eif").exists()


# ---- issue #10, 2: a race must not read files outside the tree ----------------

SECRET = b"secret of the host\n" * 50


def swap_setup(inputs, where):
    """A folder zz holding `shadow` (a file of SECRET's size) that the
    build reads (in the rootfs, or named by --file or --nsm), and a folder
    outside with a `shadow` holding SECRET. Returns (zz, extra args)."""
    outside = inputs["tmp"] / "outside"
    outside.mkdir()
    (outside / "shadow").write_bytes(SECRET)
    base = inputs["root"] if where == "rootfs" else inputs["tmp"] / "files"
    zz = base / "zz"
    zz.mkdir(parents=True)
    (zz / "shadow").write_bytes(b"i" * len(SECRET))
    args = {"rootfs": [], "file": ["--file", f"{zz / 'shadow'}:/etc/shadow"],
            "nsm": ["--nsm", zz / "shadow"]}[where]
    return zz, outside, args


def swap_for_symlink(zz, outside):
    """What issue #10 did: mv zz zz.old; ln -s outside zz."""
    def change():
        os.rename(zz, zz.with_name("zz.old"))
        os.symlink(outside, zz)
    return change


@pytest.mark.parametrize("where", ["rootfs", "file", "nsm"])
def test_folder_swapped_for_a_symlink_after_the_scan(inputs, where):
    """A folder on the way to a file, renamed away and replaced by a
    symlink to a folder outside between the scan and the read: the file
    outside is never read. A rootfs file is refused (the scan saw another
    tree); a file named by --file or --nsm is read from the folder it was
    found in, which eifkit holds open (the rename did not change it)."""
    zz, outside, args = swap_setup(inputs, where)
    eif = inputs["tmp"] / "race.eif"
    code, out, err = build_paused(inputs, swap_for_symlink(zz, outside),
                                  *args, "-o", eif)
    leaked = eif.exists() and SECRET in eif.read_bytes()
    assert not leaked, "read a file outside the tree"
    if where == "rootfs":
        assert code == 1, err
        assert err == (f"eifkit build: '{zz / 'shadow'}': changed after it "
                       "was scanned (a symlink or a non-folder is on its "
                       "path now)\n"), err
        assert out == b"" and not eif.exists()
        return
    assert code == 0, err
    sysrd, userrd = eif_ramdisks(eif.read_bytes())
    es = {e["name"]: e["data"] for e in parse(sysrd if where == "nsm"
                                              else userrd)}
    name = b"nsm.ko" if where == "nsm" else b"rootfs/etc/shadow"
    assert es[name] == b"i" * len(SECRET)


def test_folder_swapped_for_a_symlink_during_the_scan(inputs):
    """The same swap while the scan runs: after zz was seen to be a
    folder and before the scan went into it (gdb stops where zz's entry
    is added to the tree). The scan must not follow the symlink."""
    zz, outside, args = swap_setup(inputs, "rootfs")
    eif = inputs["tmp"] / "race.eif"
    code, out, err = build_paused(
        inputs, swap_for_symlink(zz, outside), "-o", eif,
        brk="tree_add if e->path[0] == 'z' && e->path[1] == 'z' "
            "&& e->path[2] == 0")
    leaked = eif.exists() and SECRET in eif.read_bytes()
    assert not leaked, "read a file outside the tree"
    assert code == 1, err
    assert err == (f"eifkit build: '{zz}': changed while being scanned (a "
                   "symlink or a non-folder is there now)\n"), err
    assert not eif.exists()


def test_file_swapped_for_another_of_the_same_size(inputs):
    """A file replaced by another one of the same size (renamed in from
    the same tree) after the scan: refused, as a changed size is."""
    f = inputs["root"] / "bin" / "data"
    f.write_bytes(b"a" * 1000)
    other = inputs["tmp"] / "other"
    other.write_bytes(b"b" * 1000)
    eif = inputs["tmp"] / "race.eif"
    code, out, err = build_paused(inputs, lambda: os.rename(other, f),
                                  "-o", eif)
    assert code == 1, err
    assert not eif.exists()
    assert err == (f"eifkit build: '{f}': changed after it was scanned "
                   "(another file is there now)\n"), err
