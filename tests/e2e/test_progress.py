"""Progress of build, assemble and sign (#17): a line on stderr when it
is a terminal (a pseudo-terminal here), erased at the end; never when
stderr is not a terminal or with --quiet; and the output bytes are the
same either way. EIFKIT_PROGRESS_AFTER=0 shows it from the first chunk,
so nothing here depends on how long the work takes."""
import os
import pty
import subprocess

import pytest

from conftest import VECTORS, eifkit_path, fake_kernel, run

S = VECTORS / "f-signed-p256"
ERASE = b"\r\x1b[K"


def on_pty(args, env=None):
    """Run eifkit with stderr on a pseudo-terminal: (exit, stdout, what
    the terminal got)."""
    master, slave = pty.openpty()
    p = subprocess.Popen([eifkit_path(), *map(str, args)], stdout=subprocess.PIPE,
                         stderr=slave, stdin=subprocess.DEVNULL,
                         env={**os.environ, **(env or {})})
    os.close(slave)
    tty = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the other side is closed
            break
        if not chunk:
            break
        tty += chunk
    out = p.stdout.read()
    p.wait(timeout=600)
    os.close(master)
    return p.returncode, out, tty


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """A ramdisk of 8 MiB: 32 chunks, so several lines."""
    d = tmp_path_factory.mktemp("progress")
    f = d / "big.cpio"
    f.write_bytes(bytes(range(256)) * (32 * 1024))
    return f


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    f = tmp_path_factory.mktemp("kernel") / "bzImage"
    f.write_bytes(fake_kernel(fill=bytes(8192)))
    return f


NOW = {"EIFKIT_PROGRESS_AFTER": "0"}


def assemble_args(kernel, big, out, *extra):
    return ["assemble", "--kernel", kernel, "--cmdline", "x",
            "--ramdisk", big, "-o", out, *extra]


def test_assemble_on_a_terminal(kernel, big, tmp_path):
    code, out, tty = on_pty(assemble_args(kernel, big, tmp_path / "a.eif"), NOW)
    assert code == 0, tty
    # each line erases the one before; the last erase leaves nothing
    assert tty.startswith(ERASE + b"eifkit assemble: ") and tty.endswith(ERASE)
    lines = [x for x in tty.split(ERASE) if x]
    assert len(lines) >= 1  # more: one each 0.25 s at most
    total = (tmp_path / "a.eif").stat().st_size
    assert all(b" of 8.0 MiB (" in x and b"/s, " in x and b" s left" in x
               for x in lines), lines
    assert all(b"\n" not in x for x in lines)
    # the same bytes and the same stdout without a terminal
    plain = run(*assemble_args(kernel, big, tmp_path / "b.eif"), env=NOW)
    assert plain.code == 0 and plain.err == b"", plain
    assert plain.out == out
    assert (tmp_path / "a.eif").read_bytes() == (tmp_path / "b.eif").read_bytes()
    assert total == (tmp_path / "b.eif").stat().st_size


def test_quiet_and_not_a_terminal(kernel, big, tmp_path):
    code, _, tty = on_pty(assemble_args(kernel, big, tmp_path / "a.eif", "--quiet"), NOW)
    assert (code, tty) == (0, b"")
    r = run(*assemble_args(kernel, big, tmp_path / "b.eif"), env=NOW)
    assert r.code == 0 and r.err == b""


def test_short_work_shows_nothing(kernel, tmp_path):
    """By default the line waits a second: a small file shows none."""
    code, _, tty = on_pty(["assemble", "--kernel", kernel, "--cmdline",
                           "x", "--ramdisk", S / "ramdisk0", "-o", tmp_path / "a.eif"])
    assert (code, tty) == (0, b"")


def test_pipe_has_no_total(kernel, big, tmp_path):
    # a pipe on stdin: bytes and speed, no "of" or estimate
    master, slave = pty.openpty()
    with open(big, "rb") as f:
        p = subprocess.Popen([eifkit_path(), "assemble", "--kernel", kernel,
                              "--cmdline", "x", "--ramdisk", "/dev/stdin",
                              "-o", tmp_path / "a.eif"],
                             stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                             stderr=slave, env={**os.environ, **NOW})
        os.close(slave)
        p.stdin.write(f.read())
        p.stdin.close()
    tty = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        tty += chunk
    assert p.wait(timeout=600) == 0
    os.close(master)
    lines = [x for x in tty.split(ERASE) if x]
    assert lines and all(b" of " not in x and b"/s" in x for x in lines), lines


def test_build_and_sign(kernel, big, tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "big").write_bytes(big.read_bytes())
    init = tmp_path / "init"
    init.write_bytes(b"\x7fELF not really")
    args = ["build", "-o", tmp_path / "b.eif", "--no-app-check", "--kernel", kernel,
            "--init", init, "--rootfs", root, "--", "/big"]
    code, out, tty = on_pty(args, NOW)
    assert code == 0, tty
    lines = [x for x in tty.split(ERASE) if x]
    assert lines and all(x.startswith(b"eifkit build: ") for x in lines), lines
    assert tty.endswith(ERASE)
    plain = run(*args[:2], tmp_path / "c.eif", *args[3:], env=NOW)
    assert plain.code == 0 and plain.err == b"" and plain.out == out
    assert (tmp_path / "b.eif").read_bytes() == (tmp_path / "c.eif").read_bytes()
    # sign: the same line, and nothing with --quiet
    sargs = ["sign", tmp_path / "b.eif", "--signing-certificate", S / "cert.pem",
             "--private-key", S / "key.pem", "-o", tmp_path / "s.eif"]
    code, _, tty = on_pty(sargs, NOW)
    assert code == 0, tty
    assert tty.startswith(ERASE + b"eifkit sign: ") and tty.endswith(ERASE)
    code, _, tty = on_pty(sargs + ["--quiet"], NOW)
    assert (code, tty) == (0, b"")

