"""--exclude and --exclude-volatile (issue 18): paths left out after every
input is overlaid, from folders and images alike; what was left out is in
the metadata (DockerInfo.Excluded) and nitro-cli's reader still takes the
metadata; two image builds that differ only in build-time files give one
PCR2 with --exclude-volatile. Also the reproducibility report's volatile
files, the capability warning's names, and DockerInfo.Ref for the three
image forms.

The EIF is read back here (newcref), not by eifkit, except where the test
is about what `eifkit describe` shows."""
import json
import os
import tarfile

import pytest

from conftest import fake_kernel, run
from eifref import pcr
from newcref import eif_ramdisks, eif_sections, parse
from test_oci_common import (dir_, docker_legacy, hard, make_image, reg,
                             tar_folder)
from test_ramdisk_system import GOLDEN

# The files package managers fill with build-time data, with contents as
# apt, dpkg, ldconfig and systemd write them (the times differ per build).
VOLATILE = ["var/log/dpkg.log", "var/log/apt/history.log",
            "var/log/apt/term.log", "var/cache/ldconfig/aux-cache",
            "etc/machine-id", "var/lib/dbus/machine-id"]


def volatile_layer(when):
    return [dir_("var"), dir_("var/log"), dir_("var/log/apt"),
            dir_("var/cache"), dir_("var/cache/ldconfig"), dir_("etc"),
            dir_("var/lib"), dir_("var/lib/dbus"),
            reg("var/log/dpkg.log", f"{when} startup archives unpack\n"),
            reg("var/log/apt/history.log", f"\nStart-Date: {when}\n"),
            reg("var/log/apt/term.log", f"\nLog started: {when}\n"),
            reg("var/cache/ldconfig/aux-cache", when.encode() * 3, mode=0o600),
            reg("etc/machine-id", f"{hash(when) & (1 << 64) - 1:032x}\n"),
            reg("var/lib/dbus/machine-id", f"{len(when)}{when}\n")]


BASE = [dir_("bin"), reg("bin/app", "#!/bin/sh\n", mode=0o755),
        dir_("etc"), reg("etc/os-release", "ID=test\n")]


@pytest.fixture
def kernel(tmp_path):
    k = tmp_path / "kernel"
    k.write_bytes(fake_kernel())
    return k


def build(tmp, kernel, *args, name="o", env=None):
    out = tmp / f"{name}.eif"
    r = run("build", "--no-app-check", "-o", out, "--kernel", kernel,
            "--init", GOLDEN / "init", *args, "--", "/bin/app", env=env)
    return r, out


def ok(tmp, kernel, *args, **kw):
    r, out = build(tmp, kernel, *args, **kw)
    assert r.code == 0, r
    return r, out


def pcr2(eif):
    rd = eif_ramdisks(eif.read_bytes())
    return pcr(rd[1])


def metadata(eif):
    """The metadata section as bytes and as (ordered) JSON."""
    raw = [d for t, d in eif_sections(eif.read_bytes()) if t == 5][0]
    return raw, json.loads(raw, object_pairs_hook=list)


def names(eif):
    es = parse(eif_ramdisks(eif.read_bytes())[1])
    return {e["name"].decode(): e for e in es if e["name"] != b"TRAILER!!!"}


def assert_reader_takes(eif):
    """What nitro-cli's reader (serde derive, EIF-FORMAT.md 8.4) needs:
    the five top-level keys in their order, the five BuildMetadata
    strings; DockerInfo and CustomMetadata any value."""
    raw, j = metadata(eif)
    raw.decode("utf-8")  # serde_json takes only UTF-8
    assert [k for k, _ in j] == ["ImageName", "ImageVersion", "BuildMetadata",
                                 "DockerInfo", "CustomMetadata"], j
    bm = dict(j)["BuildMetadata"]
    assert [k for k, _ in bm] == ["BuildTime", "BuildTool", "BuildToolVersion",
                                  "OperatingSystem", "KernelVersion"]
    assert all(isinstance(v, str) for _, v in bm)
    return dict(j)


def docker_info(eif):
    di = assert_reader_takes(eif)["DockerInfo"]
    if di is None:
        return None
    keys = [k for k, _ in di]
    assert keys == sorted(keys, key=str.encode), keys  # serde's order
    return dict(di)


# ---- volatile files and PCR2 ----------------------------------------------

