#!/usr/bin/env python3
"""bench/gen_tree.py DIR [FILES [MIB]]: a synthetic root filesystem for
make bench, the same bytes on every run (a seeded generator, no clock, no
os.urandom): FILES regular files (default 50,000) of mixed sizes adding
up to MIB MiB (default 1024) - 80% small (0 to 4 KiB), 19.8% medium (4 KiB
to 128 KiB), 0.2% large (the rest, several MiB each) - in 20 x 25
folders, plus 1,000 symlinks and 500 extra names for files (hard links).

DIR.stamp (beside it, not in the tree) records the parameters: an existing tree with the same stamp
is kept (the cache), any other is rebuilt from scratch."""
import os
import random
import shutil
import sys

VERSION = 1


def sizes(rng, n, total):
    small = int(n * 0.8)
    large = max(1, n // 500)
    medium = n - small - large
    out = [rng.randint(0, 4096) for _ in range(small)]
    out += [rng.randint(4097, 128 << 10) for _ in range(medium)]
    rest = total - sum(out)
    if rest < large:
        raise SystemExit(f"gen_tree: {n} files do not fit in {total} bytes")
    weights = [rng.random() + 0.2 for _ in range(large)]
    big = [int(rest * w / sum(weights)) for w in weights]
    big[-1] += rest - sum(big)
    out += big
    rng.shuffle(out)
    return out


def main():
    root = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 50_000
    mib = int(sys.argv[3]) if len(sys.argv) > 3 else 1024
    stamp = f"gen_tree v{VERSION} files={n} mib={mib}\n"
    try:
        with open(root + ".stamp") as f:
            if f.read() == stamp:
                return
    except OSError:
        pass
    print(f"bench: making a {mib} MiB tree of {n} files in {root}",
          file=sys.stderr)
    shutil.rmtree(root, ignore_errors=True)
    if os.path.exists(root + ".stamp"):
        os.unlink(root + ".stamp")
    rng = random.Random(20240101)
    pool = rng.randbytes(64 << 20)  # contents are slices of this
    dirs = [f"usr/d{i:02d}/e{j:02d}" for i in range(20) for j in range(25)]
    for d in dirs:
        os.makedirs(os.path.join(root, d))
    names = []
    for k, size in enumerate(sizes(rng, n, mib << 20)):
        p = os.path.join(root, rng.choice(dirs), f"f{k:05d}")
        with open(p, "wb") as f:
            left = size
            while left:
                off = rng.randrange(0, len(pool) - 1)
                chunk = min(left, len(pool) - off, 8 << 20)
                f.write(pool[off:off + chunk])
                left -= chunk
        os.chmod(p, rng.choice((0o644, 0o755, 0o600)))
        names.append(p)
    for k in range(1000):
        target = os.path.relpath(rng.choice(names), os.path.join(root, "usr"))
        os.symlink(target, os.path.join(root, "usr", f"link{k:04d}"))
    os.makedirs(os.path.join(root, "bin"))
    for k in range(500):
        os.link(rng.choice(names), os.path.join(root, "bin", f"alias{k:03d}"))
    with open(root + ".stamp", "w") as f:
        f.write(stamp)


main()
