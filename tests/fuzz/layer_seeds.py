#!/usr/bin/python3
"""Write the seed corpus of fuzz_layer (tests/fuzz/corpus/layer): small
layers of every kind the target reads, in its input format (see
fuzz_layer.c): a byte of media types, a byte of options, then layers
separated by "\\nEK\\n". Run from the repository root; needs zstd."""
import gzip
import hashlib
import io
import pathlib
import subprocess
import tarfile

SEP = b"\nEK\n"
TAR, GZ, ZST, ANY = 0, 1, 2, 3


def ent(name, kind="f", data=b"", link="", mode=0o644, pax=None):
    ti = tarfile.TarInfo(name)
    ti.type = {"f": tarfile.REGTYPE, "d": tarfile.DIRTYPE,
               "s": tarfile.SYMTYPE, "h": tarfile.LNKTYPE,
               "c": tarfile.CHRTYPE, "p": tarfile.FIFOTYPE}[kind]
    ti.mode, ti.mtime, ti.linkname = mode, 1600000000, link
    ti.size = len(data) if kind == "f" else 0
    if pax:
        ti.pax_headers = pax
    return ti, (io.BytesIO(data) if kind == "f" else None)


def tar(entries, fmt=tarfile.PAX_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for ti, f in entries:
            t.addfile(ti, f)
    return buf.getvalue()


def comp(data, kind):
    if kind == GZ:
        return gzip.compress(data, mtime=0)
    if kind == ZST:
        return subprocess.run(["zstd", "-q", "-c"], input=data,
                              capture_output=True, check=True).stdout
    return data


def seed(layers, opts=0):
    """layers: (kind, tar bytes) pairs."""
    pick = 0
    for i, (k, _) in enumerate(layers):
        pick |= k << (2 * i)
    return bytes([pick, opts]) + SEP.join(comp(t, k) for k, t in layers)


base = tar([ent("bin", "d"), ent("bin/sh", "f", b"#!", mode=0o755),
            ent("etc", "d"), ent("etc/passwd", "f", b"root:x:0:0\n"),
            ent("lib", "s", link="usr/lib"), ent("usr/lib", "d"),
            ent("h", "h", link="bin/sh"), ent("dev/null", "c"),
            ent("fifo", "p")])
upper = tar([ent("etc/.wh.passwd"), ent("usr/.wh..wh..opq"),
             ent("bin/sh", "f", b"new"), ent(".wh.fifo")])
seeds = {
    "tar": seed([(TAR, base)]),
    "gzip": seed([(GZ, base)]),
    "zstd": seed([(ZST, base)]),
    "docker-any": seed([(ANY, comp(base, GZ))], 1),
    "whiteouts": seed([(TAR, base), (GZ, upper)]),
    "three": seed([(TAR, base), (ZST, upper), (TAR, tar([ent("x", "f", b"1")]))]),
    "ustar": seed([(TAR, tar([ent("a", "f", b"x" * 700), ent("b", "d")],
                             tarfile.USTAR_FORMAT))]),
    "gnu-long": seed([(TAR, tar([ent("d/" + "n" * 150, "f", b"long")],
                                tarfile.GNU_FORMAT))]),
    "pax-long": seed([(TAR, tar([ent("p/" + "q" * 300, "f", b"pax",
                                     pax={"uname": "u", "mtime": "1.5"})]))]),
    "pax-nul": seed([(TAR, tar([ent("n", "f", b"1", pax={"path": "a\0b"})]))]),
    "bad-whiteout": seed([(TAR, base), (TAR, tar([ent("etc/.wh..."),
                                                  ent(".wh..wh.x")]))]),
    "through-symlink": seed([(TAR, base), (TAR, tar([ent("lib/x", "f", b"1")]))]),
    "dotdot": seed([(TAR, tar([ent("../x", "f", b"1")]))]),
    "mislabelled": seed([(GZ, base)])[:2] + base,
    "empty": seed([(TAR, b"")]),
}
out = pathlib.Path("tests/fuzz/corpus/layer")
out.mkdir(parents=True, exist_ok=True)
for name, data in seeds.items():
    (out / hashlib.sha1(data).hexdigest()).write_bytes(data)
print(len(seeds), "seeds in", out)
