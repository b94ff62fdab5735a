"""Shared fixtures for the end-to-end tests: they drive the eifkit binary."""
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
VECTORS = ROOT / "tests" / "vectors"


def eifkit_path():
    p = os.environ.get("EIFKIT", str(ROOT / "build" / "eifkit"))
    assert os.access(p, os.X_OK), f"eifkit binary not found at {p}; run make"
    return p


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