def test_volatile_files_decide_pcr2_unless_excluded(tmp_path, kernel):
    a = make_image(tmp_path / "a", [BASE, volatile_layer("2024-05-01 10:00:01")])
    b = make_image(tmp_path / "b", [BASE, volatile_layer("2024-05-02 17:42:59")])
    _, ea = ok(tmp_path, kernel, "--oci", a.path, name="a")
    _, eb = ok(tmp_path, kernel, "--oci", b.path, name="b")
    assert pcr2(ea) != pcr2(eb)
    _, xa = ok(tmp_path, kernel, "--oci", a.path, "--exclude-volatile", name="xa")
    _, xb = ok(tmp_path, kernel, "--oci", b.path, "--exclude-volatile", name="xb")
    assert pcr2(xa) == pcr2(xb)
    # and equal to an image that never had them
    c = make_image(tmp_path / "c", [BASE, [dir_("var"), dir_("var/log"),
                                           dir_("var/log/apt"), dir_("var/cache"),
                                           dir_("var/cache/ldconfig"), dir_("etc"),
                                           dir_("var/lib"), dir_("var/lib/dbus")]])
    _, ec = ok(tmp_path, kernel, "--oci", c.path, name="c")
    assert pcr2(ec) == pcr2(xa)
    n = names(xa)
    assert not any(f"rootfs/{v}" in n for v in VOLATILE)
    assert "rootfs/var/log/apt" in n and "rootfs/etc/os-release" in n
    di = docker_info(xa)
    assert di["Excluded"] == sorted("/" + v for v in VOLATILE), di
    assert di["Ref"] == "latest" and di["Os"] == "linux"
    assert "Excluded" not in docker_info(ea)


def test_volatile_on_a_folder(tmp_path, kernel):
    root = tmp_path / "root"
    for v in VOLATILE + ["bin/app", "var/log/other.log"]:
        (root / v).parent.mkdir(parents=True, exist_ok=True)
        (root / v).write_text(v)
    r, eif = ok(tmp_path, kernel, "--rootfs", root, "--exclude-volatile")
    n = names(eif)
    assert not any(f"rootfs/{v}" in n for v in VOLATILE)
    assert "rootfs/var/log/other.log" in n  # only the list, not all logs
    # a folder build has no image: DockerInfo holds only what was excluded
    assert docker_info(eif) == {"Excluded": sorted("/" + v for v in VOLATILE)}
    assert b"warning" not in r.err, r


def test_nothing_excluded_keeps_the_metadata_as_it_was(tmp_path, kernel):
    root = tmp_path / "root"
    (root / "bin").mkdir(parents=True)
    (root / "bin/app").write_text("x")
    _, eif = ok(tmp_path, kernel, "--rootfs", root, "--exclude-volatile",
                name="a")
    _, plain = ok(tmp_path, kernel, "--rootfs", root, name="b")
    assert metadata(eif)[0] == metadata(plain)[0]
    assert b'"DockerInfo":null' in metadata(eif)[0]


# ---- --exclude ----------------------------------------------------------

def test_exclude_globs_folders_and_missing_paths_on_a_folder(tmp_path, kernel):
    root = tmp_path / "root"
    files = ["bin/app", "srv/a.log", "srv/b.log", "srv/keep.txt",
             "srv/sub/deep.log", "cache/x/y", "cache-not/z", "home/.hidden"]
    for f in files:
        (root / f).parent.mkdir(parents=True, exist_ok=True)
        (root / f).write_text(f)
    r, eif = ok(tmp_path, kernel, "--rootfs", root,
                "--exclude", "/srv/*.log", "--exclude", "cache/",
                "--exclude", "home/*", "--exclude", "/does/not/exist")
    n = names(eif)
    for gone in ["srv/a.log", "srv/b.log", "cache", "cache/x", "cache/x/y",
                 "home/.hidden"]:
        assert f"rootfs/{gone}" not in n, gone
    # '*' stops at '/', a folder's name is not a prefix of a sibling's
    for kept in ["srv/keep.txt", "srv/sub/deep.log", "cache-not/z", "home"]:
        assert f"rootfs/{kept}" in n, kept
    assert r.err.decode() == ("eifkit build: warning: --exclude "
                              "'/does/not/exist': matches nothing\n")
    assert docker_info(eif) == {"Excluded": ["/cache", "/home/.hidden",
                                             "/srv/a.log", "/srv/b.log"]}


