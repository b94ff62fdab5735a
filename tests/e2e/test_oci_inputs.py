"""Container image inputs: OCI layouts, OCI archives, docker save archives
(legacy and OCI-inside), selection by ref and platform, and the digest and
size check of every blob."""
import io
import json
import shutil
import subprocess
import tarfile

import pytest

from conftest import fake_kernel, run
from test_oci_common import (Layout, MT_LAYER, MT_DOCKER_LAYER,
                             config_json, digest, docker_legacy, docker_new,
                             dir_, entries, err_text, jbytes, make_image,
                             plain_tree, ramdisk, reg, tar_bytes, tar_folder)

LAYERS = [[dir_("etc"), reg("etc/os", "base\n")],
          [reg("etc/app", "app\n", mode=0o755)]]


def files(root):
    return {p: e for p, e in entries(root).items()}


def build_eif(tmp, *args):
    """build with a dummy kernel and init; returns (Result, describe JSON)."""
    k = tmp / "kernel"
    arm = "aarch64" in args and args[list(args).index("aarch64") - 1] == "--arch"
    k.write_bytes(fake_kernel("aarch64" if arm else "x86_64",
                              fill=b"\x7fkernel" * 200))
    i = tmp / "init"
    i.write_bytes(b"init" * 50)
    out = tmp / "app.eif"
    if "--" not in args:
        args = (*args, "--", "/bin/true")
    r = run("build", "--no-app-check", "-o", out, "--kernel", k, "--init", i, *args)
    if r.code:
        return r, None
    d = run("describe", out)
    assert d.code == 0, d
    return r, json.loads(d.out)


def check_app_tree(root):
    f = files(root)
    assert (root / "etc/os").read_text() == "base\n"
    assert (root / "etc/app").read_text() == "app\n"
    assert f["etc/app"][1] == 0o755


# ---- the three kinds of store ----------------------------------------

def test_oci_layout_with_and_without_ref(tmp_path):
    make_image(tmp_path / "img", LAYERS)
    check_app_tree(plain_tree(tmp_path, "--oci", tmp_path / "img", name="a"))
    check_app_tree(plain_tree(tmp_path, "--oci", f"{tmp_path}/img:latest",
                              name="b"))


def test_oci_layout_unknown_ref_lists_refs(tmp_path):
    lay = Layout(tmp_path / "img")
    lay.image(LAYERS, ref="v1")
    lay.image(LAYERS[:1], ref="v2")
    lay.write()
    r, _ = ramdisk(tmp_path, "--oci", f"{tmp_path}/img:v3")
    assert r.code == 1
    e = err_text(r)
    assert "no image matches ref v3" in e and "v1" in e and "v2" in e, e
    r, _ = ramdisk(tmp_path, "--oci", f"{tmp_path}/img")
    assert r.code == 1
    e = err_text(r)
    assert "more than one" in e and "v1" in e and "v2" in e, e
    t = plain_tree(tmp_path, "--oci", f"{tmp_path}/img:v2")
    assert not (t / "etc/app").exists() and (t / "etc/os").exists()


def test_folder_name_with_a_colon_is_not_split(tmp_path):
    make_image(tmp_path / "img:v1", LAYERS)
    check_app_tree(plain_tree(tmp_path, "--oci", tmp_path / "img:v1",
                              name="a"))
    check_app_tree(plain_tree(tmp_path, "--oci",
                              f"{tmp_path}/img:v1:latest", name="b"))


@pytest.mark.parametrize("prefix", ["", "./"])
def test_oci_archive(tmp_path, prefix):
    lay = make_image(tmp_path / "img", LAYERS)
    tar = tar_folder(lay.path, tmp_path / "img.tar", prefix)
    check_app_tree(plain_tree(tmp_path, "--oci-archive", tar, name="a"))
    check_app_tree(plain_tree(tmp_path, "--oci-archive", f"{tar}:latest",
                              name="b"))
    r, _ = ramdisk(tmp_path, "--oci-archive", f"{tar}:other")
    assert r.code == 1 and "latest" in err_text(r), r


