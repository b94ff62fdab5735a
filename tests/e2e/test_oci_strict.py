"""Images that other tools read differently are refused, not read one
way of several (issue #10, findings 8 to 13): config strings with a NUL
or of another JSON type, duplicate JSON keys, libarchive warnings, media
types that are not what the bytes are, malformed whiteouts, duplicate
archive members; and a compressed archive is decompressed once. Each
test of a refusal fails on an eifkit that reads the input leniently."""
import io
import os
import pathlib
import subprocess
import tarfile

import pytest

from conftest import eifkit_path
from test_oci_common import (MT_CONFIG, MT_LAYER, MT_MANIFEST, Layout,
                             compress, config_json, digest, dir_,
                             docker_legacy, err_text, jbytes, make_image,
                             plain_tree, ramdisk, reg, tar_bytes, tar_folder,
                             user_files)


def refused(tmp_path, layers, *words, **kw):
    lay = make_image(tmp_path / "img", layers, **kw)
    return refused_args(tmp_path, ["--oci", lay.path], *words)


def refused_args(tmp_path, args, *words):
    r, out = ramdisk(tmp_path, *args)
    e = err_text(r)
    assert r.code == 1, r
    assert e.startswith("eifkit ramdisk: ") and e.count("\n") == 1, e
    for w in words:
        assert w in e, (w, e)
    assert not out.exists()
    return e


# ---- finding 8: config strings are refused, not changed -----------------

LAYER = [[dir_("bin"), reg("bin/app", "#!", mode=0o755)]]


@pytest.mark.parametrize("cfg,words", [
    (dict(Cmd=["/bin/true\0; rm -rf /"]), "config.Cmd[0]: contains NUL"),
    (dict(Cmd=["/bin/app"], Env=["A=1\0B=2"]),
     "config.Env[0]: contains NUL"),
    (dict(Entrypoint=["/bin/app", "x\0"]),
     "config.Entrypoint[1]: contains NUL"),
    (dict(Cmd=[1, {"a": [2]}, None, True]), "config.Cmd[0]: not a string"),
    (dict(Cmd=["/bin/app", None]), "config.Cmd[1]: not a string"),
    (dict(Cmd="/bin/app"), "config.Cmd: not an array"),
    (dict(Cmd=["/bin/app"], Env={"A": "1"}), "config.Env: not an array"),
    (dict(Cmd=["/bin/app"], WorkingDir=5), "config.WorkingDir: not a string"),
    (dict(Cmd=["/bin/app"], WorkingDir="/a\0/b"),
     "config.WorkingDir: contains NUL"),
    (dict(Cmd=["/bin/app"], User=0), "config.User: not a string"),
])
def test_config_values_of_another_type_or_with_nul(tmp_path, cfg, words):
    img = make_image(tmp_path / "img", LAYER, **cfg).path
    r, _ = ramdisk(tmp_path, "--oci", img, layout="user")
    assert r.code == 1, r
    e = err_text(r)
    assert words in e and e.count("\n") == 1, e


def test_config_architecture_of_another_type(tmp_path):
    config = config_json(Cmd=["/bin/app"])
    config["architecture"] = ["amd64"]
    img = make_image(tmp_path / "img", LAYER, config=config).path
    r, _ = ramdisk(tmp_path, "--oci", img, layout="user")
    assert r.code == 1 and "architecture: not a string" in err_text(r), r


def test_null_config_values_are_absent(tmp_path):
    img = make_image(tmp_path / "img", LAYER, Cmd=["/bin/app"], Env=None,
                     WorkingDir=None, Entrypoint=None).path
    got = user_files(tmp_path, "--oci", img)
    assert got["cmd"] == ["/bin/app"] and got["workdir"] is None


@pytest.mark.parametrize("patch,words", [
    ({"annotations": {"org.opencontainers.image.ref.name": 5}},
     "manifests[0].annotations.org.opencontainers.image.ref.name: not a "
     "string"),
    ({"platform": {"os": "linux", "architecture": ["amd64"]}},
     "manifests[0].platform.architecture: not a string"),
    ({"mediaType": {"x": 1}}, "manifests[0].mediaType: not a string"),
    ({"size": 1.0}, "a size that is not an integer"),
])
def test_descriptor_fields_of_another_type(tmp_path, patch, words):
    """Go's image-spec types refuse these documents; they were read as if
    the field were absent."""
    lay, _, _, mdesc = raw_image(tmp_path / "a")
    (lay.path / "index.json").write_bytes(jbytes(
        {"schemaVersion": 2, "manifests": [dict(mdesc, **patch)]}))
    r, _ = ramdisk(tmp_path, "--oci", lay.path)
    assert r.code == 1 and words in err_text(r), r


