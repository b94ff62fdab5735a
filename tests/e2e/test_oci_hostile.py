"""Hostile layers and stores: names with .., absolute names, names that
reach through symlinks, hard links out of the image, sizes that do not
match the data. Each is normalised or refused with an error naming the
layer and the entry, and nothing is ever written outside the output file
and eifkit's own unlinked stage file in $TMPDIR: not on errors, not when
a signal ends the build (checked by listing the folders around the build,
and by tracing every system call that could write)."""
import hashlib
import os
import pathlib
import re
import signal
import subprocess
import tarfile
import time

import pytest

from conftest import fake_kernel, eifkit_path
from test_oci_common import (dir_, entries, err_text, hard, make_image,
                             plain_tree, ramdisk, reg, sym, tar_bytes,
                             zero_image)


def env_for(tmp_path):
    t = tmp_path / "tmpdir"
    t.mkdir(exist_ok=True)
    return {"TMPDIR": str(t)}


def listing(root):
    """Everything below root, as relative paths."""
    root = pathlib.Path(root)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def refused(tmp_path, layers, *words, comp="gzip"):
    """The image is refused with an error holding words; nothing is left
    in TMPDIR and no output is written."""
    lay = make_image(tmp_path / "img", layers, comp=comp)
    env = env_for(tmp_path)
    r, out = ramdisk(tmp_path, "--oci", lay.path, env=env)
    assert r.code == 1, r
    e = err_text(r)
    assert e.startswith("eifkit ramdisk: ") and e.count("\n") == 1, e
    for w in words:
        assert w in e, (w, e)
    layer_hex = lay.last["layers"][-1]["digest"].split(":")[1]
    assert layer_hex in e or "layer" in e, e
    assert not out.exists()
    assert listing(env["TMPDIR"]) == []
    return e


@pytest.mark.parametrize("name", ["../../x", "a/../../x", "..", "a/..",
                                  "./../x", "a/./b"])
def test_dotdot_names_are_refused(tmp_path, name):
    refused(tmp_path, [[reg("ok", "1"), reg(name, "x")]], name)
    assert not (tmp_path.parent / "x").exists()


def test_absolute_names_are_made_relative(tmp_path):
    lay = make_image(tmp_path / "img", [[reg("/etc/passwd", "mine"),
                                         dir_("/abs/dir"),
                                         sym("/abs/dir/l", "/etc/passwd")]])
    before = hashlib.sha256(open("/etc/passwd", "rb").read()).hexdigest()
    t = plain_tree(tmp_path, "--oci", lay.path, env=env_for(tmp_path))
    assert (t / "etc/passwd").read_text() == "mine"
    assert os.readlink(t / "abs/dir/l") == "/etc/passwd"
    assert hashlib.sha256(open("/etc/passwd", "rb").read()).hexdigest() \
        == before


@pytest.mark.parametrize("target", ["/etc", "..", "../../..", "/",
                                    "/tmp"])
def test_names_through_a_symlink_are_refused(tmp_path, target):
    refused(tmp_path, [[sym("link", target), reg("link/passwd", "pwned")]],
            "'link/passwd' reaches through 'link', a symlink to "
            f"'{target}'")


def test_names_through_a_symlink_of_a_lower_layer_are_refused(tmp_path):
    refused(tmp_path, [[sym("etc", "/etc")], [reg("etc/passwd", "x")]],
            "'etc/passwd' reaches through 'etc', a symlink to '/etc'")


def test_names_through_a_nested_symlink_are_refused(tmp_path):
    refused(tmp_path, [[dir_("a"), sym("a/b", "../../.."),
                        dir_("a/b/c"), reg("a/b/c/x", "x")]],
            "'a/b/c' reaches through 'a/b'")


def test_names_through_a_symlink_replaced_afterwards_are_refused(tmp_path):
    """What the parent was when the entry came counts: a folder put over
    the symlink later in the layer does not make the entry safe."""
    refused(tmp_path, [[sym("d", "/etc"), reg("d/passwd", "x"), dir_("d")]],
            "'d/passwd' reaches through 'd'")


def test_names_below_a_file_are_refused(tmp_path):
    refused(tmp_path, [[reg("f", "x")], [reg("f/x", "y")]],
            "'f/x' is below 'f', which is not a directory")


def test_whiteout_of_the_symlink_first_is_fine(tmp_path):
    lay = make_image(tmp_path / "img", [[sym("d", "/etc")],
                                        [reg("d/.wh..wh..opq"),
                                         reg(".wh.d"), reg("d/f", "ok")]])
    t = plain_tree(tmp_path, "--oci", lay.path)
    assert (t / "d/f").read_text() == "ok" and not (t / "d").is_symlink()


