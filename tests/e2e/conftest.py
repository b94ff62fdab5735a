"""Shared fixtures for the end-to-end tests: they drive the eifkit binary."""
import atexit
import functools
import os
import pathlib
import shutil
import subprocess
import tempfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
VECTORS = ROOT / "tests" / "vectors"


def eifkit_path():
    p = os.environ.get("EIFKIT", str(ROOT / "build" / "eifkit"))
    assert os.access(p, os.X_OK), f"eifkit binary not found at {p}; run make"
    return p


NOBODY = 65534


@functools.lru_cache(maxsize=None)
def reachable_eifkit():
    """A copy of the binary that any user can run: the checkout may be in
    a folder only root can enter (/root on Debian), and the tests that
    drop to nobody must still reach what they run."""
    d = tempfile.mkdtemp(prefix="eifkit-bin-")
    atexit.register(shutil.rmtree, d, True)
    os.chmod(d, 0o755)
    dst = os.path.join(d, "eifkit")
    shutil.copyfile(eifkit_path(), dst)
    os.chmod(dst, 0o755)
    return dst


def as_nobody(*args):
    """argv for eifkit args run as nobody when we are root (root reads
    anything, so permission tests need another user), else as ourselves.
    Every file it is given must be reachable by nobody too."""
    if os.geteuid() != 0:
        return [eifkit_path(), *map(str, args)]
    return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}",
            "--clear-groups", reachable_eifkit(), *map(str, args)]


class Result:
    def __init__(self, cp):
        self.code = cp.returncode
        self.out = cp.stdout
        self.err = cp.stderr

    def __repr__(self):
        return f"<exit {self.code} out={self.out[:200]!r} err={self.err[:300]!r}>"


def run(*args, cwd=None, env=None, input=None):
    """Run eifkit with args; returns Result (stdout/stderr as bytes)."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    cp = subprocess.run([eifkit_path(), *map(str, args)], cwd=cwd,
                        env=full_env, input=input, capture_output=True,
                        timeout=600)
    return Result(cp)


@pytest.fixture
def eifkit():
    return run


def vector_dirs(signed=None):
    out = []
    for d in sorted(VECTORS.iterdir()):
        if not d.is_dir():
            continue
        is_signed = (d / "cert.pem").exists()
        if signed is None or signed == is_signed:
            out.append(d)
    return out


def vector_args(d):
    return (d / "args.txt").read_text().split("\n")[:-1]
