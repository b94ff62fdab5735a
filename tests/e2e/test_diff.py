"""eifkit diff: pairs of files made with eifkit (or by hand) that differ
in exactly one thing each; diff must name that thing, the right PCRs, and
nothing else, in the text report and in JSON. Identical files exit 0,
different ones 1, trouble 2 (as diff(1)). The PCRs expected are worked
out here from what was changed (EIF-FORMAT.md 7: kernel and cmdline move
PCR0 and PCR1, ramdisk 0 PCR0 and PCR1, the other ramdisks PCR0 and PCR2,
the certificate PCR8), and checked against eifkit pcr's own figures."""
import json
import os
import re
import shutil
import subprocess

import pytest

from conftest import ROOT, VECTORS, eifkit_path, fake_kernel, run
from newcref import _member
from test_oci_common import make_image, reg, dir_
from test_ramdisk_system import GOLDEN

SIGNED = [VECTORS / "f-signed-p256", VECTORS / "f-signed-p384"]
CMDLINE = "console=ttyS0 reboot=k"


# ---- making pairs -----------------------------------------------------------

@pytest.fixture
def tree(tmp_path):
    """A small root filesystem with a file, a symlink and a hard link."""
    root = tmp_path / "root"
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "app").write_bytes(b"#!/bin/sh\necho app\n")
    os.chmod(root / "bin" / "app", 0o755)
    (root / "etc").mkdir()
    (root / "etc" / "conf").write_bytes(b"a=1\n")
    os.symlink("conf", root / "etc" / "link")
    (root / "etc" / "one").write_bytes(b"linked\n")
    os.link(root / "etc" / "one", root / "etc" / "two")
    for p in root.rglob("*"):
        os.utime(p, (1600000000, 1600000000), follow_symlinks=False)
    os.utime(root, (1600000000, 1600000000))
    kernel = tmp_path / "kernel"
    kernel.write_bytes(fake_kernel(fill=bytes(range(256)) * 20))
    return {"root": root, "kernel": kernel, "tmp": tmp_path}


def build(t, name, *extra, root=None, kernel=None, argv=("/bin/app", "x"),
          env=("A=1",)):
    out = t["tmp"] / name
    args = ["build", "-o", out, "--kernel", kernel or t["kernel"], "--init",
            GOLDEN / "init", "--cmdline", CMDLINE, "--name", "app",
            "--no-app-check"]
    if root is not False:
        args += ["--rootfs", root or t["root"]]
    for e in env:
        args += ["--env", e]
    r = run(*args, *extra, "--", *argv)
    assert r.code == 0, r
    return out


def copy_tree(t, name):
    dst = t["tmp"] / name
    shutil.copytree(t["root"], dst, symlinks=True)
    # copytree breaks hard links: make the pair one inode again
    os.unlink(dst / "etc" / "two")
    os.link(dst / "etc" / "one", dst / "etc" / "two")
    return dst


def diff(a, b, *opts):
    return run("diff", *opts, a, b)


def diff_json(a, b):
    r = diff(a, b, "--json")
    assert r.code in (0, 1), r
    return r.code, json.loads(r.out)


def first_line(r):
    return r.out.decode().split("\n", 1)[0]


def pcrs_of(eif):
    r = run("pcr", eif)
    assert r.code == 0, r
    return json.loads(r.out)


def moved_pcrs(a, b):
    """The PCRs eifkit pcr reports different for a and b."""
    pa, pb = pcrs_of(a), pcrs_of(b)
    pa = pa.get("Measurements", pa)
    pb = pb.get("Measurements", pb)
    return [k for k in ("PCR0", "PCR1", "PCR2", "PCR8")
            if pa.get(k) != pb.get(k)]


def user(j):
    rd = [r for r in j["ramdisks"] if r["index"] == 1]
    assert len(rd) == 1, j["ramdisks"]
    return rd[0]


def changes(rd):
    return {(c["path"], c["change"], tuple(c["fields"])) for c in rd["entries"]}


