"""The system ramdisk is byte-identical to nitro-cli's for the same init and
nsm.ko (AWS-BUILD-AND-INIT.md 3.1, 3.2: linuxkit's Go cpio writer).

The expected bytes come from newcref.system_ramdisk, a Python rendering of
that spec (not of eifkit's code), for inputs of every length modulo 4, and
from the golden files in golden/system-ramdisk/ (fixed small stand-ins for
init and nsm.ko, expected.cpio and expected-no-nsm.cpio: written by
newcref.system_ramdisk and checked in, so a change to either
implementation shows). `eifkit build` puts the same bytes in ramdisk 0,
and its PCR1 is that of kernel, cmdline and those bytes.
"""
import json
import os
import pathlib

import pytest

from conftest import fake_kernel, run
from eifref import pcr
from newcref import eif_ramdisks, eif_sections, parse, system_ramdisk

GOLDEN = pathlib.Path(__file__).resolve().parent / "golden" / "system-ramdisk"


def system(tmp, init, nsm=None, out=None):
    out = out or tmp / "sys.cpio"
    args = ["ramdisk", "--layout", "system", "--init", init, "-o", out]
    if nsm is not None:
        args += ["--nsm", nsm]
    r = run(*args)
    assert r.code == 0, r
    assert r.out == b"" and r.err == b"", r
    return out.read_bytes()


@pytest.mark.parametrize("init_len", [0, 1, 2, 3, 4, 5, 509, 510, 511, 512,
                                      70001])
@pytest.mark.parametrize("nsm_len", [None, 0, 1, 2, 3, 4, 777])
def test_matches_the_spec(tmp_path, init_len, nsm_len):
    init = tmp_path / "init"
    init.write_bytes(os.urandom(init_len))
    nsm = None
    if nsm_len is not None:
        nsm = tmp_path / "nsm.ko"
        nsm.write_bytes(os.urandom(nsm_len))
    got = system(tmp_path, init, nsm)
    assert got == system_ramdisk(init.read_bytes(),
                                 None if nsm is None else nsm.read_bytes())


def test_golden_files():
    init, nsm = GOLDEN / "init", GOLDEN / "nsm.ko"
    want = (GOLDEN / "expected.cpio").read_bytes()
    want_no_nsm = (GOLDEN / "expected-no-nsm.cpio").read_bytes()
    # the reference still writes the checked-in bytes
    assert system_ramdisk(init.read_bytes(), nsm.read_bytes()) == want
    assert system_ramdisk(init.read_bytes()) == want_no_nsm
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        d = pathlib.Path(d)
        assert system(d, init, nsm) == want
        assert system(d, init) == want_no_nsm


def test_golden_file_fields():
    """The golden bytes, read back field by field (so the golden file is
    not only right because the writer that made it agrees with itself)."""
    es = parse((GOLDEN / "expected.cpio").read_bytes())
    assert [(e["name"], e["ino"], oct(e["mode"]), e["uid"], e["gid"],
             e["nlink"], e["mtime"], e["filesize"]) for e in es] == [
        (b"dev", 721, "0o40755", 0, 0, 2, 1492533000, 0),
        (b"init", 722, "0o100755", 0, 0, 1, 1492533000, 1065),
        (b"nsm.ko", 723, "0o100755", 0, 0, 1, 1492533000, 361),
        (b"TRAILER!!!", 724, "0o0", 0, 0, 1, 0, 0)]
    assert len((GOLDEN / "expected.cpio").read_bytes()) == 2048
    raw = (GOLDEN / "expected.cpio").read_bytes()
    assert raw[:110] == (b"070701" b"000002d1" b"000041ed" b"00000000"
                         b"00000000" b"00000002" b"58f63f08" b"00000000"
                         b"00000003" b"00000001" b"00000000" b"00000000"
                         b"00000004" b"00000000")


def test_whatever_the_input_files_modes_owners_mtimes(tmp_path):
    init = tmp_path / "init"
    init.write_bytes(b"init bytes")
    a = system(tmp_path, init)
    os.chmod(init, 0o600)
    os.utime(init, (12345, 12345))
    if os.geteuid() == 0:
        os.chown(init, 4321, 4321)
    assert system(tmp_path, init) == a


def test_init_and_nsm_through_symlinks(tmp_path):
    """nitro-cli's own sample blob folders are symlinks to the blobs."""
    os.symlink(GOLDEN / "init", tmp_path / "init")
    os.symlink(GOLDEN / "nsm.ko", tmp_path / "nsm.ko")
    assert system(tmp_path, tmp_path / "init", tmp_path / "nsm.ko") == \
        (GOLDEN / "expected.cpio").read_bytes()


@pytest.mark.parametrize("what", ["missing", "dir"])
def test_bad_init(tmp_path, what):
    init = tmp_path / "init"
    if what == "dir":
        init.mkdir()
    out = tmp_path / "o.cpio"
    r = run("ramdisk", "--layout", "system", "--init", init, "-o", out)
    assert r.code == 1, r
    err = r.err.decode()
    assert err.startswith(f"eifkit ramdisk: '{init}': ") and err.count("\n") == 1
    assert not out.exists()


def test_build_puts_it_in_ramdisk_0(tmp_path):
    kernel = tmp_path / "bzImage"
    kernel.write_bytes(fake_kernel(size=4097))
    root = tmp_path / "rootfs"
    root.mkdir()
    eif = tmp_path / "o.eif"
    r = run("build", "--no-app-check", "-o", eif, "--kernel", kernel, "--init", GOLDEN / "init",
            "--nsm", GOLDEN / "nsm.ko", "--cmdline", "console=ttyS0",
            "--rootfs", root, "--", "/bin/true")
    assert r.code == 0, r
    data = eif.read_bytes()
    rd = eif_ramdisks(data)
    assert rd[0] == (GOLDEN / "expected.cpio").read_bytes()
    secs = dict((t, d) for t, d in eif_sections(data) if t in (1, 2))
    assert secs[1] == kernel.read_bytes() and secs[2] == b"console=ttyS0"
    m = json.loads(r.out)["Measurements"]
    assert m["PCR1"] == pcr(secs[1] + secs[2] + rd[0])
    assert m["PCR2"] == pcr(rd[1])
    assert m["PCR0"] == pcr(secs[1] + secs[2] + rd[0] + rd[1])
