"""How inputs merge into one tree: --rootfs folders overlay each other in
the order given, --file adds single files (creating missing parents),
and hard links stay hard links where the tree holds more than one name
of the file. Checked on the archive with newcref.parse and by unpacking
it with GNU cpio."""
import os
import stat

import pytest

from conftest import run
from newcref import extract, parse, snapshot
from test_ramdisk import assert_fails, ok, ramdisk


def entries(out):
    return {e["name"]: e for e in parse(out.read_bytes())[:-1]}


def mk(root, files=(), dirs=(), links=()):
    root.mkdir(parents=True, exist_ok=True)
    for d in dirs:
        (root / d).mkdir(parents=True, exist_ok=True)
    for name, data in files:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(data)
    for name, target in links:
        os.symlink(target, root / name)
    return root


def test_later_rootfs_wins_and_directories_merge(tmp_path):
    a = mk(tmp_path / "a", files=[("etc/x", "a"), ("etc/only-a", "a"),
                                  ("f", "a")])
    b = mk(tmp_path / "b", files=[("etc/x", "b"), ("etc/only-b", "b")])
    os.chmod(a / "etc", 0o700)
    os.chmod(b / "etc", 0o750)
    os.chmod(b / "etc" / "x", 0o600)
    es = entries(ok(tmp_path, "--rootfs", a, "--rootfs", b))
    assert sorted(es) == [b"etc", b"etc/only-a", b"etc/only-b", b"etc/x", b"f"]
    assert es[b"etc/x"]["data"] == b"b"
    assert stat.S_IMODE(es[b"etc/x"]["mode"]) == 0o600
    assert stat.S_IMODE(es[b"etc"]["mode"]) == 0o750  # the later directory's
    # the other order
    es = entries(ok(tmp_path, "--rootfs", b, "--rootfs", a))
    assert es[b"etc/x"]["data"] == b"a"
    assert stat.S_IMODE(es[b"etc"]["mode"]) == 0o700


def test_file_replacing_a_directory_hides_its_children(tmp_path):
    a = mk(tmp_path / "a", files=[("d/x", "a"), ("d/sub/y", "a"), ("d2", "a")])
    b = mk(tmp_path / "b", files=[("d", "now a file")],
           links=[("d2", "elsewhere")])
    es = entries(ok(tmp_path, "--rootfs", a, "--rootfs", b))
    assert sorted(es) == [b"d", b"d2"]
    assert stat.S_ISREG(es[b"d"]["mode"]) and es[b"d"]["data"] == b"now a file"
    assert stat.S_ISLNK(es[b"d2"]["mode"])


def test_symlink_replacing_a_directory_hides_its_children(tmp_path):
    """A usr-merge overlay: /bin becomes a symlink to usr/bin."""
    a = mk(tmp_path / "a", files=[("bin/sh", "old"), ("usr/bin/sh", "new")])
    b = mk(tmp_path / "b", links=[("bin", "usr/bin")])
    es = entries(ok(tmp_path, "--rootfs", a, "--rootfs", b))
    assert sorted(es) == [b"bin", b"usr", b"usr/bin", b"usr/bin/sh"]
    assert es[b"bin"]["data"] == b"usr/bin"


def test_hidden_children_stay_hidden_when_a_directory_comes_back(tmp_path):
    """a: d/ with children; b: d is a file; c: d/ again. c's d is a new
    directory over b's file: a's children are gone (as in overlayfs or
    image layers), only c's are there."""
    a = mk(tmp_path / "a", files=[("d/from-a", "a"), ("d/sub/deep", "a")])
    b = mk(tmp_path / "b", files=[("d", "a file")])
    c = mk(tmp_path / "c", files=[("d/from-c", "c")])
    es = entries(ok(tmp_path, "--rootfs", a, "--rootfs", b, "--rootfs", c))
    assert sorted(es) == [b"d", b"d/from-c"]
    assert stat.S_ISDIR(es[b"d"]["mode"])