def check_pair(a, b, summary, pcrs, entries=None, detail=()):
    """diff a b: exit 1, this first line, these PCRs (checked against
    eifkit pcr too), these entry changes of the user ramdisk, and these
    lines among the details; the JSON says the same."""
    assert moved_pcrs(a, b) == pcrs
    r = diff(a, b)
    assert r.code == 1, r
    assert first_line(r) == summary, r.out.decode()
    lines = r.out.decode().splitlines()
    for d in detail:
        assert any(re.fullmatch(d, l) for l in lines), (d, r.out.decode())
    code, j = diff_json(a, b)
    assert code == 1 and j["identical"] is False
    assert j["summary"] == summary
    assert j["pcrs_differ"] == pcrs
    for k in ("PCR0", "PCR1", "PCR2"):
        assert (j["pcrs"][k]["old"] != j["pcrs"][k]["new"]) == (k in pcrs)
    if entries is not None:
        assert changes(user(j)) == set(entries)
    else:
        assert j["ramdisks"] == []
    return j


# ---- one difference each ------------------------------------------------------

def test_identical_files_exit_0(tree):
    a = build(tree, "a.eif")
    b = build(tree, "b.eif")
    r = diff(a, b)
    assert r.code == 0 and first_line(r) == "identical", r
    code, j = diff_json(a, b)
    assert code == 0 and j["identical"] is True and j["ramdisks"] == []
    assert j["pcrs_differ"] == [] and j["header"] == []


def test_file_content(tree):
    a = build(tree, "a.eif")
    root = copy_tree(tree, "r2")
    (root / "etc" / "conf").write_bytes(b"a=2\n")
    os.utime(root / "etc" / "conf", (1600000000, 1600000000))
    b = build(tree, "b.eif", root=root)
    check_pair(a, b, "PCR0 and PCR2 differ: ramdisk 1 (user): 1 file changed",
               ["PCR0", "PCR2"],
               [("rootfs/etc/conf", "changed", ("content",))],
               [r"  changed  rootfs/etc/conf: content sha256 [0-9a-f]{16} -> [0-9a-f]{16}",
                r"ramdisk 1 \(user\): section 4, \d+ bytes, sha384 [0-9a-f]{16} -> "
                r"section 4, \d+ bytes, sha384 [0-9a-f]{16} \(PCR0, PCR2\)"])


def test_mode(tree):
    a = build(tree, "a.eif")
    root = copy_tree(tree, "r2")
    os.chmod(root / "bin" / "app", 0o700)
    b = build(tree, "b.eif", root=root)
    check_pair(a, b, "PCR0 and PCR2 differ: ramdisk 1 (user): 1 file changed",
               ["PCR0", "PCR2"], [("rootfs/bin/app", "changed", ("mode",))],
               [r"  changed  rootfs/bin/app: mode 0755 -> 0700"])


def test_owner_from_container_images(tmp_path):
    k = tmp_path / "kernel"
    k.write_bytes(fake_kernel(fill=b"k" * 4000))
    outs = []
    for uid in (0, 1000):
        lay = make_image(tmp_path / f"img{uid}",
                         [[dir_("etc"), reg("etc/f", "x", uid=uid, gid=uid)]])
        out = tmp_path / f"{uid}.eif"
        r = run("build", "-o", out, "--kernel", k, "--init", GOLDEN / "init",
                "--oci", f"{lay.path}:latest", "--entrypoint", "/bin/true",
                "--name", "app", "--no-app-check")
        assert r.code == 0, r
        outs.append(out)
    # another layer is another image: its digests are in the metadata
    check_pair(*outs, "PCR0 and PCR2 differ: ramdisk 1 (user): 1 file changed; "
               "metadata: DockerInfo.ConfigDigest, DockerInfo.ManifestDigest",
               ["PCR0", "PCR2"], [("rootfs/etc/f", "changed", ("uid", "gid"))],
               [r"  changed  rootfs/etc/f: uid 0 -> 1000, gid 0 -> 1000"])


