"""eifkit run: options, errors, what it shows, the timeout and its
temporary files.

What run makes of a console (the app's lines, the init's, the kernel's;
CR LF; the exit status) is tested first with a stand-in for QEMU on PATH
that prints a given console, so that every case is exact and needs no
boot. Then a few real boots of one EIF made by `eifkit build`, in each
mode, and the timeout; they run only with EIFKIT_BOOT=1 (make
check-init). The boots that check what the app sees are in
test_init_boot.py and test_boot_image.py."""
import math
import json
import os
import re
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
    (["--console", "--quiet", A], "give --console or --quiet, not both"),
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


# ---- the console, from a stand-in for QEMU -------------------------------

FAKE_QEMU = r"""#!/bin/sh
printf '%s\n' "$@" >>"$FAKE_ARGS"
case " $* " in *" -accel kvm "*) [ -n "$FAKE_KVM_HANGS" ] && exec sleep 600 ;; esac
cat "$FAKE_CONSOLE"
exit "${FAKE_EXIT:-0}"
"""

KERNEL_LOG = (b"[    0.000000] Linux version 6.1.0-57-amd64 (debian-kernel)\r\n"
              b"[    0.412345] ACPI Error: AE_NOT_FOUND, While resolving\r\n"
              b"[   12.000001] Run /init as init process\r\n")


def fake_run(tmp_path, console, *args, exit=0, accel="tcg", env=None):
    """eifkit run of a valid EIF, with a qemu-system-x86_64 on PATH that
    prints console (bytes) and exits with exit. Returns (result, the
    arguments QEMU was given)."""
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    q = bindir / "qemu-system-x86_64"
    q.write_text(FAKE_QEMU)
    q.chmod(0o755)
    (tmp_path / "console").write_bytes(console)
    r = run("run", "--accel", accel, *args, A,
            env={"PATH": f"{bindir}:/usr/bin:/bin",
                 "FAKE_CONSOLE": str(tmp_path / "console"),
                 "FAKE_ARGS": str(tmp_path / "args"),
                 "FAKE_EXIT": str(exit), **(env or {})})
    return r, (tmp_path / "args").read_text().split("\n")


def test_default_shows_the_app_with_lf(tmp_path):
    console = (KERNEL_LOG + b"hello from the enclave\r\n"
               b"[not a stamp] the app's, with a bracket\r\n"
               b"\r\n"
               b"eifkit-initial: not the init's prefix\r\n"
               b"a\rb: a CR inside a line stays\r\n"
               b"eifkit-init: app exited with status 0\r\n"
               b"[   13.000000] reboot: Restarting system\r\n")
    r, args = fake_run(tmp_path, console)
    assert r.code == 0, r
    assert r.out == (b"hello from the enclave\n"
                     b"[not a stamp] the app's, with a bracket\n"
                     b"\n"
                     b"eifkit-initial: not the init's prefix\n"
                     b"a\rb: a CR inside a line stays\n")
    # one status line: emulated, and about how long the boot takes
    err = r.err.decode()
    assert re.fullmatch(r"eifkit run: emulating \(--accel tcg\), boot takes "
                        r"~[0-9]+s\n", err), err
    # the kernel is told to keep quiet and to stamp what it still prints
    append = args[args.index("-append") + 1]
    assert append.endswith(" console=ttyS0 eifkit.heartbeat=off "
                           "loglevel=1 printk.time=1"), append


def test_console_shows_every_byte(tmp_path):
    console = (KERNEL_LOG + b"hello\r\n"
               b"eifkit-init: app exited with status 7\r\n")
    r, args = fake_run(tmp_path, console, "--console")
    assert r.code == 7, r
    assert r.out == console
    assert r.err.decode().startswith("eifkit run: emulating"), r
    assert r.err.count(b"\n") == 1, r
    append = args[args.index("-append") + 1]
    assert append.endswith(" console=ttyS0 eifkit.heartbeat=off"), append


def test_quiet_shows_only_the_app(tmp_path):
    console = (KERNEL_LOG + b"one\r\n"
               b"eifkit-init: passing SIGTERM on to the app\r\n"
               b"two\r\n"
               b"eifkit-init: app exited with status 3\r\n")
    r, _ = fake_run(tmp_path, console, "--quiet")
    assert (r.code, r.out, r.err) == (3, b"one\ntwo\n", b""), r


def test_init_messages_go_to_stderr(tmp_path):
    console = (KERNEL_LOG + b"one\r\n"
               b"eifkit-init: exec /bin/nope: ENOENT (No such file or directory)\r\n"
               b"eifkit-init: app exited with status 127\r\n")
    r, _ = fake_run(tmp_path, console)
    assert (r.code, r.out) == (127, b"one\n"), r
    assert r.err.decode().splitlines()[1:] == [
        "eifkit-init: exec /bin/nope: ENOENT (No such file or directory)"], r


