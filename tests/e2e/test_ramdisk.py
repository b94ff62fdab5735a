"""eifkit ramdisk: what the archives hold, checked with independent readers.

Every file type goes in (regular files, directories, symlinks, hard links,
character and block devices, FIFOs; a socket is skipped with a warning)
and GNU cpio unpacks the archive again: the unpacked tree must equal the
source folder in types, modes, owners, mtimes, link targets, hard-link
identity and contents, after the documented normalisation (owners 0:0 and
mtimes SOURCE_DATE_EPOCH unless --keep-owners / --keep-mtimes). The
header conventions (inode numbers, nlink, device 3/1, lowercase hex,
order, padding) are read with newcref.parse, a reader written from the
spec. The system layout is in test_ramdisk_system.py, the overlay rules
in test_ramdisk_tree.py.
"""
import errno
import os
import stat

import pytest

from conftest import run
from newcref import extract, parse, snapshot

IS_ROOT = os.geteuid() == 0
SDE = 1700000000
needs_root = pytest.mark.skipif(not IS_ROOT, reason="device nodes and "
                                "owners need root to create and unpack")


def ramdisk(tmp, *args, layout="plain", env=None, cwd=None, out=None):
    out = out or tmp / "out.cpio"
    r = run("ramdisk", "--layout", layout, "-o", out, *args, env=env, cwd=cwd)
    return r, out


def ok(tmp, *args, **kw):
    r, out = ramdisk(tmp, *args, **kw)
    assert r.code == 0, r
    assert r.out == b"", r
    return out


def assert_fails(r, out, *needles):
    """One line on stderr naming what is wrong, exit 1, no output file and
    no temporary file left beside it."""
    assert r.code == 1, r
    err = r.err.decode("utf-8", "replace")
    assert err.startswith("eifkit ramdisk: ") and err.count("\n") == 1, err
    for n in needles:
        assert str(n) in err, (n, err)
    assert not out.exists()
    assert [p.name for p in out.parent.iterdir()
            if p.name.startswith(".")] == []


# ---- the source tree -------------------------------------------------------

def write(p, data, mode=0o644):
    p = os.fsencode(p)
    with open(p, "wb") as f:
        f.write(data)
    os.chmod(p, mode)