def test_mtime_with_keep_mtimes(tree):
    a = build(tree, "a.eif", "--keep-mtimes")
    root = copy_tree(tree, "r2")
    for p in root.rglob("*"):
        os.utime(p, (1600000000, 1600000000), follow_symlinks=False)
    os.utime(root, (1600000000, 1600000000))
    os.utime(root / "etc" / "conf", (1700000000, 1700000000))
    b = build(tree, "b.eif", "--keep-mtimes", root=root)
    check_pair(a, b, "PCR0 and PCR2 differ: ramdisk 1 (user): 1 file changed",
               ["PCR0", "PCR2"], [("rootfs/etc/conf", "changed", ("mtime",))],
               [r"  changed  rootfs/etc/conf: mtime 1600000000 \(2020-09-13 "
                r"12:26:40\) -> 1700000000 \(2023-11-14 22:13:20\)"])


def test_symlink_target(tree):
    a = build(tree, "a.eif")
    root = copy_tree(tree, "r2")
    os.unlink(root / "etc" / "link")
    os.symlink("/etc/conf", root / "etc" / "link")
    os.utime(root / "etc" / "link", (1600000000,) * 2, follow_symlinks=False)
    b = build(tree, "b.eif", root=root)
    check_pair(a, b, "PCR0 and PCR2 differ: ramdisk 1 (user): 1 file changed",
               ["PCR0", "PCR2"],
               [("rootfs/etc/link", "changed", ("size", "target"))],
               [r"  changed  rootfs/etc/link: size 4 -> 9, target conf -> /etc/conf"])


def test_added_file(tree):
    a = build(tree, "a.eif")
    root = copy_tree(tree, "r2")
    (root / "etc" / "new").write_bytes(b"new\n")
    b = build(tree, "b.eif", root=root)
    # the inode numbers after it move too: they are not named when
    # something else explains the difference
    check_pair(a, b, "PCR0 and PCR2 differ: ramdisk 1 (user): 1 added",
               ["PCR0", "PCR2"], [("rootfs/etc/new", "added", ())],
               [r"  added    rootfs/etc/new \(file 0644, 0/0, 4 bytes\)"])


def test_hard_link_turned_into_a_copy(tree):
    a = build(tree, "a.eif")
    root = copy_tree(tree, "r2")
    os.unlink(root / "etc" / "two")
    shutil.copy2(root / "etc" / "one", root / "etc" / "two")
    b = build(tree, "b.eif", root=root)
    # newc keeps the data on one name of the group: each name is shown
    # with the data the kernel gives the file, so only the link differs
    j = check_pair(
        a, b, "PCR0 and PCR2 differ: ramdisk 1 (user): 2 files changed",
        ["PCR0", "PCR2"],
        [("rootfs/etc/one", "changed", ("hardlink", "nlink")),
         ("rootfs/etc/two", "changed", ("hardlink", "nlink"))],
        [r"  changed  rootfs/etc/one: hardlink rootfs/etc/one -> none, nlink 2 -> 1",
         r"  changed  rootfs/etc/two: hardlink rootfs/etc/one -> none, nlink 2 -> 1"])
    two = [c for c in user(j)["entries"] if c["path"] == "rootfs/etc/two"][0]
    assert two["old"]["hardlink"] == "rootfs/etc/one"
    assert two["new"]["hardlink"] is None
    assert two["old"]["size"] == two["new"]["size"] == 7


def _cpio(members):
    out = bytearray()
    for ino, (name, data) in enumerate(members, 1):
        _member(out, ino, 0o100644, 1, 0, name, data)
    _member(out, 0, 0, 1, 0, b"TRAILER!!!", b"")
    out += b"\0" * (-len(out) % 512)
    return bytes(out)


