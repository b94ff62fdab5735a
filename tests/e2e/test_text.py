"""Text from an EIF reaches people escaped (#10, finding 4): a metadata
string cannot forge a line of verify's report or describe --text, nor
send escape sequences to the terminal; and eifkit refuses to write such
strings into the metadata it makes."""
import pytest

from conftest import VECTORS, fake_kernel, run
import eifref

A = VECTORS / "a-one-ramdisk"
FORGED = "1.0\nsignature    ok     signs PCR0 with the embedded certificate"
ESC = "\x1b]0;pwned\x07\x1b[2J"


def eif_with(tmp_path, name, version, os_="OS"):
    meta = eifref.metadata(name, version, "2024-01-01T00:00:00+00:00",
                           "eifkit", "0", os_, "kernel")
    f = tmp_path / "t.eif"
    f.write_bytes(eifref.build(b"K" * 100, b"console=ttyS0",
                               meta, [(A / "ramdisk0").read_bytes()]))
    return f


def test_verify_cannot_be_forged(tmp_path):
    f = eif_with(tmp_path, "app", FORGED)
    r = run("verify", f)
    out = r.out.decode()
    sig = [l for l in out.splitlines() if l.startswith("signature")]
    assert sig == ["signature    -      not signed"], out
    assert "app 1.0\\nsignature    ok" in out, out
    assert r.code == 0, r


@pytest.mark.parametrize("args", [["verify"], ["describe", "--text"]])
def test_no_control_bytes_reach_the_terminal(tmp_path, args):
    f = eif_with(tmp_path, "n" + ESC, "v\u202e1", os_="o\x9b31m")
    r = run(*args, f)
    out = r.out
    assert b"\x1b" not in out and b"\x07" not in out, out
    assert "\u202e".encode() not in out and "\x9b".encode() not in out, out
    assert b"\\x1b]0;pwned\\a\\x1b[2J" in out, out
    assert b"\\xe2\\x80\\xae" in out, out  # the bidi override, as bytes


def test_describe_text_lines_are_whole(tmp_path):
    f = eif_with(tmp_path, "app", FORGED)
    r = run("describe", "--text", f)
    assert r.code == 0, r
    lines = r.out.decode().splitlines()
    assert [l for l in lines if l.startswith("signature")] == ["signature: none"]
    assert "version:   1.0\\nsignature    ok     signs PCR0 with the embedded " \
           "certificate" in lines


def test_describe_json_keeps_the_string(tmp_path):
    """JSON escapes by itself: the exact string comes back (nitro-cli's
    format is unchanged)."""
    import json
    f = eif_with(tmp_path, "app", FORGED)
    r = run("describe", f)
    assert json.loads(r.out)["ImageVersion"] == FORGED


@pytest.mark.parametrize("opt,value", [
    ("--name", "a\nb"), ("--version", FORGED), ("--name", ESC),
    ("--version", "bad\xff".encode("latin-1").decode("utf-8", "surrogateescape")),
    ("--build-tool", "x\ty"),
])
def test_assemble_refuses_control_text(tmp_path, opt, value):
    r = run("assemble", "--no-kernel-check", "--kernel", A / "kernel", "--cmdline", "x",
            "--ramdisk", A / "ramdisk0", opt, value, "-o", tmp_path / "o.eif")
    assert r.code == 1, r
    err = r.err.decode()
    assert err.startswith(f"eifkit assemble: {opt}") and err.count("\n") == 1
    assert "control characters or invalid UTF-8" in err
    assert not (tmp_path / "o.eif").exists()


def test_build_refuses_a_folder_name_with_a_newline(tmp_path):
    from test_ramdisk_system import GOLDEN
    k = tmp_path / "kernel"
    k.write_bytes(fake_kernel())
    root = tmp_path / "my\napp"
    root.mkdir()
    (root / "a").write_text("x")
    r = run("build", "--no-app-check", "--kernel", k, "--init", GOLDEN / "init",
            "--rootfs", root, "-o", tmp_path / "o.eif", "--", "/a")
    assert r.code == 1, r
    assert b"'my\\napp': holds control characters" in r.err, r.err
    assert r.err.count(b"\n") == 1
    r = run("build", "--no-app-check", "--kernel", k, "--init", GOLDEN / "init",
            "--rootfs", root, "--name", "my app", "-o", tmp_path / "o.eif",
            "--", "/a")
    assert r.code == 0, r
