"""The Debian package (#17), as `make check-deb` built it (EIFKIT_DEB):
lintian finds no error or warning, and the package unpacked into a
scratch root (dpkg -x) works: --version, a build with the packaged init,
the man pages, bash completion, `eifkit help`. That two builds give the
same .deb bytes is checked by scripts/build-deb.sh before this runs."""
import os
import pathlib
import re
import shlex
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
VERSION = next(line.split(":=")[1].strip()
               for line in (ROOT / "Makefile").read_text().splitlines()
               if line.startswith("VERSION") and ":=" in line)
ARCHES = ["x86_64", "aarch64"]


def deb():
    p = os.environ.get("EIFKIT_DEB")
    assert p and os.path.exists(p), "EIFKIT_DEB: the .deb to test (make check-deb)"
    return pathlib.Path(p)


def sh(*args, **kw):
    return subprocess.run(list(map(str, args)), capture_output=True, text=True,
                          timeout=600, **kw)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    r = tmp_path_factory.mktemp("root")
    cp = sh("dpkg", "-x", deb(), r)
    assert cp.returncode == 0, cp
    return r


def eifkit(root, *args, env=None):
    return sh(root / "usr/bin/eifkit", *args, env={**os.environ, **(env or {})})


def test_file_name_and_control():
    arch = sh("dpkg", "--print-architecture").stdout.strip()
    assert deb().name == f"eifkit_{VERSION}_{arch}.deb"
    fields = sh("dpkg-deb", "-f", deb(), "Package", "Version", "Architecture").stdout
    assert fields.splitlines() == [f"Package: eifkit", f"Version: {VERSION}",
                                   f"Architecture: {arch}"]


def test_lintian_has_no_error_or_warning():
    cp = sh("lintian", "--fail-on", "error,warning", deb())
    tags = [line for line in cp.stdout.splitlines() if re.match(r"^[EW]: ", line)]
    assert cp.returncode == 0 and tags == [], cp.stdout + cp.stderr


def test_version(root):
    cp = eifkit(root, "--version")
    assert (cp.returncode, cp.stdout, cp.stderr) == (0, f"eifkit {VERSION}\n", "")


def test_inits_are_the_ones_make_built(root):
    """The package's inits are byte for byte mk/init.mk's (built in
    another folder): dh_strip and friends left them alone, so PCR1 is the
    same with an installed eifkit as with a built one."""
    built = os.environ.get("EIFKIT_BUILD", str(ROOT / "build"))
    for a in ARCHES:
        got = (root / f"usr/libexec/eifkit/init-{a}").read_bytes()
        assert got == pathlib.Path(built, "libexec/eifkit", f"init-{a}").read_bytes(), a
        assert os.access(root / f"usr/libexec/eifkit/init-{a}", os.X_OK)


def test_build_with_the_installed_eifkit(root, tmp_path):
    """A build with no --init takes the packaged init (found beside the
    binary), and the EIF verifies."""
    (tmp_path / "rootfs/bin").mkdir(parents=True)
    (tmp_path / "rootfs/bin/hello").write_bytes(b"#!/bin/sh\necho hi\n")
    (tmp_path / "vmlinuz").write_bytes(b"not really a kernel" * 100)
    out = tmp_path / "app.eif"
    cp = eifkit(root, "build", "-o", out, "--no-kernel-check", "--no-app-check",
                "--kernel", tmp_path / "vmlinuz",
                "--rootfs", tmp_path / "rootfs", "--", "/bin/hello")
    assert cp.returncode == 0, cp
    assert "PCR0" in cp.stdout
    listing = eifkit(root, "ls", "--json", out)
    assert listing.returncode == 0, listing
    import json
    ramdisk0 = json.loads(listing.stdout)["ramdisks"][0]["entries"]
    init = [e for e in ramdisk0 if e["name"] == "init"][0]
    assert init["size"] == (root / "usr/libexec/eifkit/init-x86_64").stat().st_size
    cp = eifkit(root, "verify", out)
    assert cp.returncode == 0, cp


def installed_commands(root):
    out = eifkit(root, "--help").stdout
    block = out.split("commands:\n", 1)[1].split("\n\n", 1)[0]
    return [line.split()[0] for line in block.splitlines()]


def test_man_pages(root):
    man1 = root / "usr/share/man/man1"
    names = sorted(p.name for p in man1.iterdir())
    want = sorted(["eifkit.1.gz"] + [f"eifkit-{c}.1.gz" for c in installed_commands(root)])
    assert names == want
    for page in names:
        cp = sh("man", "--warnings", "-l", man1 / page,
                env={**os.environ, "MANWIDTH": "80", "MANPAGER": "cat",
                     "LC_ALL": "C.UTF-8"})
        assert cp.returncode == 0 and cp.stderr == "", (page, cp.stderr)
        title = page.split(".")[0].upper()
        assert cp.stdout.split()[0] == f"{title}(1)"
        assert "NAME" in cp.stdout and f"eifkit {VERSION}" in cp.stdout


def test_help_opens_the_page(root):
    env = {"MANPATH": str(root / "usr/share/man"), "MANPAGER": "cat",
           "PAGER": "cat", "MANWIDTH": "80"}
    cp = eifkit(root, "help", "ls", env=env)
    assert cp.returncode == 0, cp
    assert cp.stdout.split()[0] == "EIFKIT-LS(1)"


def test_bash_completion(root):
    script = root / "usr/share/bash-completion/completions/eifkit"
    q = shlex.quote(str(script))
    cp = sh("bash", "--norc", "--noprofile", "-c",
            f"source {q} && complete -p eifkit && "
            "COMP_WORDS=(eifkit build --ar) COMP_CWORD=2 && _eifkit && "
            "echo \"${COMPREPLY[*]}\"")
    assert cp.returncode == 0 and cp.stderr == "", cp
    assert cp.stdout == "complete -F _eifkit eifkit\n--arch\n"


def test_bash_completion_loads_on_demand(root):
    """bash-completion finds it by the command's name, as it would in
    /usr/share/bash-completion/completions once installed."""
    loader = "/usr/share/bash-completion/bash_completion"
    assert os.path.exists(loader), "bash-completion is in scripts/deps/check-deb.list"
    data = root / "usr/share"
    cp = sh("bash", "--norc", "--noprofile", "-c",
            f"source {loader} && __load_completion eifkit && complete -p eifkit",
            env={**os.environ, "XDG_DATA_DIRS": str(data)})
    assert cp.stdout == "complete -F _eifkit eifkit\n", cp