def test_entry_order_of_a_hand_made_cpio(tmp_path):
    files = [(b"a", b"1"), (b"b", b"2"), (b"c", b"3"), (b"d", b"4")]
    ca, cb = tmp_path / "a.cpio", tmp_path / "b.cpio"
    ca.write_bytes(_cpio(files))
    # c moves first; the inode numbers are given by place, as writers do
    cb.write_bytes(_cpio([files[2], files[0], files[1], files[3]]))
    r = diff(ca, cb)
    assert r.code == 1 and first_line(r) == "archives differ: 1 moved", r
    assert "  moved    c: moved from position 2 to 0" in r.out.decode().splitlines()
    code, j = diff_json(ca, cb)
    assert j["kind"] == "cpio" and "pcrs" not in j
    assert changes(j["ramdisks"][0]) == {("c", "moved", ("moved",))}
    # the same ramdisks in EIFs: PCR0 and PCR2 move, and only by order
    k = tmp_path / "k"
    k.write_bytes(b"k" * 100)
    sysrd = GOLDEN / "expected.cpio"
    eifs = []
    for c in (ca, cb):
        out = tmp_path / (c.stem + ".eif")
        r = run("assemble", "--no-kernel-check", "--kernel", k, "--cmdline",
                CMDLINE, "--ramdisk", sysrd, "--ramdisk", c, "-o", out)
        assert r.code == 0, r
        eifs.append(out)
    check_pair(*eifs, "PCR0 and PCR2 differ: ramdisk 1 (user): 1 moved",
               ["PCR0", "PCR2"], [("c", "moved", ("moved",))])


def test_argv(tree):
    a = build(tree, "a.eif")
    b = build(tree, "b.eif", argv=("/bin/app", "y z"))
    check_pair(a, b,
               "PCR0 and PCR2 differ: ramdisk 1 (user): 1 file changed (argv)",
               ["PCR0", "PCR2"], [("cmd", "changed", ("size", "content"))],
               [r"  argv \(cmd\): 2 -> 2 arguments",
                r"    argv\[1\]: 'x' -> 'y z'"])
    _, j = diff_json(a, b)
    assert user(j)["app"] == {"argv": {"old": ["/bin/app", "x"],
                                       "new": ["/bin/app", "y z"]}}


def test_env(tree):
    a = build(tree, "a.eif")
    b = build(tree, "b.eif", env=("A=2", "B=3"))
    check_pair(a, b,
               "PCR0 and PCR2 differ: ramdisk 1 (user): 1 file changed (env)",
               ["PCR0", "PCR2"], [("env", "changed", ("size", "content"))],
               [r"  environment \(env\): 1 -> 2 variables",
                r"    'A=1' -> 'A=2'", r"    \+ 'B=3'"])
    _, j = diff_json(a, b)
    assert user(j)["app"] == {"env": {"old": ["A=1"], "new": ["A=2", "B=3"]}}


def test_workdir(tree):
    a = build(tree, "a.eif", "--workdir", "/srv")
    b = build(tree, "b.eif", "--workdir", "/srv/app dir")
    check_pair(a, b,
               "PCR0 and PCR2 differ: ramdisk 1 (user): 1 file changed (workdir)",
               ["PCR0", "PCR2"], [("workdir", "changed", ("size", "content"))],
               [r"  folder \(workdir\): '/srv' -> '/srv/app dir'"])
    _, j = diff_json(a, b)
    assert user(j)["app"] == {"workdir": {"old": "/srv", "new": "/srv/app dir"}}


def test_cmdline(tree):
    a = build(tree, "a.eif")
    b = build(tree, "b.eif", "--cmdline", CMDLINE + " quiet")
    j = check_pair(a, b, "PCR0 and PCR1 differ: cmdline", ["PCR0", "PCR1"],
                   None, [r"  cmdline 'console=ttyS0 reboot=k' -> "
                          r"'console=ttyS0 reboot=k quiet'",
                          r"cmdline: section 1, 22 bytes, sha384 [0-9a-f]{16} -> "
                          r"section 1, 28 bytes, sha384 [0-9a-f]{16} \(PCR0, PCR1\)"])
    assert j["cmdline"]["old"] == CMDLINE and j["cmdline"]["pcrs"] == ["PCR0", "PCR1"]


