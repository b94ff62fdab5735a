"""The mtime policy (issue 18): --mtime zero|keep|clamp on folders and
images, --keep-mtimes as an alias, the defaults (zero for folders, clamp
for an image's files), and what the default for images means for Python:
a timestamp-based .pyc records its source's mtime and size in its header,
and Python recompiles it (at every boot, into RAM) when the source's
mtime differs. Booting Python under QEMU is not needed to see that: the
header is compared here with the mtime eifkit wrote for the source, which
is exactly the comparison Python makes (importlib's
SourceLoader.get_code). The reproducibility report names the .pyc files a
policy makes stale."""
import importlib.util
import os
import py_compile
import struct

import pytest

from conftest import run
from newcref import parse
from test_oci_common import MTIME, dir_, make_image, reg

OLD = 1500000000   # before the SOURCE_DATE_EPOCH below
EPOCH = 1550000000
NEW = MTIME        # 1600000000, after it


def ramdisk(tmp, *args, env=None, name="r"):
    out = tmp / f"{name}.cpio"
    r = run("ramdisk", "--layout", "plain", "-o", out, *args, env=env)
    assert r.code == 0, r
    return r, {e["name"].decode(): e for e in parse(out.read_bytes())
               if e["name"] != b"TRAILER!!!"}


def env_with(epoch=None):
    e = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    if epoch is not None:
        e["SOURCE_DATE_EPOCH"] = str(epoch)
    return e


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "root"
    (root / "d").mkdir(parents=True)
    for name, t in [("old", OLD), ("new", NEW), ("d/x", NEW)]:
        (root / name).write_text(name)
        os.utime(root / name, (t, t))
    os.utime(root / "d", (OLD, OLD))
    return root


def mtimes(es, names):
    return {n: es[n]["mtime"] for n in names}


FOLDER_CASES = [
    # policy args, SOURCE_DATE_EPOCH, old, new, d
    ((), None, 0, 0, 0),
    ((), EPOCH, EPOCH, EPOCH, EPOCH),
    (("--mtime", "zero"), None, 0, 0, 0),
    (("--mtime", "zero"), EPOCH, EPOCH, EPOCH, EPOCH),
    (("--mtime", "keep"), None, OLD, NEW, OLD),
    (("--mtime", "keep"), EPOCH, OLD, NEW, OLD),
    (("--keep-mtimes",), EPOCH, OLD, NEW, OLD),
    (("--mtime", "clamp"), EPOCH, OLD, EPOCH, OLD),
    (("--mtime", "clamp"), None, OLD, NEW, OLD),  # nothing to clamp to
]


@pytest.mark.parametrize("args,epoch,old,new,d", FOLDER_CASES)
def test_policies_on_a_folder(tmp_path, folder, args, epoch, old, new, d):
    _, es = ramdisk(tmp_path, "--rootfs", folder, *args, env=env_with(epoch))
    assert mtimes(es, ["old", "new", "d", "d/x"]) == \
        {"old": old, "new": new, "d": d, "d/x": new}


def test_keep_mtimes_is_mtime_keep(tmp_path, folder):
    ramdisk(tmp_path, "--rootfs", folder, "--keep-mtimes", name="a")
    ramdisk(tmp_path, "--rootfs", folder, "--mtime", "keep", name="b")
    assert (tmp_path / "a.cpio").read_bytes() == (tmp_path / "b.cpio").read_bytes()


def test_bad_policy_is_a_usage_error(tmp_path, folder):
    r = run("ramdisk", "--layout", "plain", "-o", tmp_path / "x.cpio",
            "--rootfs", folder, "--mtime", "now")
    assert r.code == 2, r
    assert r.err.decode().startswith(
        "eifkit ramdisk: --mtime 'now': zero, keep or clamp\n"), r
    r = run("build", "-o", tmp_path / "x.eif", "--kernel", folder / "old",
            "--mtime", "")
    assert r.code == 2, r
    assert r.err.decode().startswith("eifkit build: --mtime '': zero, keep "
                                     "or clamp\n"), r


