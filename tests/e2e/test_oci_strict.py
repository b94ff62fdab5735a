"""Layers and stores that other tools read differently are refused, not
read one way of several (issue #10, findings 9 to 12): libarchive
warnings, media types that are not what the bytes are, malformed
whiteouts. Each test fails on an eifkit that reads them leniently."""
import tarfile

import pytest

from test_oci_common import (MT_LAYER, dir_, err_text, make_image,
                             plain_tree, ramdisk, reg, tar_bytes)


def refused(tmp_path, layers, *words, **kw):
    lay = make_image(tmp_path / "img", layers, **kw)
    r, out = ramdisk(tmp_path, "--oci", lay.path)
    e = err_text(r)
    assert r.code == 1, r
    assert e.startswith("eifkit ramdisk: ") and e.count("\n") == 1, e
    for w in words:
        assert w in e, (w, e)
    assert not out.exists()
    return e


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
