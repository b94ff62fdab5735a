"""assemble --signing-*, sign and verify: EIFs eifkit signs verify, carry
the reference's PCR8, and tampering is caught."""
import json
import shutil

import pytest

from conftest import run, vector_dirs, VECTORS

SIGNED = vector_dirs(signed=True)
A = VECTORS / "a-one-ramdisk"


def expected(d):
    return json.loads((d / "expected.measurements.json").read_text())


@pytest.mark.parametrize("d", SIGNED, ids=lambda d: d.name)
def test_assemble_signed_verifies_with_reference_pcr8(d, tmp_path):
    out = tmp_path / "s.eif"
    r = run("assemble", "--no-kernel-check", "--kernel", d / "kernel", "--cmdline",
            "console=ttyS0 reboot=k", "--ramdisk", d / "ramdisk0",
            "--name", "test", "--signing-certificate", d / "cert.pem",
            "--private-key", d / "key.pem", "-o", out)
    assert r.code == 0, r
    assert json.loads(r.out)["Measurements"] == expected(d)
    v = run("verify", out, "--signing-certificate", d / "cert.pem")
    assert v.code == 0, v
    desc = json.loads(run("describe", out).out)
    assert desc["IsSigned"] is True and desc["SignatureCheck"] is True
    ref = json.loads((d / "expected.describe.json").read_text())
    assert desc["SigningCertificate"] == ref["SigningCertificate"]


@pytest.mark.parametrize("d", SIGNED, ids=lambda d: d.name)
def test_sign_command(d, tmp_path):
    out = tmp_path / "signed.eif"
    r = run("sign", A / "expected.eif", "--signing-certificate",
            d / "cert.pem", "--private-key", d / "key.pem", "-o", out)
    assert r.code == 0, r
    assert json.loads(r.out)["Measurements"] == expected(d)
    v = run("verify", out)
    assert v.code == 0, v
    # the unsigned sections are carried over unchanged, signature last
    src = (A / "expected.eif").read_bytes()
    assert out.read_bytes()[548:len(src)] == src[548:]


def test_sign_refuses_signed_input_without_force(tmp_path):
    d = SIGNED[0]
    out = tmp_path / "again.eif"
    r = run("sign", d / "expected.eif", "--signing-certificate",
            d / "cert.pem", "--private-key", d / "key.pem", "-o", out)
    assert r.code == 1
    assert b"already signed" in r.err and b"--force" in r.err
    assert not out.exists()
    other = SIGNED[1]
    r = run("sign", d / "expected.eif", "--signing-certificate",
            other / "cert.pem", "--private-key", other / "key.pem",
            "-o", out, "--force")
    assert r.code == 0, r
    assert json.loads(r.out)["Measurements"]["PCR8"] == expected(other)["PCR8"]
    assert run("verify", out, "--signing-certificate", other / "cert.pem").code == 0
    assert run("verify", out, "--signing-certificate", d / "cert.pem").code == 1


def test_sign_in_place(tmp_path):
    d = SIGNED[1]
    f = tmp_path / "x.eif"
    shutil.copy(A / "expected.eif", f)
    r = run("sign", f, "--signing-certificate", d / "cert.pem",
            "--private-key", d / "key.pem", "-o", f)
    assert r.code == 0, r
    assert run("verify", f).code == 0


def test_key_not_matching_certificate_is_an_error(tmp_path):
    c, k = SIGNED[0] / "cert.pem", SIGNED[1] / "key.pem"
    out = tmp_path / "o.eif"
    r = run("assemble", "--no-kernel-check", "--kernel", A / "kernel", "--cmdline", "x",
            "--ramdisk", A / "ramdisk0", "--signing-certificate", c,
            "--private-key", k, "-o", out)
    assert r.code == 1, r
    assert r.err.count(b"\n") == 1 and b"eifkit assemble:" in r.err
    assert str(k).encode() in r.err
    assert not out.exists()


def test_unreadable_key_is_an_error_not_an_unsigned_file(tmp_path):
    out = tmp_path / "o.eif"
    r = run("assemble", "--no-kernel-check", "--kernel", A / "kernel", "--cmdline", "x",
            "--ramdisk", A / "ramdisk0", "--signing-certificate",
            SIGNED[0] / "cert.pem", "--private-key", tmp_path / "nope.pem",
            "-o", out)
    assert r.code == 1, r
    assert b"nope.pem" in r.err
    assert not out.exists()


def flip(path, offset):
    b = bytearray(path.read_bytes())
    b[offset] ^= 0x01
    path.write_bytes(bytes(b))


def test_tampered_signature_fails_verify(tmp_path):
    d = SIGNED[1]
    f = tmp_path / "t.eif"
    shutil.copy(d / "expected.eif", f)
    f.chmod(0o644)
    # last byte of the file is in the COSE signature's s value
    flip(f, f.stat().st_size - 1)
    r = run("verify", f)
    assert r.code == 1
    out = r.out.decode()
    assert "crc          FAILED" in out
    assert "signature    FAILED" in out


def test_tampered_ramdisk_fails_pcr_and_signature(tmp_path):
    d = SIGNED[2]
    f = tmp_path / "t.eif"
    shutil.copy(d / "expected.eif", f)
    f.chmod(0o644)
    pcrs = tmp_path / "p.json"
    pcrs.write_text((d / "expected.measurements.json").read_text())
    flip(f, 548 + 12 + 1000 + 12 + 5)  # inside the cmdline
    r = run("verify", f, "--pcrs", pcrs)
    assert r.code == 1
    out = r.out.decode()
    assert "signature    FAILED valid, but it signs another PCR0" in out
    assert "PCR0 is" in out and "PCR8 matches" in out


def test_verify_unsigned_with_certificate_fails(tmp_path):
    r = run("verify", A / "expected.eif", "--signing-certificate",
            SIGNED[0] / "cert.pem")
    assert r.code == 1
    assert b"not signed" in r.out


def test_non_ec_keys_are_refused(tmp_path):
    import subprocess
    key, cert = tmp_path / "rsa.key", tmp_path / "rsa.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", key, "-out", cert, "-subj", "/CN=rsa",
                    "-days", "1"], check=True, capture_output=True)
    out = tmp_path / "o.eif"
    r = run("sign", A / "expected.eif", "--signing-certificate", cert,
            "--private-key", key, "-o", out)
    assert r.code == 1
    assert b"unsupported key type" in r.err
    assert not out.exists()