def test_kernel(tree):
    a = build(tree, "a.eif")
    k2 = tree["tmp"] / "kernel2"
    k2.write_bytes(tree["kernel"].read_bytes()[:-1] + b"!")
    b = build(tree, "b.eif", kernel=k2)
    j = check_pair(a, b, "PCR0 and PCR1 differ: kernel", ["PCR0", "PCR1"], None,
                   [r"kernel: section 0, 5120 bytes, sha384 [0-9a-f]{16} -> "
                    r"section 0, 5120 bytes, sha384 [0-9a-f]{16} \(PCR0, PCR1\)"])
    assert j["kernel"]["pcrs"] == ["PCR0", "PCR1"]
    assert j["cmdline"] is None and j["metadata"] is None


def test_metadata_only(tree):
    a = build(tree, "a.eif")
    b = build(tree, "b.eif", "--version", "2.0")
    j = check_pair(a, b, "no PCR differs: metadata: ImageVersion", [], None,
                   [r"  ImageVersion: '1.0' -> '2.0'",
                    r"header: CRC: 0x[0-9a-f]{8} -> 0x[0-9a-f]{8} \(no PCR\)"])
    assert j["metadata"]["keys"] == [{"key": "ImageVersion", "old": "1.0",
                                      "new": "2.0"}]
    assert j["metadata"]["pcrs"] == []


def test_build_time_and_custom_metadata(tmp_path):
    k = tmp_path / "k"
    k.write_bytes(b"k" * 100)
    m = tmp_path / "m.json"
    m.write_text('{"git": "abc", "n": 1}')
    outs = []
    for t, meta in (("2020-01-01T00:00:00+00:00", '{"git": "abc", "n": 1}'),
                    ("2021-01-01T00:00:00+00:00", '{"git": "abd", "n": 1}')):
        m.write_text(meta)
        out = tmp_path / (t[:4] + ".eif")
        r = run("assemble", "--no-kernel-check", "--kernel", k, "--cmdline",
                "x", "--ramdisk",
                GOLDEN / "expected.cpio", "--build-time", t, "--metadata", m,
                "-o", out)
        assert r.code == 0, r
        outs.append(out)
    j = check_pair(*outs, "no PCR differs: metadata: BuildTime, CustomMetadata.git",
                   [], None, [r"  CustomMetadata.git: 'abc' -> 'abd'"])
    assert [kv["key"] for kv in j["metadata"]["keys"]] == ["BuildTime",
                                                           "CustomMetadata.git"]


def test_signature_only_and_certificate(tmp_path):
    a, b, c = (tmp_path / n for n in ("a.eif", "b.eif", "c.eif"))
    for out, d in ((a, SIGNED[0]), (b, SIGNED[0]), (c, SIGNED[1])):
        r = run("sign", VECTORS / "a-one-ramdisk" / "expected.eif",
                "--signing-certificate", d / "cert.pem", "--private-key",
                d / "key.pem", "-o", out)
        assert r.code == 0, r
    # ECDSA is randomised: the same certificate signs other bytes
    j = check_pair(a, b, "no PCR differs: signature: signature bytes", [], None,
                   [r"signature: same certificate, other signature bytes \(no PCR\)"])
    assert j["signature"]["change"] == "bytes"
    assert j["signature"]["old"] == j["signature"]["new"]
    subject = subprocess.run(["openssl", "x509", "-noout", "-subject",
                              "-nameopt", "RFC2253", "-in",
                              SIGNED[1] / "cert.pem"], capture_output=True,
                             check=True).stdout.decode().strip()
    fpr = subprocess.run(["openssl", "x509", "-noout", "-fingerprint",
                          "-sha256", "-in", SIGNED[1] / "cert.pem"],
                         capture_output=True, check=True).stdout.decode()
    fpr = fpr.strip().split("=", 1)[1].replace(":", "").lower()
    j = check_pair(a, c, "PCR8 differs: signature: certificate", ["PCR8"], None,
                   [r"signature: another signing certificate \(PCR8\)",
                    "  new subject '" + re.escape(subject.split("=", 1)[1]) +
                    "', sha256 fingerprint " + fpr])
    assert j["signature"]["new"]["fingerprint_sha256"] == fpr
    assert j["signature"]["pcrs"] == ["PCR8"]
    unsigned = VECTORS / "a-one-ramdisk" / "expected.eif"
    j = check_pair(unsigned, a, "PCR8 differs: signature: added", ["PCR8"], None)
    assert j["signature"]["old"] is None


