"""Building from a large image keeps peak RSS flat: a layer holding a
1 GiB file (zeros, so the compressed layer is small and quick to make) is
built into an EIF under 32 MiB, reading the layer as a stream and staging
the file's bytes on disk exactly once."""
import os
import re
import subprocess

import pytest

from conftest import fake_kernel, eifkit_path, run
from test_oci_common import ls_cpio, reg, zero_image

LIMIT_KIB = 32 * 1024
GIB = 1 << 30


def measured(args, env, trace=None):
    """Peak RSS (KiB) of eifkit alone, through GNU time; with trace, also
    under strace -y writing pwrite64/write calls to trace."""
    cmd = ["/usr/bin/time", "-f", "%M"]
    if trace:
        cmd += ["strace", "-f", "-y", "-qq", "-e", "trace=pwrite64,write",
                "-e", "signal=none", "-o", str(trace)]
    cp = subprocess.run(cmd + [eifkit_path(), *map(str, args)],
                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                        env=dict(os.environ, **env))
    assert cp.returncode == 0, cp.stderr
    return int(cp.stderr.decode().split()[-1])


@pytest.mark.parametrize("comp", ["zstd", "gzip"])
def test_1gib_layer_builds_under_32mib(tmp_path, comp):
    lay = zero_image(tmp_path / "img", GIB, comp,
                     extra=[reg("etc/small", "s")])
    assert sum(p.stat().st_size for p in lay.path.rglob("*")
               if p.is_file()) < 8 << 20
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    k = tmp_path / "kernel"
    k.write_bytes(fake_kernel(fill=b"k" * 4096))
    out = tmp_path / "big.eif"
    try:
        if comp == "zstd":
            rss = measured(["build", "--no-app-check", "-o", out, "--kernel", k, "--init", k,
                            "--oci", lay.path], {"TMPDIR": str(tmpdir)})
            assert out.stat().st_size > GIB
            d = run("describe", out)
            assert d.code == 0 and b"ConfigDigest" in d.out
        else:
            out = tmp_path / "big.cpio"
            rss = measured(["ramdisk", "--layout", "plain", "-o", out,
                            "--oci", lay.path], {"TMPDIR": str(tmpdir)})
            ls = ls_cpio(out)
            assert ls["big"][2] == str(GIB) and "etc/small" in ls
        print(f"{comp}: peak RSS {rss} KiB")
        assert rss < LIMIT_KIB, f"peak RSS {rss} KiB"
        assert os.listdir(tmpdir) == []
    finally:
        if out.exists():
            out.unlink()


def test_contents_are_staged_once(tmp_path):
    """Every byte of the image's files is written to the stage file once:
    the bytes written to the unlinked file in TMPDIR add up to the
    files' sizes."""
    size = 64 << 20
    lay = zero_image(tmp_path / "img", size, "zstd",
                     extra=[reg("a", "x" * 1000), reg("b", "y" * 5000)])
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    trace = tmp_path / "trace"
    measured(["ramdisk", "--layout", "plain", "-o", tmp_path / "o.cpio",
              "--oci", lay.path], {"TMPDIR": str(tmpdir)}, trace)
    assert staged_bytes(trace, tmpdir) == size + 6000


def staged_bytes(trace, tmpdir):
    staged = 0
    for line in trace.read_text().splitlines():
        m = re.match(r"\d+\s+(pwrite64|write)\((\d+)<([^>]*)>.*\)\s+=\s+(\d+)",
                     line)
        if m and m.group(3).startswith(str(tmpdir) + "/"):
            staged += int(m.group(4))
    return staged


def test_sparse_file_stays_sparse(tmp_path):
    """A sparse file (GNU tar --sparse) is staged as a sparse file: its
    data blocks, not its holes, are written."""
    root = tmp_path / "root"
    root.mkdir()
    with open(root / "sparse", "wb") as f:
        f.write(b"head")
        f.seek(128 << 20)
        f.write(b"middle")
        f.truncate(256 << 20)
    raw = tmp_path / "layer.tar"
    subprocess.run(["tar", "--sparse", "--format=posix", "-C", root, "-cf",
                    raw, "."], check=True)
    from test_oci_common import make_image
    lay = make_image(tmp_path / "img", [raw.read_bytes()])
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    trace = tmp_path / "trace"
    out = tmp_path / "o.cpio"
    measured(["ramdisk", "--layout", "plain", "-o", out, "--oci", lay.path],
             {"TMPDIR": str(tmpdir)}, trace)
    assert staged_bytes(trace, tmpdir) <= 2 * 4096  # tar's data blocks
    assert ls_cpio(out)["sparse"][2] == str(256 << 20)
    with open(out, "rb") as f:
        f.seek(out.stat().st_size - (128 << 20) - 4096)
        assert b"middle" in f.read(8192)
    out.unlink()
