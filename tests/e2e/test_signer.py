"""Signing with keys that are not files (issue 15): a PKCS#11 token
(SoftHSM2, made here in a temporary folder) and an external --signer
program (a script around `openssl pkeyutl`). Every EIF made is checked
with `eifkit verify`, against `eifkit pcr --signing-certificate` and
against PCR8 computed here from the certificate; every failure exits 1
with one line and writes nothing."""
import datetime
import hashlib
import json
import os
import pathlib
import re
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conftest import VECTORS, Result, eifkit_path, fake_kernel, run
from test_ramdisk_system import GOLDEN

A = VECTORS / "a-one-ramdisk"
CURVES = {"P-256": (ec.SECP256R1(), hashlib.sha256),
          "P-384": (ec.SECP384R1(), hashlib.sha384),
          "P-521": (ec.SECP521R1(), hashlib.sha512)}

# The signer: digest on stdin, signature on stdout. MODE picks what it
# does; it records the length of what it was given next to the key.
SIGNER = r'''#!/usr/bin/python3
import subprocess, sys
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
mode, key, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
digest = sys.stdin.buffer.read()
open(key + ".got", "w").write(str(len(digest)))
if mode == "fail":
    print("AccessDeniedException: not allowed", file=sys.stderr)
    sys.exit(1)
if mode == "empty":
    sys.exit(0)
if mode == "other":
    digest = bytes(len(digest))
der = subprocess.run(["openssl", "pkeyutl", "-sign", "-inkey", key],
                     input=digest, capture_output=True, check=True).stdout
if mode == "raw":
    r, s = decode_dss_signature(der)
    der = r.to_bytes(n, "big") + s.to_bytes(n, "big")
sys.stdout.buffer.write(der)
'''


def make_cert(pub, path):
    """A certificate for pub, issued by a throwaway CA key: the token's key
    never leaves the token, and nothing needs the certificate to be
    self-signed."""
    ca = ec.generate_private_key(ec.SECP384R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "eifkit test")])
    t = datetime.datetime(2026, 1, 1)
    c = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
         .public_key(pub).serial_number(7).not_valid_before(t)
         .not_valid_after(t + datetime.timedelta(days=3650))
         .sign(ca, hashes.SHA384()))
    path.write_bytes(c.public_bytes(serialization.Encoding.PEM))
    return path


def pcr8_of(cert):
    der = x509.load_pem_x509_certificate(cert.read_bytes()).public_bytes(
        serialization.Encoding.DER)
    return hashlib.sha384(bytes(48) + hashlib.sha384(der).digest()).hexdigest()


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    """PEM keys and certificates on the three curves."""
    d = tmp_path_factory.mktemp("keys")
    out = {}
    for name, (curve, _) in CURVES.items():
        k = ec.generate_private_key(curve)
        kp = d / f"{name}.key"
        kp.write_bytes(k.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
        out[name] = (kp, make_cert(k.public_key(), d / f"{name}.pem"))
    signer = d / "signer.py"
    signer.write_text(SIGNER)
    signer.chmod(0o755)
    out["signer"] = signer
    return out


def signer_cmd(keys, mode, curve, key_curve=None):
    key = keys[key_curve or curve][0]
    n = (CURVES[key_curve or curve][0].key_size + 7) // 8
    return f"{keys['signer']} {mode} {key} {n}"


def check_signed(r, out, cert):
    assert r.code == 0, r
    want = pcr8_of(cert)
    assert json.loads(r.out)["Measurements"]["PCR8"] == want
    p = run("pcr", "--signing-certificate", cert)
    assert p.code == 0 and json.loads(p.out)["PCR8"] == want
    v = run("verify", out, "--signing-certificate", cert)
    assert v.code == 0, v
    desc = json.loads(run("describe", out).out)
    assert desc["IsSigned"] is True and desc["SignatureCheck"] is True


def check_fails(r, out, cmd, *needles, code=1):
    assert r.code == code, r
    err = r.err.decode()
    assert err.startswith(f"eifkit {cmd}: "), err
    if code == 1:
        assert err.count("\n") == 1, err
    for n in needles:
        assert n in err, (n, err)
    assert not out.exists()
    left = [p.name for p in out.parent.iterdir() if p.name.startswith(".")]
    assert left == [], left


def sign(out, cert, *how, env=None):
    return run("sign", A / "expected.eif", "--signing-certificate", cert,
               *how, "-o", out, env=env)


# ---- --signer ----------------------------------------------------------------

@pytest.mark.parametrize("mode", ["der", "raw"])
@pytest.mark.parametrize("curve", list(CURVES))
def test_signer_signs(keys, curve, mode, tmp_path):
    out = tmp_path / "s.eif"
    cert = keys[curve][1]
    r = sign(out, cert, "--signer", signer_cmd(keys, mode, curve))
    check_signed(r, out, cert)
    # the signer got the Sig_structure's digest for the curve
    got = int(pathlib.Path(str(keys[curve][0]) + ".got").read_text())
    assert got == CURVES[curve][1]().digest_size


def test_signer_with_build_and_assemble(keys, tmp_path):
    cert = keys["P-384"][1]
    cmd = signer_cmd(keys, "der", "P-384")
    out = tmp_path / "a.eif"
    r = run("assemble", "--no-kernel-check", "--kernel", A / "kernel",
            "--cmdline", "console=ttyS0", "--ramdisk", A / "ramdisk0",
            "--signing-certificate", cert, "--signer", cmd,
            "--signer-timeout", "30", "-o", out)
    check_signed(r, out, cert)
    k = tmp_path / "kernel"
    k.write_bytes(fake_kernel())
    root = tmp_path / "root"
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "app").write_bytes(b"#!/bin/sh\necho app\n")
    out = tmp_path / "b.eif"
    r = run("build", "--no-app-check", "-o", out, "--kernel", k, "--init",
            GOLDEN / "init", "--rootfs", root, "--signing-certificate",
            cert, "--signer", cmd, "--", "/bin/app")
    check_signed(r, out, cert)


