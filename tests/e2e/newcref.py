"""Independent references for the ramdisk tests, written from the specs
(AWS-BUILD-AND-INIT.md 3.1-3.3, PEERS.md 5-6, EIF-FORMAT.md), not from
eifkit's code:

- system_ramdisk(): nitro-cli's bootstrap ramdisk as linuxkit's Go cpio
  writer lays it out (lowercase hex, inode numbers from 721, device 3/1,
  nlink 2 on directories, mtime 1492533000, padded to 512);
- parse(): a strict newc reader that checks the header conventions;
- eif_sections(): the sections of an EIF;
- extract() / snapshot(): GNU cpio unpacks an archive, and a tree on disk
  (the source folder or what cpio unpacked) is described field by field
  so the two can be compared.
"""
import hashlib
import os
import re
import stat
import struct
import subprocess

SYSTEM_MTIME = 1492533000  # linuxkit's defaultModTime
HEX = re.compile(rb"^[0-9a-f]{8}$")


# ---- writing, from the spec ----------------------------------------------

def _member(out, ino, mode, nlink, mtime, name, data, rdev=(0, 0),
            uid=0, gid=0):
    """One newc member as linuxkit's gocpio writes it: "%08x" fields,
    device 3/1, the name NUL-terminated and header+name padded to 4,
    the data padded to 4."""
    name_b = name + b"\0"
    fields = (ino, mode, uid, gid, nlink, mtime, len(data), 3, 1,
              rdev[0], rdev[1], len(name_b), 0)
    out += b"070701" + b"".join(b"%08x" % f for f in fields)
    out += name_b
    out += b"\0" * (-len(out) % 4)
    out += data
    out += b"\0" * (-len(out) % 4)


def system_ramdisk(init: bytes, nsm: bytes = None) -> bytes:
    """AWS-BUILD-AND-INIT.md 3.2: dev (dir 0755, nlink 2), init and
    nsm.ko (0755), all 0:0 with mtime 1492533000, inodes 721, 722, ...,
    then TRAILER!!! (mode 0, mtime 0, nlink 1, its own inode number) and
    zeros up to a multiple of 512."""
    out, ino = bytearray(), 721
    _member(out, ino, 0o040755, 2, SYSTEM_MTIME, b"dev", b"")
    ino += 1
    _member(out, ino, 0o100755, 1, SYSTEM_MTIME, b"init", init)
    ino += 1
    if nsm is not None:
        _member(out, ino, 0o100755, 1, SYSTEM_MTIME, b"nsm.ko", nsm)
        ino += 1
    _member(out, ino, 0, 1, 0, b"TRAILER!!!", b"")
    out += b"\0" * (-len(out) % 512)
    return bytes(out)


# ---- reading ---------------------------------------------------------------

FIELDS = ("ino", "mode", "uid", "gid", "nlink", "mtime", "filesize",
          "devmajor", "devminor", "rdevmajor", "rdevminor", "namesize",
          "check")


def parse(data: bytes):
    """Every member up to and including TRAILER!!! as a dict (fields,
    name bytes, data bytes). Checks the conventions on the way: magic
    070701, lowercase hex, 4-byte alignment with zero padding, device 3/1,
    check 0, and that only zeros follow the trailer, up to a multiple of
    512."""
    out, pos = [], 0
    while True:
        assert data[pos:pos + 6] == b"070701", (pos, data[pos:pos + 6])
        raw = [data[pos + 6 + 8 * i:pos + 14 + 8 * i] for i in range(13)]
        for r in raw:
            assert HEX.match(r), (pos, r)
        e = dict(zip(FIELDS, (int(r, 16) for r in raw)))
        name_end = pos + 110 + e["namesize"]
        assert data[name_end - 1] == 0, pos
        e["name"] = data[pos + 110:name_end - 1]
        assert b"\0" not in e["name"]
        pad = -name_end % 4
        assert data[name_end:name_end + pad] == b"\0" * pad
        start = name_end + pad
        e["data"] = data[start:start + e["filesize"]]
        assert len(e["data"]) == e["filesize"], "truncated"
        end = start + e["filesize"]
        pad = -end % 4
        assert data[end:end + pad] == b"\0" * pad
        assert (e["devmajor"], e["devminor"], e["check"]) == (3, 1, 0), e
        out.append(e)
        pos = end + pad
        if e["name"] == b"TRAILER!!!":
            break
    assert len(data) % 512 == 0, len(data)
    assert data[pos:] == b"\0" * (len(data) - pos)
    return out