def test_docker_legacy_archive(tmp_path):
    tar = tmp_path / "d.tar"
    info = docker_legacy(tar, LAYERS, repo_tags=["app:latest", "app:1.0"],
                         Env=["A=1"], Cmd=["/etc/app"])
    for ref in [None, "app:latest", "app:1.0"]:
        arg = str(tar) if ref is None else f"{tar}:{ref}"
        check_app_tree(plain_tree(tmp_path, "--docker-archive", arg,
                                  name=f"t{ref}"))
    r, _ = ramdisk(tmp_path, "--docker-archive", f"{tar}:app:2.0")
    assert r.code == 1
    assert "app:latest" in err_text(r) and "app:1.0" in err_text(r), r
    r, d = build_eif(tmp_path, "--docker-archive", f"{tar}:app:1.0")
    assert r.code == 0, r
    di = d["Metadata"]["DockerInfo"]
    assert di["ConfigDigest"] == info["config_digest"]
    assert di["ManifestDigest"] is None  # the legacy form has no manifest
    assert di["Ref"] == "app:1.0"


def test_docker_legacy_archive_two_images(tmp_path):
    """Two images in one archive (docker save a b): a ref picks, none
    lists both."""
    a, b = tmp_path / "a.tar", tmp_path / "b.tar"
    ia = docker_legacy(a, LAYERS, repo_tags=["one:latest"])
    ib = docker_legacy(b, LAYERS[:1], repo_tags=["two:latest"])
    both = tmp_path / "both.tar"
    seen = set()
    with tarfile.open(both, "w") as out:
        for src in (a, b):
            with tarfile.open(src) as t:
                for m in t.getmembers():
                    if m.name == "manifest.json" or m.name in seen:
                        continue
                    seen.add(m.name)
                    out.addfile(m, t.extractfile(m))
        data = jbytes(ia["manifest"] + ib["manifest"])
        ti = tarfile.TarInfo("manifest.json")
        ti.size = len(data)
        out.addfile(ti, io.BytesIO(data))
    r, _ = ramdisk(tmp_path, "--docker-archive", both)
    assert r.code == 1
    e = err_text(r)
    assert "more than one" in e and "one:latest" in e and "two:latest" in e
    t = plain_tree(tmp_path, "--docker-archive", f"{both}:two:latest")
    assert (t / "etc/os").exists() and not (t / "etc/app").exists()
    # busybox:latest-style short names match docker.io/library/... tags
    t = plain_tree(tmp_path, "--docker-archive", f"{both}:one:latest",
                   name="one")
    check_app_tree(t)


def test_docker_archive_with_oci_layout_inside(tmp_path):
    tar = tmp_path / "d.tar"
    last = docker_new(tar, tmp_path, LAYERS, repo_tags=["app:latest"])
    check_app_tree(plain_tree(tmp_path, "--docker-archive", tar, name="a"))
    check_app_tree(plain_tree(tmp_path, "--docker-archive",
                              f"{tar}:app:latest", name="b"))
    r, d = build_eif(tmp_path, "--docker-archive", tar)
    assert r.code == 0, r
    di = d["Metadata"]["DockerInfo"]
    assert di["ConfigDigest"] == last["cdesc"]["digest"]
    assert di["ManifestDigest"] == last["mdesc"]["digest"]
    # the same archive is also an OCI archive
    r, d2 = build_eif(tmp_path, "--oci-archive", tar)
    assert r.code == 0, r
    assert d2["Metadata"]["DockerInfo"]["ManifestDigest"] == \
        last["mdesc"]["digest"]