def make_tree(root, outside):
    """Every file type and a few awkward names and modes."""
    b = os.fsencode(root)

    def P(*parts):
        return os.path.join(b, *[os.fsencode(x) for x in parts])
    for d in ("bin", "etc", "data", "sub/deeper", "tmp", "var/empty", "run"):
        os.makedirs(P(d))
    write(P("bin/prog"), b"\x7fELF" + bytes(range(256)) * 40, 0o4755)
    write(P("bin/sg"), b"#!/bin/sh\n", 0o2711)
    os.chmod(P("tmp"), 0o1777)
    os.chmod(P("var/empty"), 0o700)
    write(P("etc/hosts"), b"127.0.0.1 localhost\n")
    write(P("etc/empty"), b"", 0o600)
    write(P("etc/ro"), b"r", 0o400)
    for n in range(1, 6):  # every padding length
        write(P(f"data/len{n}"), b"x" * n)
    write(P("data/random"), os.urandom(300_001), 0o640)
    os.symlink("prog", P("bin/sh"))
    os.symlink("/etc/hosts", P("etc/abs"))  # absolute: kept verbatim
    os.symlink("../nowhere/at/all", P("etc/dangling"))
    os.symlink("t" * 300, P("etc/longtarget"))
    # a hard-link group of three across folders, and one whose other
    # member lies outside the tree (a plain file then)
    write(P("data/a"), b"linked data\n", 0o751)
    os.link(P("data/a"), P("data/b"))
    os.link(P("data/a"), P("sub/deeper/c"))
    write(P("data/lonely"), b"my other name is outside\n")
    os.link(P("data/lonely"), os.fsencode(outside))
    os.mkfifo(P("run/fifo"), 0o640)
    # names: a newline, bytes that are not UTF-8, cpio pattern characters
    write(P("data") + b"/new\nline", b"nl")
    write(P("data") + b"/caf\xe9", b"latin-1")
    os.makedirs(P("data/we*ird [dir]?"))
    write(P("data/we*ird [dir]?/f"), b"f")
    write(P("with space"), b"s")
    if IS_ROOT:
        os.makedirs(P("dev"))
        os.mknod(P("dev/null"), 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        os.mknod(P("dev/sda1"), 0o660 | stat.S_IFBLK, os.makedev(8, 1))
        os.mknod(P("dev/big"), 0o600 | stat.S_IFCHR, os.makedev(4095, 1 << 19))


def set_owners_and_mtimes(root):
    """Distinct owners (root only) and mtimes on every entry, set last so
    that creating children does not move a directory's mtime."""
    t = 1_000_000
    for dirpath, dirnames, filenames in os.walk(os.fsencode(root)):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            t += 86_461
            if IS_ROOT:
                os.lchown(p, 1000 + t % 7, 2000 + t % 5)
            os.utime(p, (t, t), follow_symlinks=False)
    os.utime(os.fsencode(root), (5, 5))


def normalised(snap, uid=0, gid=0, mtime=0):
    out = {}
    for k, d in snap.items():
        d = dict(d, uid=uid, gid=gid)
        if "mtime" in d:
            d["mtime"] = mtime
        out[k] = d
    return out


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tree")
    root = tmp / "rootfs"
    root.mkdir()
    make_tree(root, tmp / "outside")
    # a socket: skipped, with a warning
    import socket
    s = socket.socket(socket.AF_UNIX)
    s.bind(os.fsencode(root / "run") + b"/sock")
    s.close()
    set_owners_and_mtimes(root)
    return root


def test_help():
    r = run("ramdisk", "--help")
    assert r.code == 0 and r.out.startswith(b"usage: eifkit ramdisk"), r
    assert b"--layout system" in r.out and b"--layout plain" in r.out


# ---- round trips through GNU cpio ----------------------------------------

def round_trip(tmp, tree, *args, env=None, layout="plain"):
    out = tmp / "p.cpio"
    r, _ = ramdisk(tmp, "--rootfs", tree, *args, out=out, env=env,
                   layout=layout)
    assert r.code == 0, r
    x = tmp / "x"
    extract(out, x)
    return out, r, snapshot(x)


def test_plain_round_trip_normalised(tmp_path, tree):
    src, groups = snapshot(tree)
    out, r, (got, got_groups) = round_trip(tmp_path, tree,
                                           env={"SOURCE_DATE_EPOCH": str(SDE)})
    assert got == normalised(src, mtime=SDE)
    assert got_groups == groups == {frozenset(
        {b"data/a", b"data/b", b"sub/deeper/c"})}
    # symlink mtimes, which GNU cpio does not restore, from the headers
    for e in parse(out.read_bytes())[:-1]:
        assert (e["uid"], e["gid"], e["mtime"]) == (0, 0, SDE), e["name"]


def test_plain_round_trip_keeps_owners_and_mtimes(tmp_path, tree):
    src, groups = snapshot(tree)
    out, r, (got, got_groups) = round_trip(tmp_path, tree, "--keep-owners",
                                           "--keep-mtimes")
    assert got == src
    assert got_groups == groups
    links = {e["name"]: e for e in parse(out.read_bytes())
             if stat.S_ISLNK(e["mode"])}
    st = os.lstat(tree / "etc" / "abs")
    assert links[b"etc/abs"]["mtime"] == int(st.st_mtime)
    assert (links[b"etc/abs"]["uid"], links[b"etc/abs"]["gid"]) == \
        (st.st_uid, st.st_gid)


def test_sockets_skipped_with_one_warning(tmp_path, tree):
    r, _ = ramdisk(tmp_path, "--rootfs", tree)
    assert r.code == 0, r
    warn = [line for line in r.err.decode().splitlines() if "socket" in line]
    assert warn == [f"eifkit ramdisk: warning: skipped 1 socket (such as "
                    f"'{tree}/run/sock'): a ramdisk cannot hold them"], r.err


def test_user_layout_round_trip(tmp_path, tree):
    src, groups = snapshot(tree)
    out, r, (got, got_groups) = round_trip(
        tmp_path, tree, "--keep-owners", "--entrypoint", "/bin/prog", "--env",
        "A=1", "--workdir", "/data", "--", "x y", "", layout="user")
    want = {b"rootfs/" + k: v for k, v in src.items()}
    top = {"type": stat.S_IFDIR, "perm": 0o755, "uid": 0, "gid": 0, "mtime": 0}
    want[b"rootfs"] = top
    for d in (b"dev", b"proc", b"run", b"sys", b"tmp", b"var"):
        want.setdefault(b"rootfs/" + d, top)
    assert want[b"rootfs/tmp"]["perm"] == 0o1777  # the rootfs's own /tmp

    def f(data):
        import hashlib
        return {"type": stat.S_IFREG, "perm": 0o644, "uid": 0, "gid": 0,
                "mtime": 0, "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest()}
    want[b"cmd"] = f(b"/bin/prog\nx y\n\n")
    want[b"env"] = f(b"A=1\n")
    want[b"workdir"] = f(b"/data\n")
    # --keep-mtimes was not given
    want = {k: dict(v, mtime=0) if "mtime" in v else v for k, v in want.items()}
    assert got == want
    assert got_groups == {frozenset(b"rootfs/" + p for p in g) for g in groups}


# ---- the headers -----------------------------------------------------------

def test_headers_follow_linuxkit_conventions(tmp_path, tree):
    out = ok(tmp_path, "--rootfs", tree, "--", "/bin/sh", layout="user")
    es = parse(out.read_bytes())
    names = [e["name"] for e in es]
    # rootfs first; the tree sorted by path bytes; cmd, env at the top
    assert names[0] == b"rootfs" and names[-3:] == [b"cmd", b"env", b"TRAILER!!!"]
    body = names[1:-3]
    assert body == sorted(body) and len(set(body)) == len(body)
    assert all(n.startswith(b"rootfs/") for n in body)
    inos, expect, groups = [], 721, {}
    for e in es:
        m = e["mode"]
        if stat.S_ISDIR(m):
            assert e["nlink"] == 2 and e["filesize"] == 0
        elif stat.S_ISLNK(m):
            assert e["filesize"] == len(e["data"]) and b"\0" not in e["data"]
        elif stat.S_ISREG(m) and e["nlink"] > 1:
            groups.setdefault(e["ino"], []).append(e)
            if len(groups[e["ino"]]) > 1:
                continue  # a later member: the first's inode number
        else:
            assert e["nlink"] == 1, e["name"]
        assert e["ino"] == expect, (e["name"], e["ino"], expect)
        expect += 1
        inos.append(e["ino"])
    # one group of three: the data with the first member
    [g] = groups.values()
    assert [e["name"] for e in g] == [b"rootfs/data/a", b"rootfs/data/b",
                                      b"rootfs/sub/deeper/c"]
    assert [e["nlink"] for e in g] == [3, 3, 3]
    assert [e["data"] for e in g] == [b"linked data\n", b"", b""]
    assert es[-1]["mode"] == 0 and es[-1]["nlink"] == 1
    devs = {e["name"]: (e["rdevmajor"], e["rdevminor"]) for e in es
            if stat.S_ISCHR(e["mode"]) or stat.S_ISBLK(e["mode"])}
    if IS_ROOT:
        assert devs == {b"rootfs/dev/null": (1, 3), b"rootfs/dev/sda1": (8, 1),
                        b"rootfs/dev/big": (4095, 1 << 19)}
    lonely = [e for e in es if e["name"] == b"rootfs/data/lonely"][0]
    assert lonely["nlink"] == 1 and lonely["data"] == b"my other name is outside\n"


def test_sorted_by_bytes_not_by_component(tmp_path):
    """"a-b" < "a/b" < "a0" in byte order ('-' < '/' < '0'), and bytes
    >= 0x80 sort after ASCII."""
    root = tmp_path / "r"
    for d in ("a", "a/b"):
        (root / d).mkdir(parents=True)
    for f in ("a-b", "a0", "a/b/c", "a/B", "Z", "\u00e9"):
        (root / f).write_text(f)
    out = ok(tmp_path, "--rootfs", root)
    names = [e["name"] for e in parse(out.read_bytes())][:-1]
    assert names == [b"Z", b"a", b"a-b", b"a/B", b"a/b", b"a/b/c", b"a0",
                     "\u00e9".encode()]


def test_listing_order_never_matters(tmp_path):
    """The same names created in opposite orders (so the directories list
    them differently) give the same bytes."""
    names = [f"f{i:03d}" for i in range(200)]
    outs = []
    for k, order in enumerate((names, names[::-1])):
        root = tmp_path / f"r{k}" / "rootfs"
        (root / "d").mkdir(parents=True)
        for n in order:
            (root / "d" / n).write_text(n)
            (root / n).mkdir()
        outs.append(ok(tmp_path, "--rootfs", root,
                       out=tmp_path / f"{k}.cpio").read_bytes())
    assert outs[0] == outs[1]


def test_source_date_epoch_sets_every_mtime(tmp_path):
    root = tmp_path / "r"
    (root / "d").mkdir(parents=True)
    (root / "d" / "f").write_text("x")
    os.symlink("f", root / "d" / "l")
    out = ok(tmp_path, "--rootfs", root, "--", "sh", layout="user",
             env={"SOURCE_DATE_EPOCH": "123456789"})
    assert {e["mtime"] for e in parse(out.read_bytes())[:-1]} == {123456789}
    out = ok(tmp_path, "--rootfs", root, "--", "sh", layout="user",
             env={"SOURCE_DATE_EPOCH": ""})
    assert {e["mtime"] for e in parse(out.read_bytes())[:-1]} == {0}


def test_source_date_epoch_beyond_newc(tmp_path):
    root = tmp_path / "r"
    root.mkdir()
    r, out = ramdisk(tmp_path, "--rootfs", root, env={"SOURCE_DATE_EPOCH":
                                                       str(1 << 32)})
    assert_fails(r, out, "SOURCE_DATE_EPOCH", str(1 << 32))
    r, out = ramdisk(tmp_path, "--rootfs", root, env={"SOURCE_DATE_EPOCH": "x"})
    assert_fails(r, out, "SOURCE_DATE_EPOCH")


# ---- xattrs ----------------------------------------------------------------

def set_xattrs(*attrs):
    """(path, name, value) each. Skipped only where the file system under
    the test's folder has no xattrs at all (ENOTSUP); any other error
    fails the test."""
    try:
        for path, name, value in attrs:
            os.setxattr(path, name, value)
    except OSError as e:
        if e.errno != errno.ENOTSUP:
            raise
        pytest.skip(f"the file system of {path} has no xattrs: {e}")


def xattr_warning(files):
    return ("eifkit ramdisk: warning: dropped the extended attributes (file "
            f"capabilities, ACLs, SELinux labels) of {files}: newc cannot "
            "store them\n")


def test_xattrs_dropped_with_one_count(tmp_path):
    root = tmp_path / "r"
    root.mkdir()
    for n in ("a", "b", "c", "plain"):
        (root / n).write_text(n)
    if IS_ROOT:  # a file capability (cap_net_raw+ep), as setcap writes it
        c = ("security.capability",
             bytes.fromhex("0100000200200000000000000000000000000000"))
    else:
        c = ("user.x", b"")
    set_xattrs((root / "a", "user.one", b"1"), (root / "a", "user.two", b"2"),
               (root / "b", "user.one", b"1"), (root / "c", *c))
    r, out = ramdisk(tmp_path, "--rootfs", root)
    assert r.code == 0, r
    assert r.err.decode() == xattr_warning("3 files ('/a', '/b', '/c')")
    # and nothing of them in the archive
    x = tmp_path / "x"
    extract(out, x)
    assert all(os.listxattr(x / n) == [] for n in ("a", "b", "c"))


def test_xattrs_of_folders_counted_too(tmp_path):
    # regular files are counted by the writer as it reads them, the rest
    # by the scan: both end up in the one warning
    root = tmp_path / "r"
    (root / "d").mkdir(parents=True)
    (root / "f").write_text("f")
    set_xattrs((root / "d", "user.one", b"1"), (root / "f", "user.one", b"1"))
    r, _ = ramdisk(tmp_path, "--rootfs", root)
    assert r.code == 0, r
    assert r.err.decode() == xattr_warning("2 files ('/d', '/f')")


def test_xattrs_of_excluded_files_not_counted(tmp_path):
    # an excluded file loses nothing: it is not in the ramdisk at all
    root = tmp_path / "r"
    root.mkdir()
    (root / "keep").write_text("k")
    (root / "skip").write_text("s")
    set_xattrs((root / "skip", "user.one", b"1"))
    r, _ = ramdisk(tmp_path, "--rootfs", root, "--exclude", "/skip")
    assert r.code == 0, r
    assert b"extended attributes" not in r.err, r


# ---- refused ---------------------------------------------------------------

def test_4gib_file_refused(tmp_path):
    root = tmp_path / "r"
    root.mkdir()
    big = root / "big"
    with open(big, "wb") as f:
        f.truncate(4 << 30)  # sparse: no disk used
    r, out = ramdisk(tmp_path, "--rootfs", root)
    assert_fails(r, out, f"'{big}'", "4 GiB")
    r, out = ramdisk(tmp_path, "--file", f"{big}:/big")
    assert_fails(r, out, f"'{big}'", "4 GiB")
    prev = tmp_path / "prev.cpio"
    prev.write_bytes(b"previous")
    r, _ = ramdisk(tmp_path, "--rootfs", root, out=prev)
    assert r.code == 1 and prev.read_bytes() == b"previous"


@pytest.mark.parametrize("mtime", [-5, 1 << 32])
def test_mtime_outside_newc_refused(tmp_path, mtime):
    root = tmp_path / "r"
    (root / "d").mkdir(parents=True)
    f = root / "d" / "f"
    f.write_text("x")
    os.utime(f, (mtime, mtime))
    r, out = ramdisk(tmp_path, "--rootfs", root, "--keep-mtimes")
    assert_fails(r, out, f"'{f}'", str(mtime))
    # a normalised build does not care
    ok(tmp_path, "--rootfs", root, out=tmp_path / "normalised.cpio")
    os.utime(f, (0, 0))
    os.utime(root / "d", (mtime, mtime))
    r, out = ramdisk(tmp_path, "--rootfs", root, "--keep-mtimes")
    assert_fails(r, out, f"'{root / 'd'}'", str(mtime))


def test_largest_mtime_kept(tmp_path):
    root = tmp_path / "r"
    root.mkdir()
    (root / "f").write_text("x")
    os.utime(root / "f", ((1 << 32) - 1, (1 << 32) - 1))
    out = ok(tmp_path, "--rootfs", root, "--keep-mtimes")
    assert parse(out.read_bytes())[0]["mtime"] == (1 << 32) - 1


def long_path(root, total):
    """Make root/<dirs>/<file> whose path below root is total bytes long
    (components of at most 200 bytes, made relative to stay under the
    host's PATH_MAX); return that relative path."""
    fd = os.open(root, os.O_RDONLY)
    parts, left = [], total
    while left > 201:
        parts.append("d" * 200)
        left -= 201
    parts.append("f" * left)
    for p in parts[:-1]:
        os.mkdir(p, dir_fd=fd)
        nfd = os.open(p, os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = nfd
    os.close(os.open(parts[-1], os.O_WRONLY | os.O_CREAT, dir_fd=fd))
    os.close(fd)
    return "/".join(parts)


def test_name_too_long_for_the_archive(tmp_path):
    """newc (and the kernel) take names up to 4095 bytes: 4090 bytes of
    path fit a plain archive, but not under rootfs/."""
    root = tmp_path / "r"
    root.mkdir()
    rel = long_path(root, 4090)
    out = ok(tmp_path, "--rootfs", "r", cwd=tmp_path)
    assert parse(out.read_bytes())[-2]["name"] == rel.encode()
    out.unlink()
    r, out = ramdisk(tmp_path, "--rootfs", "r", "--", "sh", layout="user",
                     cwd=tmp_path)
    assert_fails(r, out, "'rootfs/dddd", "ffff': a name of 4097 bytes",
                 "4095")
    assert len(r.err) < 400  # the name is shortened in the message


def test_trailer_name_refused_at_the_top(tmp_path):
    """A member named TRAILER!!! would end the archive early for the kernel
    and for cpio: refused where it would be at the top (plain layout),
    kept below rootfs/."""
    root = tmp_path / "r"
    root.mkdir()
    (root / "TRAILER!!!").write_text("not the end")
    (root / "z").write_text("after it")
    r, out = ramdisk(tmp_path, "--rootfs", root)
    assert_fails(r, out, "TRAILER!!!")
    r, out = ramdisk(tmp_path, "--file", f"{root / 'z'}:/TRAILER!!!")
    assert_fails(r, out, "TRAILER!!!")
    out = ok(tmp_path, "--rootfs", root, "--", "sh", layout="user")
    x = tmp_path / "x"
    extract(out, x)
    assert (x / "rootfs" / "TRAILER!!!").read_text() == "not the end"
    assert (x / "rootfs" / "z").read_text() == "after it"


@pytest.mark.parametrize("what", ["dev", "proc", "run", "sys", "tmp", "var"])
def test_required_dirs_must_be_dirs(tmp_path, what):
    root = tmp_path / "r"
    root.mkdir()
    (root / what).write_text("a file")
    r, out = ramdisk(tmp_path, "--rootfs", root, "--", "sh", layout="user")
    assert_fails(r, out, f"'/{what}'", "directory")
    (root / what).unlink()
    os.symlink("/elsewhere", root / what)
    r, out = ramdisk(tmp_path, "--rootfs", root, "--", "sh", layout="user")
    assert_fails(r, out, f"'/{what}'", "directory")
    # a plain archive has no such rule
    ok(tmp_path, "--rootfs", root)


def test_unreadable_file_named(tmp_path):
    import subprocess
    import tempfile
    from conftest import as_nobody
    with tempfile.TemporaryDirectory() as d:
        d = os.path.realpath(d)
        os.chmod(d, 0o777)
        root = os.path.join(d, "r")
        os.makedirs(os.path.join(root, "sub"))
        with open(os.path.join(root, "sub", "secret"), "w") as f:
            f.write("x")
        os.chmod(os.path.join(root, "sub", "secret"), 0)
        os.chmod(os.path.join(root, "sub"), 0o755)
        os.chmod(root, 0o755)
        cp = subprocess.run(as_nobody("ramdisk", "--layout", "plain",
                                      "--rootfs", root, "-o",
                                      os.path.join(d, "o.cpio")),
                            capture_output=True)
        assert cp.returncode == 1, cp
        assert cp.stderr.decode() == (f"eifkit ramdisk: '{root}/sub/secret': "
                                      "Permission denied\n")
        assert os.listdir(d) == ["r"]


def test_missing_rootfs(tmp_path):
    r, out = ramdisk(tmp_path, "--rootfs", tmp_path / "none")
    assert_fails(r, out, f"'{tmp_path / 'none'}'", "No such file")
    (tmp_path / "file").write_text("x")
    r, out = ramdisk(tmp_path, "--rootfs", tmp_path / "file")
    assert_fails(r, out, f"'{tmp_path / 'file'}'", "not a folder")


def test_user_layout_needs_a_command(tmp_path):
    root = tmp_path / "r"
    root.mkdir()
    r, out = ramdisk(tmp_path, "--rootfs", root, layout="user")
    assert_fails(r, out, "no command")


@pytest.mark.parametrize("args", [
    [], ["--layout", "plain"], ["-o", "x.cpio"],
    ["--layout", "other", "-o", "x.cpio"],
    ["--layout", "system", "-o", "x.cpio"],
    ["--layout", "plain", "-o", "x.cpio", "stray"],
    ["--layout", "plain", "-o", "x.cpio", "--bogus"],
    ["--layout", "plain", "-o"],
])
def test_usage_errors_exit_2(tmp_path, args):
    r = run("ramdisk", *args, cwd=tmp_path)
    assert r.code == 2, r
    assert r.err.startswith(b"eifkit ramdisk: ")
    assert b"usage: eifkit ramdisk" in r.err
    assert list(tmp_path.iterdir()) == []


def test_names_with_control_characters_escaped_in_messages(tmp_path):
    """A newline in a file name is stored as it is, but shown as \\n in
    an error or a warning, which stay one line each."""
    root = tmp_path / "r"
    root.mkdir()
    bad = os.fsencode(root) + b"/bad\nname\t1"
    write(bad, b"x")
    os.utime(bad, (-5, -5))
    r, out = ramdisk(tmp_path, "--rootfs", root, "--keep-mtimes")
    assert_fails(r, out, f"'{root}/bad\\nname\\t1': mtime -5")
    import socket
    s = socket.socket(socket.AF_UNIX)
    s.bind(os.fsencode(root) + b"/so\nck")
    s.close()
    os.utime(bad, (0, 0))
    r, out = ramdisk(tmp_path, "--rootfs", root, "--keep-mtimes")
    assert r.code == 0, r
    assert r.err.decode() == (f"eifkit ramdisk: warning: skipped 1 socket "
                              f"(such as '{root}/so\\nck'): a ramdisk cannot "
                              "hold them\n")
