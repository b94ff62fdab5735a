"""eifkit ls: listings of cpio archives made by GNU cpio (checked against
what `cpio -itvn` and the file system say, field by field), of the EIF
vectors' ramdisks, of hostile archives (one-line errors, escaped names),
and independence from the time zone."""
import datetime
import gzip
import os
import re
import stat
import subprocess

import pytest

from conftest import run, VECTORS

D = VECTORS / "d-newc-ramdisks"
IS_ROOT = os.geteuid() == 0


# ---- reading our output ----

ESC = {"\\": b"\\", "a": b"\a", "b": b"\b", "t": b"\t", "n": b"\n",
       "v": b"\v", "f": b"\f", "r": b"\r"}


def unescape(s):
    """The bytes behind an escaped name (docs/eifkit-ls.md)."""
    out, i = bytearray(), 0
    while i < len(s):
        if s[i] != "\\":
            out += s[i].encode()
            i += 1
        elif s[i + 1] == "x":
            out.append(int(s[i + 2:i + 4], 16))
            i += 4
        else:
            out += ESC[s[i + 1]]
            i += 2
    return bytes(out)


LINE = re.compile(r"^(\S{10})  (\d+)/(\d+) +(\S+)  "
                  r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)  (\S+)"
                  r"(?: -> (\S*))?(?:  \[hard link: ino (\d+), "
                  r"dev (\d+),(\d+), (\d+) links\])?$")


def parse_ls(text):
    """Entry lines as dicts; other lines ("ramdisk N ...") as strings."""
    out = []
    for line in text.splitlines():
        m = LINE.match(line)
        if not m:
            out.append(line)
            continue
        mode, uid, gid, size, when, name, target, ino, dmaj, dmin, nl = m.groups()
        out.append({"mode": mode, "uid": int(uid), "gid": int(gid),
                    "size": size, "time": when, "name": unescape(name),
                    "target": None if target is None else unescape(target),
                    "hardlink": None if ino is None else
                    (int(ino), int(dmaj), int(dmin), int(nl))})
    return out


def entries(text):
    return [e for e in parse_ls(text) if isinstance(e, dict)]


# ---- what GNU cpio says ----

CPIO_LINE = re.compile(rb"^(\S{10})\s+(\d+)\s+(\d+)\s+(\d+)\s+"
                       rb"(\d+|\d+,\s*\d+)\s+\w{3}\s+\d+\s+[\d:]+\s(.*)$")


def cpio_tv(path):
    """`cpio -itvn` of an archive, parsed: mode, nlink, uid, gid, size (or
    "maj,min"), name and symlink target as bytes."""
    cp = subprocess.run(["cpio", "-itvn", "--quiet"], stdin=open(path, "rb"),
                        capture_output=True, check=True)
    out = []
    for line in cp.stdout.split(b"\n")[:-1]:
        m = CPIO_LINE.match(line)
        assert m, line
        mode, nlink, uid, gid, size, rest = m.groups()
        target = None
        if mode.startswith(b"l"):
            rest, target = rest.split(b" -> ", 1)
        out.append({"mode": mode.decode(), "nlink": int(nlink),
                    "uid": int(uid), "gid": int(gid),
                    "size": re.sub(rb"\s", b"", size).decode(),
                    "name": rest, "target": target})
    return out


def utc(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc) \
        .strftime("%Y-%m-%d %H:%M:%S")


def make_tree(root):
    """Every file type cpio can hold, odd names, owners and modes."""
    root.mkdir()
    (root / "dir").mkdir()
    (root / "dir" / "file").write_bytes(b"hello\n")
    os.chmod(root / "dir" / "file", 0o4755)
    os.link(root / "dir" / "file", root / "dir" / "hard")
    (root / "big").write_bytes(bytes(range(256)) * 40)
    os.symlink("dir/file", root / "link")
    os.symlink("/" + "x" * 200, root / "longlink")
    os.mkfifo(root / "fifo")
    (root / "sticky").mkdir()
    os.chmod(root / "sticky", 0o1777)
    (root / "with space é").write_bytes(b"")
    (root / "tab\tand\x1bescape").write_bytes(b"")
    if IS_ROOT:
        os.mknod(root / "console", 0o600 | stat.S_IFCHR, os.makedev(5, 1))
        os.mknod(root / "sda", 0o660 | stat.S_IFBLK, os.makedev(8, 0))
        os.chown(root / "big", 1000, 2000)
    for i, p in enumerate(sorted(root.rglob("*"))):
        os.utime(p, (0, 1700000000 + 3600 * i), follow_symlinks=False)