def test_status_after_output_without_newline(tmp_path):
    """An app whose output does not end in a newline: the init's status
    line follows on the same console line."""
    console = KERNEL_LOG + (b"partial, then the init"
                            b"eifkit-init: app exited with status 5\r\n")
    for mode, out in (([], b"partial, then the init"),
                      (["--quiet"], b"partial, then the init"),
                      (["--console"], console)):
        r, _ = fake_run(tmp_path, console, *mode)
        assert (r.code, r.out) == (5, out), (mode, r)


def test_long_lines_stream_whole(tmp_path):
    long = b"x" * 100000 + b"eifkit-init" + b"y" * 1000
    console = KERNEL_LOG + long + b"\r\n" + \
        b"eifkit-init: app exited with status 0\r\n"
    r, _ = fake_run(tmp_path, console, "--quiet")
    assert (r.code, r.out) == (0, long + b"\n"), r.err


def test_init_failure_is_one_line(tmp_path):
    console = KERNEL_LOG + (b"eifkit-init: /cmd is missing: the user ramdisk "
                            b"names no command to run\r\n"
                            b"[   13.000000] reboot: Power down\r\n")
    r, _ = fake_run(tmp_path, console, "--quiet")
    assert r.code == 1 and r.out == b"", r
    one_line_error(r, str(A), "the init stopped before the app's exit status: "
                   "/cmd is missing: the user ramdisk names no command to run")
    r, _ = fake_run(tmp_path, console)
    assert r.code == 1 and r.out == b"", r
    lines = r.err.decode().splitlines()
    assert lines[1] == ("eifkit-init: /cmd is missing: the user ramdisk names "
                        "no command to run"), lines
    assert lines[2] == (f"eifkit run: '{A}': the init stopped before the app's "
                        "exit status (its message is above)"), lines
    assert len(lines) == 3, lines


def test_kernel_panic_is_named(tmp_path):
    console = KERNEL_LOG + (b"[   12.5] Kernel panic - not syncing: No working "
                            b"init found.\r\n")
    r, _ = fake_run(tmp_path, console, "--quiet")
    assert r.code == 1 and r.out == b"", r
    one_line_error(r, "the kernel stopped: Kernel panic - not syncing: No "
                   "working init found. (--console shows its log)")


def test_no_status_from_another_init(tmp_path):
    r, _ = fake_run(tmp_path, KERNEL_LOG + b"app output\r\n", "--quiet")
    assert (r.code, r.out) == (1, b"app output\n"), r
    one_line_error(r, "the console showed no exit status")


def test_qemu_failing_is_reported(tmp_path):
    r, _ = fake_run(tmp_path, b"", "--quiet", exit=3)
    assert r.code == 1, r
    one_line_error(r, "qemu-system-x86_64 failed (exit status 3)")


@pytest.mark.skipif(os.uname().machine != "x86_64" or
                    not os.access("/dev/kvm", os.R_OK | os.W_OK),
                    reason="--accel auto tries KVM only where /dev/kvm opens "
                    "on an x86_64 host")
def test_silent_kvm_guest_is_emulated_instead(tmp_path):
    """A KVM guest that shows nothing for 10 s (nested KVM that stops
    the guest) is stopped and the boot emulated, with one line."""
    console = b"[    0.1] x\r\nhi\r\neifkit-init: app exited with status 0\r\n"
    r, args = fake_run(tmp_path, console, accel="auto",
                       env={"FAKE_KVM_HANGS": "1"})
    assert (r.code, r.out) == (0, b"hi\n"), r
    assert re.fullmatch(r"eifkit run: the KVM guest showed nothing in 10 s; "
                        r"emulating, boot takes ~[0-9]+s \(--accel tcg skips "
                        r"KVM\)\n", r.err.decode()), r
    # KVM first (its log left on, to see it run), then emulated
    accels = [args[i + 1] for i, a in enumerate(args) if a == "-accel"]
    assert accels == ["kvm", "tcg"], args


def test_init_message_control_characters_escaped(tmp_path):
    console = (b"eifkit-init: exec /bin/a\x1b[2Jb: ENOENT (No such file)\r\n"
               b"eifkit-init: app exited with status 127\r\n")
    r, _ = fake_run(tmp_path, console)
    assert r.code == 127, r
    assert r.err.decode().splitlines()[1] == \
        "eifkit-init: exec /bin/a\\x1b[2Jb: ENOENT (No such file)", r


# ---- real boots ------------------------------------------------------------