@pytest.mark.parametrize("mode,curve,key_curve,needles", [
    ("fail", "P-384", None,
     ["signer.py' exited with status 1: AccessDeniedException"]),
    ("empty", "P-384", None, ["returned no signature"]),
    ("other", "P-384", None, ["does not verify with the certificate's P-384"]),
    ("der", "P-384", "P-256", ["does not verify with the certificate's P-384"]),
    ("der", "P-384", "P-521", ["not an ECDSA signature on P-384"]),
    ("raw", "P-256", "P-384", ["96 bytes that are not an ECDSA signature on "
                               "P-256"]),
])
def test_signer_failures(keys, mode, curve, key_curve, needles, tmp_path):
    out = tmp_path / "s.eif"
    r = sign(out, keys[curve][1], "--signer",
             signer_cmd(keys, mode, curve, key_curve))
    check_fails(r, out, "sign", *needles)


def gone(pid):
    """Not running: reaped, or a zombie waiting for an init that does not
    reap (a container's)."""
    try:
        stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def test_signer_hang_is_killed(keys, tmp_path):
    out = tmp_path / "s.eif"
    pids = tmp_path / "pids"
    hang = tmp_path / "hang.sh"
    # sh, not Python: it starts fast, so the pids are written well before
    # the timeout even on a loaded machine
    hang.write_text(f"#!/bin/sh\nsleep 600 &\necho $$ $! > {pids}\nwait\n")
    hang.chmod(0o755)
    r = sign(out, keys["P-384"][1], "--signer", str(hang),
             "--signer-timeout", "2")
    check_fails(r, out, "sign", "did not finish in 2 s", "killed")
    child, grandchild = map(int, pids.read_text().split())
    # eifkit waited for its child: no zombie of it is left
    assert not pathlib.Path(f"/proc/{child}").exists()
    # and the group was killed, so the signer's own child is not running
    assert gone(grandchild)