def gnu_cpio(root, out, fmt="newc"):
    names = b"".join(sorted(bytes(p.relative_to(root)) + b"\0"
                            for p in root.rglob("*")))
    with open(out, "wb") as f:
        subprocess.run(["cpio", "-o", "-H", fmt, "--null", "--quiet"],
                       input=names, stdout=f, cwd=root, check=True)


@pytest.mark.parametrize("fmt", ["newc", "crc"])
def test_gnu_cpio_archive_matches_cpio_tv(tmp_path, fmt):
    root = tmp_path / "root"
    make_tree(root)
    arc = tmp_path / "a.cpio"
    gnu_cpio(root, arc, fmt)
    r = run("ls", arc)
    assert r.code == 0, r
    ours = entries(r.out.decode())
    theirs = cpio_tv(arc)
    assert len(ours) == len(theirs) == len(list(root.rglob("*")))
    assert len(parse_ls(r.out.decode())) == len(ours)  # no other lines
    for o, t in zip(ours, theirs):
        assert o["name"] == t["name"]
        assert o["mode"] == t["mode"], o
        assert (o["uid"], o["gid"]) == (t["uid"], t["gid"])
        assert o["size"] == t["size"], o
        assert o["target"] == t["target"]
        st = os.lstat(root / os.fsdecode(o["name"]))
        assert o["time"] == utc(st.st_mtime), o
        is_link = t["nlink"] >= 2 and not t["mode"].startswith(("d", "l"))
        assert (o["hardlink"] is not None) == is_link, o
        if is_link:
            assert o["hardlink"][3] == t["nlink"]
            assert o["hardlink"][0] == st.st_ino & 0xffffffff
    kinds = {o["mode"][0] for o in ours}
    assert kinds >= ({"-", "d", "l", "p", "c", "b"} if IS_ROOT else {"-", "d", "l", "p"})
    assert any(o["mode"] == "-rwsr-xr-x" for o in ours)
    assert any(o["mode"] == "drwxrwxrwt" for o in ours)


def test_names_are_escaped(tmp_path):
    root = tmp_path / "root"
    make_tree(root)
    arc = tmp_path / "a.cpio"
    gnu_cpio(root, arc)
    out = run("ls", arc).out
    assert b"\x1b" not in out and b"\t" not in out
    assert b"  tab\\tand\\x1bescape\n" in out
    assert "  with\\x20space\\x20é\n".encode() in out


def test_vector_d_lists_both_ramdisks():
    r = run("ls", D / "expected.eif")
    assert r.code == 0, r
    items = parse_ls(r.out.decode())
    heads = [i for i, e in enumerate(items) if isinstance(e, str)]
    assert [items[i] for i in heads] == ["ramdisk 0 (25600 bytes):",
                                         "ramdisk 1 (1536 bytes):"]
    for k, (a, b) in enumerate(zip(heads, heads[1:] + [len(items)])):
        ours = items[a + 1:b]
        theirs = cpio_tv(D / f"ramdisk{k}")
        assert [o["name"] for o in ours] == [t["name"] for t in theirs]
        assert [o["mode"] for o in ours] == [t["mode"] for t in theirs]
        assert [o["size"] for o in ours] == [t["size"] for t in theirs]
        assert all(o["time"] == "1970-01-01 00:00:00" for o in ours)
        # the same lines as listing the ramdisk file itself
        alone = run("ls", D / f"ramdisk{k}")
        assert alone.code == 0, alone
        assert entries(alone.out.decode()) == ours


def test_time_zone_does_not_matter(tmp_path):
    root = tmp_path / "root"
    make_tree(root)
    arc = tmp_path / "a.cpio"
    gnu_cpio(root, arc)
    outs = [run("ls", arc, env={"TZ": tz}).out
            for tz in ("UTC", "Asia/Tokyo", "America/St_Johns")]
    assert outs[0] == outs[1] == outs[2]
    assert run("ls", D / "expected.eif", env={"TZ": "Asia/Tokyo"}).out == \
        run("ls", D / "expected.eif", env={"TZ": "UTC"}).out