def eif_sections(eif: bytes):
    """[(type, bytes)] of an EIF (EIF-FORMAT.md 2 and 3)."""
    h = struct.unpack_from(">4sHHQQHH32Q32QI", eif)
    assert h[0] == b".eif"
    n = h[6]
    out = []
    for off, size in zip(h[7:7 + n], h[39:39 + n]):
        typ, flags, size2 = struct.unpack_from(">HHQ", eif, off)
        assert size2 == size and flags == 0
        out.append((typ, eif[off + 12:off + 12 + size]))
    return out


def eif_ramdisks(eif: bytes):
    return [d for t, d in eif_sections(eif) if t == 3]


# ---- GNU cpio and trees on disk ------------------------------------------

def _cpio_escape(name: bytes) -> bytes:
    return re.sub(rb"([\\*?\[\]])", rb"\\\1", name)


def extract(archive, dest):
    """Unpack with GNU cpio as the kernel would (-d, -m, numeric owners as
    stored when root). GNU cpio sets a directory's mtime when it creates
    it, before its children, so a second pass over the directories alone
    (their names as cpio patterns) sets their mtimes once nothing is
    created below them any more."""
    dest.mkdir(exist_ok=True)
    args = ["cpio", "-idm", "--quiet", "--no-absolute-filenames"]

    def umask0():
        os.umask(0)
    cp = subprocess.run(args + ["-F", str(archive)], cwd=dest,
                        capture_output=True, preexec_fn=umask0)
    assert cp.returncode == 0, cp.stderr
    dirs = [e["name"] for e in parse(archive.read_bytes())
            if stat.S_ISDIR(e["mode"]) and b"\n" not in e["name"]]
    if dirs:
        pats = dest.parent / (dest.name + ".dirs")
        pats.write_bytes(b"".join(_cpio_escape(n) + b"\n" for n in dirs))
        cp = subprocess.run(args + ["-u", "-E", str(pats), "-F", str(archive)],
                            cwd=dest, capture_output=True, preexec_fn=umask0)
        assert cp.returncode == 0, cp.stderr


def snapshot(root, skip_sockets=True):
    """{relative path bytes: description} of everything below root, and
    the hard-link groups of regular files ({frozenset of paths}, only
    groups of two or more within the tree)."""
    root = os.fsencode(root)
    out, by_ino = {}, {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            m = st.st_mode
            if stat.S_ISSOCK(m) and skip_sockets:
                continue
            d = {"type": stat.S_IFMT(m), "perm": stat.S_IMODE(m),
                 "uid": st.st_uid, "gid": st.st_gid, "mtime": st.st_mtime_ns // 10**9}
            if stat.S_ISREG(m):
                with open(p, "rb") as f:
                    d["sha256"] = hashlib.sha256(f.read()).hexdigest()
                d["size"] = st.st_size
                by_ino.setdefault((st.st_dev, st.st_ino), set()).add(rel)
            elif stat.S_ISLNK(m):
                d["target"] = os.readlink(p)
                del d["mtime"]  # GNU cpio does not set symlink mtimes
            elif stat.S_ISCHR(m) or stat.S_ISBLK(m):
                d["rdev"] = (os.major(st.st_rdev), os.minor(st.st_rdev))
            out[rel] = d
    groups = {frozenset(g) for g in by_ino.values() if len(g) > 1}
    return out, groups