# ---- duplicate JSON keys (issue #8) -------------------------------------

def raw_image(path, config=None, manifest=None, index=None):
    """An OCI layout whose config, manifest or index.json are given as
    bytes (any of them; the others are made as usual)."""
    lay = Layout(path)
    raw = tar_bytes(LAYER[0])
    ldesc = lay.desc(compress(raw, "gzip"), MT_LAYER["gzip"])
    if config is None:
        config = jbytes(config_json(diff_ids=[digest(raw)], Cmd=["/bin/app"]))
    cdesc = lay.desc(config, MT_CONFIG)
    if manifest is None:
        manifest = jbytes({"schemaVersion": 2, "mediaType": MT_MANIFEST,
                           "config": cdesc, "layers": [ldesc]})
    mdesc = lay.desc(manifest, MT_MANIFEST)
    if index is None:
        index = jbytes({"schemaVersion": 2, "manifests": [mdesc]})
    (lay.path / "index.json").write_bytes(index)
    return lay, cdesc, ldesc, mdesc


def test_duplicate_keys_in_the_config_are_refused(tmp_path):
    """Go's encoding/json keeps the last "Cmd", a parser that keeps the
    first runs another program: neither is taken."""
    cfg = (b'{"architecture":"amd64","os":"linux","config":'
           b'{"Cmd":["/bin/app"],"Cmd":["/bin/evil"]}}')
    lay, *_ = raw_image(tmp_path / "img", config=cfg)
    r, _ = ramdisk(tmp_path, "--oci", lay.path, layout="user")
    e = err_text(r)
    assert r.code == 1 and 'column 86: duplicate key "Cmd"' in e, r


def test_duplicate_keys_in_a_manifest_are_refused(tmp_path):
    lay, cdesc, ldesc, _ = raw_image(tmp_path / "a")
    man = (b'{"schemaVersion":2,"config":' + jbytes(cdesc) +
           b',"layers":[' + jbytes(ldesc) + b'],"layers":[]}')
    lay, *_ = raw_image(tmp_path / "b", manifest=man)
    r, _ = ramdisk(tmp_path, "--oci", lay.path)
    assert r.code == 1 and "duplicate key" in err_text(r) \
        and "layers" in err_text(r), r


def test_duplicate_keys_in_the_index_are_refused(tmp_path):
    lay, _, _, mdesc = raw_image(tmp_path / "a")
    idx = (b'{"schemaVersion":2,"manifests":[' + jbytes(mdesc) +
           b'],"manifests":[]}')
    (lay.path / "index.json").write_bytes(idx)
    r, _ = ramdisk(tmp_path, "--oci", lay.path)
    assert r.code == 1 and "duplicate key" in err_text(r), r


def test_duplicate_keys_deep_in_a_descriptor_are_refused(tmp_path):
    lay, _, _, mdesc = raw_image(tmp_path / "a")
    d = jbytes(mdesc)[:-1] + (b',"annotations":{"org.opencontainers.image.'
                              b'ref.name":"a","org.opencontainers.image.'
                              b'ref.name":"b"}}')
    (lay.path / "index.json").write_bytes(b'{"schemaVersion":2,'
                                          b'"manifests":[' + d + b']}')
    r, _ = ramdisk(tmp_path, "--oci", f"{lay.path}:a")
    assert r.code == 1 and "duplicate key" in err_text(r), r


def test_duplicate_keys_in_docker_manifest_json_are_refused(tmp_path):
    tar = tmp_path / "d.tar"
    info = docker_legacy(tar, LAYER, Cmd=["/bin/app"])
    m = info["manifest"][0]
    evil = (b'[{"Config":"' + m["Config"].encode() + b'","Config":"x.json",'
            b'"RepoTags":["app:latest"],"Layers":' + jbytes(m["Layers"]) +
            b'}]')
    members = []
    with tarfile.open(tar) as t:
        for ti in t.getmembers():
            data = t.extractfile(ti).read()
            members.append((ti, evil if ti.name == "manifest.json" else data))
    with tarfile.open(tar, "w") as t:
        for ti, data in members:
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    r, _ = ramdisk(tmp_path, "--docker-archive", tar)
    assert r.code == 1 and "duplicate key" in err_text(r), r


# ---- finding 9: libarchive warnings are errors --------------------------

