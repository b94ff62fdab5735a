"""What every command that writes a file does with the output path.

## folder output

`-o` (and `--pcrs`) naming an existing folder is refused before any work,
with the path and the reason on one line: nothing on stdout, nothing
written into the folder or into TMPDIR, and for sign the input left as
it was."""
import hashlib

import pytest

from conftest import VECTORS, run

A = VECTORS / "a-one-ramdisk"
S = VECTORS / "f-signed-p384"


def rootfs(tmp_path):
    r = tmp_path / "rootfs"
    (r / "bin").mkdir(parents=True)
    (r / "bin" / "app").write_bytes(b"app")
    return r


COMMANDS = {
    "build": lambda t, out: ["build", "-o", out, "--kernel", A / "kernel",
                             "--init", A / "kernel", "--rootfs", rootfs(t),
                             "--entrypoint", "/bin/app"],
    "assemble": lambda t, out: ["assemble", "-o", out, "--kernel", A / "kernel",
                                "--cmdline", "x", "--ramdisk", A / "ramdisk0"],
    "sign": lambda t, out: ["sign", A / "expected.eif", "-o", out,
                            "--signing-certificate", S / "cert.pem",
                            "--private-key", S / "key.pem"],
    "ramdisk": lambda t, out: ["ramdisk", "--layout", "plain", "-o", out,
                               "--rootfs", rootfs(t)],
}


@pytest.mark.parametrize("cmd", sorted(COMMANDS))
def test_folder_output_is_refused_first(tmp_path, cmd):
    out = tmp_path / "out.eif"
    out.mkdir()
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    before = hashlib.sha256((A / "expected.eif").read_bytes()).hexdigest()
    r = run(*COMMANDS[cmd](tmp_path, out), env={"TMPDIR": str(tmpdir)})
    assert r.code == 1, r
    assert r.err.decode() == f"eifkit {cmd}: '{out}': is a directory\n", r
    assert r.out == b""
    assert list(out.iterdir()) == [] and list(tmpdir.iterdir()) == []
    assert hashlib.sha256((A / "expected.eif").read_bytes()).hexdigest() == before


@pytest.mark.parametrize("cmd", ["build", "assemble"])
def test_folder_pcrs_is_refused_first(tmp_path, cmd):
    pcrs = tmp_path / "pcrs.json"
    pcrs.mkdir()
    out = tmp_path / "o.eif"
    r = run(*COMMANDS[cmd](tmp_path, out), "--pcrs", pcrs)
    assert r.code == 1, r
    assert r.err.decode() == f"eifkit {cmd}: '{pcrs}': is a directory\n", r
    assert r.out == b"" and not out.exists()