def test_exclude_on_an_image_and_what_overlays_it(tmp_path, kernel):
    lay = make_image(tmp_path / "img", [
        BASE + [dir_("usr"), dir_("usr/share"), dir_("usr/share/doc"),
                reg("usr/share/doc/a/copyright", "c"),
                reg("usr/share/doc/b/changelog.gz", "g")],
        [reg("tmp/build-stamp", "1")]])
    over = tmp_path / "over"
    (over / "usr/share/doc/c").mkdir(parents=True)
    (over / "usr/share/doc/c/README").write_text("r")
    (over / "etc").mkdir()
    (over / "etc/added").write_text("a")
    r, eif = ok(tmp_path, kernel, "--oci", lay.path, "--rootfs", over,
                "--exclude", "/usr/share/doc/*", "--exclude", "tmp/build-stamp")
    n = names(eif)
    assert "rootfs/usr/share/doc" in n
    assert not any(k.startswith("rootfs/usr/share/doc/") for k in n), n
    assert "rootfs/tmp/build-stamp" not in n
    assert "rootfs/etc/added" in n and "rootfs/bin/app" in n
    di = docker_info(eif)
    assert di["Excluded"] == ["/tmp/build-stamp", "/usr/share/doc/a",
                              "/usr/share/doc/b", "/usr/share/doc/c"]
    assert list(di) == ["Architecture", "ConfigDigest", "Excluded",
                        "ManifestDigest", "Os", "Ref"]
    assert r.err == b"", r
    # eifkit describe shows it, and eifkit's own reader takes it
    d = run("describe", eif)
    assert d.code == 0, d
    assert json.loads(d.out)["Metadata"]["DockerInfo"]["Excluded"] == \
        di["Excluded"]


def test_excluding_one_name_of_a_hard_link(tmp_path):
    lay = make_image(tmp_path / "img", [[
        dir_("etc"), reg("etc/a", "shared"), hard("etc/b", "etc/a"),
        hard("etc/c", "etc/a")]])
    for ex, left in [("etc/a", ["etc/b", "etc/c"]), ("etc/[ab]", ["etc/c"])]:
        out = tmp_path / "r.cpio"
        r = run("ramdisk", "--layout", "plain", "-o", out, "--oci", lay.path,
                "--exclude", ex)
        assert r.code == 0, r
        es = {e["name"].decode(): e for e in parse(out.read_bytes())}
        got = sorted(k for k in es if k.startswith("etc/"))
        assert got == left, (ex, got)
        # the names left are one file: nlink counts them, the data is there
        assert all(es[k]["nlink"] == len(left) for k in left)
        assert b"shared" in b"".join(es[k]["data"] for k in left)
        if len(left) == 1:
            assert es[left[0]]["data"] == b"shared"


@pytest.mark.parametrize("bad", ["../etc", "a/../b", "/", "", "./"])
def test_exclude_pattern_refused(tmp_path, kernel, bad):
    root = tmp_path / "root"
    root.mkdir()
    r, out = build(tmp_path, kernel, "--rootfs", root, "--exclude", bad)
    assert r.code == 1, r
    err = r.err.decode()
    assert err.startswith(f"eifkit build: --exclude '{bad}'"), err
    assert err.count("\n") == 1 and not out.exists()


# ---- the report: volatile files -----------------------------------------

def test_report_names_volatile_files(tmp_path, kernel):
    lay = make_image(tmp_path / "img", [BASE, volatile_layer("2024-05-01")])
    r, _ = ok(tmp_path, kernel, "--oci", lay.path)
    err = r.err.decode()
    assert err == ("eifkit build: warning: 6 files hold build-time data, so "
                   "rebuilds of the image differ ('/etc/machine-id', "
                   "'/var/cache/ldconfig/aux-cache', '/var/lib/dbus/machine-id', "
                   "...); fix: --exclude-volatile, or delete them when "
                   "building the image; --explain-repro lists them\n"), err
    r, _ = ok(tmp_path, kernel, "--oci", lay.path, "--explain-repro")
    lines = r.err.decode().splitlines()
    assert len(lines) == 6, lines
    for line, v in zip(lines, sorted(VOLATILE)):
        assert line == (f"eifkit build: warning: repro: '/{v}': filled with "
                        "build-time data by a package manager or tool; fix: "
                        "--exclude-volatile, or delete it when building the "
                        "image"), line
    r, _ = ok(tmp_path, kernel, "--oci", lay.path, "--exclude-volatile",
              "--explain-repro")
    lines = r.err.decode().splitlines()
    assert lines[0] == ("eifkit build: warning: repro: nothing found that "
                        "looks build-time dependent"), lines
    assert lines[1:] == [f"eifkit build: warning: repro: '/{v}': excluded"
                         for v in sorted(VOLATILE)]
    r, _ = ok(tmp_path, kernel, "--oci", lay.path, "--exclude-volatile")
    assert r.err == b"", r