def test_pax_path_over_1mb_is_refused_not_truncated(tmp_path):
    """libarchive 3.6 drops a pax attribute over 10^6 bytes (with a
    warning) and would use the 100-byte ustar name instead."""
    long = "d/" + "x" * 1_000_100
    ti = tarfile.TarInfo(long)
    ti.size = 2
    raw = tar_bytes([reg("ok", "1"), (ti, b"hi")], tarfile.PAX_FORMAT)
    refused(tmp_path, [raw], comp=None)


@pytest.mark.parametrize("comp", [None, "gzip", "zstd"])
def test_pax_path_with_a_nul_is_refused(tmp_path, comp):
    """libarchive 3.6 keeps "a" of "a\0b" without a word; Go's tar
    (docker, containerd) refuses the header."""
    ti = tarfile.TarInfo("plain-name")
    ti.size = 2
    ti.pax_headers = {"path": "a\0b"}
    raw = tar_bytes([reg("ok", "1"), (ti, b"hi")], tarfile.PAX_FORMAT)
    refused(tmp_path, [raw], "'path' holds a NUL", comp=comp)


def test_pax_linkpath_with_a_nul_is_refused(tmp_path):
    ti = tarfile.TarInfo("l")
    ti.type = tarfile.SYMTYPE
    ti.linkname = "x"
    ti.pax_headers = {"linkpath": "target\0/etc/shadow"}
    raw = tar_bytes([(ti, None)], tarfile.PAX_FORMAT)
    refused(tmp_path, [raw], comp=None)


def test_utf8_pax_names_are_kept_byte_for_byte(tmp_path):
    """The locale must not matter: eifkit runs under LC_ALL=C here and a
    non-ASCII pax name is read as its UTF-8 bytes, no warning."""
    name = "d\u00fcr/\u2603 x"
    lay = make_image(tmp_path / "img", [[reg(name, "snow")]])
    t = plain_tree(tmp_path, "--oci", lay.path, env={"LC_ALL": "C"})
    assert (t / name).read_text() == "snow"


# ---- finding 11: media types must match the bytes -----------------------

@pytest.mark.parametrize("comp,label,says,is_", [
    (None, "gzip", "gzip", "tar"),
    (None, "zstd", "zstd", "tar"),
    ("gzip", None, "tar", "gzip"),
    ("gzip", "zstd", "zstd", "gzip"),
    ("zstd", None, "tar", "zstd"),
    ("zstd", "gzip", "gzip", "zstd"),
])
def test_media_type_must_match_the_bytes(tmp_path, comp, label, says, is_):
    e = refused(tmp_path, [[reg("a", "1")]], comp=comp,
                layer_mt=MT_LAYER[label])
    assert f"says {says}, the data is {is_}" in e, e


def test_docker_gzip_media_type_is_checked_too(tmp_path):
    refused(tmp_path, [[reg("a", "1")]], comp=None,
            layer_mt="application/vnd.docker.image.rootfs.diff.tar.gzip")


def test_matching_media_types_are_read(tmp_path):
    for comp in (None, "gzip", "zstd"):
        lay = make_image(tmp_path / f"img-{comp}", [[reg("a", str(comp))]],
                         comp=comp)
        t = plain_tree(tmp_path, "--oci", lay.path, name=f"t-{comp}")
        assert (t / "a").read_text() == str(comp)


# ---- finding 12: malformed whiteouts ------------------------------------

@pytest.mark.parametrize("base", [".wh.", ".wh..", ".wh...",
                                  ".wh..wh.", ".wh..wh..opqx",
                                  ".wh..wh.plnk", ".wh..wh..wh..opq"])
def test_malformed_whiteouts_are_refused(tmp_path, base):
    e = refused(tmp_path, [[reg("d/f", "1")], [reg("d/" + base)]],
                "bad whiteout", "d/" + base)
    assert "layer" in e or "blobs/" in e


def test_wellformed_whiteouts_still_work(tmp_path):
    lay = make_image(tmp_path / "img", [
        [reg("d/f", "1"), reg("d/g", "2"), dir_("e"), reg("e/x", "3"),
         reg("..x", "4")],
        [reg("d/.wh.f"), reg("e/.wh..wh..opq"), reg(".wh...x")]])
    t = plain_tree(tmp_path, "--oci", lay.path)
    assert sorted(p.name for p in t.iterdir()) == ["d", "e"]
    assert [p.name for p in (t / "d").iterdir()] == ["g"]
    assert list((t / "e").iterdir()) == []


# ---- finding 10: duplicate archive members -----------------------------