def test_signer_does_not_get_eifkits_fds(keys, tmp_path):
    """The signer sees only its three pipes: not the EIF being written nor
    anything else eifkit has open or inherited."""
    script = tmp_path / "fds.py"
    seen = tmp_path / "fds.json"
    script.write_text(
        "#!/usr/bin/python3\nimport json, os, sys\nfds = {}\n"
        "for f in os.listdir('/proc/self/fd'):\n"
        "    try:\n"
        "        fds[f] = os.readlink('/proc/self/fd/' + f)\n"
        "    except OSError:\n"
        "        pass\n"
        f"open('{seen}', 'w').write(json.dumps(fds))\n"
        "os.execv(sys.argv[1], sys.argv[1:])\n")
    script.chmod(0o755)
    out = tmp_path / "s.eif"
    # a descriptor eifkit inherited open (not close-on-exec), as from a
    # careless parent: the signer must not get it either
    leak = open(tmp_path / "leaked", "w")
    try:
        cp = subprocess.run(
            [eifkit_path(), "sign", A / "expected.eif",
             "--signing-certificate", keys["P-256"][1], "--signer",
             f"{script} {signer_cmd(keys, 'der', 'P-256')}", "-o", out],
            pass_fds=[leak.fileno()], capture_output=True, timeout=600)
    finally:
        leak.close()
    check_signed(Result(cp), out, keys["P-256"][1])
    fds = json.loads(seen.read_text())
    # 0-2 are pipes; anything else is Python's own (its /proc listing)
    assert all(fds[f].startswith("pipe:") for f in "012"), fds
    others = {f: t for f, t in fds.items() if f not in "012"}
    assert all(t.startswith("/proc/") for t in others.values()), fds


def test_signer_status_seen_with_sigchld_ignored(keys, tmp_path):
    """A parent that ignores SIGCHLD passes that on to eifkit; the signer's
    exit status must still be seen. `false` exits without reading."""
    import signal
    out = tmp_path / "s.eif"
    cp = subprocess.run(
        [eifkit_path(), "sign", A / "expected.eif", "--signing-certificate",
         keys["P-256"][1], "--signer", "false", "-o", out],
        capture_output=True, timeout=600,
        preexec_fn=lambda: signal.signal(signal.SIGCHLD, signal.SIG_IGN))
    check_fails(Result(cp), out, "sign", "signer 'false' exited with status 1")


def test_pin_file_is_not_an_output(token, tmp_path):
    r = sign(token["pin"], token["certs"]["P-384"], "--private-key",
             "pkcs11:token=eifkit;object=k384", "--pin-file", token["pin"],
             env=token["env"])
    assert r.code != 0 and b"--pin-file" in r.err, r
    assert token["pin"].read_text() == "1234\n"


def test_signer_cannot_run(keys, tmp_path):
    out = tmp_path / "s.eif"
    r = sign(out, keys["P-256"][1], "--signer", str(tmp_path / "nope"))
    check_fails(r, out, "sign", "cannot run it: No such file")


@pytest.mark.parametrize("args,needle", [
    (["--signer", "sh -c 'x'"], "without a shell"),
    (["--signer", "a; b"], "without a shell"),
    (["--signer", "  "], "empty command"),
    (["--signer", "true", "--private-key", "k.pem"], "give one"),
    (["--private-key", "k.pem", "--pin-file", "p"], "--pin-file is for"),
    (["--private-key", "k.pem", "--signer-timeout", "5"], "is for --signer"),
    (["--signer", "true", "--signer-timeout", "0"], "whole seconds"),
    (["--signer", "true", "--signer-timeout", "1.5"], "whole seconds"),
])
def test_signer_usage_errors(keys, args, needle, tmp_path):
    out = tmp_path / "s.eif"
    r = sign(out, keys["P-256"][1], *args)
    check_fails(r, out, "sign", needle, code=2)


# ---- PKCS#11 (SoftHSM2) --------------------------------------------------------

def softhsm_module():
    text = pathlib.Path("/usr/share/p11-kit/modules/softhsm2.module").read_text()
    return re.search(r"^module:\s*(\S+)", text, re.M).group(1)