# ---- the capability warning ----------------------------------------------

def cap(name):
    ti, data = reg(name, "\x7fELF", mode=0o755)
    ti.pax_headers = {"SCHILY.xattr.security.capability":
                      "\x01\x00\x00\x02\x00\x20\x00\x00" + "\x00" * 12}
    return ti, data


def test_capability_warning_names_the_files(tmp_path):
    lay = make_image(tmp_path / "one", [BASE + [dir_("usr"), dir_("usr/bin"),
                                                cap("usr/bin/ping")]])
    out = tmp_path / "r.cpio"
    r = run("ramdisk", "--layout", "plain", "-o", out, "--oci", lay.path)
    assert r.code == 0, r
    assert r.err.decode() == (
        "eifkit ramdisk: warning: dropped the extended attributes (file "
        "capabilities, ACLs, SELinux labels) of 1 file ('/usr/bin/ping'): "
        "newc cannot store them\n")
    lay = make_image(tmp_path / "four", [[dir_("b")] + [cap(f"b/{c}")
                                                        for c in "wxyz"]])
    r = run("ramdisk", "--layout", "plain", "-o", out, "--oci", lay.path)
    assert r.code == 0, r
    assert r.err.decode() == (
        "eifkit ramdisk: warning: dropped the extended attributes (file "
        "capabilities, ACLs, SELinux labels) of 4 files ('/b/w', '/b/x', "
        "'/b/y', ...): newc cannot store them\n")


# ---- DockerInfo.Ref: one rule for the three forms -------------------------

def ref_of(tmp_path, kernel, *args):
    _, eif = ok(tmp_path, kernel, *args)
    return docker_info(eif)["Ref"]


def test_docker_info_ref_is_the_stores_name(tmp_path, kernel):
    """Ref is the name the store gives the image (its ref annotation, or
    the RepoTag), as the store spells it, whether REF picked it or not;
    null when the store names it nothing."""
    lay = make_image(tmp_path / "img", [BASE], ref="app:1.0")
    oci_tar = tar_folder(lay.path, tmp_path / "oci.tar")
    for args in [("--oci", lay.path), ("--oci", f"{lay.path}:app:1.0"),
                 ("--oci-archive", oci_tar),
                 ("--oci-archive", f"{oci_tar}:app:1.0")]:
        assert ref_of(tmp_path, kernel, *args) == "app:1.0", args
    dock = tmp_path / "d.tar"
    docker_legacy(dock, [BASE], repo_tags=["docker.io/library/ml:latest",
                                           "ml:1.0"])
    assert ref_of(tmp_path, kernel, "--docker-archive", dock) == \
        "docker.io/library/ml:latest"
    # the short name picks, the stored name is recorded
    assert ref_of(tmp_path, kernel, "--docker-archive",
                  f"{dock}:ml:latest") == "docker.io/library/ml:latest"
    assert ref_of(tmp_path, kernel, "--docker-archive",
                  f"{dock}:ml:1.0") == "ml:1.0"
    untagged = tmp_path / "u.tar"
    docker_legacy(untagged, [BASE], repo_tags=[])
    assert ref_of(tmp_path, kernel, "--docker-archive", untagged) is None
    noref = make_image(tmp_path / "noref", [BASE], ref=None)
    assert ref_of(tmp_path, kernel, "--oci", noref.path) is None


def test_excluded_names_that_are_not_utf8_are_escaped(tmp_path, kernel):
    """serde_json (nitro-cli's reader) takes only UTF-8: a name of any
    bytes is written escaped, as eifkit's messages show names."""
    root = tmp_path / "root"
    (root / "bin").mkdir(parents=True)
    (root / "bin/app").write_text("x")
    for name in [b"bad\xffname", b"new\nline", b"back\\slash", b"sp ace"]:
        (root / os.fsdecode(name)).write_text("x")
    r, eif = ok(tmp_path, kernel, "--rootfs", root, "--exclude", "ba*",
                "--exclude", "new*", "--exclude", "sp*")
    assert docker_info(eif) == {"Excluded": [
        "/back\\\\slash", "/bad\\xffname", "/new\\nline", "/sp ace"]}
    assert "rootfs/bin/app" in names(eif)
