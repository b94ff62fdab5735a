"""Layers applied in order, compared with what Debian's umoci unpacks for
the same hand-crafted image (Python's tarfile): paths, types, modes,
owners, link targets, device numbers, contents and hard-link identity,
and mtimes with --keep-mtimes."""
import io
import os
import subprocess
import tarfile

import pytest

from test_oci_common import (MTIME, assert_same_tree, blk, chr_, dir_,
                             entries, err_text, fifo, hard, ls_cpio,
                             make_image, opaque, plain_tree, ramdisk, reg,
                             sym, tar_bytes, umoci_unpack, walk, whiteout)

BIN = bytes(range(256)) * 33

BASE = [
    dir_("bin"), dir_("etc", mode=0o750, uid=1, gid=2),
    reg("bin/app", BIN, mode=0o755),
    reg("bin/suid", "s", mode=0o4755),
    reg("bin/sgid", "g", mode=0o2711, gid=50),
    dir_("tmp", mode=0o1777),
    reg("etc/secret", "k", mode=0o600, uid=1000, gid=1000),
    reg("etc/empty", b""),
    reg("etc/big-ids", "i", uid=100000, gid=2**31 - 2),
    sym("etc/rel", "secret"), sym("etc/abs", "/etc/secret"),
    sym("etc/dangling", "../nowhere"),
    hard("etc/secret-link", "etc/secret", mode=0o600, uid=1000, gid=1000),
    dir_("dev"), chr_("dev/null", 1, 3), chr_("dev/big", 300, 70000),
    blk("dev/sda", 8, 0), fifo("dev/fifo"),
    reg("no/dirs/above/me", "implicit parents"),
    reg("space name/ütf-8 ☃", "x"),
    reg("long/" + "d" * 120 + "/" + "f" * 150, "pax names"),
    reg("./dot-slash", "dot"), reg("/absolute", "abs"),
    reg("dup", "first"), reg("dup", "second", mode=0o640),
]


def compare(tmp_path, layers, comp="gzip", mtimes=False, **kw):
    lay = make_image(tmp_path / "img", layers, comp=comp, **kw)
    ref = umoci_unpack(lay.path, "latest", tmp_path / "umoci")
    args = ["--oci", lay.path] + (["--keep-mtimes"] if mtimes else [])
    ours = plain_tree(tmp_path, *args)
    assert_same_tree(ours, ref, mtimes=mtimes)
    return ours


def test_one_layer_of_every_kind(tmp_path):
    t = compare(tmp_path, [BASE])
    e, groups = walk(t)
    assert groups == [["etc/secret", "etc/secret-link"]]
    assert e["dev/big"] == ("chr", 0o666, 0, 0, (300, 70000))
    assert e["bin/suid"][1] == 0o4755 and e["tmp"][1] == 0o1777
    assert e["etc/big-ids"][2:4] == (100000, 2**31 - 2)
    assert (t / "dup").read_text() == "second"
    assert (t / "dot-slash").exists() and (t / "absolute").exists()


def test_keep_mtimes_matches_umoci(tmp_path):
    layers = [[reg("a", "1", mtime=1000000000), sym("s", "a", mtime=2000),
               dir_("d", mtime=3000), reg("d/f", "2", mtime=1700000000),
               fifo("p", mtime=4000)]]
    compare(tmp_path, layers, mtimes=True)
    # what extraction cannot show: the symlink's and the folder's
    ls = ls_cpio(tmp_path / "tree.cpio")
    assert ls["s"][3] == "1970-01-01 00:33:20"
    assert ls["d"][3] == "1970-01-01 00:50:00"
    ref = tmp_path / "umoci"
    assert os.lstat(ref / "s").st_mtime == 2000
    assert os.lstat(ref / "d").st_mtime == 3000


def test_mtimes_are_normalised_by_default(tmp_path):
    lay = make_image(tmp_path / "img", [BASE])
    t = plain_tree(tmp_path, "--oci", lay.path,
                   env={"SOURCE_DATE_EPOCH": "1234567"})
    for p in ["bin/app", "etc/secret", "dev/null", "no/dirs/above/me"]:
        assert os.lstat(t / p).st_mtime == 1234567, p
    t = plain_tree(tmp_path, "--oci", lay.path, "--keep-mtimes", name="k")
    assert os.lstat(t / "bin/app").st_mtime == MTIME


