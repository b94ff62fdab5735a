"""make bench, run small: every table and row it promises comes out, with
figures. Not a timing test: it asserts that the benchmark runs, checks
its own inputs (the user ramdisk it hashes is the one build writes) and
prints what the README's Performance section shows, never how fast."""
import os
import re
import shutil
import subprocess

from conftest import ROOT, eifkit_path

NUM = r"\d*\.?\d+"
ROW = re.compile(rf"^(.+?)\s+({NUM})\s+({NUM})\s+({NUM})\s+(\d+) MiB\s+"
                 rf"({NUM})\s+({NUM})$")


def rows(out):
    return {m.group(1).strip(): [float(x) for x in m.groups()[1:]]
            for m in map(ROW.match, out.splitlines()) if m}


def test_bench_prints_every_table(tmp_path):
    env = dict(os.environ, BENCH_DIR=str(tmp_path / "bench"), BENCH_MIB="4",
               BENCH_FILES="200", BENCH_TREE_MIB="16", BENCH_ENTRIES="500",
               BENCH_KERNELS=str(ROOT / "build" / "kernels"))
    r = subprocess.run(["sh", str(ROOT / "bench" / "run.sh"), eifkit_path()],
                       env=env, capture_output=True, timeout=900)
    out = r.stdout.decode()
    assert r.returncode == 0, (out, r.stderr.decode())
    got = rows(out)
    want = ["openssl dgst -sha384 (floor)", "sha384sum",
            "cat to a new file (writing, no hashing)", "eifkit assemble",
            "openssl dgst -sha384 over the user ramdisk (floor)",
            "eifkit ramdisk --layout user (no hashing)", "eifkit build",
            "eifkit build --no-kernel-check --no-app-check",
            "find | sort | cpio -o, then eifkit assemble",
            "openssl dgst -sha384 over the user ramdisk",
            "gzip -dc of the layers", "eifkit build --oci"]
    if shutil.which("umoci"):
        want.append("umoci raw unpack, then eifkit build --rootfs")
    assert [w for w in want if w not in got] == [], out
    # each floor is its own table's 1.00
    assert got["openssl dgst -sha384 (floor)"][4:] == [1.0, 1.0], out
    assert got["openssl dgst -sha384 over the user ramdisk (floor)"][4] == 1.0
    assert out.count("lower bound on two cores") == 2, out
    assert re.search(r"^ramdisk of 500 empty files: .* (\d+) bytes per "
                     r"entry$", out, re.M), out
    small = re.search(r"the README's example .*\n(  .* ms\n){5}  peak RSS "
                      r"\d+ MiB", out)
    assert small, out
    assert out.startswith("load average at start: ")
    assert "load average at the end: " in out