def test_arch(tree):
    # one x86_64 kernel for both: only the header's arch flag differs
    a = build(tree, "a.eif", "--no-kernel-check")
    b = build(tree, "b.eif", "--no-kernel-check", "--arch", "aarch64")
    j = check_pair(a, b, "no PCR differs: header: arch", [], None,
                   [r"header: arch: x86_64 -> aarch64 \(no PCR\)"])
    assert {"field": "arch", "old": "x86_64", "new": "aarch64"} in j["header"]


def test_container_images_differing_by_one_layer(tmp_path):
    k = tmp_path / "kernel"
    k.write_bytes(fake_kernel(fill=b"k" * 4000))
    base = [dir_("bin"), reg("bin/sh", b"shell" * 100, mode=0o755),
            dir_("etc"), reg("etc/os-release", "ID=test\n")]
    outs = []
    for v in ("1.0", "1.1"):
        app = [dir_("app"), reg("app/server", "server " + v, mode=0o755),
               reg("app/VERSION", v + "\n")]
        lay = make_image(tmp_path / ("img" + v), [base, app],
                         Entrypoint=["/app/server"])
        out = tmp_path / (v + ".eif")
        r = run("build", "-o", out, "--kernel", k, "--init", GOLDEN / "init",
                "--oci", f"{lay.path}:latest", "--name", "app",
                "--no-app-check")
        assert r.code == 0, r
        outs.append(out)
    j = check_pair(*outs, "PCR0 and PCR2 differ: ramdisk 1 (user): 2 files "
                   "changed; metadata: DockerInfo.ConfigDigest, "
                   "DockerInfo.ManifestDigest",
                   ["PCR0", "PCR2"],
                   [("rootfs/app/VERSION", "changed", ("content",)),
                    ("rootfs/app/server", "changed", ("content",))])
    keys = {kv["key"]: kv for kv in j["metadata"]["keys"]}
    assert list(keys) == ["DockerInfo.ConfigDigest", "DockerInfo.ManifestDigest"]
    assert all(re.fullmatch("sha256:[0-9a-f]{64}", kv[s])
               for kv in keys.values() for s in ("old", "new"))


# ---- agreement with diffoscope ------------------------------------------------

def diffoscope_names(a, b):
    """The entry names diffoscope shows as different: +/- lines of its
    "file list" (name in the last column of libarchive's listing) and the
    members it compares."""
    cp = subprocess.run(["diffoscope", "--no-progress", "--text", "-",
                         str(a), str(b)], capture_output=True)
    assert cp.returncode == 1, cp.stderr
    names, in_list = set(), False
    for line in cp.stdout.decode().splitlines():
        if line.startswith("├── "):
            title = line[4:]
            in_list = title == "file list"
            if not in_list:
                names.add(title)
        elif in_list and re.match(r"│ [-+][-dlcbps]", line):
            names.add(line.split()[-1])
    return names


def test_entry_names_agree_with_diffoscope(tmp_path):
    base = [(b"etc/keep", b"same\n"), (b"etc/conf", b"a=1\n"),
            (b"etc/gone", b"old\n"), (b"bin/app", b"v1")]
    other = [(b"etc/keep", b"same\n"), (b"etc/conf", b"a=2\n"),
             (b"bin/app", b"v1"), (b"etc/new", b"new\n")]
    a, b = tmp_path / "a.cpio", tmp_path / "b.cpio"
    a.write_bytes(_cpio(base))
    out = bytearray()
    for ino, (name, data) in enumerate(other, 1):
        mode = 0o100755 if name == b"bin/app" else 0o100644
        _member(out, ino, mode, 1, 0, name, data)
    _member(out, 0, 0, 1, 0, b"TRAILER!!!", b"")
    b.write_bytes(bytes(out))
    code, j = diff_json(a, b)
    assert code == 1
    ours = {c["path"] for c in j["ramdisks"][0]["entries"]}
    assert ours == {"etc/conf", "etc/gone", "etc/new", "bin/app"}
    assert diffoscope_names(a, b) == ours