WHITEOUTS = [
    [dir_("a"), dir_("a/b"), reg("a/b/c", "c"), reg("a/keep", "k"),
     dir_("x"), reg("x/1", "1"), dir_("y"), reg("y/old", "o"),
     dir_("y/sub"), reg("y/sub/deep", "d"), reg("top", "t"),
     reg("again", "lower"), dir_("z", mode=0o700), reg("z/f", "f")],
    [whiteout("a/b/c"), whiteout("x"), opaque("y"), reg("y/new", "n"),
     whiteout("again"), reg("again", "upper"),
     # a whiteout in the same layer as what it names leaves it alone
     reg("same", "s"), whiteout("same"),
     # whiteout of something that is not there
     whiteout("never/was"),
     dir_("z", mode=0o755)],
    [reg("x/back", "b")],
]


def test_whiteouts_and_opaque_dirs(tmp_path):
    t = compare(tmp_path, WHITEOUTS)
    e = entries(t)
    assert "a/b/c" not in e and "a/b" in e and "a/keep" in e
    assert "x/1" not in e and (t / "x/back").read_text() == "b"
    assert sorted(p for p in e if p.startswith("y/")) == ["y/new"]
    assert (t / "again").read_text() == "upper"
    assert (t / "same").exists()
    assert e["z"][1] == 0o755 and (t / "z/f").exists()
    assert not any(".wh." in p for p in e)


@pytest.mark.parametrize("name", [".wh..wh..opq", "./.wh..wh..opq",
                                  "/.wh..wh..opq"])
def test_opaque_root(tmp_path, name):
    """An opaque whiteout at the top: only the new layer's entries stay."""
    layers = [[reg("old", "o"), dir_("d"), reg("d/f", "f")],
              [reg(name, mode=0o600), reg("new", "n")]]
    t = compare(tmp_path, layers)
    assert sorted(entries(t)) == ["new"]


REPLACE = [
    [reg("f2d", "file"), dir_("d2f"), reg("d2f/child", "c"),
     dir_("d2f/sub"), reg("d2f/sub/x", "x"),
     reg("f2l", "file"), sym("l2d", "somewhere"), dir_("d2l"),
     reg("d2l/child", "c"), chr_("c2f", 1, 3), fifo("p2f"),
     reg("hl", "shared"), hard("hl2", "hl"), hard("hl3", "hl"),
     dir_("keep", mode=0o700, uid=5), reg("keep/child", "k"),
     sym("l2l", "old")],
    [dir_("f2d", mode=0o711), reg("f2d/in", "i"), reg("d2f", "now a file"),
     sym("f2l", "f2d"), dir_("l2d"), reg("l2d/in", "i"),
     sym("d2l", "/tmp"), reg("c2f", "was chr"), reg("p2f", "was fifo"),
     reg("hl2", "replaced"),
     dir_("keep", mode=0o755, uid=6), sym("l2l", "new")],
]


def test_later_layers_replace_any_type(tmp_path):
    t = compare(tmp_path, REPLACE)
    e, groups = walk(t)
    assert e["d2f"][0] == "file" and not any(p.startswith("d2f/") for p in e)
    assert e["d2l"] == ("symlink", 0o777, 0, 0, "/tmp")
    assert "d2l/child" not in e
    assert e["keep"][1:3] == (0o755, 6) and "keep/child" in e
    assert groups == [["hl", "hl3"]]
    assert (t / "hl2").read_text() == "replaced"


def test_hard_link_to_a_file_of_a_lower_layer(tmp_path):
    layers = [[reg("lower", "data", mode=0o640)],
              [hard("upper", "lower", mode=0o640)]]
    t = compare(tmp_path, layers)
    assert walk(t)[1] == [["lower", "upper"]]


def test_hard_link_whose_target_is_replaced_later(tmp_path):
    layers = [[reg("a", "one"), hard("b", "a")], [reg("a", "two")]]
    t = compare(tmp_path, layers)
    assert (t / "a").read_text() == "two" and (t / "b").read_text() == "one"
    assert walk(t)[1] == []


def test_hard_links_take_one_set_of_attributes(tmp_path):
    """A hard link header that claims other attributes than its target's
    cannot make two inodes of one: every name of the file shows the same
    mode and owner."""
    layers = [[reg("a", "x", mode=0o600, uid=1), hard("b", "a", mode=0o755,
                                                      uid=2)]]
    compare(tmp_path, layers)
    ls = ls_cpio(tmp_path / "tree.cpio")
    assert ls["a"][:2] == ls["b"][:2] == ("-rw-------", "1/0"), ls


@pytest.mark.parametrize("comp", [None, "zstd"])
def test_compressions_give_the_same_tree(tmp_path, comp):
    lay = make_image(tmp_path / "gz", [BASE, WHITEOUTS[0]], comp="gzip")
    other = make_image(tmp_path / "other", [BASE, WHITEOUTS[0]], comp=comp)
    a = plain_tree(tmp_path, "--oci", lay.path, name="a")
    b = plain_tree(tmp_path, "--oci", other.path, name="b")
    assert_same_tree(a, b)