BOOTING = os.environ.get("EIFKIT_BOOT") == "1"
needs_boot = pytest.mark.skipif(
    not BOOTING, reason="boots an EIF under QEMU: run by make check-init")

MODES_APP = ("echo 'T out one'; echo 'T err' >&2; "
             "printf 'T no newline at the end'; exit 4")


@pytest.fixture(scope="module")
def modes(tmp_path_factory):
    """One EIF, booted in the default mode (timed: the later waits scale
    from it), with --quiet and with --console."""
    from test_init_boot import accel, build_eif, stage_busybox
    tmp = tmp_path_factory.mktemp("modes")
    eif = build_eif(tmp, "modes", "x86_64", "--rootfs",
                    stage_busybox(tmp / "rootfs", "x86_64"),
                    "--env", "PATH=/bin", "--", "/bin/sh", "-c", MODES_APP)
    out = {"eif": eif}
    for mode in ("default", "--quiet", "--console"):
        t = time.monotonic()
        out[mode] = run("run", "--accel", accel(),
                        *([] if mode == "default" else [mode]), eif)
        out[mode + " seconds"] = time.monotonic() - t
    print(f"boot of {eif.name}: {out['default seconds']:.1f} s")
    return out


@needs_boot
def test_boot_default_mode(modes):
    r = modes["default"]
    assert r.code == 4, r
    assert r.out == b"T out one\nT err\nT no newline at the end", r
    from test_init_boot import accel
    err = r.err.decode().splitlines()
    if accel() == "tcg":
        assert len(err) == 1 and err[0].startswith("eifkit run: "), err
        assert re.search(r"boot takes ~[0-9]+s$", err[0]), err
    else:
        assert all(l.startswith("eifkit run: ") for l in err), err


@needs_boot
def test_boot_quiet_mode(modes):
    r = modes["--quiet"]
    assert (r.code, r.out, r.err) == \
        (4, b"T out one\nT err\nT no newline at the end", b""), r


@needs_boot
def test_boot_console_mode(modes):
    r = modes["--console"]
    assert r.code == 4, r
    assert b"Linux version" in r.out and b"\r\n" in r.out, r
    assert b"T out one\r\n" in r.out
    assert b"T no newline at the endeifkit-init: app exited with status 4" \
        in r.out


@needs_boot
def test_timeout_stops_qemu_and_leaves_no_files(tmp_path, modes):
    """The timeout: long enough, scaled from the measured boot of the same
    kernel on this machine now, for the app to start; it then sleeps."""
    from test_init_boot import accel, build_eif, stage_busybox
    eif = build_eif(tmp_path, "sleeper", "x86_64", "--rootfs",
                    stage_busybox(tmp_path / "rootfs", "x86_64"),
                    "--env", "PATH=/bin", "--", "/bin/sh", "-c",
                    "echo T started; exec /bin/busybox sleep 600")
    tmp = tmp_path / "tmpdir"
    tmp.mkdir()
    timeout = math.ceil(2 * modes["default seconds"]) + 15
    t = time.monotonic()
    r = run("run", "--timeout", timeout, "--accel", accel(), eif,
            env={"TMPDIR": str(tmp)})
    took = time.monotonic() - t
    assert r.code == 1, r
    one_line_error_last(r, str(eif), f"timed out after {timeout} s; QEMU stopped")
    assert timeout <= took < timeout + 30, (took, timeout)
    assert list(tmp.iterdir()) == []
    # what the app printed before the timeout was passed through
    assert r.out == b"T started\n", r


def one_line_error_last(r, *needles):
    """The error is the last line of stderr (a status line may precede it)."""
    lines = r.err.decode().splitlines()
    assert r.err.endswith(b"\n") and lines, r
    assert lines[-1].startswith("eifkit run: "), lines
    for n in needles:
        assert n in lines[-1], (n, lines)


def test_json_summary(tmp_path):
    """--json: the app's output on stderr, one JSON object on stdout; the
    exit status is still the app's."""
    console = (KERNEL_LOG + b"hello\r\n"
               b"eifkit-init: app exited with status 3\r\n")
    r, _ = fake_run(tmp_path, console, "--json")
    assert r.code == 3, r
    assert json.loads(r.out) == {"ExitStatus": 3, "Accel": "tcg", "Error": None}
    assert b"hello\n" in r.err and b"hello" not in r.out


def test_json_summary_on_failure(tmp_path):
    r, _ = fake_run(tmp_path, KERNEL_LOG, "--json")
    assert r.code == 1, r
    out = json.loads(r.out)
    assert out["ExitStatus"] is None and out["Accel"] == "tcg"
    assert "no exit status" in out["Error"] or "exit status" in out["Error"], out
    assert r.err.decode().count("eifkit run: '") == 1, r.err