def test_describe_shows_the_image(tmp_path):
    lay = make_image(tmp_path / "img", LAYERS, ref="v7")
    r, d = build_eif(tmp_path, "--oci", f"{lay.path}:v7")
    assert r.code == 0, r
    assert d["Metadata"]["DockerInfo"] == {
        "Architecture": "amd64",
        "ConfigDigest": lay.last["cdesc"]["digest"],
        "ManifestDigest": lay.last["mdesc"]["digest"],
        "Os": "linux", "Ref": "v7"}


# ---- platforms --------------------------------------------------------

def two_platforms(tmp_path, nested=False, arm_variant="v8"):
    """One ref, two platforms: linux/amd64 and linux/arm64[/variant]; each
    image holds a file named after its arch."""
    lay = Layout(tmp_path / "img")
    amd = lay.image([[reg("only-amd64", "x")]], arch="amd64", ref=None,
                    platform={"os": "linux", "architecture": "amd64"},
                    add=False)
    arm_p = {"os": "linux", "architecture": "arm64"}
    if arm_variant:
        arm_p["variant"] = arm_variant
    arm = lay.image([[reg("only-arm64", "x")]], arch="arm64", ref=None,
                    platform=arm_p, add=False)
    ann = {"org.opencontainers.image.ref.name": "latest"}
    if nested:
        lay.write([lay.index([amd, arm], annotations=ann)])
    else:
        lay.write([dict(amd, annotations=ann), dict(arm, annotations=ann)])
    return lay


def eif_files(tmp_path):
    r = run("ls", tmp_path / "app.eif")
    assert r.code == 0, r
    return r.out.decode()


@pytest.mark.parametrize("nested", [False, True])
@pytest.mark.parametrize("ref", ["", ":latest"])
def test_arch_picks_the_platform(tmp_path, nested, ref):
    lay = two_platforms(tmp_path, nested)
    for arch, want, other in [("x86_64", "amd64", "arm64"),
                              ("aarch64", "arm64", "amd64")]:
        r, d = build_eif(tmp_path, "--arch", arch, "--oci",
                         f"{lay.path}{ref}")
        assert r.code == 0, r
        assert d["Metadata"]["DockerInfo"]["Architecture"] == want
        files = eif_files(tmp_path)
        assert f"rootfs/only-{want}" in files
        assert f"only-{other}" not in files
    # ramdisk has no --arch: linux/amd64
    t = plain_tree(tmp_path, "--oci", f"{lay.path}{ref}")
    assert (t / "only-amd64").exists()


def test_arm64_variant_other_than_v8_is_not_picked(tmp_path):
    lay = two_platforms(tmp_path, arm_variant="v7")
    r, d = build_eif(tmp_path, "--arch", "aarch64", "--oci", lay.path)
    assert r.code == 1
    e = err_text(r)
    assert "no image matches" in e and "linux/arm64/v7" in e, e
    lay2 = two_platforms(tmp_path / "n", arm_variant=None)
    r, d = build_eif(tmp_path, "--arch", "aarch64", "--oci", lay2.path)
    assert r.code == 0, r
    assert "rootfs/only-arm64" in eif_files(tmp_path)


@pytest.mark.parametrize("nested", [False, True])
def test_no_platform_matches_lists_what_is_there(tmp_path, nested):
    lay = Layout(tmp_path / "img")
    s390 = lay.image([[reg("x", "s")]], arch="s390x", ref=None, add=False,
                     platform={"os": "linux", "architecture": "s390x"})
    arm = lay.image([[reg("x", "a")]], arch="arm64", ref=None, add=False,
                    platform={"os": "linux", "architecture": "arm64"})
    if nested:
        lay.write([lay.index([s390, arm], annotations={
            "org.opencontainers.image.ref.name": "latest"})])
    else:
        lay.write([s390, arm])
    r, _ = ramdisk(tmp_path, "--oci", lay.path)
    assert r.code == 1
    e = err_text(r)
    assert "linux/amd64" in e and "s390x" in e and "arm64" in e, e