def test_symlink_replaced_by_a_folder_is_fine(tmp_path):
    lay = make_image(tmp_path / "img", [[sym("d", "/etc")],
                                        [dir_("d"), reg("d/f", "ok")]])
    t = plain_tree(tmp_path, "--oci", lay.path)
    assert (t / "d/f").read_text() == "ok" and not (t / "d").is_symlink()


@pytest.mark.parametrize("target", ["/etc/passwd", "../../etc/passwd",
                                    "nowhere", "link/passwd", "d"])
def test_hard_links_out_of_the_image_are_refused(tmp_path, target):
    e = refused(tmp_path, [[sym("link", "/etc"), dir_("d"),
                            hard("h", target)]], "h")
    assert "hard link" in e or ".." in e, e


def test_hard_link_to_an_absolute_name_of_the_image(tmp_path):
    lay = make_image(tmp_path / "img", [[reg("etc/passwd", "image's"),
                                         hard("h", "/etc/passwd")]])
    t = plain_tree(tmp_path, "--oci", lay.path)
    assert (t / "h").read_text() == "image's"


def test_duplicate_entries_keep_the_last(tmp_path):
    lay = make_image(tmp_path / "img", [[
        reg("x", "1"), reg("./x", "2"), reg("/x", "3"), dir_("d"),
        reg("d", "now a file"), sym("s", "a"), reg("s", "file"),
        dir_("e", mode=0o700), dir_("e/", mode=0o755)]])
    t = plain_tree(tmp_path, "--oci", lay.path)
    e = entries(t)
    assert (t / "x").read_text() == "3"
    assert e["d"][0] == "file" and e["s"][0] == "file"
    assert e["e"][1] == 0o755


def patch_size(data, index, size):
    """Set the size field of the index-th ustar header of data."""
    off, i = 0, 0
    while True:
        hdr = bytearray(data[off:off + 512])
        cur = int(hdr[124:136].rstrip(b"\0 ") or b"0", 8)
        if i == index:
            hdr[124:136] = b"%011o\0" % size
            hdr[148:156] = b" " * 8
            hdr[148:156] = b"%06o\0 " % sum(hdr)
            return data[:off] + bytes(hdr) + data[off + 512:]
        off += 512 + (cur + 511) // 512 * 512
        i += 1


@pytest.mark.parametrize("comp", [None, "gzip", "zstd"])
def test_data_shorter_than_the_header_says(tmp_path, comp):
    good = tar_bytes([reg("a", "x" * 10), reg("b", "y" * 10)],
                     tarfile.USTAR_FORMAT)
    bad = patch_size(good, 1, 100000)
    refused(tmp_path, [bad], comp=comp)


def test_data_longer_than_the_header_says(tmp_path):
    good = tar_bytes([reg("a", "x" * 2000), reg("b", "y")],
                     tarfile.USTAR_FORMAT)
    bad = patch_size(good, 0, 10)  # a's other blocks read as headers
    refused(tmp_path, [bad], comp="gzip")


def test_a_file_of_4gib_is_refused_before_its_data(tmp_path):
    good = tar_bytes([reg("big", "x")], tarfile.USTAR_FORMAT)
    refused(tmp_path, [patch_size(good, 0, 5 << 30)], "big", "4 GiB")


def test_bad_header_checksum(tmp_path):
    data = bytearray(tar_bytes([reg("a", "1"), reg("b", "2")],
                               tarfile.USTAR_FORMAT))
    data[1024] ^= 0x20  # b's name, checksum not updated
    refused(tmp_path, [bytes(data)])


def test_garbage_layer(tmp_path):
    refused(tmp_path, [os.urandom(3000)], comp="gzip")
    refused(tmp_path, [b"\x1f\x8b" + os.urandom(3000)], comp=None)


def test_fifo_blob_does_not_hang(tmp_path):
    lay = make_image(tmp_path / "img", [[reg("a", "1")]])
    p = lay.blob_path(lay.last["layers"][0]["digest"])
    p.unlink()
    os.mkfifo(p)
    cp = subprocess.run([eifkit_path(), "ramdisk", "--layout", "plain",
                         "--oci", lay.path, "-o", tmp_path / "o.cpio"],
                        capture_output=True, timeout=20)
    assert cp.returncode == 1 and b"not a regular file" in cp.stderr


