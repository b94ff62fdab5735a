"""assemble: random round trips against an independent reference, and
every bad input with its message, exit status and no output left."""
import json
import os
import pathlib
import random

import pytest

import eifref
from conftest import run, VECTORS

A = VECTORS / "a-one-ramdisk"


def random_custom(rng, depth=0):
    kind = rng.choice(["int", "str", "bool", "null", "list", "obj"]
                      if depth < 3 else ["int", "str", "bool", "null"])
    if kind == "int":
        return rng.choice([0, 1, -5, 2**63 - 1, -2**63, 2**64 - 1,
                           rng.randrange(-10**6, 10**6)])
    if kind == "str":
        alphabet = "abcz\u00e9\u2603\U0001F600\"\\/\n\t\x01\x1f\x7f "
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(8)))
    if kind == "bool":
        return rng.choice([True, False])
    if kind == "null":
        return None
    if kind == "list":
        return [random_custom(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {"".join(rng.choice("abZ\u00e9_") for _ in range(rng.randrange(1, 5))):
            random_custom(rng, depth + 1) for _ in range(rng.randrange(4))}


@pytest.mark.parametrize("seed", range(12))
def test_random_round_trip(seed, tmp_path):
    rng = random.Random(seed)
    kernel = rng.randbytes(rng.choice([0, 1, 4095, 4096, 300001]))
    cmdline = "".join(rng.choice("abc =./") for _ in range(rng.randrange(60)))
    ramdisks = [rng.randbytes(rng.choice([0, 3, 512, 262144, 262145, 700000]))
                for _ in range(rng.randrange(1, 6))]
    arm64 = rng.random() < 0.5
    custom = random_custom(rng)
    args = ["assemble", "--no-kernel-check", "--kernel", tmp_path / "k", "--cmdline", cmdline,
            "--name", f"img{seed}", "--version", f"v{seed}",
            "--arch", "aarch64" if arm64 else "x86_64",
            "--metadata", tmp_path / "m.json", "-o", tmp_path / "o.eif",
            "--pcrs", tmp_path / "p.json"]
    (tmp_path / "k").write_bytes(kernel)
    (tmp_path / "m.json").write_text(json.dumps(custom, indent=rng.randrange(3)))
    for i, r in enumerate(ramdisks):
        (tmp_path / f"r{i}").write_bytes(r)
        args += ["--ramdisk", tmp_path / f"r{i}"]
    r = run(*args, env={"SOURCE_DATE_EPOCH": str(seed * 86400 * 400)})
    assert r.code == 0, r
    from datetime import datetime, timezone
    t = datetime.fromtimestamp(seed * 86400 * 400, timezone.utc)
    meta = eifref.metadata(f"img{seed}", f"v{seed}",
                           t.strftime("%Y-%m-%dT%H:%M:%S+00:00"), "eifkit",
                           "0.1.0", "OS", "kernel", custom)
    want = eifref.build(kernel, cmdline.encode(), meta, ramdisks, arm64)
    got = (tmp_path / "o.eif").read_bytes()
    assert got == want
    want_pcrs = eifref.pcrs(kernel, cmdline.encode(), ramdisks)
    assert json.loads(r.out) == {"Measurements": want_pcrs}
    assert json.loads((tmp_path / "p.json").read_text()) == want_pcrs
    d = run("describe", tmp_path / "o.eif")
    assert d.code == 0, d
    desc = json.loads(d.out)
    assert desc["Measurements"] == want_pcrs and desc["CheckCRC"] is True
    assert desc["ImageName"] == f"img{seed}" and desc["ImageVersion"] == f"v{seed}"
    if isinstance(custom, dict):
        for k, v in custom.items():
            assert desc["Metadata"][k] == v
    v = run("verify", tmp_path / "o.eif", "--pcrs", tmp_path / "p.json")
    assert v.code == 0, v
    t = run("describe", "--text", tmp_path / "o.eif")
    assert t.code == 0 and (b"aarch64" if arm64 else b"x86_64") in t.out


def test_defaults_are_reproducible(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    outs = []
    for i in range(2):
        out = tmp_path / f"o{i}.eif"
        r = run("assemble", "--no-kernel-check", "--kernel", A / "kernel", "--cmdline", "x",
                "--ramdisk", A / "ramdisk0", "-o", out, env=env)
        assert r.code == 0, r
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    desc = json.loads(run("describe", tmp_path / "o0.eif").out)
    assert desc["Metadata"]["BuildTime"] == "1970-01-01T00:00:00+00:00"
    assert desc["Metadata"]["BuildTool"] == "eifkit"
    assert desc["ImageName"] == "kernel" and desc["ImageVersion"] == "1.0"


def test_kernel_config_and_explicit_flags(tmp_path):
    cfg = tmp_path / "k.config"
    cfg.write_text("#\n# Automatically generated file; DO NOT EDIT.\n"
                   "# Linux/x86_64 6.1.0-28-amd64 Kernel Configuration\n")
    out = tmp_path / "o.eif"
    r = run("assemble", "--no-kernel-check", "--kernel", A / "kernel", "--cmdline", "x",
            "--ramdisk", A / "ramdisk0", "-o", out, "--kernel_config", cfg)
    assert r.code == 0, r
    m = json.loads(run("describe", out).out)["Metadata"]
    assert (m["OperatingSystem"], m["KernelVersion"]) == ("Linux", "6.1.0")
    r = run("assemble", "--no-kernel-check", "--kernel", A / "kernel", "--cmdline", "x",
            "--ramdisk", A / "ramdisk0", "-o", out, "--kernel-config", cfg,
            "--img-kernel", "mine")
    m = json.loads(run("describe", out).out)["Metadata"]
    assert (m["OperatingSystem"], m["KernelVersion"]) == ("Linux", "mine")


def test_cmdline_file_is_trimmed(tmp_path):
    (tmp_path / "c").write_bytes(b"  console=ttyS0 reboot=k\n")
    out = tmp_path / "o.eif"
    r = run("assemble", "--no-kernel-check", "--kernel", A / "kernel", "--cmdline-file",
            tmp_path / "c", "--ramdisk", A / "ramdisk0", "-o", out,
            "--name", "test", "--version", "test", "--build-time",
            "2024-01-01T00:00:00+00:00", "--build-tool", "eif_build",
            "--build-tool-version", "0.3.1")
    assert r.code == 0, r
    assert out.read_bytes() == (A / "expected.eif").read_bytes()


def ok_args(tmp_path):
    return ["--kernel", A / "kernel", "--cmdline", "x", "--ramdisk",
            A / "ramdisk0"]


def assert_fails(r, out_dir, *needles, code=1):
    assert r.code == code, r
    err = r.err.decode()
    assert err.startswith("eifkit assemble: "), err
    if code == 1:
        assert err.count("\n") == 1, err
    for n in needles:
        assert str(n) in err, (n, err)
    leftovers = [p.name for p in out_dir.iterdir() if p.name.startswith(".")
                 or p.suffix == ".eif"]
    assert leftovers == [], leftovers


def test_missing_kernel(tmp_path):
    r = run("assemble", "--no-kernel-check", "--kernel", tmp_path / "nokernel", "--cmdline", "x",
            "--ramdisk", A / "ramdisk0", "-o", tmp_path / "o.eif")
    assert_fails(r, tmp_path, tmp_path / "nokernel", "No such file")


def test_missing_ramdisk(tmp_path):
    r = run("assemble", "--no-kernel-check", *ok_args(tmp_path), "--ramdisk", tmp_path / "nord",
            "-o", tmp_path / "o.eif")
    assert_fails(r, tmp_path, tmp_path / "nord", "No such file")


def test_unreadable_input():
    import subprocess
    import tempfile
    from conftest import eifkit_path
    with tempfile.TemporaryDirectory() as d:
        d = pathlib.Path(d)
        d.chmod(0o777)
        f = d / "secret"
        f.write_bytes(b"x")
        f.chmod(0)
        cmd = [eifkit_path(), "assemble", "--no-kernel-check", *ok_args(d), "--ramdisk", f,
               "-o", d / "o.eif"]
        if os.geteuid() == 0:  # root reads anything: run as nobody
            cmd = ["setpriv", "--reuid=65534", "--regid=65534",
                   "--clear-groups", *cmd]
        cp = subprocess.run(cmd, capture_output=True)
        assert cp.returncode == 1, cp
        assert cp.stderr.decode() == f"eifkit assemble: '{f}': Permission denied\n"
        assert not (d / "o.eif").exists()


def test_directory_as_input(tmp_path):
    (tmp_path / "d").mkdir()
    r = run("assemble", "--no-kernel-check", *ok_args(tmp_path), "--ramdisk", tmp_path / "d",
            "-o", tmp_path / "o.eif")
    assert r.code == 1 and b"is a directory" in r.err


def test_too_many_sections(tmp_path):
    args = ["--kernel", A / "kernel", "--cmdline", "x"]
    for _ in range(30):  # 3 + 30 = 33 sections
        args += ["--ramdisk", A / "ramdisk0"]
    r = run("assemble", "--no-kernel-check", *args, "-o", tmp_path / "o.eif")
    assert_fails(r, tmp_path, "33 sections", "at most 32")


def test_29_ramdisks_fit_but_not_when_signed(tmp_path):
    args = ["--kernel", A / "kernel", "--cmdline", "x"]
    for _ in range(29):
        args += ["--ramdisk", A / "ramdisk0"]
    r = run("assemble", "--no-kernel-check", *args, "-o", tmp_path / "o.eif")
    assert r.code == 0, r
    s = VECTORS / "f-signed-p384"
    r = run("assemble", "--no-kernel-check", *args, "-o", tmp_path / "s.eif",
            "--signing-certificate", s / "cert.pem", "--private-key",
            s / "key.pem")
    assert r.code == 1 and b"33 sections" in r.err
    assert not (tmp_path / "s.eif").exists()


def test_nul_in_cmdline(tmp_path):
    (tmp_path / "c").write_bytes(b"console=ttyS0\0evil")
    r = run("assemble", "--no-kernel-check", "--kernel", A / "kernel", "--cmdline-file",
            tmp_path / "c", "--ramdisk", A / "ramdisk0", "-o",
            tmp_path / "o.eif")
    assert_fails(r, tmp_path, tmp_path / "c", "NUL")


def test_metadata_not_json(tmp_path):
    m = tmp_path / "m.json"
    m.write_text('{"a": 1,}')
    r = run("assemble", "--no-kernel-check", *ok_args(tmp_path), "--metadata", m, "-o",
            tmp_path / "o.eif")
    assert_fails(r, tmp_path, m, "not JSON", "line 1 column")


def test_metadata_too_large(tmp_path):
    m = tmp_path / "m.json"
    m.write_text('"' + "x" * 4095 + '"')
    r = run("assemble", "--no-kernel-check", *ok_args(tmp_path), "--metadata", m, "-o",
            tmp_path / "o.eif")
    assert_fails(r, tmp_path, m, "4096")
    m.write_text('"' + "x" * 4094 + '"')  # exactly 4096 bytes is fine
    r = run("assemble", "--no-kernel-check", *ok_args(tmp_path), "--metadata", m, "-o",
            tmp_path / "o.eif")
    assert r.code == 0, r


def test_unknown_arch(tmp_path):
    r = run("assemble", "--no-kernel-check", *ok_args(tmp_path), "--arch", "riscv64", "-o",
            tmp_path / "o.eif")
    assert_fails(r, tmp_path, "riscv64", "unknown architecture", code=2)


def test_output_folder_missing(tmp_path):
    r = run("assemble", "--no-kernel-check", *ok_args(tmp_path), "-o", tmp_path / "no" / "o.eif")
    assert_fails(r, tmp_path, tmp_path / "no", "does not exist")


def test_bad_build_time(tmp_path):
    r = run("assemble", "--no-kernel-check", *ok_args(tmp_path), "--build-time", "yesterday",
            "-o", tmp_path / "o.eif")
    assert_fails(r, tmp_path, "yesterday", "RFC 3339")


def test_bad_source_date_epoch(tmp_path):
    r = run("assemble", "--no-kernel-check", *ok_args(tmp_path), "-o", tmp_path / "o.eif",
            env={"SOURCE_DATE_EPOCH": "12ab"})
    assert_fails(r, tmp_path, "SOURCE_DATE_EPOCH")


def test_failed_build_keeps_previous_output(tmp_path):
    out = tmp_path / "o.eif"
    out.write_bytes(b"old")
    r = run("assemble", "--no-kernel-check", *ok_args(tmp_path), "--ramdisk", tmp_path / "nope",
            "-o", out)
    assert r.code == 1
    assert out.read_bytes() == b"old"


@pytest.mark.parametrize("args", [
    [], ["--kernel", "k"], ["--cmdline", "x", "--ramdisk", "r", "-o", "o"],
    ["--kernel", "k", "--ramdisk", "r", "-o", "o"],
    ["--bogus"],
])
def test_usage_errors_exit_2(args, tmp_path):
    r = run("assemble", "--no-kernel-check", *args, cwd=tmp_path)
    assert r.code == 2, r
    assert r.err.startswith(b"eifkit assemble: ")
    assert b"usage: eifkit assemble" in r.err


def test_ramdisk_from_a_pipe(tmp_path):
    data = (A / "ramdisk0").read_bytes()
    out = tmp_path / "o.eif"
    r = run("assemble", "--no-kernel-check", "--kernel", A / "kernel", "--cmdline",
            "console=ttyS0 reboot=k", "--ramdisk", "/dev/stdin",
            "--name", "test", "--version", "test", "--build-time",
            "2024-01-01T00:00:00+00:00", "--build-tool", "eif_build",
            "--build-tool-version", "0.3.1", "-o", out, input=data)
    assert r.code == 0, r
    assert out.read_bytes() == (A / "expected.eif").read_bytes()
