"""The init binaries as built: static, stripped, no build ids or paths;
and init's heartbeat code against a real AF_VSOCK listener on this host.

(The byte-for-byte rebuild in other folders is `make init-repro`, part of
make check-init; the boots are in test_init_boot.py.)"""
import os
import pathlib
import random
import subprocess

import pytest

from conftest import ROOT

BUILD = pathlib.Path(os.environ.get("EIFKIT_BUILD", ROOT / "build"))
ARCHES = ["x86_64", "aarch64"]
REQUIRED = os.environ.get("EIFKIT_BOOT") == "1"


def binary(path):
    if not path.exists():
        if REQUIRED:
            pytest.fail(f"{path} is missing (make init)")
        pytest.skip(f"{path} not built: make init (make check-init builds it)")
    return path


def readelf(*args):
    return subprocess.run(["readelf", "-W", *args], capture_output=True,
                          text=True, check=True).stdout


@pytest.mark.parametrize("arch", ARCHES)
def test_static_stripped_no_build_id(arch):
    p = binary(BUILD / "libexec" / "eifkit" / f"init-{arch}")
    machine = {"x86_64": "X86-64", "aarch64": "AArch64"}[arch]
    assert machine in readelf("-h", p)
    assert "INTERP" not in readelf("-l", p)          # no dynamic loader
    assert "no dynamic section" in readelf("-d", p)  # no shared libraries
    sections = readelf("-S", p)
    assert ".symtab" not in sections                 # stripped
    assert ".note.gnu.build-id" not in sections
    size = p.stat().st_size
    print(f"init-{arch}: {size} bytes")
    assert size < 256 * 1024, size


@pytest.mark.parametrize("arch", ARCHES)
def test_no_build_paths(arch):
    data = binary(BUILD / "libexec" / "eifkit" / f"init-{arch}").read_bytes()
    for s in {str(ROOT), os.getcwd(), "/tmp/"}:
        assert s.encode() not in data, s
    assert b"init.c" not in data and b"mounts.c" not in data


def test_heartbeat_on_this_host():
    """heartbeat.c against a listener on vsock CID 1 (the loopback
    transport), where this host's kernel has one."""
    arch = os.uname().machine
    if arch not in ARCHES:
        pytest.skip(f"no init build for {arch}")
    prog = binary(BUILD / "init" / f"test_heartbeat-{arch}")
    port = random.randrange(20000, 60000)
    cp = subprocess.run([prog, str(port)], capture_output=True, text=True,
                        timeout=60)
    if cp.returncode == 77:
        pytest.skip("no AF_VSOCK listener on this host: "
                    + cp.stdout.strip().removeprefix("skipped: ")
                    + " (the same test runs inside the test enclave)")
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert "heartbeat test: 4 of 4 passed" in cp.stdout
