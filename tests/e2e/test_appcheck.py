"""The app checks of build (#11): the command the init will run must be
in the image, a regular executable file after the symlinks inside the
image, an ELF for the EIF's CPU whose interpreter is there, or a #!
script whose interpreter passes the same checks; --workdir a folder.
What fails exits 1 before any output, naming the path in the image.

The executables are conftest.fake_elf headers: the checks read headers
only (the kernel's execve would find the rest)."""
import json
import os

import pytest

from conftest import fake_elf, fake_kernel, run
from test_oci_common import dir_, make_image, reg, sym
from test_ramdisk_system import GOLDEN

LD = "/lib64/ld-linux-x86-64.so.2"


@pytest.fixture
def w(tmp_path):
    (tmp_path / "kernel").write_bytes(fake_kernel())
    (tmp_path / "arm-kernel").write_bytes(fake_kernel("aarch64"))
    return tmp_path


def put(root, path, data, mode=0o755):
    p = root / path.lstrip("/")
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    os.chmod(p, mode)


def good_root(w, name="rootfs", arch="x86_64"):
    """bin/app (dynamic, with its loader), bin/sh, a script, symlinks."""
    root = w / name
    ld = LD if arch == "x86_64" else "/lib/ld-linux-aarch64.so.1"
    put(root, "bin/app", fake_elf(arch, interp=ld))
    put(root, ld, fake_elf(arch))
    put(root, "bin/sh", fake_elf(arch))
    put(root, "usr/local/bin/tool", b"#!/bin/sh\necho tool\n")
    put(root, "srv/data", b"x", 0o644)
    os.symlink("../../bin/app", root / "usr/local/app-link")
    os.symlink("/usr/local", root / "opt")
    return root


def build(w, *args, arch="x86_64", root=None):
    out = w / "o.eif"
    k = w / ("arm-kernel" if arch == "aarch64" else "kernel")
    src = ["--rootfs", root] if root else []
    r = run("build", "--kernel", k, "--init", GOLDEN / "init", "--arch", arch,
            *src, "-o", out, *args)
    return r, out


def refused(r, out, *needles):
    assert r.code == 1, r
    err = r.err.decode()
    assert err.startswith("eifkit build: '") and err.count("\n") == 1, err
    for n in needles:
        assert n in err, (n, err)
    assert r.out == b"" and not out.exists()
    assert [p for p in os.listdir(out.parent) if p.startswith(".")] == []


@pytest.mark.parametrize("cmd", [
    ["--", "/bin/app"], ["--", "app"], ["--", "sh", "-c", "x"],
    ["--", "/opt/app-link"], ["--entrypoint", "/usr/local/bin/tool"],
    ["--env", "PATH=/usr/local/bin", "--", "tool"],
    ["--workdir", "/usr/local", "--", "./bin/tool"],
    ["--workdir", "/opt", "--env", "PATH=:/nowhere", "--", "app-link"],
])
def test_good_apps(w, cmd):
    r, out = build(w, *cmd, root=good_root(w))
    assert r.code == 0, r
    assert r.err == b""


def test_aarch64_app(w):
    r, out = build(w, "--", "/bin/app", arch="aarch64",
                   root=good_root(w, arch="aarch64"))
    assert r.code == 0, r


CASES = {
    "missing": (["--", "/bin/nope"], "'/bin/nope' (the command): not in the image"),
    "not-in-path": (["--", "nope"], "'nope' (the command): no executable file "
                    "of that name in the app's PATH (/sbin:/usr/sbin:/bin:/usr/bin)"),
    "not-executable": (["--", "/srv/data"], "'/srv/data' (the command): not "
                       "executable (mode 0644)"),
    "folder": (["--", "/srv"], "'/srv' (the command): a folder"),
    "dangling-symlink": (["--", "/bin/dangling"], "'/bin/dangling' (the "
                         "command): not in the image"),
    "symlink-loop": (["--", "/bin/loop"], "too many levels of symbolic links"),
    "other-arch": (["--", "/bin/arm"], "'/bin/arm' (the command): ELF for "
                   "aarch64, the image is x86_64"),
    "32-bit": (["--", "/bin/i386"], "'/bin/i386' (the command): a 32-bit ELF"),
    "no-interpreter": (["--", "/bin/dyn"], "'/lib/ld-musl-x86_64.so.1' (its "
                       "ELF interpreter): not in the image"),
    "script-no-interpreter": (["--", "/bin/py"], "'/usr/bin/python3' (the #! "
                              "interpreter of /bin/py): not in the image"),
    "script-other-arch": (["--", "/bin/armscript"], "'/bin/arm' (the #! "
                          "interpreter of /bin/armscript): ELF for aarch64"),
    "not-elf-nor-script": (["--", "/bin/text"], "'/bin/text' (the command): "
                           "neither an ELF executable nor a #! script"),
    "workdir-file": (["--workdir", "/srv/data", "--", "/bin/app"],
                     "'/srv/data' (the working folder): not a folder"),
    "workdir-missing": (["--workdir", "/nope", "--", "/bin/app"],
                        "'/nope' (the working folder): not in the image"),
    "path-through-file": (["--", "/srv/data/x"], "a file where a folder "
                          "should be on the way"),
}