# ---- archives made by hand ----

def entry(name, mode, data=b"", mtime=0, nlink=1, magic=b"070701",
          rdev=(0, 0), ino=1, check=None):
    n = name + b"\0"
    fields = [ino, mode, 0, 0, nlink, mtime, len(data), 3, 1, rdev[0],
              rdev[1], len(n), sum(data) if check is None else check]
    b = magic + b"".join(b"%08x" % v for v in fields) + n
    b += b"\0" * (-len(b) % 4) + data
    return b + b"\0" * (-len(b) % 4)


TRAILER = entry(b"TRAILER!!!", 0)


def test_times_up_to_2106(tmp_path):
    f = tmp_path / "t.cpio"
    f.write_bytes(entry(b"a", 0o100644, mtime=0xffffffff) +
                  entry(b"b", 0o100644, mtime=951782400) + TRAILER)
    got = [e["time"] for e in entries(run("ls", f).out.decode())]
    assert got == ["2106-02-07 06:28:15", "2000-02-29 00:00:00"]
    assert got == [utc(0xffffffff), utc(951782400)]


def test_devices_links_and_archives(tmp_path):
    f = tmp_path / "t.cpio"
    a = entry(b"dev/console", 0o20600, rdev=(5, 1)) + \
        entry(b"a", 0o100644, nlink=2, ino=723) + \
        entry(b"b", 0o100644, b"data", nlink=2, ino=723) + \
        entry(b"l", 0o120777, b"/init\0") + TRAILER
    f.write_bytes(a + b"\0" * 12 + entry(b"x", 0o10644) + TRAILER)
    r = run("ls", f)
    assert r.code == 0, r
    assert r.out.decode().splitlines() == [
        "crw-------  0/0               5,1  1970-01-01 00:00:00  dev/console",
        "-rw-r--r--  0/0                 0  1970-01-01 00:00:00  a"
        "  [hard link: ino 723, dev 3,1, 2 links]",
        "-rw-r--r--  0/0                 4  1970-01-01 00:00:00  b"
        "  [hard link: ino 723, dev 3,1, 2 links]",
        "lrwxrwxrwx  0/0                 6  1970-01-01 00:00:00  l -> /init",
        f"archive 1 at offset {len(a) + 12}:",
        "prw-r--r--  0/0                 0  1970-01-01 00:00:00  x",
    ]


def test_compressed(tmp_path):
    gz = tmp_path / "r.cpio.gz"
    gz.write_bytes(gzip.compress((D / "ramdisk1").read_bytes(), mtime=0))
    r = run("ls", gz)
    assert r.code == 1, r
    assert r.err.decode() == f"eifkit ls: '{gz}': compressed (gzip), cannot " \
                             "list (decompress it first)\n"
    # an uncompressed archive followed by a compressed one, as Debian's
    # initramfs-tools writes them
    mixed = tmp_path / "mixed.cpio"
    mixed.write_bytes((D / "ramdisk1").read_bytes() + gz.read_bytes())
    r = run("ls", mixed)
    assert r.code == 0, r
    assert r.out.decode().splitlines()[-1] == \
        "compressed (gzip) from offset 1536, cannot list"
    # in an EIF: named, not listed, not an error
    eif = tmp_path / "c.eif"
    r = run("assemble", "--no-kernel-check", "--kernel", D / "bzImage", "--cmdline", "x",
            "--ramdisk", D / "ramdisk0", "--ramdisk", gz, "-o", eif)
    assert r.code == 0, r
    r = run("ls", eif)
    assert r.code == 0, r
    lines = r.out.decode().splitlines()
    assert lines[0] == "ramdisk 0 (25600 bytes):"
    assert lines[-1] == f"ramdisk 1 ({gz.stat().st_size} bytes): " \
                        "compressed (gzip), cannot list"