@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT,
                                 tarfile.PAX_FORMAT])
def test_tar_formats(tmp_path, fmt):
    ents = [dir_("d"), reg("d/f", "1", uid=7), sym("d/s", "f"),
            hard("d/h", "d/f", uid=7), chr_("d/c", 4, 5)]
    if fmt != tarfile.USTAR_FORMAT:
        ents.append(reg("x" * 200, "long"))
    compare(tmp_path, [tar_bytes(ents, fmt)])


def test_layer_without_end_blocks_umoci_047(tmp_path):
    """Debian's umoci 0.4.7 ends a layer right after the last file's data:
    no padding to 512, no end-of-archive blocks. Accepted when that last
    file is complete; refused when it is cut short."""
    data = tar_bytes([dir_("d"), reg("d/a", "x" * 700), reg("d/b", "tail")])
    # cut after d/b's 4 bytes of data: header blocks + data
    hdr_end = data.rindex(b"tail")
    ok = data[:hdr_end + 4]
    t = compare(tmp_path, [ok])
    assert (t / "d/b").read_text() == "tail"
    short = data[:hdr_end + 2]
    lay = make_image(tmp_path / "short", [short])
    r, out = ramdisk(tmp_path, "--oci", lay.path, name="s")
    assert r.code == 1 and not out.exists(), r
    assert "d/b" in err_text(r) or "runcated" in err_text(r), r


def test_umoci_layer_ending_after_a_header(tmp_path):
    """A layer cut right after the last header (of an empty file or a
    symlink): complete, accepted; cut inside a header: refused."""
    data = tar_bytes([reg("a", "1"), sym("s", "a")], tarfile.USTAR_FORMAT)
    end = 3 * 512  # a's header, a's data block, s's header
    compare(tmp_path, [data[:end]])
    lay = make_image(tmp_path / "cut", [data[:end - 100]])
    r, _ = ramdisk(tmp_path, "--oci", lay.path, name="c")
    assert r.code == 1, r


@pytest.mark.parametrize("fmt", ["posix", "gnu"])
def test_sparse_files_from_gnu_tar(tmp_path, fmt):
    """GNU tar --sparse (PAX 1.0 and old GNU sparse entries): holes read
    as zeros. Compared with umoci for PAX, with GNU tar itself for the
    old GNU form, which umoci does not read."""
    root = tmp_path / "root"
    root.mkdir()
    with open(root / "holes-at-end", "wb") as f:
        f.write(b"head")
        f.seek(10 << 20)
        f.write(b"middle")
        f.truncate(64 << 20)
    with open(root / "data-at-end", "wb") as f:
        f.seek(5 << 20)
        f.write(b"end")
    (root / "plain").write_text("after the sparse ones")
    raw = tmp_path / "layer.tar"
    subprocess.run(["tar", "--sparse", f"--format={fmt}", "--sort=name",
                    "-C", root, "-cf", raw, "."], check=True)
    assert raw.stat().st_size < 1 << 20
    if fmt == "posix":
        t = compare(tmp_path, [raw.read_bytes()])
    else:
        lay = make_image(tmp_path / "img", [raw.read_bytes()])
        t = plain_tree(tmp_path, "--oci", lay.path)
        ref = tmp_path / "gnutar"
        ref.mkdir()
        subprocess.run(["tar", "--numeric-owner", "-xpf", raw, "-C", ref],
                       check=True)
        os.chmod(ref, 0o755)
        assert_same_tree(t, ref)
    assert os.path.getsize(t / "holes-at-end") == 64 << 20
    assert (t / "plain").read_text() == "after the sparse ones"


def test_non_utf8_names(tmp_path):
    """Names are bytes: a Latin-1 name in a GNU header stays as it is."""
    ti = tarfile.TarInfo("caf\udce9")
    ti.size = 1
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT,
                      encoding="utf-8", errors="surrogateescape") as t:
        t.addfile(ti, io.BytesIO(b"z"))
    t = compare(tmp_path, [buf.getvalue()])
    assert os.listdir(bytes(t)) == [b"caf\xe9"]


def test_xattrs_are_dropped_with_a_warning(tmp_path):
    ti, data = reg("bin/ping", "p", mode=0o755)
    ti.pax_headers = {"SCHILY.xattr.security.capability": "\x01\x00",
                      "SCHILY.xattr.user.note": "x"}
    lay = make_image(tmp_path / "img", [[(ti, data), reg("plain")]])
    r, out = ramdisk(tmp_path, "--oci", lay.path)
    assert r.code == 0, r
    assert "dropped the extended attributes" in err_text(r)
    assert "of 1 file" in err_text(r), r