# ---- nothing written outside, whatever happens ---------------------------

WRITE_CALLS = ("creat", "mkdir", "mkdirat", "rename", "renameat",
               "renameat2", "link", "linkat", "symlink", "symlinkat",
               "unlink", "unlinkat", "truncate", "chmod", "fchmodat",
               "chown", "lchown", "fchownat", "mknod", "mknodat",
               "utimes", "utimensat", "rmdir", "setxattr", "lsetxattr")


def traced(tmp_path, args, env):
    """Run eifkit under strace; the paths of every call that could create,
    change or remove a file."""
    log = tmp_path / "strace.log"
    cp = subprocess.run(
        ["strace", "-f", "-qq", "-o", str(log), "-e",
         "trace=open,openat,openat2," + ",".join(WRITE_CALLS),
         eifkit_path(), *map(str, args)],
        cwd=env["cwd"], env=dict(os.environ, TMPDIR=env["TMPDIR"]),
        capture_output=True, timeout=120)
    written = []
    for line in log.read_text().splitlines():
        m = re.match(r"\d+\s+(\w+)\((.*)\)\s+=\s+(-?\d+)", line)
        if not m:
            continue
        call, argstr, ret = m.groups()
        if call.startswith("open") and not re.search(
                r"O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|O_TMPFILE", argstr):
            continue
        paths = re.findall(r'"((?:[^"\\]|\\.)*)"', argstr)
        written.append((call, paths, int(ret)))
    return cp, written


def outside(written, allowed):
    bad = []
    for call, paths, ret in written:
        if call in ("link", "linkat") and paths:
            paths = paths[1:]  # where the new name goes is what counts
        for p in paths:
            ap = os.path.normpath(p)
            if not any(ap == a or ap.startswith(a + "/") for a in allowed):
                bad.append((call, p, ret))
    return bad


HOSTILE = [
    [reg("../../escape-dotdot", "x")],
    [reg("/etc/passwd", "x"), sym("lnk", "/etc"), reg("lnk/shadow", "x")],
    [sym("up", "../../.."), reg("up/escape-link", "x")],
    [reg("a", "1"), hard("../../escape-hard", "a")],
]


@pytest.mark.parametrize("i", range(len(HOSTILE)))
def test_hostile_layers_write_nothing_outside(tmp_path, i):
    lay = make_image(tmp_path / "img", [[reg("ok", "1")], HOSTILE[i]])
    work = tmp_path / "work"
    (work / "cwd").mkdir(parents=True)
    (work / "out").mkdir()
    (work / "tmpdir").mkdir()
    env = {"cwd": work / "cwd", "TMPDIR": str(work / "tmpdir")}
    before = listing(tmp_path)
    cp, written = traced(tmp_path, [
        "ramdisk", "--layout", "plain", "--oci", lay.path, "-o",
        work / "out/x.cpio"], env)
    assert cp.returncode == 1, cp.stderr
    assert outside(written, [str(work / "out"), str(work / "tmpdir")]) == []
    for call, paths, ret in written:
        assert call in ("open", "openat", "openat2", "unlink"), (call, paths)
    assert listing(work) == ["cwd", "out", "tmpdir"]
    assert listing(tmp_path) == sorted(before + ["strace.log"])
    for n in ["escape-dotdot", "escape-link", "escape-hard", "shadow"]:
        for d in [tmp_path, tmp_path.parent, tmp_path.parent.parent]:
            assert not (d / n).exists()


def test_a_good_build_writes_only_its_output(tmp_path):
    lay = make_image(tmp_path / "img", [[reg("etc/passwd", "x"),
                                         reg("big", b"\0" * 300000)]])
    work = tmp_path / "work"
    for d in ["cwd", "out", "tmpdir"]:
        (work / d).mkdir(parents=True)
    env = {"cwd": work / "cwd", "TMPDIR": str(work / "tmpdir")}
    k = tmp_path / "kernel"
    k.write_bytes(fake_kernel(fill=b"k" * 1024))
    cp, written = traced(tmp_path, [
        "build", "--no-app-check", "-o", work / "out/app.eif", "--kernel", k, "--init", k,
        "--oci", lay.path, "--", "/bin/true"], env)
    assert cp.returncode == 0, cp.stderr
    assert outside(written, [str(work / "out"), str(work / "tmpdir")]) == []
    # the stage file is O_TMPFILE: never a name in TMPDIR
    tmp_opens = [w for w in written if w[1] and
                 w[1][0].startswith(str(work / "tmpdir"))]
    assert tmp_opens and all(w[0].startswith("open") for w in tmp_opens)
    assert listing(work) == ["cwd", "out", "out/app.eif", "tmpdir"]


