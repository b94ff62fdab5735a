"""describe and the reader on hostile files: every malformed file gets a
one-line error naming it and exit status 1, never a crash."""
import json
import struct

import pytest

from conftest import fake_kernel, run, VECTORS

A = (VECTORS / "a-one-ramdisk" / "expected.eif").read_bytes()
B = (VECTORS / "b-custom-metadata" / "expected.eif").read_bytes()


def patch(data, off, fmt, *vals):
    b = bytearray(data)
    struct.pack_into(fmt, b, off, *vals)
    return bytes(b)


def fix_crc(data):
    import zlib
    return patch(data, 544, ">I", zlib.crc32(data[:544] + data[548:]))


def sec_off(i):
    return 28 + 8 * i


def where(data, i):
    """File offset of section i's header, read from the header table."""
    return struct.unpack_from(">Q", data, sec_off(i))[0]


def sec_size(i):
    return 284 + 8 * i


CASES = {
    "empty": (b"", "truncated"),
    "short": (A[:100], "truncated"),
    "magic": (b"XEIF" + A[4:], "bad magic"),
    "version1": (patch(A, 4, ">H", 1), "version 1"),
    "version5": (patch(A, 4, ">H", 5), "version 5"),
    "flags": (patch(A, 6, ">H", 2), "flags"),
    "zero-sections": (patch(A, 26, ">H", 0), "0 sections"),
    "33-sections": (patch(A, 26, ">H", 33), "33 sections"),
    "gap": (patch(A, sec_off(1), ">Q", 1561), "contiguous"),
    "size-overflow": (patch(A, sec_size(0), ">Q", 2**64 - 1), "past the end"),
    "size-past-end": (patch(A, sec_size(3), ">Q", 121), "past the end"),
    "trailing": (A + b"\0", "1 trailing bytes"),
    "truncated-tail": (A[:-1], "past the end"),
    "stale-entry": (patch(A, sec_off(4), ">Q", 7), "unused section table entry 4"),
    "type0": (patch(A, 548, ">H", 0), "invalid type 0"),
    "type6": (patch(A, 548, ">H", 6), "invalid type 6"),
    "sec-flags": (patch(A, 550, ">H", 1), "flags 0x0001"),
    "hdr-size-mismatch": (patch(A, 548 + 4, ">Q", 999), "header says 999"),
    "two-kernels": (patch(A, where(A, 1), ">H", 1), "second kernel"),
    "no-ramdisk": (patch(A, where(A, 3), ">H", 2), "second cmdline"),
    "only-signature": (patch(A, where(A, 3), ">H", 4), "no ramdisk"),
    "no-metadata-v4": (patch(A, where(A, 2), ">H", 3), "no metadata"),
    "ramdisk-first": (patch(patch(A, 548, ">H", 3), where(A, 3), ">H", 1),
                      "before the kernel"),
    "metadata-not-json": (patch(A, where(A, 2) + 12, ">B", ord("[")), "not JSON"),
    "metadata-missing-field": (
        A.replace(b'"DockerInfo"', b'"DockerInfX"'),
        "missing field 'DockerInfo'"),
}


@pytest.mark.parametrize("name", CASES)
def test_hostile_file(name, tmp_path):
    data, needle = CASES[name]
    f = tmp_path / f"{name}.eif"
    f.write_bytes(fix_crc(data) if len(data) >= 548 else data)
    r = run("describe", f)
    assert r.code == 1, r
    err = r.err.decode()
    assert err.startswith("eifkit describe: "), err
    assert err.count("\n") == 1, err
    assert str(f) in err, err
    assert needle in err, err
    assert r.out == b""


def test_bad_crc_is_reported_not_fatal(tmp_path):
    f = tmp_path / "c.eif"
    f.write_bytes(patch(A, 1000, ">B", A[1000] ^ 0xFF))
    r = run("describe", f)
    assert r.code == 0, r
    assert json.loads(r.out)["CheckCRC"] is False
    v = run("verify", f)
    assert v.code == 1 and b"crc          FAILED" in v.out


