"""eifkit run: options, errors, the timeout and its temporary files.

The boots that check the exit status and what the app sees are in
test_init_boot.py and test_boot_image.py; the one boot here (the timeout,
of an EIF made by `eifkit build`) runs only with EIFKIT_BOOT=1 (make
check-init)."""
import os
import time

import pytest

from conftest import VECTORS, run

A = VECTORS / "a-one-ramdisk" / "expected.eif"


def one_line_error(r, *needles):
    err = r.err.decode()
    assert err.startswith("eifkit run: "), err
    assert err.count("\n") == 1, err
    for n in needles:
        assert n in err, (n, err)


@pytest.mark.parametrize("args, needle", [
    ([], "give one EIF file"),
    ([A, A], "give one EIF file"),
    (["--memory", "12x", A], "--memory: '12x' is not a number"),
    (["--memory", "1", A], "--memory: '1' is not a number from 64"),
    (["--cpus", "0", A], "--cpus"),
    (["--timeout", "-1", A], "--timeout"),
    (["--accel", "hvf", A], "--accel: 'hvf' is not auto, kvm or tcg"),
    (["--bogus", A], "unknown option '--bogus'"),
    (["--kernel"], "needs a value"),
])
def test_usage_errors(args, needle):
    r = run("run", *args)
    assert r.code == 2, r
    assert needle in r.err.decode(), r
    assert r.out == b""


def test_missing_file(tmp_path):
    r = run("run", tmp_path / "nope.eif")
    assert r.code == 1, r
    one_line_error(r, str(tmp_path / "nope.eif"))


def test_not_an_eif(tmp_path):
    f = tmp_path / "x.eif"
    f.write_bytes(b"not an eif" * 100)
    r = run("run", f)
    assert r.code == 1, r
    one_line_error(r, str(f))


def test_missing_kernel_file(tmp_path):
    r = run("run", "--kernel", tmp_path / "vmlinuz", A)
    assert r.code == 1, r
    one_line_error(r, str(tmp_path / "vmlinuz"))


def test_qemu_not_installed_says_which_package(tmp_path):
    r = run("run", A, env={"PATH": str(tmp_path)})
    assert r.code == 1, r
    one_line_error(r, "qemu-system-x86_64 is not on PATH",
                   "apt-get install qemu-system-x86")


@pytest.mark.skipif(os.environ.get("EIFKIT_BOOT") != "1",
                    reason="boots an EIF under QEMU: run by make check-init")
def test_timeout_stops_qemu_and_leaves_no_files(tmp_path):
    from test_init_boot import accel, build_eif, stage_busybox
    eif = build_eif(tmp_path, "sleeper", "x86_64", "--rootfs",
                    stage_busybox(tmp_path / "rootfs", "x86_64"),
                    "--env", "PATH=/bin", "--", "/bin/busybox", "sleep", "600")
    tmp = tmp_path / "tmpdir"
    tmp.mkdir()
    t = time.monotonic()
    r = run("run", "--timeout", "6", "--accel", accel(), eif,
            env={"TMPDIR": str(tmp)})
    took = time.monotonic() - t
    assert r.code == 1, r
    one_line_error(r, str(eif), "timed out after 6 s; QEMU stopped")
    assert took < 30, took
    assert list(tmp.iterdir()) == []
    # the console up to the timeout was passed through
    assert b"Linux version" in r.out
