"""The kernel checks of build and assemble (#11): what cannot boot an EIF
for the arch is refused before any work, with one line that names the
file; KernelVersion comes from the image when no config gives it.

The stand-in kernels are made by conftest.fake_kernel from the header
layouts of the kernel's boot.rst and booting.rst; Debian's real kernels
(fetched by `make kernels`) are used where EIFKIT_BOOT=1 or they are
present, and their absence is a failure under EIFKIT_BOOT=1."""
import gzip
import json
import os
import pathlib
import struct

import pytest

from conftest import ROOT, VECTORS, fake_kernel, run
from test_ramdisk_system import GOLDEN

BUILD = pathlib.Path(os.environ.get("EIFKIT_BUILD", ROOT / "build"))
KERNELS = BUILD / "kernels"
DEB = {"x86_64": "amd64", "aarch64": "arm64"}
A = VECTORS / "a-one-ramdisk"


def debian_kernel(arch):
    k = KERNELS / DEB[arch] / "vmlinuz"
    if not k.exists():
        if os.environ.get("EIFKIT_BOOT") == "1":
            pytest.fail(f"{k} is missing: make kernels fetches it")
        pytest.skip(f"{k} is missing (make kernels; make check-init runs this)")
    return k


@pytest.fixture
def w(tmp_path):
    (tmp_path / "rootfs").mkdir()
    (tmp_path / "rootfs" / "app").write_text("x")
    return tmp_path


def build(w, kernel, *args, arch="x86_64"):
    out = w / "o.eif"
    r = run("build", "--no-app-check", "--kernel", kernel, "--init", GOLDEN / "init", "--arch",
            arch, "--rootfs", w / "rootfs", "-o", out, *args, "--", "/app")
    return r, out


def assemble(w, kernel, *args, arch="x86_64"):
    out = w / "o.eif"
    r = run("assemble", "--kernel", kernel, "--cmdline", "x", "--arch", arch,
            "--ramdisk", A / "ramdisk0", "-o", out, *args)
    return r, out


def refused(r, out, cmd, kernel, *needles):
    assert r.code == 1, r
    err = r.err.decode()
    assert err.startswith(f"eifkit {cmd}: '{kernel}': "), err
    assert err.count("\n") == 1, err
    for n in needles:
        assert n in err, (n, err)
    assert r.out == b"" and not out.exists()
    assert [p for p in os.listdir(out.parent) if p.startswith(".")] == []


def meta(out):
    return json.loads(run("describe", out).out)["Metadata"]


CMDS = [build, assemble]


@pytest.mark.parametrize("cmd", CMDS)
@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_random_bytes(w, cmd, arch):
    (w / "k").write_bytes(os.urandom(100_000))
    r, out = cmd(w, w / "k", arch=arch)
    refused(r, out, cmd.__name__, w / "k", "not a kernel image",
            "--arch " + arch)


@pytest.mark.parametrize("cmd", CMDS)
def test_empty_and_tiny(w, cmd):
    for data in (b"", b"MZ", b"\x1f\x8b"):
        (w / "k").write_bytes(data)
        r, out = cmd(w, w / "k")
        refused(r, out, cmd.__name__, w / "k", "not a kernel image")


@pytest.mark.parametrize("cmd", CMDS)
def test_no_kernel_check_takes_any_bytes(w, cmd):
    (w / "k").write_bytes(os.urandom(3000))
    r, out = cmd(w, w / "k", "--no-kernel-check")
    assert r.code == 0, r
    assert meta(out)["KernelVersion"] == "kernel"


@pytest.mark.parametrize("cmd", CMDS)
def test_truncated_bzimage(w, cmd):
    data = fake_kernel(size=8192)
    (w / "k").write_bytes(data[:5000])
    r, out = cmd(w, w / "k")
    refused(r, out, cmd.__name__, w / "k", "bzImage cut short",
            "8192 bytes", "5000")


@pytest.mark.parametrize("cmd", CMDS)
def test_32bit_bzimage(w, cmd):
    data = bytearray(fake_kernel())
    data[0x236] = 0  # no XLF_KERNEL_64
    (w / "k").write_bytes(data)
    r, out = cmd(w, w / "k")
    refused(r, out, cmd.__name__, w / "k", "a 32-bit x86 bzImage")


@pytest.mark.parametrize("cmd", CMDS)
@pytest.mark.parametrize("kernel_arch,eif_arch",
                         [("aarch64", "x86_64"), ("x86_64", "aarch64")])
def test_other_arch(w, cmd, kernel_arch, eif_arch):
    (w / "k").write_bytes(fake_kernel(kernel_arch))
    r, out = cmd(w, w / "k", arch=eif_arch)
    what = "an arm64 Image" if kernel_arch == "aarch64" else "an x86_64 bzImage"
    refused(r, out, cmd.__name__, w / "k", what, "--arch " + eif_arch)


def test_elf_vmlinux(w):
    (w / "k").write_bytes(b"\x7fELF\x02\x01\x01" + bytes(5000))
    r, out = build(w, w / "k")
    refused(r, out, "build", w / "k", "ELF vmlinux")


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_kernel_version_from_the_image(w, arch):
    (w / "k").write_bytes(fake_kernel(arch, release="6.6.6-enclave"))
    r, out = build(w, w / "k", arch=arch)
    assert r.code == 0, r
    assert r.err == b"", r.err
    assert meta(out)["KernelVersion"] == "6.6.6-enclave"


