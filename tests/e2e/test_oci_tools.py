"""Images made by real tools: Debian's umoci (new, insert, insert
--whiteout/--opaque, unpack + repack, config) and skopeo (copies between
oci:, oci-archive: and docker-archive:, zstd layers). The tree eifkit
builds is compared with what `umoci raw unpack` gives for the same image:
paths, types, modes, owners, link targets, device numbers, contents,
hard-link identity, and mtimes with --keep-mtimes."""
import os
import pathlib
import shutil
import subprocess

import pytest

from test_oci_common import (assert_same_tree, entries, err_text,
                             need_root, plain_tree, ramdisk, umoci_unpack, user_files,
                             walk)


def sh(*args, cwd=None):
    cp = subprocess.run([str(a) for a in args], cwd=cwd,
                        capture_output=True)
    assert cp.returncode == 0, (args, cp.stderr)
    return cp.stdout


def umoci(*args):
    return sh("umoci", *args)


def skopeo(*args):
    return sh("skopeo", "--insecure-policy", "copy", "-q", *args)


def populate(root):
    """A folder with what images hold: modes, owners, symlinks, hard
    links, devices, a fifo, an empty folder, odd names."""
    root = pathlib.Path(root)
    for d in ["bin", "etc/app", "usr/lib", "var/empty", "opt/old",
              "tmp", "dev", "home/user"]:
        (root / d).mkdir(parents=True, exist_ok=True)
    os.chmod(root / "tmp", 0o1777)
    (root / "bin/app").write_bytes(bytes(range(256)) * 100)
    os.chmod(root / "bin/app", 0o755)
    (root / "bin/suid").write_text("s")
    os.chmod(root / "bin/suid", 0o4755)
    os.link(root / "bin/app", root / "bin/app-hardlink")
    os.symlink("app", root / "bin/rel")
    os.symlink("/usr/lib/libx.so.1", root / "usr/lib/libx.so")
    (root / "usr/lib/libx.so.1").write_text("lib")
    (root / "etc/app/conf").write_text("conf\n")
    (root / "etc/removed").write_text("gone later\n")
    (root / "etc/secret").write_text("secret")
    os.chmod(root / "etc/secret", 0o600)
    (root / "opt/old/file").write_text("old")
    (root / "home/user/.profile").write_text("x")
    for p in ["home/user", "home/user/.profile"]:
        os.chown(root / p, 1000, 1000)
    os.chown(root / "etc/secret", 0, 42)
    os.mknod(root / "dev/null", 0o666 | 0o020000, os.makedev(1, 3))
    os.mknod(root / "dev/sda", 0o660 | 0o060000, os.makedev(8, 0))
    os.mkfifo(root / "dev/fifo")
    (root / "space name ü").write_text("u")
    (root / "empty").write_bytes(b"")


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """One layout with three tags: base (umoci insert), ins (insert with
    whiteout and opaque), mod (unpack, change everything, repack)."""
    need_root()
    tmp = tmp_path_factory.mktemp("tools")
    src = tmp / "src"
    populate(src)
    L = tmp / "layout"
    umoci("init", "--layout", L)
    umoci("new", "--image", f"{L}:base")
    umoci("insert", "--image", f"{L}:base", src, "/")
    umoci("config", "--image", f"{L}:base", "--config.entrypoint",
          "/bin/app", "--config.cmd", "serve", "--config.cmd", "--port=80",
          "--config.env", "PATH=/bin", "--config.env", "MODE=prod",
          "--config.workingdir", "/home/user", "--config.user", "1000")
    # insert: a whiteout, an opaque folder, one file
    opt = tmp / "newopt"
    (opt / "new").mkdir(parents=True)
    (opt / "new/file").write_text("new")
    (tmp / "one").write_text("one file")
    umoci("insert", "--image", f"{L}:base", "--tag", "ins", "--whiteout",
          "/etc/removed")
    umoci("insert", "--image", f"{L}:ins", "--opaque", opt, "/opt")
    umoci("insert", "--image", f"{L}:ins", tmp / "one", "/bin/one")
    # unpack, change, repack: umoci writes whiteouts for what is gone
    b = tmp / "bundle"
    umoci("unpack", "--image", f"{L}:ins", b)
    r = b / "rootfs"
    (r / "bin/app").unlink()                       # hard link broken
    (r / "bin/app").write_text("new app")
    shutil.rmtree(r / "usr/lib")                   # folder removed
    (r / "usr/lib").write_text("a file now")       # ... replaced by a file
    (r / "etc/app/conf").unlink()
    os.symlink("/etc/secret", r / "etc/app/conf")  # file -> symlink
    (r / "var/empty").rmdir()
    os.symlink("/tmp", r / "var/empty")            # folder -> symlink
    os.chmod(r / "etc/secret", 0o640)              # metadata only
    os.chown(r / "bin/suid", 7, 8)
    os.link(r / "etc/secret", r / "etc/secret2")   # a new hard link
    (r / "dev/fifo").unlink()
    umoci("repack", "--image", f"{L}:mod", b)
    return L