def test_entry_below_a_file_refused(tmp_path):
    a = mk(tmp_path / "a", files=[("etc", "a file")])
    src = mk(tmp_path / "s", files=[("x", "x")]) / "x"
    r, out = ramdisk(tmp_path, "--rootfs", a, "--file", f"{src}:/etc/passwd")
    assert_fails(r, out, "'etc/passwd'", "'etc' is not a directory")
    # through a symlink: the kernel would write through it
    a2 = mk(tmp_path / "a2", links=[("etc", "/somewhere")])
    r, out = ramdisk(tmp_path, "--rootfs", a2, "--file", f"{src}:/etc/passwd")
    assert_fails(r, out, "'etc/passwd'", "'etc' is not a directory")


def test_file_adds_and_replaces(tmp_path):
    a = mk(tmp_path / "a", files=[("etc/hosts", "old")])
    s = mk(tmp_path / "s", files=[("h", "new"), ("tool", "#!")])
    os.chmod(s / "tool", 0o700)
    os.symlink("tool", s / "link-to-tool")
    es = entries(ok(tmp_path, "--rootfs", a,
                    "--file", f"{s / 'h'}:/etc/hosts",
                    "--file", f"{s / 'tool'}:usr/local/bin/tool:4711",
                    "--file", f"{s / 'link-to-tool'}:/opt/t",
                    "--file", f"{s / 'h'}://srv/a//b/"))
    assert es[b"etc/hosts"]["data"] == b"new"
    t = es[b"usr/local/bin/tool"]
    assert t["mode"] == stat.S_IFREG | 0o4711 and t["data"] == b"#!"
    # the parents it needed: directories 0755, 0:0
    for d in (b"usr", b"usr/local", b"usr/local/bin", b"opt", b"srv", b"srv/a"):
        assert es[d]["mode"] == stat.S_IFDIR | 0o755, d
        assert (es[d]["uid"], es[d]["gid"]) == (0, 0)
    # SRC is followed: a regular file with the target's mode
    assert es[b"opt/t"]["mode"] == stat.S_IFREG | 0o700
    assert es[b"srv/a/b"]["data"] == b"new"
    # a rootfs after --file overlays it
    b = mk(tmp_path / "b", files=[("etc/hosts", "from b")])
    es = entries(ok(tmp_path, "--file", f"{s / 'h'}:/etc/hosts", "--rootfs", b))
    assert es[b"etc/hosts"]["data"] == b"from b"


@pytest.mark.parametrize("dest", ["../x", "/etc/../x", "a/..", "/",
                                  "./.", "a/./b"])
def test_file_dest_refused(tmp_path, dest):
    s = mk(tmp_path / "s", files=[("h", "x")])
    r, out = ramdisk(tmp_path, "--file", f"{s / 'h'}:{dest}")
    assert_fails(r, out, f"'{dest}'")


@pytest.mark.parametrize("spec,why", [
    ("nocolon", "SRC:DEST"), (":/x", "SRC:DEST"), ("{s}:", "SRC:DEST"),
    ("{s}:/x:7777777", "mode"), ("{d}:/x", "not a regular file"),
    ("{s}.missing:/x", "No such file"),
])
def test_file_spec_refused(tmp_path, spec, why):
    s = mk(tmp_path / "s", files=[("h", "x")])
    spec = spec.format(s=s / "h", d=s)
    r, out = ramdisk(tmp_path, "--file", spec)
    assert_fails(r, out, why)


def test_file_mode_and_dest_with_colons(tmp_path):
    s = mk(tmp_path / "s", files=[("h", "x")])
    os.chmod(s / "h", 0o640)
    es = entries(ok(tmp_path, "--file", f"{s / 'h'}:/a:b",
                    "--file", f"{s / 'h'}:/c:d:0755"))
    assert es[b"a:b"]["mode"] == stat.S_IFREG | 0o640
    assert es[b"c:d"]["mode"] == stat.S_IFREG | 0o755


# ---- hard links --------------------------------------------------------------

def links_of(es):
    groups = {}
    for n, e in es.items():
        if stat.S_ISREG(e["mode"]) and e["nlink"] > 1:
            groups.setdefault(e["ino"], set()).add(n)
    return sorted(sorted(g) for g in groups.values())