@pytest.mark.parametrize("nested", [False, True])
def test_two_images_for_the_same_platform_are_ambiguous(tmp_path, nested):
    lay = Layout(tmp_path / "img")
    p = {"os": "linux", "architecture": "amd64"}
    one = lay.image([[reg("x", "1")]], ref="one", add=False, platform=p)
    two = lay.image([[reg("x", "2")]], ref="two", add=False, platform=p)
    if nested:
        lay.write([lay.index([one, two])])
    else:
        lay.write([one, two])
    r, _ = ramdisk(tmp_path, "--oci", lay.path)
    assert r.code == 1
    e = err_text(r)
    assert "more than one" in e and "one" in e and "two" in e, e
    t = plain_tree(tmp_path, "--oci", f"{lay.path}:two")
    assert (t / "x").read_text() == "2"


def test_config_for_another_arch_is_refused(tmp_path):
    make_image(tmp_path / "img", LAYERS, arch="arm64")
    r, _ = ramdisk(tmp_path, "--oci", tmp_path / "img")
    assert r.code == 1 and "arm64" in err_text(r) and "--arch" in err_text(r)


def test_config_for_another_os_is_refused(tmp_path):
    make_image(tmp_path / "img", LAYERS, os_="windows")
    r, _ = ramdisk(tmp_path, "--oci", tmp_path / "img")
    assert r.code == 1 and "windows" in err_text(r), r


def test_attestation_manifests_are_skipped(tmp_path):
    """buildx puts an attestation manifest for platform unknown/unknown
    next to the image."""
    lay = Layout(tmp_path / "img")
    img = lay.image(LAYERS, ref=None, add=False,
                    platform={"os": "linux", "architecture": "amd64"})
    att = lay.image([[reg("in-toto.json", "{}")]], ref=None, add=False,
                    arch="unknown", os_="unknown",
                    platform={"os": "unknown", "architecture": "unknown"})
    lay.write([lay.index([img, att], annotations={
        "org.opencontainers.image.ref.name": "latest"})])
    check_app_tree(plain_tree(tmp_path, "--oci", f"{lay.path}:latest"))


# ---- media types and compressions -----------------------------------

@pytest.mark.parametrize("comp,docker_mt", [
    (None, False), ("gzip", False), ("zstd", False),
    (None, True), ("gzip", True)])  # docker has no zstd media type
def test_layer_compressions_and_media_types(tmp_path, comp, docker_mt):
    mt = (MT_DOCKER_LAYER if docker_mt else MT_LAYER)[comp]
    make_image(tmp_path / "img", LAYERS, comp=comp, layer_mt=mt)
    check_app_tree(plain_tree(tmp_path, "--oci", tmp_path / "img"))


def test_nondistributable_and_foreign_layers(tmp_path):
    for i, mt in enumerate([
            "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
            "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"]):
        make_image(tmp_path / f"img{i}", LAYERS, layer_mt=mt)
        check_app_tree(plain_tree(tmp_path, "--oci", tmp_path / f"img{i}",
                                  name=f"t{i}"))


def test_unknown_layer_media_type_is_refused(tmp_path):
    make_image(tmp_path / "img", LAYERS,
               layer_mt="application/vnd.example.squashfs")
    r, _ = ramdisk(tmp_path, "--oci", tmp_path / "img")
    assert r.code == 1 and "media type" in err_text(r), r


# ---- digests and sizes -----------------------------------------------

def test_sha512_everywhere(tmp_path):
    lay = make_image(tmp_path / "img", LAYERS, alg="sha512")
    assert lay.last["mdesc"]["digest"].startswith("sha512:")
    assert not (tmp_path / "img/blobs/sha256").exists()
    check_app_tree(plain_tree(tmp_path, "--oci", lay.path))
    r, d = build_eif(tmp_path, "--oci", lay.path)
    assert r.code == 0, r
    assert d["Metadata"]["DockerInfo"]["ManifestDigest"].startswith("sha512:")
    assert d["Metadata"]["DockerInfo"]["ConfigDigest"].startswith("sha512:")