@pytest.mark.parametrize("tag", ["base", "ins", "mod"])
def test_umoci_images_match_umoci_unpack(tmp_path, images, tag):
    ref = umoci_unpack(images, tag, tmp_path / "umoci")
    ours = plain_tree(tmp_path, "--oci", f"{images}:{tag}")
    assert_same_tree(ours, ref)
    e = entries(ours)
    if tag == "base":
        assert walk(ours)[1] == [["bin/app", "bin/app-hardlink"]]
        assert e["dev/null"][0] == "chr" and e["home/user"][2:4] == (1000,
                                                                     1000)
    if tag == "ins":
        assert "etc/removed" not in e and "opt/old" not in e
        assert (ours / "opt/new/file").read_text() == "new"
    if tag == "mod":
        assert e["usr/lib"][0] == "file" and e["var/empty"][0] == "symlink"
        assert e["etc/app/conf"] == ("symlink", 0o777, 0, 0, "/etc/secret")
        assert ["etc/secret", "etc/secret2"] in walk(ours)[1]


def test_umoci_keep_mtimes_match(tmp_path, images):
    ref = umoci_unpack(images, "mod", tmp_path / "umoci")
    ours = plain_tree(tmp_path, "--oci", f"{images}:mod", "--keep-mtimes")
    assert_same_tree(ours, ref, mtimes=True)


def test_umoci_config(tmp_path, images):
    got = user_files(tmp_path, "--oci", f"{images}:base")
    assert got["cmd"] == ["/bin/app", "serve", "--port=80"]
    assert got["env"] == ["PATH=/bin", "MODE=prod"]
    assert got["workdir"] == ["/home/user"]
    assert "User is '1000'" in got["result"].err.decode()
    got = user_files(tmp_path, "--oci", f"{images}:base",
                     "--nitro-cli-compat", name="compat")
    assert got["cmd"] == ["serve", "--port=80"]


@pytest.fixture(scope="module")
def reference(images, tmp_path_factory):
    return umoci_unpack(images, "mod",
                        tmp_path_factory.mktemp("ref") / "umoci")


def test_skopeo_docker_archive(tmp_path, images, reference):
    tar = tmp_path / "d.tar"
    skopeo(f"oci:{images}:mod", f"docker-archive:{tar}:app:latest")
    assert_same_tree(plain_tree(tmp_path, "--docker-archive", tar, name="a"),
                     reference)
    assert_same_tree(plain_tree(tmp_path, "--docker-archive",
                                f"{tar}:app:latest", name="b"), reference)
    assert_same_tree(plain_tree(tmp_path, "--docker-archive",
                                f"{tar}:docker.io/library/app:latest",
                                name="c"), reference)


def test_skopeo_docker_archive_to_oci_archive_and_back(tmp_path, images,
                                                       reference):
    d = tmp_path / "d.tar"
    skopeo(f"oci:{images}:mod", f"docker-archive:{d}:app:latest")
    o = tmp_path / "o.tar"
    skopeo(f"docker-archive:{d}", f"oci-archive:{o}:v1")
    assert_same_tree(plain_tree(tmp_path, "--oci-archive", f"{o}:v1",
                                name="a"), reference)
    lay = tmp_path / "lay"
    skopeo(f"docker-archive:{d}", f"oci:{lay}:v2")
    assert_same_tree(plain_tree(tmp_path, "--oci", f"{lay}:v2", name="b"),
                     reference)
    d2 = tmp_path / "d2.tar"
    skopeo(f"oci:{lay}:v2", f"docker-archive:{d2}:again:1")
    assert_same_tree(plain_tree(tmp_path, "--docker-archive", d2, name="c"),
                     reference)


def test_skopeo_zstd_layers(tmp_path, images, reference):
    z = tmp_path / "z"
    skopeo("--dest-compress-format", "zstd", f"oci:{images}:mod",
           f"oci:{z}:latest")
    assert b"tar+zstd" in b"".join(p.read_bytes() for p in
                                   (z / "blobs/sha256").iterdir()
                                   if p.stat().st_size < 4096)
    assert_same_tree(plain_tree(tmp_path, "--oci", z), reference)


def test_skopeo_layout_with_two_tags(tmp_path, images, reference):
    """Two tags of one image in one layout are not ambiguous; two images
    are, and the error lists them."""
    lay = tmp_path / "two"
    skopeo(f"oci:{images}:mod", f"oci:{lay}:tag-a")
    skopeo(f"oci:{images}:mod", f"oci:{lay}:tag-b")
    assert_same_tree(plain_tree(tmp_path, "--oci", lay, name="x"), reference)
    skopeo(f"oci:{images}:base", f"oci:{lay}:tag-c")
    r, _ = ramdisk(tmp_path, "--oci", lay)
    assert r.code == 1
    e = err_text(r)
    assert all(t in e for t in ["tag-a", "tag-b", "tag-c", "more than one"])
    assert_same_tree(plain_tree(tmp_path, "--oci", f"{lay}:tag-b", name="y"),
                     reference)


def test_skopeo_refs_holding_a_colon(tmp_path, images, reference):
    """skopeo names an image oci:DIR:NAME:TAG; --oci DIR:NAME:TAG is split
    where DIR exists, not at the last colon."""
    lay = tmp_path / "lay"
    skopeo(f"oci:{images}:mod", f"oci:{lay}:example.com/app:1.0")
    assert_same_tree(plain_tree(tmp_path, "--oci",
                                f"{lay}:example.com/app:1.0"), reference)