def image(tmp_path):
    return make_image(tmp_path / "img", [[
        dir_("etc", mtime=OLD), reg("etc/old", "o", mtime=OLD),
        reg("etc/new", "n", mtime=NEW), reg("etc/epoch", "e", mtime=EPOCH)]])


IMAGE_CASES = [
    ((), None, OLD, NEW),          # default: clamp, no epoch: the image's
    ((), EPOCH, OLD, EPOCH),       # default: clamp
    (("--mtime", "clamp"), EPOCH, OLD, EPOCH),
    (("--mtime", "keep"), EPOCH, OLD, NEW),
    (("--keep-mtimes",), None, OLD, NEW),
    (("--mtime", "zero"), None, 0, 0),
    (("--mtime", "zero"), EPOCH, EPOCH, EPOCH),
]


@pytest.mark.parametrize("args,epoch,old,new", IMAGE_CASES)
def test_policies_on_an_image(tmp_path, args, epoch, old, new):
    lay = image(tmp_path)
    _, es = ramdisk(tmp_path, "--oci", lay.path, *args, env=env_with(epoch))
    assert mtimes(es, ["etc", "etc/old", "etc/new", "etc/epoch"]) == \
        {"etc": old, "etc/old": old, "etc/new": new,
         "etc/epoch": 0 if "zero" in args and epoch is None else EPOCH}


def test_defaults_differ_for_the_image_and_a_folder_over_it(tmp_path, folder):
    """An image with a folder overlaid: the image's files clamp, the
    folder's are zeroed (SOURCE_DATE_EPOCH), each by its own default."""
    lay = image(tmp_path)
    _, es = ramdisk(tmp_path, "--oci", lay.path, "--rootfs", folder,
                    env=env_with(EPOCH))
    assert mtimes(es, ["etc/old", "etc/new", "old", "new"]) == \
        {"etc/old": OLD, "etc/new": EPOCH, "old": EPOCH, "new": EPOCH}
    # an explicit policy is for every input
    _, es = ramdisk(tmp_path, "--oci", lay.path, "--rootfs", folder,
                    "--mtime", "keep", env=env_with(EPOCH), name="k")
    assert mtimes(es, ["etc/old", "etc/new", "old", "new"]) == \
        {"etc/old": OLD, "etc/new": NEW, "old": OLD, "new": NEW}


def test_image_mtime_outside_newc_refused_when_kept(tmp_path):
    lay = make_image(tmp_path / "img", [[reg("f", "x", mtime=1 << 32)]])
    out = tmp_path / "r.cpio"
    r = run("ramdisk", "--layout", "plain", "-o", out, "--oci", lay.path,
            env=env_with())
    assert r.code == 1, r
    assert r.err.decode() == ("eifkit ramdisk: '/f': mtime 4294967296 is "
                              "outside what newc holds (0 to 4294967295)\n")
    # clamped below it, or zeroed, it fits
    for args, epoch, want in [((), EPOCH, EPOCH), (("--mtime", "zero"), None, 0)]:
        _, es = ramdisk(tmp_path, "--oci", lay.path, *args,
                        env=env_with(epoch), name="ok")
        assert es["f"]["mtime"] == want


# ---- Python's .pyc ------------------------------------------------------

TAG = importlib.util.MAGIC_NUMBER


def pyc_files(tmp_path, mode, src_mtime=NEW):
    """A module and its .pyc as py_compile writes them (mode: TIMESTAMP or
    CHECKED_HASH), as (name, bytes, mtime) for an image layer."""
    d = tmp_path / "py"
    d.mkdir(exist_ok=True)
    src = d / "mod.py"
    src.write_text("VALUE = 42\n")
    os.utime(src, (src_mtime, src_mtime))
    cfile = d / f"mod.{mode.name}.pyc"
    py_compile.compile(str(src), cfile=str(cfile), doraise=True,
                       invalidation_mode=mode)
    return src.read_bytes(), cfile.read_bytes()


