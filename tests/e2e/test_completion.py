"""Bash completion (completion/eifkit.bash, #17): its table of commands
and options is checked against the binary, so that a command or option
added to eifkit without its completion fails here. The completion
function is run in bash as bash would run it (COMP_WORDS, COMP_CWORD)."""
import re
import shlex
import subprocess

import pytest

from conftest import ROOT, run

SCRIPT = ROOT / "completion" / "eifkit.bash"


def commands():
    out = run("--help").out.decode()
    block = out.split("commands:\n", 1)[1].split("\n\n", 1)[0]
    return [line.split()[0] for line in block.splitlines()]


def complete(*words, cwd=None):
    """What the completion offers for the last of words."""
    script = (f"source {shlex.quote(str(SCRIPT))}\n"
              f"COMP_WORDS=({' '.join(shlex.quote(w) for w in words)})\n"
              f"COMP_CWORD={len(words) - 1}\n"
              "_eifkit\n"
              "printf '%s\\n' \"${COMPREPLY[@]}\"\n")
    cp = subprocess.run(["bash", "--norc", "--noprofile", "-c", script],
                        capture_output=True, text=True, cwd=cwd, timeout=60)
    assert cp.returncode == 0 and cp.stderr == "", cp
    return sorted(x for x in cp.stdout.split("\n") if x)


OPT = re.compile(r"(?<![\w-])(--?[A-Za-z][\w-]*)")
# "--arch x86_64|aarch64": the words an option accepts
CHOICES = re.compile(r"(?<![\w-])(--?[A-Za-z][\w-]*)[ =]"
                     r"([a-z0-9_]+(?:\|[a-z0-9_]+)+)")


def probe(cmd, opt):
    """What getopt says of opt, alone: "value" (it needs one), "flag",
    or None (not an option of cmd: help text may name other commands'
    options)."""
    r = run(cmd, opt)
    err = r.err.decode()
    if f"option '{opt}' needs a value" in err:
        return "value"
    if f"unknown option '{opt}'" in err:
        return None
    return "flag"


def table(cmd):
    """The completion's options of cmd: name -> kind (None: a flag)."""
    cp = subprocess.run(["bash", "--norc", "--noprofile", "-c",
                         f"source {shlex.quote(str(SCRIPT))}; "
                         f"_eifkit_options {shlex.quote(cmd)}"],
                        capture_output=True, text=True, timeout=60)
    assert cp.returncode == 0, cp
    out = {}
    for w in cp.stdout.split():
        name, _, kind = w.partition("=")
        out[name] = kind or None
    return out


def test_commands_are_the_command_table():
    assert complete("eifkit", "") == sorted(commands() + ["help", "--help", "--version"])
    assert complete("eifkit", "help", "") == sorted(commands())
    assert complete("eifkit", "v") == ["verify"]


@pytest.mark.parametrize("cmd", commands())
def test_options_are_those_of_the_binary(cmd):
    """Every option --help names that the command accepts is in the
    table, and nothing else; those that need a value have a kind; the
    words of "--opt a|b" are the ones offered."""
    text = run(cmd, "--help").out.decode()
    tab = table(cmd)
    assert tab, f"{cmd} is not in the completion table"
    kinds = {o: probe(cmd, o) for o in set(OPT.findall(text)) | set(tab)}
    accepted = {o: k for o, k in kinds.items() if k}
    assert sorted(tab) == sorted(accepted), cmd
    for opt, kind in accepted.items():
        assert (tab[opt] is not None) == (kind == "value"), (cmd, opt, tab[opt])
    assert complete("eifkit", cmd, "-") == sorted(accepted)
    for opt, words in CHOICES.findall(text):
        if opt in accepted:
            assert complete("eifkit", cmd, opt, "") == sorted(words.split("|"))
            assert tab[opt] == words, (cmd, opt)


def test_values(tmp_path):
    (tmp_path / "kern").write_bytes(b"k")
    (tmp_path / "kdir").mkdir()
    assert complete("eifkit", "build", "--kernel", "k", cwd=tmp_path) == ["kdir", "kern"]
    assert complete("eifkit", "build", "--rootfs", "k", cwd=tmp_path) == ["kdir"]
    assert complete("eifkit", "build", "--arch", "a") == ["aarch64"]
    assert complete("eifkit", "build", "--arch", "=", "") == ["aarch64", "x86_64"]
    assert complete("eifkit", "ramdisk", "--layout", "") == ["plain", "system", "user"]
    assert complete("eifkit", "run", "--accel", "") == ["auto", "kvm", "tcg"]
    assert complete("eifkit", "build", "--name", "") == []
    # a positional argument, and the enclave command after "--": files
    assert complete("eifkit", "verify", "ke", cwd=tmp_path) == ["kern"]
    assert complete("eifkit", "build", "--", "--ar", cwd=tmp_path) == []
    assert complete("eifkit", "build", "--", "k", cwd=tmp_path) == ["kdir", "kern"]


def test_sourcing_registers_the_function():
    cp = subprocess.run(["bash", "--norc", "--noprofile", "-c",
                         f"source {shlex.quote(str(SCRIPT))}; complete -p eifkit"],
                        capture_output=True, text=True, timeout=60)
    assert cp.stdout == "complete -F _eifkit eifkit\n", cp
