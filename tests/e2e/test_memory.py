"""Peak memory stays flat in the input size: a 4 GiB ramdisk (sparse, so
the test needs no 4 GiB of real data) is assembled and described in under
16 MiB of RSS."""
import subprocess

from conftest import eifkit_path, VECTORS

LIMIT_KIB = 16 * 1024


def peak_rss_kib(args):
    """Peak RSS of eifkit alone, through GNU time: a child forked from
    Python would count Python's own pages before its exec."""
    cp = subprocess.run(["/usr/bin/time", "-f", "%M", eifkit_path(),
                         *map(str, args)], stdout=subprocess.DEVNULL,
                        stderr=subprocess.PIPE)
    assert cp.returncode == 0, cp.stderr
    return int(cp.stderr.decode().split()[-1])


def test_4gib_ramdisk_peak_rss(tmp_path):
    rd = tmp_path / "big.cpio"
    with open(rd, "wb") as f:
        f.truncate(4 << 30)
    out = tmp_path / "big.eif"
    rss = peak_rss_kib(["assemble", "--no-kernel-check", "--kernel",
                        VECTORS / "a-one-ramdisk" / "kernel", "--cmdline", "x",
                        "--ramdisk", VECTORS / "a-one-ramdisk" / "ramdisk0",
                        "--ramdisk", rd, "-o", out])
    try:
        assert out.stat().st_size > 4 << 30
        assert rss < LIMIT_KIB, f"assemble peak RSS {rss} KiB"
        rss = peak_rss_kib(["describe", out])
        assert rss < LIMIT_KIB, f"describe peak RSS {rss} KiB"
    finally:
        out.unlink()
        rd.unlink()