def test_hard_link_outside_the_tree_is_a_plain_file(tmp_path):
    a = mk(tmp_path / "a", files=[("in", "data")])
    os.link(a / "in", tmp_path / "out-of-tree")
    es = entries(ok(tmp_path, "--rootfs", a))
    assert es[b"in"]["nlink"] == 1 and es[b"in"]["data"] == b"data"


def test_hard_link_group_across_two_rootfs(tmp_path):
    """Two names of one file in two --rootfs folders are one file in the
    archive too (real hard links, the data once)."""
    a = mk(tmp_path / "a", files=[("bin/tool", "the tool")])
    b = mk(tmp_path / "b", dirs=["sbin"])
    os.link(a / "bin" / "tool", b / "sbin" / "tool")
    os.link(a / "bin" / "tool", b / "sbin" / "tool2")
    out = ok(tmp_path, "--rootfs", a, "--rootfs", b)
    es = entries(out)
    assert links_of(es) == [[b"bin/tool", b"sbin/tool", b"sbin/tool2"]]
    assert [es[n]["nlink"] for n in (b"bin/tool", b"sbin/tool")] == [3, 3]
    assert es[b"bin/tool"]["data"] == b"the tool"
    assert es[b"sbin/tool"]["data"] == es[b"sbin/tool2"]["data"] == b""
    x = tmp_path / "x"
    extract(out, x)
    _, groups = snapshot(x)
    assert groups == {frozenset({b"bin/tool", b"sbin/tool", b"sbin/tool2"})}


def test_hard_link_member_replaced_by_a_later_rootfs(tmp_path):
    """a: x, y, z one file; b replaces x: y and z stay linked (nlink 2);
    c replaces y too: z is a plain file again."""
    a = mk(tmp_path / "a", files=[("x", "shared")])
    os.link(a / "x", a / "y")
    os.link(a / "x", a / "z")
    b = mk(tmp_path / "b", files=[("x", "b's own x")])
    c = mk(tmp_path / "c", files=[("y", "c's own y")])
    es = entries(ok(tmp_path, "--rootfs", a, "--rootfs", b))
    assert links_of(es) == [[b"y", b"z"]]
    assert es[b"y"]["nlink"] == 2 and es[b"y"]["data"] == b"shared"
    assert es[b"x"]["nlink"] == 1 and es[b"x"]["data"] == b"b's own x"
    es = entries(ok(tmp_path, "--rootfs", a, "--rootfs", b, "--rootfs", c))
    assert links_of(es) == []
    assert es[b"z"]["nlink"] == 1 and es[b"z"]["data"] == b"shared"


def test_hard_links_hidden_with_their_directory(tmp_path):
    a = mk(tmp_path / "a", files=[("keep", "k")])
    (a / "d").mkdir()
    os.link(a / "keep", a / "d" / "alias")
    b = mk(tmp_path / "b", files=[("d", "file now")])
    es = entries(ok(tmp_path, "--rootfs", a, "--rootfs", b))
    assert es[b"keep"]["nlink"] == 1 and es[b"keep"]["data"] == b"k"


def test_many_links_and_groups(tmp_path):
    """200 groups of 1 to 5 names spread over folders, created in a
    scrambled order: every group comes out whole, with its data once."""
    import random
    rng = random.Random(7)
    a = mk(tmp_path / "a", dirs=[f"d{i}" for i in range(10)])
    want = []
    for g in range(200):
        names = [f"d{rng.randrange(10)}/g{g}-{k}" for k in range(rng.randint(1, 5))]
        (a / names[0]).write_text(f"group {g}")
        for n in names[1:]:
            os.link(a / names[0], a / n)
        want.append(sorted(n.encode() for n in names))
    es = entries(ok(tmp_path, "--rootfs", a))
    assert links_of(es) == sorted(w for w in want if len(w) > 1)
    for w in want:
        datas = [es[n]["data"] for n in w]
        assert datas[0].startswith(b"group ") and set(datas[1:]) <= {b""}