def pyc_image(tmp_path, mode, name="img"):
    src, pyc = pyc_files(tmp_path, mode)
    cache = f"app/__pycache__/mod.{importlib.util.cache_from_source('mod.py').split('.')[-2]}.pyc"
    return make_image(tmp_path / name, [[
        dir_("app"), dir_("app/__pycache__"),
        reg("app/mod.py", src, mtime=NEW), reg(cache, pyc, mtime=NEW + 5),
        reg("app/main.py", "import mod\n", mtime=NEW)]]), cache


def fresh_for_python(es, cache):
    """importlib's check: a timestamp-based .pyc (flags 0) is used when its
    recorded mtime and size are the source's (both mod 2^32)."""
    h = es[cache]["data"][:16]
    assert h[:4] == TAG
    flags, mtime, size = struct.unpack("<III", h[4:])
    src = es["app/mod.py"]
    if flags & 1:
        return True  # hash-based: mtimes do not matter
    return mtime == src["mtime"] & 0xFFFFFFFF and size == src["filesize"]


def test_pyc_fresh_under_the_image_default(tmp_path):
    lay, cache = pyc_image(tmp_path, py_compile.PycInvalidationMode.TIMESTAMP)
    for epoch in (None, NEW + 100):
        r, es = ramdisk(tmp_path, "--oci", lay.path, env=env_with(epoch))
        assert fresh_for_python(es, cache), epoch
        assert r.err == b"", r
    # the old default (zero) made it stale; the report says so, and how
    r, es = ramdisk(tmp_path, "--oci", lay.path, "--mtime", "zero",
                    env=env_with())
    assert not fresh_for_python(es, cache)
    assert r.err.decode() == (
        f"eifkit ramdisk: warning: 1 timestamp-based .pyc file will be "
        f"stale in the enclave ('/{cache}'): the mtime policy changes their "
        "sources' mtimes, so Python recompiles them at every boot; fix: "
        "--mtime keep (or clamp with the SOURCE_DATE_EPOCH the image was "
        "built with), or compile hash-based (py_compile does when "
        "SOURCE_DATE_EPOCH is set; or python3 -m compileall "
        "--invalidation-mode checked-hash); --explain-repro lists them\n")
    r, es = ramdisk(tmp_path, "--oci", lay.path, "--mtime", "zero",
                    "--explain-repro", env=env_with())
    assert r.err.decode().startswith(
        f"eifkit ramdisk: warning: repro: '/{cache}': a timestamp-based .pyc "
        f"of '/app/mod.py', whose mtime {NEW} becomes 0, so Python "
        "recompiles it at every boot; fix: --mtime keep"), r
    # clamped below the source's mtime: stale too, and named
    r, es = ramdisk(tmp_path, "--oci", lay.path, env=env_with(EPOCH))
    assert not fresh_for_python(es, cache)
    assert f"('/{cache}')" in r.err.decode(), r


def test_hash_based_pyc_is_not_reported(tmp_path):
    lay, cache = pyc_image(tmp_path,
                           py_compile.PycInvalidationMode.CHECKED_HASH)
    r, es = ramdisk(tmp_path, "--oci", lay.path, "--mtime", "zero",
                    env=env_with())
    assert fresh_for_python(es, cache)
    assert r.err == b"", r


def test_pyc_in_a_folder_reported_under_the_folder_default(tmp_path):
    root = tmp_path / "root"
    (root / "app").mkdir(parents=True)
    src = root / "app/mod.py"
    src.write_text("X = 1\n")
    os.utime(src, (NEW, NEW))
    cache = importlib.util.cache_from_source(str(src))
    py_compile.compile(str(src), cfile=cache, doraise=True,
                       invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP)
    rel = os.path.relpath(cache, root)
    r, es = ramdisk(tmp_path, "--rootfs", root, env=env_with())
    assert f"1 timestamp-based .pyc file will be stale in the enclave " \
           f"('/{rel}')" in r.err.decode(), r
    r, es = ramdisk(tmp_path, "--rootfs", root, "--mtime", "keep",
                    env=env_with(), name="k")
    assert r.err == b"", r
    assert fresh_for_python(es, rel)
