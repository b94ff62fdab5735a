"""Man pages and `eifkit help` (#17): every command has its page,
generated from docs/ (scripts/md2man.sh), and `eifkit help COMMAND`
shows it where man has it, else the command's --help."""
import os
import shutil
import subprocess

import pytest

from conftest import ROOT, eifkit_path, run

DOCS = ROOT / "docs"
MAKEFILE_VERSION = next(
    line.split(":=")[1].strip()
    for line in (ROOT / "Makefile").read_text().splitlines()
    if line.startswith("VERSION") and ":=" in line)


def commands():
    out = run("--help").out.decode()
    block = out.split("commands:\n", 1)[1].split("\n\n", 1)[0]
    return {line.split()[0]: line.split(None, 1)[1] for line in block.splitlines()}


def test_every_command_has_a_page_and_every_page_a_command():
    pages = {p.name[len("eifkit-"):-3] for p in DOCS.glob("eifkit-*.md")}
    assert pages == set(commands())
    assert (DOCS / "eifkit.md").exists()


@pytest.fixture(scope="module")
def manroot(tmp_path_factory):
    """The pages as `make man` makes them, in a MANPATH of their own."""
    root = tmp_path_factory.mktemp("man")
    (root / "man1").mkdir()
    for src in [DOCS / "eifkit.md", *sorted(DOCS.glob("eifkit-*.md"))]:
        out = root / "man1" / (src.stem + ".1")
        cp = subprocess.run(["sh", "scripts/md2man.sh", eifkit_path(),
                             MAKEFILE_VERSION, str(src), str(out)],
                            cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "SOURCE_DATE_EPOCH": "1764633600"})
        assert cp.returncode == 0 and cp.stderr == "", cp
    return root


def render(page, width=80):
    cp = subprocess.run(["man", "--warnings", "-l", str(page)],
                        capture_output=True, text=True,
                        env={**os.environ, "MANWIDTH": str(width), "MANPAGER": "cat",
                             "PAGER": "cat", "LC_ALL": "C.UTF-8"})
    assert cp.returncode == 0 and cp.stderr == "", (page, cp.stderr)
    # groff's typographic apostrophe and hyphen, back to ASCII
    return cp.stdout.replace("\u2019", "'").replace("\u2010", "-")


def test_pages_render_without_warnings(manroot):
    cmds = commands()
    for name, summary in cmds.items():
        render(manroot / "man1" / f"eifkit-{name}.1")  # fits 80 columns
        text = render(manroot / "man1" / f"eifkit-{name}.1", width=250)
        head = text.splitlines()[0].split()
        assert head[0] == head[-1] == f"EIFKIT-{name.upper()}(1)"
        # NAME: the command table's summary, once
        assert f"eifkit-{name} - " in " ".join(text.split())
        assert " ".join(summary.split()) in " ".join(text.split())
        assert "SYNOPSIS" in text and "SEE ALSO" in text
        assert f"eifkit {MAKEFILE_VERSION}" in text.splitlines()[-1]
        assert "December 2025" in text.splitlines()[-1]
    render(manroot / "man1" / "eifkit.1")
    overview = render(manroot / "man1" / "eifkit.1", width=250)
    for name, summary in cmds.items():
        assert f"{name}: {summary}; see eifkit-{name}(1)." in overview


def test_pages_are_reproducible(manroot, tmp_path):
    src = DOCS / "eifkit-verify.md"
    out = tmp_path / "v.1"
    subprocess.run(["sh", "scripts/md2man.sh", eifkit_path(), MAKEFILE_VERSION,
                    str(src), str(out)], cwd=ROOT, check=True,
                   env={**os.environ, "SOURCE_DATE_EPOCH": "1764633600",
                        "TZ": "Pacific/Kiritimati", "LC_ALL": "C.UTF-8"})
    assert out.read_bytes() == (manroot / "man1" / "eifkit-verify.1").read_bytes()


def help_env(path, manpath=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAN")}
    env.update({"PATH": path, "PAGER": "cat", "MANPAGER": "cat",
                "MANWIDTH": "80", "LC_ALL": "C.UTF-8"})
    if manpath:
        env["MANPATH"] = str(manpath)
    return env


def test_help_shows_the_page(manroot):
    r = run("help", "verify", env=help_env(os.environ["PATH"], manroot))
    assert r.code == 0, r
    out = r.out.decode()
    assert out.splitlines()[0].split()[0] == "EIFKIT-VERIFY(1)"
    assert "JSON" in out


def test_help_without_man_prints_help(tmp_path):
    """No man on PATH (an empty folder), or man without the page: the
    command's own --help."""
    want = run("verify", "--help")
    r = run("help", "verify", env=help_env(str(tmp_path)))
    assert (r.code, r.out, r.err) == (0, want.out, b"")
    empty = tmp_path / "empty-manpath"
    (empty / "man1").mkdir(parents=True)
    r = run("help", "verify", env=help_env(os.environ["PATH"], empty))
    assert (r.code, r.out, r.err) == (0, want.out, b"")


def test_help_usage():
    r = run("help", "nosuch")
    assert r.code == 2 and r.out == b""
    assert r.err.startswith(b"eifkit help: 'nosuch' is not a command\n")
    r = run("help")
    assert r.code == 0 and r.out.startswith(b"usage: eifkit <command>")
    assert b"'eifkit help <command>'" in r.out


def test_man_is_needed():
    assert shutil.which("man"), "man-db is in scripts/deps/check-deb.list"