# ---- signals -------------------------------------------------------------

def open_in(pid, folder, deleted=False):
    """A file in folder that the process holds open (with deleted, only
    an unlinked one: the stage file, an O_TMPFILE), or None."""
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                t = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if t.startswith(str(folder) + "/") and (
                    not deleted or t.endswith("(deleted)")):
                return t
    except OSError:
        pass
    return None


@pytest.fixture(scope="module")
def slow_image(tmp_path_factory):
    """An image whose layer takes a while to stage (768 MiB of zeros)."""
    return zero_image(tmp_path_factory.mktemp("slow") / "img", 768 << 20,
                      "zstd")


def start(tmp_path, lay, out_name, cmd="ramdisk"):
    work = tmp_path / "work"
    for d in ["cwd", "out", "tmpdir"]:
        (work / d).mkdir(parents=True, exist_ok=True)
    k = tmp_path / "kernel"
    k.write_bytes(fake_kernel(fill=b"k" * 1024))
    args = (["ramdisk", "--layout", "plain"] if cmd == "ramdisk" else
            ["build", "--no-app-check", "--kernel", k, "--init", k])
    args += ["--oci", lay.path, "-o", work / "out" / out_name]
    if cmd == "build":
        args += ["--", "/bin/true"]
    # the default disposition for every signal sent: a runner started
    # under nohup (SIGHUP ignored) would otherwise pass that on
    p = subprocess.Popen([eifkit_path(), *map(str, args)], cwd=work / "cwd",
                         env=dict(os.environ, TMPDIR=str(work / "tmpdir")),
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         restore_signals=True, preexec_fn=_default_signals)
    return p, work


def _default_signals():
    for s in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM):
        signal.signal(s, signal.SIG_DFL)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL,
                                 signal.SIGINT, signal.SIGHUP])
def test_signal_while_staging_leaves_nothing(tmp_path, slow_image, sig):
    p, work = start(tmp_path, slow_image, "x.cpio")
    deadline = time.time() + 30
    while not open_in(p.pid, work / "tmpdir", deleted=True):
        assert p.poll() is None, p.stderr.read()
        assert time.time() < deadline
        time.sleep(0.005)
    p.send_signal(sig)
    p.wait(timeout=30)
    assert p.returncode == -sig
    assert listing(work) == ["cwd", "out", "tmpdir"]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_while_writing_leaves_nothing(tmp_path, slow_image, sig):
    """Once the output is being written, SIGTERM/SIGINT leave nothing: not
    its temporary file, not the stage file."""
    p, work = start(tmp_path, slow_image, "app.eif", cmd="build")
    deadline = time.time() + 60
    while not open_in(p.pid, work / "out"):
        assert p.poll() is None, p.stderr.read()
        assert time.time() < deadline
        time.sleep(0.005)
    p.send_signal(sig)
    p.wait(timeout=30)
    assert p.returncode == -sig
    assert listing(work) == ["cwd", "out", "tmpdir"]


def test_error_after_staging_leaves_nothing(tmp_path):
    """A later layer fails after an earlier one was staged."""
    lay = make_image(tmp_path / "img", [[reg("a", b"x" * 100000)],
                                        [reg("../b", "x")]])
    env = env_for(tmp_path)
    r, out = ramdisk(tmp_path, "--oci", lay.path, env=env)
    assert r.code == 1
    assert listing(env["TMPDIR"]) == [] and not out.exists()


def test_unusable_tmpdir_is_an_error(tmp_path):
    lay = make_image(tmp_path / "img", [[reg("a", "1")]])
    r, out = ramdisk(tmp_path, "--oci", lay.path,
                     env={"TMPDIR": str(tmp_path / "missing")})
    assert r.code == 1 and "missing" in err_text(r), r


def test_sigkill_while_writing_leaves_nothing(tmp_path, slow_image):
    """Not even SIGKILL leaves a temporary output file behind."""
    p, work = start(tmp_path, slow_image, "app.eif", cmd="build")
    deadline = time.time() + 60
    while not open_in(p.pid, work / "out"):
        assert p.poll() is None, p.stderr.read()
        assert time.time() < deadline
        time.sleep(0.005)
    p.kill()
    p.wait(timeout=30)
    assert listing(work / "tmpdir") == []  # the stage file is gone
    assert listing(work) == ["cwd", "out", "tmpdir"]