def append_member(tar, name, data):
    with tarfile.open(tar, "a") as t:
        ti = tarfile.TarInfo(name)
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))


@pytest.mark.parametrize("second", ["index.json", "./index.json",
                                    "/index.json"])
def test_two_index_json_in_an_oci_archive_are_refused(tmp_path, second):
    """tar x and docker load keep the last, a reader that stops at the
    first sees another image."""
    good = make_image(tmp_path / "good", [[reg("a", "good")]])
    evil = make_image(tmp_path / "evil", [[reg("a", "evil")]])
    tar = tar_folder(good.path, tmp_path / "o.tar")
    for p in sorted((evil.path / "blobs/sha256").iterdir()):
        if not (good.path / "blobs/sha256" / p.name).exists():
            append_member(tar, "blobs/sha256/" + p.name, p.read_bytes())
    append_member(tar, second, (evil.path / "index.json").read_bytes())
    refused_args(tmp_path, ["--oci-archive", tar], "two members named "
                 "'index.json'")


def test_two_manifest_json_in_a_docker_archive_are_refused(tmp_path):
    tar = tmp_path / "d.tar"
    info = docker_legacy(tar, [[reg("a", "1")]], Cmd=["/a"])
    other = [dict(info["manifest"][0], RepoTags=["evil:latest"])]
    append_member(tar, "manifest.json", jbytes(other))
    refused_args(tmp_path, ["--docker-archive", tar], "two members named "
                 "'manifest.json'")


def test_two_copies_of_a_layer_are_refused(tmp_path):
    tar = tmp_path / "d.tar"
    info = docker_legacy(tar, [[reg("a", "1")]], Cmd=["/a"])
    layer = info["manifest"][0]["Layers"][0]
    append_member(tar, layer, tar_bytes([reg("a", "evil")]))
    refused_args(tmp_path, ["--docker-archive", tar], "two members named",
                 layer)


def test_an_archive_member_with_a_nul_in_its_pax_path_is_refused(tmp_path):
    """libarchive reads pax path "index.json\\0.orig" as index.json; Go's
    tar (docker load) refuses the header."""
    lay = make_image(tmp_path / "img", [[reg("a", "1")]])
    idx = lay.path / "index.json"
    data = idx.read_bytes()
    idx.unlink()
    tar = tar_folder(lay.path, tmp_path / "o.tar")
    with tarfile.open(tar, "a", format=tarfile.PAX_FORMAT) as t:
        ti = tarfile.TarInfo("index.json.orig")
        ti.size = len(data)
        ti.pax_headers = {"path": "index.json\0.orig"}
        t.addfile(ti, io.BytesIO(data))
    refused_args(tmp_path, ["--oci-archive", tar], "'path' holds a NUL")


def test_a_folder_member_and_its_files_are_no_duplicates(tmp_path):
    """tar_folder writes "blobs" and "blobs/sha256" folder members as
    well as the blobs: names differ, so this is read."""
    lay = make_image(tmp_path / "img", [[reg("a", "ok")]])
    tar = tar_folder(lay.path, tmp_path / "o.tar", "./")
    t = plain_tree(tmp_path, "--oci-archive", tar)
    assert (t / "a").read_text() == "ok"


# ---- finding 13: a compressed archive is decompressed once --------------

def test_a_gzip_docker_archive_is_read_once(tmp_path):
    """Was: the archive reopened and decompressed from the start for
    every blob (400 layers: 5x the time of the plain archive). Counted
    here as opens of the archive, not timed; the decompressed copy is an
    unlinked temporary in TMPDIR, gone afterwards."""
    tar = tmp_path / "d.tar"
    docker_legacy(tar, [[reg(f"f{i}", str(i))] for i in range(5)],
                  Cmd=["/f0"])
    subprocess.run(["gzip", "-q", str(tar)], check=True)
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    log = tmp_path / "strace.log"
    out = tmp_path / "o.cpio"
    cp = subprocess.run(["strace", "-f", "-e", "trace=open,openat", "-o",
                         str(log), eifkit_path(), "ramdisk", "--layout",
                         "plain", "--docker-archive", f"{tar}.gz", "-o",
                         str(out)], env=dict(os.environ, TMPDIR=str(tmpdir)),
                        capture_output=True)
    assert cp.returncode == 0, cp.stderr
    opens = [ln for ln in log.read_text().splitlines()
             if "d.tar.gz" in ln and "ENOENT" not in ln]
    assert len(opens) == 1, opens
    assert list(tmpdir.iterdir()) == []