def corrupt(p, at=-1):
    b = bytearray(p.read_bytes())
    b[at] ^= 1
    p.write_bytes(bytes(b))


@pytest.mark.parametrize("which", ["layer0", "layer1", "config", "manifest"])
@pytest.mark.parametrize("alg", ["sha256", "sha512"])
def test_corrupt_blob_is_named(tmp_path, which, alg):
    lay = make_image(tmp_path / "img", LAYERS, alg=alg)
    d = {"layer0": lay.last["layers"][0], "layer1": lay.last["layers"][1],
         "config": lay.last["cdesc"], "manifest": lay.last["mdesc"]}[which]
    corrupt(lay.blob_path(d["digest"]), at=len(d) % 7)
    r, out = ramdisk(tmp_path, "--oci", lay.path)
    assert r.code == 1, r
    e = err_text(r)
    hexd = d["digest"].split(":")[1]
    assert hexd in e and "does not match its digest" in e, e
    assert not out.exists()


@pytest.mark.parametrize("which", ["layer0", "config", "manifest"])
def test_size_mismatch_is_named(tmp_path, which):
    """The descriptor's size is checked too: a blob with extra bytes that
    a digest of only the first size bytes would miss, and a descriptor
    that says more than the blob holds."""
    lay = Layout(tmp_path / "img")
    lay.image(LAYERS, add=False)
    m, cdesc = lay.last["manifest"], lay.last["cdesc"]
    mdesc = lay.last["mdesc"]
    if which == "layer0":
        m["layers"][0]["size"] += 1
        mdesc = lay.desc(jbytes(m), mdesc["mediaType"],
                         annotations=mdesc["annotations"])
        name = m["layers"][0]["digest"]
    elif which == "config":
        m["config"]["size"] -= 1
        mdesc = lay.desc(jbytes(m), mdesc["mediaType"],
                         annotations=mdesc["annotations"])
        name = cdesc["digest"]
    else:
        mdesc = dict(mdesc, size=mdesc["size"] + 10)
        name = mdesc["digest"]
    lay.write([mdesc])
    r, _ = ramdisk(tmp_path, "--oci", lay.path)
    assert r.code == 1, r
    e = err_text(r)
    assert name.split(":")[1] in e and "bytes" in e, e


def test_negative_or_missing_size_is_refused(tmp_path):
    lay = Layout(tmp_path / "img")
    mdesc = lay.image(LAYERS, add=False)
    for bad in [dict(mdesc, size=-1),
                {k: v for k, v in mdesc.items() if k != "size"}]:
        lay.write([bad])
        r, _ = ramdisk(tmp_path, "--oci", lay.path)
        assert r.code == 1, r
        assert "size" in err_text(r), r


def test_missing_blob_is_named(tmp_path):
    lay = make_image(tmp_path / "img", LAYERS)
    d = lay.last["layers"][1]["digest"]
    lay.blob_path(d).unlink()
    r, _ = ramdisk(tmp_path, "--oci", lay.path)
    assert r.code == 1 and d.split(":")[1] in err_text(r), r


@pytest.mark.parametrize("bad", ["md5:0123456789abcdef0123456789abcdef",
                                 "sha256:../../../etc/passwd",
                                 "sha256:ABCDEF", "sha256:", "sha256"])
def test_bad_digests_are_refused(tmp_path, bad):
    lay = Layout(tmp_path / "img")
    lay.image(LAYERS, add=False)
    m, mdesc = lay.last["manifest"], lay.last["mdesc"]
    m["layers"][0]["digest"] = bad
    mdesc = lay.desc(jbytes(m), mdesc["mediaType"])
    lay.write([mdesc])
    r, _ = ramdisk(tmp_path, "--oci", lay.path)
    assert r.code == 1, r
    assert "digest" in err_text(r), r