# ---- escaping, limits, errors -------------------------------------------------

def test_names_are_escaped(tmp_path):
    evil = b"a\x1b]0;pwned\x07\nfake line"
    a, b = tmp_path / "a.cpio", tmp_path / "b.cpio"
    a.write_bytes(_cpio([(b"x", b"1")]))
    b.write_bytes(_cpio([(b"x", b"1"), (evil, b"2")]))
    r = diff(a, b)
    assert r.code == 1
    assert b"\x1b" not in r.out and b"\x07" not in r.out
    assert "  added    a\\x1b]0;pwned\\a\\nfake\\x20line (file 0644, 0/0, 1 bytes)" \
        in r.out.decode().splitlines()
    _, j = diff_json(a, b)
    assert j["ramdisks"][0]["entries"][0]["path"] == "a\\x1b]0;pwned\\a\\nfake line"


def test_max_entries(tmp_path):
    a, b = tmp_path / "a.cpio", tmp_path / "b.cpio"
    a.write_bytes(_cpio([(b"x", b"1")]))
    b.write_bytes(_cpio([(b"x", b"1")] + [(b"f%d" % i, b"") for i in range(5)]))
    r = diff(a, b, "--max-entries", "2")
    lines = r.out.decode().splitlines()
    assert r.code == 1 and first_line(r) == "archives differ: 5 added"
    assert [l for l in lines if l.startswith("  added")] == [
        "  added    f0 (file 0644, 0/0, 0 bytes)",
        "  added    f1 (file 0644, 0/0, 0 bytes)"]
    assert "  ... and 3 more (--max-entries N, or --json for all)" in lines
    _, j = diff_json(a, b)
    assert len(j["ramdisks"][0]["entries"]) == 5
    r = diff(a, b, "--max-entries", "0")
    assert not [l for l in r.out.decode().splitlines() if l.startswith("  added")]


@pytest.mark.parametrize("args,needle", [
    ([], "give two files"), (["x"], "give two files"),
    (["--max-entries", "-1", "a", "b"], "not a count"),
    (["--bogus", "a", "b"], "--bogus"),
])
def test_usage_errors_exit_2(args, needle):
    r = run("diff", *args)
    assert r.code == 2, r
    assert r.err.decode().startswith("eifkit diff: ") and needle in r.err.decode()


def test_unreadable_or_malformed_input_exits_2_naming_it(tmp_path):
    good = VECTORS / "a-one-ramdisk" / "expected.eif"
    bad = tmp_path / "bad.eif"
    data = bytearray(good.read_bytes())
    data[4:6] = b"\x00\x09"  # version 9
    bad.write_bytes(bytes(data))
    for x, y in ((good, bad), (bad, good)):
        r = diff(x, y)
        assert r.code == 2 and r.out == b"", r
        err = r.err.decode()
        assert err.startswith("eifkit diff: '") and str(bad) in err, err
        assert err.count("\n") == 1
    r = diff(good, tmp_path / "missing")
    assert r.code == 2 and "missing" in r.err.decode()
    cp = tmp_path / "x.cpio"
    cp.write_bytes(_cpio([(b"x", b"1")]))
    r = diff(good, cp)
    assert r.code == 2 and "two EIFs or two cpio archives" in r.err.decode()
    junk = tmp_path / "junk.cpio"
    junk.write_bytes(b"070701" + b"zz" * 60)
    r = diff(cp, junk)
    assert r.code == 2 and str(junk) in r.err.decode(), r


def test_help_matches_doc():
    r = run("diff", "--help")
    assert r.code == 0 and r.out.startswith(b"usage: eifkit diff ")
    doc = (ROOT / "docs" / "eifkit-diff.md").read_text()
    usage = r.out.decode().split("\n")[0]
    assert "    " + usage in doc


# ---- memory ---------------------------------------------------------------------

FILES = 50000
TOTAL = 1 << 30


