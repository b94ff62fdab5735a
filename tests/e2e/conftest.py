"""Shared fixtures for the end-to-end tests: they drive the eifkit binary."""
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
VECTORS = ROOT / "tests" / "vectors"


def eifkit_path():
    p = os.environ.get("EIFKIT", str(ROOT / "build" / "eifkit"))
    assert os.access(p, os.X_OK), f"eifkit binary not found at {p}; run make"
    return p


class Result:
    def __init__(self, cp):
        self.code = cp.returncode
        self.out = cp.stdout
        self.err = cp.stderr

    def __repr__(self):
        return f"<exit {self.code} out={self.out[:200]!r} err={self.err[:300]!r}>"


def run(*args, cwd=None, env=None, input=None):
    """Run eifkit with args; returns Result (stdout/stderr as bytes)."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    cp = subprocess.run([eifkit_path(), *map(str, args)], cwd=cwd,
                        env=full_env, input=input, capture_output=True,
                        timeout=600)
    return Result(cp)


@pytest.fixture
def eifkit():
    return run


def vector_dirs(signed=None):
    out = []
    for d in sorted(VECTORS.iterdir()):
        if not d.is_dir():
            continue
        is_signed = (d / "cert.pem").exists()
        if signed is None or signed == is_signed:
            out.append(d)
    return out


def vector_args(d):
    return (d / "args.txt").read_text().split("\n")[:-1]


def fake_kernel(arch="x86_64", size=5000, release="6.1.0-fake", fill=None):
    """The bytes of a kernel image that passes eifkit's kernel checks but
    is no kernel: the headers of boot.rst (an x86_64 bzImage: boot flag,
    "HdrS", protocol 2.15, XLF_KERNEL_64, setup_sects and syssize that
    cover the file, kernel_version) or booting.rst (an arm64 Image's
    "ARM\\x64" and a "Linux version" banner), around random bytes."""
    import struct
    buf = bytearray(fill if fill is not None else os.urandom(size))
    assert len(buf) >= 0x400
    text = f"{release} (fake@eifkit.test) #1 SMP".encode() + b"\0"
    if arch == "x86_64":
        buf[0x1f1] = 1                                   # setup_sects
        struct.pack_into("<I", buf, 0x1f4, (len(buf) - 1024) // 16)
        struct.pack_into("<H", buf, 0x1fe, 0xAA55)
        buf[0x202:0x206] = b"HdrS"
        struct.pack_into("<H", buf, 0x206, 0x020f)
        struct.pack_into("<H", buf, 0x20e, 0x300 - 0x200)
        buf[0x236] = 1                                   # XLF_KERNEL_64
        buf[0x300:0x300 + len(text)] = text
    else:
        buf[0x38:0x3c] = b"ARM\x64"
        banner = b"Linux version " + text
        buf[0x100:0x100 + len(banner)] = banner
    return bytes(buf)