def test_docker_legacy_checks_layers_against_diff_ids(tmp_path):
    tar = tmp_path / "d.tar"
    raw = tar_bytes(LAYERS[0])
    other = tar_bytes([reg("evil", "x")])
    # the config claims a diff_id for another layer
    cfg = config_json("amd64", "linux", [digest(other)])
    docker_legacy(tar, [raw], config=cfg)
    r, _ = ramdisk(tmp_path, "--docker-archive", tar)
    assert r.code == 1, r
    assert "layer.tar" in err_text(r) and "does not match" in err_text(r), r


def test_docker_legacy_checks_the_config(tmp_path):
    tar = tmp_path / "d.tar"
    docker_legacy(tar, LAYERS)
    # rewrite the config member with other bytes under the same name
    src = tmp_path / "x"
    with tarfile.open(tar) as t:
        t.extractall(src)
    cfgname = next(p.name for p in src.glob("*.json")
                   if p.name != "manifest.json")
    p = src / cfgname
    p.write_bytes(p.read_bytes().replace(b'"amd64"', b'"amd64" '))
    tar2 = tmp_path / "d2.tar"
    tar_folder(src, tar2)
    r, _ = ramdisk(tmp_path, "--docker-archive", tar2)
    assert r.code == 1, r
    assert cfgname in err_text(r) and "does not match" in err_text(r), r


def test_docker_archive_symlinked_and_hardlinked_members(tmp_path):
    """skopeo writes a layer.tar as a symlink to another member; GNU tar
    and others may store a repeated file as a hard link."""
    raw = tar_bytes(LAYERS[0])
    dg = digest(raw).split(":")[1]
    cfg = config_json("amd64", "linux", ["sha256:" + dg, "sha256:" + dg])
    cb = jbytes(cfg)
    ch = digest(cb).split(":")[1]
    manifest = [{"Config": f"{ch}.json", "RepoTags": ["app:latest"],
                 "Layers": [f"{dg}.tar", "a/layer.tar"]}]
    tar = tmp_path / "d.tar"
    with tarfile.open(tar, "w") as t:
        def add(name, data=None, ti=None):
            ti = ti or tarfile.TarInfo(name)
            if data is not None:
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
            else:
                t.addfile(ti)
        add(f"{dg}.tar", raw)
        ti = tarfile.TarInfo("a/layer.tar")
        ti.type = tarfile.SYMTYPE
        ti.linkname = f"../{dg}.tar"
        add(None, ti=ti)
        add(f"{ch}.json", cb)
        add("manifest.json", jbytes(manifest))
    t = plain_tree(tmp_path, "--docker-archive", tar, name="sym")
    assert (t / "etc/os").read_text() == "base\n"
    # the same with a hard link member
    manifest[0]["Layers"][1] = "b/layer.tar"
    tar2 = tmp_path / "d2.tar"
    with tarfile.open(tar2, "w") as t:
        def add2(name, data):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
        add2(f"{dg}.tar", raw)
        ti = tarfile.TarInfo("b/layer.tar")
        ti.type = tarfile.LNKTYPE
        ti.linkname = f"{dg}.tar"
        t.addfile(ti)
        add2(f"{ch}.json", cb)
        add2("manifest.json", jbytes(manifest))
    t = plain_tree(tmp_path, "--docker-archive", tar2, name="hard")
    assert (t / "etc/os").read_text() == "base\n"