def write_sparse_cpio(f, base, changed=None):
    """At offset base of f: FILES regular files totalling TOTAL bytes,
    their data left as holes (zeros), so that the archive costs neither
    disk nor time to make; the file numbered `changed` gets one byte set.
    Returns the archive's length."""
    size = TOTAL // FILES
    pos = 0
    for i in range(FILES):
        name = b"rootfs/d%03d/f%05d" % (i % 500, i) + b"\0"
        hdr = b"070701" + b"".join(b"%08x" % v for v in (
            i + 1, 0o100644, 0, 0, 1, 0, size, 0, 0, 0, 0, len(name), 0))
        head = hdr + name
        head += b"\0" * (-(pos + len(head)) % 4)
        f.seek(base + pos)
        f.write(head)
        pos += len(head)
        if i == changed:
            f.seek(base + pos + size // 2)
            f.write(b"\1")
        pos += size + (-size % 4)
    f.seek(base + pos)
    trailer = b"070701" + b"".join(b"%08x" % v for v in (
        0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 11, 0)) + b"TRAILER!!!\0"
    f.write(trailer)
    pos += len(trailer)
    pos += -pos % 512
    f.truncate(base + pos)
    return pos


def sparse_eif(path, changed=None):
    """An EIF (EIF-FORMAT.md 1-6, written here, not by eifkit) whose user
    ramdisk is write_sparse_cpio's: a 1 GiB file that is mostly holes, so
    the test spends its time in diff, not in writing 2 GiB."""
    import struct
    import zlib
    from eifref import metadata
    secs = [(1, fake_kernel(fill=b"k" * 2000)), (2, b"x"),
            (5, metadata("big", "1.0", "1970-01-01T00:00:00+00:00", "test",
                         "1", "OS", "kernel")),
            (3, (GOLDEN / "expected.cpio").read_bytes())]
    with open(path, "w+b") as f:
        pos = 548
        offsets, sizes = [], []
        for t, data in secs:
            f.seek(pos)
            f.write(struct.pack(">HHQ", t, 0, len(data)) + data)
            offsets.append(pos)
            sizes.append(len(data))
            pos += 12 + len(data)
        n = write_sparse_cpio(f, pos + 12, changed)
        f.seek(pos)
        f.write(struct.pack(">HHQ", 3, 0, n))
        offsets.append(pos)
        sizes.append(n)
        pad = [0] * (32 - len(offsets))
        f.seek(0)
        f.write(struct.pack(">4sHHQQHH32Q32QI", b".eif", 4, 0, 1 << 30, 2,
                            0, len(offsets), *(offsets + pad),
                            *(sizes + pad), 0))
        f.seek(0)
        crc = zlib.crc32(f.read(544))
        f.seek(548)
        while True:
            chunk = f.read(1 << 22)
            if not chunk:
                break
            crc = zlib.crc32(chunk, crc)
        f.seek(544)
        f.write(struct.pack(">I", crc))


def peak_rss_kib(*args):
    cp = subprocess.run(["/usr/bin/time", "-f", "%M", eifkit_path(),
                         *map(str, args)], stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE)
    return cp, int(cp.stderr.decode().split()[-1])


def test_two_1gib_eifs_of_50000_files_under_64mib(tmp_path):
    a, b = tmp_path / "a.eif", tmp_path / "b.eif"
    sparse_eif(a)
    sparse_eif(b, changed=31337)
    # eifkit's reader takes them: layout, CRC, and the PCRs
    v = run("verify", a)
    assert v.code == 0, v
    assert a.stat().st_size > TOTAL
    cp, rss = peak_rss_kib("diff", "--json", a, b)
    assert cp.returncode == 1, cp.stderr
    j = json.loads(cp.stdout)
    assert j["summary"] == "PCR0 and PCR2 differ: ramdisk 1 (user): 1 file changed"
    assert changes(user(j)) == {("rootfs/d337/f31337", "changed", ("content",))}
    assert len([e for e in j["ramdisks"]]) == 1
    assert rss < 64 * 1024, f"diff peak RSS {rss} KiB"