def bad_root(w):
    root = good_root(w)
    os.symlink("/bin/missing", root / "bin/dangling")
    os.symlink("loop2", root / "bin/loop")
    os.symlink("loop", root / "bin/loop2")
    put(root, "bin/arm", fake_elf("aarch64"))
    put(root, "bin/i386", fake_elf(bits=32))
    put(root, "bin/dyn", fake_elf(interp="/lib/ld-musl-x86_64.so.1"))
    put(root, "bin/py", b"#!/usr/bin/python3 -u\n")
    put(root, "bin/armscript", b"#! /bin/arm\n")
    put(root, "bin/text", b"just text\n")
    return root


@pytest.mark.parametrize("case", CASES)
def test_bad_apps(w, case):
    args, needle = CASES[case]
    root = bad_root(w)
    r, out = build(w, *args, root=root)
    refused(r, out, needle)
    r, out = build(w, "--no-app-check", *args, root=root)
    assert r.code == 0, r


def layer_of(root):
    """The folder as one layer's entries."""
    entries = []
    for d, dirs, files in os.walk(root):
        for n in sorted(dirs + files):
            p = os.path.join(d, n)
            rel = os.path.relpath(p, root)
            if os.path.islink(p):
                entries.append(sym(rel, os.readlink(p)))
            elif os.path.isdir(p):
                entries.append(dir_(rel))
            else:
                entries.append(reg(rel, open(p, "rb").read(),
                                   mode=os.stat(p).st_mode & 0o7777))
    return entries


@pytest.mark.parametrize("case", ["missing", "other-arch", "no-interpreter",
                                  "script-no-interpreter", "workdir-file"])
def test_image_builds_are_checked_too(w, case):
    args, needle = CASES[case]
    lay = make_image(w / "img", [layer_of(bad_root(w))])
    r, out = build(w, "--oci", lay.path, *args)
    refused(r, out, needle)


def test_image_config_command_and_path(w):
    """The image's own Entrypoint, Cmd, Env (PATH) and WorkingDir."""
    lay = make_image(w / "img", [layer_of(good_root(w))],
                     Entrypoint=["tool"], Env=["PATH=/usr/local/bin"],
                     WorkingDir="/srv")
    r, out = build(w, "--oci", lay.path)
    assert r.code == 0, r
    out.unlink()
    lay = make_image(w / "img2", [layer_of(good_root(w, "rootfs2"))],
                     Entrypoint=["tool"], Env=["PATH=/bin"])
    r, out = build(w, "--oci", lay.path)
    refused(r, out, "'tool' (the command): no executable file of that name "
            "in the app's PATH (/bin)")


def test_a_later_rootfs_can_fix_the_app(w):
    """Checked on the merged tree: a --rootfs over an image adds the
    interpreter the image lacked."""
    root = bad_root(w)
    fix = w / "fix"
    put(fix, "lib/ld-musl-x86_64.so.1", fake_elf())
    r, out = build(w, "--rootfs", fix, "--", "/bin/dyn", root=root)
    assert r.code == 0, r


# ---- verify --deep: the same checks on an EIF that exists ----------------

def deep(eif):
    r = run("verify", "--deep", eif)
    lines = {l[:12].strip(): l[12:].strip() for l in r.out.decode().splitlines()}
    return r, lines


@pytest.mark.parametrize("case", ["missing", "other-arch", "no-interpreter",
                                  "script-other-arch", "workdir-file",
                                  "symlink-loop"])
def test_verify_deep_finds_what_build_would_refuse(w, case):
    args, needle = CASES[case]
    r, out = build(w, "--no-app-check", *args, root=bad_root(w))
    assert r.code == 0, r
    r, lines = deep(out)
    assert r.code == 1, r
    assert lines["app"] == "FAILED " + lines["app"][7:] and needle in lines["app"], lines
    assert lines["kernel"].startswith("ok     an x86_64 bzImage, 6.1.0-fake"), lines


@pytest.mark.parametrize("cmd", [["--", "/bin/app"], ["--", "sh"],
                                 ["--", "/opt/app-link"]])
def test_verify_deep_passes_a_good_eif(w, cmd):
    r, out = build(w, *cmd, root=good_root(w))
    assert r.code == 0, r
    r, lines = deep(out)
    assert r.code == 0, r
    assert lines["app"] == f"ok     '{cmd[1]}' can start", lines


def test_verify_deep_hard_link(w):
    """In the ramdisk only one member of a hard-link group carries the
    data; the check reads it for the others."""
    root = good_root(w)
    os.link(root / "bin/app", root / "bin/app2")
    for name in ("/bin/app", "/bin/app2"):
        r, out = build(w, "--", name, root=root)
        assert r.code == 0, r
        r, lines = deep(out)
        assert r.code == 0, (name, lines)


def test_verify_deep_kernel(w):
    (w / "junk").write_bytes(os.urandom(5000))
    out = w / "j.eif"
    r = run("assemble", "--no-kernel-check", "--kernel", w / "junk",
            "--cmdline", "x", "--ramdisk", GOLDEN / "init", "-o", out)
    assert r.code == 0, r
    r, lines = deep(out)
    assert r.code == 1
    assert lines["kernel"].startswith("FAILED 'the kernel': not a kernel "
                                      "image"), lines
    assert lines["app"].startswith("FAILED"), lines
