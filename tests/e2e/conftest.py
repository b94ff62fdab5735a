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


def fake_elf(arch="x86_64", interp=None, bits=64, size=400):
    """A minimal ELF executable header for arch (e_machine 62 or 183),
    with a PT_INTERP naming interp when given: what eifkit's app checks
    read (the e_ident class and data, e_machine, the program headers)."""
    import struct
    machine = {"x86_64": 62, "aarch64": 183, "riscv64": 243}[arch]
    if bits == 32:
        hdr = b"\x7fELF\x01\x01\x01" + bytes(9)
        hdr += struct.pack("<HHI", 2, 3 if arch == "x86_64" else 40, 1)
        return hdr + bytes(size - len(hdr))
    phnum = 1 if interp else 0
    hdr = b"\x7fELF\x02\x01\x01" + bytes(9)
    hdr += struct.pack("<HHIQQQIHHHHHH", 2, machine, 1, 0x401000,
                       64 if phnum else 0, 0, 0, 64, 56, phnum, 64, 0, 0)
    body = b""
    if interp:
        s = interp.encode() + b"\0"
        off = 64 + 56
        body = struct.pack("<IIQQQQQQ", 3, 4, off, off, off, len(s), len(s), 1)
        body += s
    data = hdr + body
    return data + bytes(max(0, size - len(data)))