def test_explicit_kernel_version_wins(w):
    (w / "k").write_bytes(fake_kernel(release="6.6.6-enclave"))
    r, out = assemble(w, w / "k", "--img-kernel", "mine")
    assert r.code == 0, r
    assert meta(out)["KernelVersion"] == "mine"


def config(w, version):
    c = w / "config"
    c.write_text(f"#\n# Automatically generated file; DO NOT EDIT.\n"
                 f"# Linux/x86 {version} Kernel Configuration\nCONFIG_X=y\n")
    return c


@pytest.mark.parametrize("cmd", CMDS)
def test_config_of_another_kernel(w, cmd):
    (w / "k").write_bytes(fake_kernel(release="6.1.0-18-amd64"))
    r, out = cmd(w, w / "k", "--kernel-config", config(w, "5.10.1"))
    assert r.code == 1, r
    err = r.err.decode()
    assert err.startswith(f"eifkit {cmd.__name__}: '{w / 'config'}': the "
                          "config of Linux 5.10.1, but the kernel is "
                          "6.1.0-18-amd64"), err
    assert not out.exists()


@pytest.mark.parametrize("version", ["6.1.0-18-amd64", "6.1.76"])
def test_config_of_this_kernel(w, version):
    """Equal to the release, or the upstream version in the version string
    (Debian's configs say 6.1.76 for the kernel 6.1.0-18-amd64)."""
    (w / "k").write_bytes(fake_kernel(
        release="6.1.0-18-amd64 (debian-kernel@lists.debian.org) #1 SMP "
                "PREEMPT_DYNAMIC Debian 6.1.76-1"))
    r, out = build(w, w / "k", "--kernel-config", config(w, version))
    assert r.code == 0, r
    # the config's, cut at the first '-' as nitro-cli cuts it
    assert meta(out)["KernelVersion"] == version.split("-")[0]


def test_config_prefix_is_not_a_match(w):
    (w / "k").write_bytes(fake_kernel(release="6.1.76-1"))
    r, _ = build(w, w / "k", "--kernel-config", config(w, "6.1.7"))
    assert r.code == 1 and b"the config of Linux 6.1.7" in r.err, r


def gzip_image(w, arch="aarch64"):
    data = gzip.compress(fake_kernel(arch, size=300_000,
                                     release="6.1.0-gz-arm64"), mtime=0)
    (w / "k").write_bytes(data)
    return w / "k"


def test_compressed_arm64_warns(w):
    k = gzip_image(w)
    r, out = build(w, k, arch="aarch64")
    assert r.code == 0, r
    assert r.err.decode() == (
        f"eifkit build: warning: '{k}': a gzip-compressed arm64 Image; AWS's "
        "aarch64 kernel is an uncompressed Image and Nitro may boot nothing "
        "else (--kernel-format-ok to go on quietly)\n")
    assert meta(out)["KernelVersion"] == "6.1.0-gz-arm64"
    r, out = build(w, k, "--kernel-format-ok", arch="aarch64")
    assert r.code == 0 and r.err == b"", r


def test_gzip_of_something_else(w):
    (w / "k").write_bytes(gzip.compress(fake_kernel("x86_64")))
    r, out = build(w, w / "k", arch="aarch64")
    refused(r, out, "build", w / "k", "not a kernel image")


def test_zboot(w):
    """An EFI zboot image: "MZ", "zimg", the payload's offset and size,
    the compression's name (drivers/firmware/efi/libstub/zboot-header.S)."""
    payload = gzip.compress(fake_kernel("aarch64", size=200_000,
                                        release="6.9.0-zboot"))
    hdr = bytearray(0x200)
    hdr[0:2] = b"MZ"
    hdr[4:8] = b"zimg"
    struct.pack_into("<II", hdr, 8, len(hdr), len(payload))
    hdr[0x18:0x1c] = b"gzip"
    (w / "k").write_bytes(bytes(hdr) + payload)
    r, out = build(w, w / "k", arch="aarch64")
    assert r.code == 0, r
    assert b"EFI zboot arm64 Image" in r.err
    assert meta(out)["KernelVersion"] == "6.9.0-zboot"


# ---- Debian's kernels ------------------------------------------------------

@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_debian_kernel_accepted_with_its_version(w, arch):
    k = debian_kernel(arch)
    release = (k.parent / "release").read_text().strip()
    r, out = build(w, k, arch=arch)
    assert r.code == 0, r
    assert meta(out)["KernelVersion"] == release
    r, out = build(w, k, "--kernel-config", k.parent / "config", arch=arch)
    assert r.code == 0, r


@pytest.mark.parametrize("kernel_arch,eif_arch",
                         [("aarch64", "x86_64"), ("x86_64", "aarch64")])
def test_debian_kernel_of_the_other_arch(w, kernel_arch, eif_arch):
    k = debian_kernel(kernel_arch)
    r, out = build(w, k, arch=eif_arch)
    refused(r, out, "build", k, "--arch " + eif_arch)


def test_debian_kernel_truncated(w):
    k = debian_kernel("x86_64")
    (w / "k").write_bytes(k.read_bytes()[:1 << 20])
    r, out = build(w, w / "k")
    refused(r, out, "build", w / "k", "bzImage cut short")
