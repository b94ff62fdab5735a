"""AWS's golden vectors: assemble reproduces the reference builder's bytes,
describe prints what nitro-cli describe-eif prints, signed ones verify."""
import json

import pytest

from conftest import run, vector_dirs, vector_args

UNSIGNED = vector_dirs(signed=False)
SIGNED = vector_dirs(signed=True)


def reference_equivalent_args(d):
    """eif_build's arguments plus what makes eifkit's defaults equal to
    eif_build's: its tool name and version (eifkit's are its own), and
    --version equal to --name (eif_build's bug fills ImageVersion from
    --name)."""
    args = vector_args(d)
    name = args[args.index("--name") + 1]
    extra = ["--version", name]
    if "--build-tool" not in args:
        extra += ["--build-tool", "eif_build"]
    if "--build-tool-version" not in args:
        extra += ["--build-tool-version", "0.3.1"]
    return args + extra


@pytest.mark.parametrize("d", UNSIGNED, ids=lambda d: d.name)
def test_assemble_is_byte_identical(d, tmp_path):
    out = tmp_path / "out.eif"
    r = run("assemble", "--no-kernel-check", *reference_equivalent_args(d), "--output", out, cwd=d)
    assert r.code == 0, r
    assert out.read_bytes() == (d / "expected.eif").read_bytes()
    got = json.loads(r.out)
    assert got == {"Measurements": json.loads(
        (d / "expected.measurements.json").read_text())}


@pytest.mark.parametrize("d", UNSIGNED + SIGNED, ids=lambda d: d.name)
def test_describe_matches_nitro_cli(d):
    r = run("describe", d / "expected.eif")
    assert r.code == 0, r
    assert r.out.decode() == (d / "expected.describe.json").read_text()


@pytest.mark.parametrize("d", UNSIGNED + SIGNED, ids=lambda d: d.name)
def test_pcr_of_vector(d):
    r = run("pcr", d / "expected.eif")
    assert r.code == 0, r
    assert json.loads(r.out) == json.loads(
        (d / "expected.measurements.json").read_text())


@pytest.mark.parametrize("d", SIGNED, ids=lambda d: d.name)
def test_signed_vector_verifies(d, tmp_path):
    pcrs = tmp_path / "pcrs.json"
    pcrs.write_text((d / "expected.measurements.json").read_text())
    r = run("verify", d / "expected.eif", "--pcrs", pcrs,
            "--signing-certificate", d / "cert.pem")
    assert r.code == 0, r
    lines = r.out.decode().splitlines()
    assert any(l.startswith("signature") and " ok " in l for l in lines), r
    assert sum(1 for l in lines if l.startswith("pcrs")) == 4


@pytest.mark.parametrize("d", SIGNED, ids=lambda d: d.name)
def test_pcr8_of_certificate(d):
    r = run("pcr", "--signing-certificate", d / "cert.pem")
    assert r.code == 0, r
    want = json.loads((d / "expected.measurements.json").read_text())["PCR8"]
    assert json.loads(r.out) == {"PCR8": want}