@pytest.fixture(scope="module")
def token(tmp_path_factory):
    """A SoftHSM2 token "eifkit" (PIN 1234) with P-256 and P-384 keys, and
    certificates for their public keys."""
    d = tmp_path_factory.mktemp("hsm")
    (d / "tokens").mkdir()
    conf = d / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {d / 'tokens'}\n"
                    "objectstore.backend = file\nlog.level = ERROR\n")
    env = dict(os.environ, SOFTHSM2_CONF=str(conf))
    mod = softhsm_module()
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label",
                    "eifkit", "--pin", "1234", "--so-pin", "5678"],
                   env=env, check=True, capture_output=True)
    certs = {}
    for curve, oid, label, kid in [("P-256", "prime256v1", "k256", "02"),
                                   ("P-384", "secp384r1", "k384", "01")]:
        p = subprocess.run(["pkcs11-tool", "--module", mod, "--token-label",
                            "eifkit", "--login", "--pin", "1234",
                            "--keypairgen", "--key-type", f"EC:{oid}",
                            "--label", label, "--id", kid],
                           env=env, check=True, capture_output=True, text=True)
        # EC_POINT is the DER OCTET STRING around the uncompressed point
        point = bytes.fromhex(re.search(r"EC_POINT:\s+([0-9a-f]+)",
                                        p.stdout).group(1))
        assert point[0] == 4
        pub = ec.EllipticCurvePublicKey.from_encoded_point(
            CURVES[curve][0], point[2:])
        certs[curve] = make_cert(pub, d / f"{label}.pem")
    pin = d / "pin"
    pin.write_text("1234\n")
    bad = d / "badpin"
    bad.write_text("4321\n")
    return {"env": {"SOFTHSM2_CONF": str(conf)}, "certs": certs, "pin": pin,
            "bad": bad, "module": mod, "dir": d}


@pytest.mark.parametrize("curve,label", [("P-256", "k256"), ("P-384", "k384")])
def test_token_signs(token, curve, label, tmp_path):
    out = tmp_path / "t.eif"
    cert = token["certs"][curve]
    r = sign(out, cert, "--private-key", f"pkcs11:token=eifkit;object={label}",
             "--pin-file", token["pin"], env=token["env"])
    check_signed(r, out, cert)


def test_token_pin_source_and_module_path(token, tmp_path):
    """The PIN from the URI's pin-source, the module named by module-path,
    the key by id."""
    out = tmp_path / "t.eif"
    cert = token["certs"]["P-384"]
    uri = (f"pkcs11:token=eifkit;id=%01;type=private?module-path="
           f"{token['module']}&pin-source=file:{token['pin']}")
    r = sign(out, cert, "--private-key", uri, env=token["env"])
    check_signed(r, out, cert)


def test_token_with_assemble(token, tmp_path):
    out = tmp_path / "t.eif"
    cert = token["certs"]["P-256"]
    r = run("assemble", "--no-kernel-check", "--kernel", A / "kernel",
            "--cmdline", "console=ttyS0", "--ramdisk", A / "ramdisk0",
            "--signing-certificate", cert, "--private-key",
            "pkcs11:token=eifkit;object=k256", "--pin-file", token["pin"],
            "-o", out, env=token["env"])
    check_signed(r, out, cert)


def test_token_failures(token, keys, tmp_path):
    out = tmp_path / "t.eif"
    c384 = token["certs"]["P-384"]
    cases = [
        (c384, "pkcs11:token=eifkit;object=k384", ["--pin-file", token["bad"]],
         ["wrong PIN"]),
        (c384, "pkcs11:token=eifkit;object=k999", ["--pin-file", token["pin"]],
         ["no private key on token 'eifkit' matches"]),
        (c384, "pkcs11:token=nothere;object=k384", ["--pin-file", token["pin"]],
         ["no PKCS#11 token matches"]),
        (c384, "pkcs11:token=eifkit", ["--pin-file", token["pin"]],
         ["several private keys"]),
        (c384, "pkcs11:token=eifkit;object=k384", [], ["needs a PIN"]),
        (c384, "pkcs11:token=eifkit;object=k384?pin-value=1234", [],
         ["pin-value would put the PIN on the command line"]),
        # the token's P-256 key with a certificate for a P-384 key
        (c384, "pkcs11:token=eifkit;object=k256", ["--pin-file", token["pin"]],
         ["not an ECDSA signature on P-384"]),
        # a P-256 key that is not the one in the P-256 certificate
        (keys["P-256"][1], "pkcs11:token=eifkit;object=k256",
         ["--pin-file", token["pin"]],
         ["does not verify with the certificate's P-256 public key"]),
    ]
    for cert, uri, extra, needles in cases:
        r = sign(out, cert, "--private-key", uri, *extra, env=token["env"])
        check_fails(r, out, "sign", *needles)