def test_version_2_without_metadata(tmp_path):
    # kernel, cmdline, ramdisk: drop the metadata section of vector A
    m, r = where(A, 2), where(A, 3)
    body = A[548:m] + A[r:]
    hdr = patch(A[:548], 4, ">H", 2)
    hdr = patch(hdr, 26, ">H", 3)
    hdr = patch(hdr, sec_off(2), ">Q", m)
    hdr = patch(hdr, sec_size(2), ">Q", 120)
    hdr = patch(hdr, sec_off(3), ">Q", 0)
    hdr = patch(hdr, sec_size(3), ">Q", 0)
    f = tmp_path / "v2.eif"
    f.write_bytes(fix_crc(hdr + body))
    r = run("describe", f)
    assert r.code == 0, r
    d = json.loads(r.out)
    assert d["EifVersion"] == 2 and "Metadata" not in d and d["CheckCRC"]
    assert list(d) == ["EifVersion", "Measurements", "IsSigned", "CheckCRC"]


def test_text_summary():
    r = run("describe", "--text", VECTORS / "c-aarch64" / "expected.eif")
    assert r.code == 0, r
    t = r.out.decode()
    assert "arch:      aarch64" in t
    assert "metadata" in t and "ramdisk" in t and "offset" in t
    assert "PCR0:" in t and "signature: none" in t


def test_describe_custom_metadata_not_an_object(tmp_path):
    m = tmp_path / "m.json"
    m.write_text('["a", 1]')
    out = tmp_path / "o.eif"
    r = run("assemble", "--no-kernel-check", "--kernel", VECTORS / "a-one-ramdisk" / "kernel",
            "--cmdline", "x", "--ramdisk", VECTORS / "a-one-ramdisk" / "ramdisk0",
            "--metadata", m, "-o", out)
    assert r.code == 0, r
    d = json.loads(run("describe", out).out)
    assert d["Metadata"]["CustomMetadata"] == ["a", 1]


@pytest.mark.parametrize("cmd", ["assemble", "describe", "ls", "pcr", "run", "sign", "verify"])
def test_every_command_has_help(cmd):
    r = run(cmd, "--help")
    assert r.code == 0, r
    assert r.out.startswith(f"usage: eifkit {cmd}".encode())
    doc = (VECTORS.parent.parent / "docs" / f"eifkit-{cmd}.md").read_text()
    synopsis = r.out.decode().split("\n\n")[0]
    for line in synopsis.splitlines():
        assert line.strip() in doc, (cmd, line)


def test_pcr_input_matches_nitro_cli_formula(tmp_path):
    import hashlib
    f = tmp_path / "f"
    f.write_bytes(b"hello" * 100000)
    r = run("pcr", "--input", f)
    assert r.code == 0, r
    d = hashlib.sha384(f.read_bytes()).digest()
    assert json.loads(r.out) == {"PCR": hashlib.sha384(b"\0" * 48 + d).hexdigest()}


def test_text_shows_the_app(tmp_path):
    """describe --text shows what init will run: cmd, env, workdir."""
    (tmp_path / "root").mkdir()
    (tmp_path / "k").write_bytes(fake_kernel())
    (tmp_path / "init").write_bytes(b"init")
    out = tmp_path / "o.eif"
    r = run("build", "--no-app-check", "-o", out, "--kernel", tmp_path / "k", "--init",
            tmp_path / "init", "--rootfs", tmp_path / "root", "--env",
            "A=b c", "--workdir", "/srv", "--", "/bin/app", "two words",
            "esc\x1b[31m")
    assert r.code == 0, r
    t = run("describe", "--text", out)
    assert t.code == 0, t
    lines = t.out.decode().splitlines()
    i = lines.index("app (cmd, env and workdir in the ramdisks):")
    assert lines[i + 1:] == ["  argv     /bin/app", "  argv     two words",
                             "  argv     esc\\x1b[31m", "  env      A=b c",
                             "  workdir  /srv"]