def test_docker_archive_member_names_cannot_escape(tmp_path):
    """Layers naming ../x or /etc/passwd are members of the archive (that
    do not exist), never host files."""
    for name in ["../../../../etc/passwd", "/etc/passwd"]:
        raw = tar_bytes(LAYERS[0])
        tar = tmp_path / "d.tar"
        info = docker_legacy(tar, [raw])
        m = info["manifest"]
        m[0]["Layers"] = [name]
        src = tmp_path / "x"
        shutil.rmtree(src, ignore_errors=True)
        with tarfile.open(tar) as t:
            t.extractall(src)
        (src / "manifest.json").write_bytes(jbytes(m))
        tar_folder(src, tmp_path / "d2.tar")
        r, _ = ramdisk(tmp_path, "--docker-archive", tmp_path / "d2.tar")
        assert r.code == 1, r
        assert "no member" in err_text(r), r


def test_json_that_is_not_json(tmp_path):
    lay = make_image(tmp_path / "img", LAYERS)
    (lay.path / "index.json").write_text('{"schemaVersion":2,"manifests":[]')
    r, _ = ramdisk(tmp_path, "--oci", lay.path)
    assert r.code == 1 and "index.json" in err_text(r), r
    (lay.path / "index.json").write_text('{"schemaVersion":2,"manifests":[]}')
    r, _ = ramdisk(tmp_path, "--oci", lay.path)
    assert r.code == 1 and "nothing" in err_text(r), r


def test_not_a_layout(tmp_path):
    r, _ = ramdisk(tmp_path, "--oci", tmp_path / "nope")
    assert r.code == 1 and "nope" in err_text(r)
    (tmp_path / "f").write_text("x")
    r, _ = ramdisk(tmp_path, "--oci", tmp_path / "f")
    assert r.code == 1 and "not an OCI layout folder" in err_text(r)
    r, _ = ramdisk(tmp_path, "--oci-archive", tmp_path)
    assert r.code == 1 and "not an archive file" in err_text(r)
    r, _ = ramdisk(tmp_path, "--oci-archive", tmp_path / "f")
    assert r.code == 1, r


def test_only_one_image(tmp_path):
    make_image(tmp_path / "img", LAYERS)
    r, _ = ramdisk(tmp_path, "--oci", tmp_path / "img", "--oci",
                   tmp_path / "img")
    assert r.code == 1 and "only one container image" in err_text(r)


@pytest.mark.parametrize("tool", ["gzip", "zstd", "xz", "bzip2"])
def test_compressed_archives(tmp_path, tool):
    """`docker save | gzip` (docker load takes it) and the like: the
    archive is decompressed once into TMPDIR, then read in place."""
    tar = tmp_path / "d.tar"
    docker_legacy(tar, LAYERS)
    subprocess.run([tool, "-q", "-k", str(tar)], check=True)
    comp = next(p for p in tmp_path.iterdir() if p.name.startswith("d.tar."))
    check_app_tree(plain_tree(tmp_path, "--docker-archive", comp, name="d"))
    lay = make_image(tmp_path / "img", LAYERS)
    o = tar_folder(lay.path, tmp_path / "o.tar")
    subprocess.run([tool, "-q", str(o)], check=True)
    comp = next(p for p in tmp_path.iterdir() if p.name.startswith("o.tar."))
    check_app_tree(plain_tree(tmp_path, "--oci-archive", f"{comp}:latest",
                              name="o"))


def test_same_manifest_under_two_refs_is_one_image(tmp_path):
    lay = Layout(tmp_path / "img")
    m = lay.image(LAYERS, ref=None, add=False)
    lay.write([dict(m, annotations={"org.opencontainers.image.ref.name": r})
               for r in ["latest", "v1"]])
    check_app_tree(plain_tree(tmp_path, "--oci", lay.path))


def test_oci_archive_given_as_docker_archive(tmp_path):
    lay = make_image(tmp_path / "img", LAYERS)
    tar = tar_folder(lay.path, tmp_path / "o.tar")
    r, _ = ramdisk(tmp_path, "--docker-archive", tar)
    assert r.code == 1 and "--oci-archive" in err_text(r), r
    r, _ = ramdisk(tmp_path, "--docker-archive", tmp_path / "img")
    assert r.code == 1 and "not an archive file" in err_text(r), r