GOOD = entry(b"f", 0o100644, b"hello")
HOSTILE = {
    "not-cpio": (b"hello world\n", "offset 0: not a cpio newc archive"),
    "odc": (b"070707" + b"0" * 200, "old portable cpio format"),
    "bad-hex": (GOOD[:14] + b"0000G1ed" + GOOD[22:], "mode field"),
    "namesize-0": (GOOD[:94] + b"00000000" + GOOD[102:], "namesize 0"),
    "name-no-nul": (entry(b"f", 0o100644, b"hello")[:110] + b"fX\0\0",
                    "does not end with a NUL"),
    "huge-size": (GOOD[:54] + b"ffffffff" + GOOD[62:], "run past the end"),
    "truncated": (GOOD + TRAILER[:60], "header cut short"),
    "junk-after-trailer": (GOOD + TRAILER + b"\0\0\0\0junk",
                           "offset 248: junk"),
    "misaligned": (GOOD + TRAILER + b"\0" + GOOD, "multiple of 4"),
    "bad-checksum": (entry(b"f", 0o100644, b"hello", magic=b"070702",
                           check=1), "data checksum"),
    "dir-with-data": (entry(b"d", 0o40755, b"data"), "a directory with 4"),
    "long-symlink": (entry(b"l", 0o120777, b"x" * 4097), "symlink target"),
    "escape-in-name": (entry(b"\x1b[2J", 0o170644),
                       "'\\x1b[2J': unknown file type"),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_archive(name, tmp_path):
    data, needle = HOSTILE[name]
    f = tmp_path / f"{name}.cpio"
    f.write_bytes(data)
    r = run("ls", f)
    assert r.code == 1, r
    err = r.err.decode()
    assert err.startswith(f"eifkit ls: '{f}': "), err
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert needle in err, err
    assert "\x1b" not in err


def test_hostile_ramdisk_in_eif(tmp_path):
    """Entries listed so far stay on stdout; the error names the ramdisk."""
    bad = tmp_path / "bad.cpio"
    bad.write_bytes(GOOD + b"\0\0\0\0nope")
    eif = tmp_path / "h.eif"
    r = run("assemble", "--no-kernel-check", "--kernel", D / "bzImage", "--cmdline", "x",
            "--ramdisk", D / "ramdisk0", "--ramdisk", bad, "-o", eif)
    assert r.code == 0, r
    r = run("ls", eif)
    assert r.code == 1, r
    lines = r.out.decode().splitlines()
    assert lines[-2:] == [
        "ramdisk 1 (128 bytes):",
        "-rw-r--r--  0/0                 5  1970-01-01 00:00:00  f"]
    assert re.fullmatch(rf"eifkit ls: '{re.escape(str(eif))}': ramdisk 1: "
                        r"offset \d+: junk where a cpio header, NUL padding "
                        r"or compressed data should be\n", r.err.decode())


def test_broken_eif_is_an_eif_error(tmp_path):
    f = tmp_path / "x.eif"
    f.write_bytes((D / "expected.eif").read_bytes()[:1000])
    r = run("ls", f)
    assert r.code == 1, r
    assert r.err.decode().startswith(f"eifkit ls: '{f}': ")
    assert r.out == b""


def test_vector_with_text_ramdisk_fails():
    r = run("ls", VECTORS / "a-one-ramdisk" / "expected.eif")
    assert r.code == 1, r
    assert r.out == b"ramdisk 0 (120 bytes):\n"
    assert "ramdisk 0: offset 1857: not a cpio newc archive" in r.err.decode()


def test_empty_and_nul_files(tmp_path):
    for data in (b"", b"\0" * 1000):
        f = tmp_path / "e.cpio"
        f.write_bytes(data)
        r = run("ls", f)
        assert (r.code, r.out, r.err) == (0, b"", b""), r


def test_usage_errors(tmp_path):
    assert run("ls").code == 2
    assert run("ls", "a", "b").code == 2
    assert run("ls", "--bogus", "a").code == 2
    r = run("ls", tmp_path)
    assert r.code == 1 and b"is a directory" in r.err, r
    r = run("ls", "/dev/null")
    assert r.code == 1 and b"must be a regular file" in r.err, r
    r = run("ls", tmp_path / "missing")
    assert r.code == 1 and r.err.startswith(b"eifkit ls: "), r
