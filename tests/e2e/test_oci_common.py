"""Helpers for the container image tests (test_oci_*.py): hand-crafted
layers (Python's tarfile, gzip, the zstd CLI), OCI layouts, OCI archives
and docker save archives in both forms; running eifkit's plain ramdisk and
extracting it with GNU cpio; walking two trees and comparing them (type,
mode, owner, link target, content, hard-link identity).

This module holds no tests of the binary itself, only a few of the
helpers."""
import gzip
import hashlib
import io
import json
import os
import pathlib
import stat
import subprocess
import tarfile
import zlib

import pytest

from conftest import run

OCI_LAYOUT = '{"imageLayoutVersion":"1.0.0"}'
MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER = {
    None: "application/vnd.oci.image.layer.v1.tar",
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
}
MT_DOCKER_LAYER = {
    None: "application/vnd.docker.image.rootfs.diff.tar",
    "gzip": "application/vnd.docker.image.rootfs.diff.tar.gzip",
}
MT_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MT_DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"

MTIME = 1600000000


# ---- tar entries -------------------------------------------------------

def _info(name, type_, mode, uid, gid, mtime, **kw):
    ti = tarfile.TarInfo(name)
    ti.type = type_
    ti.mode = mode
    ti.uid, ti.gid = uid, gid
    ti.uname = ti.gname = ""
    ti.mtime = mtime
    for k, v in kw.items():
        setattr(ti, k, v)
    return ti


def reg(name, data=b"", mode=0o644, uid=0, gid=0, mtime=MTIME):
    if isinstance(data, str):
        data = data.encode()
    return (_info(name, tarfile.REGTYPE, mode, uid, gid, mtime,
                  size=len(data)), data)


def dir_(name, mode=0o755, uid=0, gid=0, mtime=MTIME):
    return (_info(name, tarfile.DIRTYPE, mode, uid, gid, mtime), None)


def sym(name, target, uid=0, gid=0, mtime=MTIME):
    return (_info(name, tarfile.SYMTYPE, 0o777, uid, gid, mtime,
                  linkname=target), None)


def hard(name, target, mode=0o644, uid=0, gid=0, mtime=MTIME):
    return (_info(name, tarfile.LNKTYPE, mode, uid, gid, mtime,
                  linkname=target), None)


def chr_(name, major, minor, mode=0o666, uid=0, gid=0, mtime=MTIME):
    return (_info(name, tarfile.CHRTYPE, mode, uid, gid, mtime,
                  devmajor=major, devminor=minor), None)


def blk(name, major, minor, mode=0o660, uid=0, gid=0, mtime=MTIME):
    return (_info(name, tarfile.BLKTYPE, mode, uid, gid, mtime,
                  devmajor=major, devminor=minor), None)


def fifo(name, mode=0o644, uid=0, gid=0, mtime=MTIME):
    return (_info(name, tarfile.FIFOTYPE, mode, uid, gid, mtime), None)


def whiteout(path):
    d, _, base = path.rpartition("/")
    return reg((d + "/" if d else "") + ".wh." + base, mode=0o600)


def opaque(dirpath):
    return reg(dirpath.rstrip("/") + "/.wh..wh..opq", mode=0o600)


def tar_bytes(entries, fmt=tarfile.PAX_FORMAT):
    """A layer: a tar of (TarInfo, data) pairs, as written, in order."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for ti, data in entries:
            t.addfile(ti, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def compress(data, comp):
    if comp is None:
        return data
    if comp == "gzip":
        return gzip.compress(data, compresslevel=6, mtime=0)
    if comp == "zstd":
        return subprocess.run(["zstd", "-q", "-c", "-3"], input=data,
                              capture_output=True, check=True).stdout
    raise ValueError(comp)


def digest(data, alg="sha256"):
    return f"{alg}:" + hashlib.new(alg, data).hexdigest()


# ---- OCI image layouts ---------------------------------------------------

def jbytes(obj):
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


def config_json(arch="amd64", os_="linux", diff_ids=(), **cfg):
    """An image config; cfg keys are the config's own (Env, Cmd, ...)."""
    c = {"architecture": arch, "os": os_,
         "rootfs": {"type": "layers", "diff_ids": list(diff_ids)}}
    if cfg:
        c["config"] = cfg
    return c


class Layout:
    """An OCI image layout folder being written."""

    def __init__(self, path):
        self.path = pathlib.Path(path)
        (self.path / "blobs").mkdir(parents=True, exist_ok=True)
        (self.path / "oci-layout").write_text(OCI_LAYOUT)
        self.manifests = []

    def blob(self, data, alg="sha256"):
        d = digest(data, alg)
        p = self.path / "blobs" / alg
        p.mkdir(exist_ok=True)
        (p / d.split(":", 1)[1]).write_bytes(data)
        return d

    def blob_path(self, dg):
        alg, hexd = dg.split(":", 1)
        return self.path / "blobs" / alg / hexd

    def desc(self, data, mt, alg="sha256", **extra):
        d = {"mediaType": mt, "digest": self.blob(data, alg),
             "size": len(data)}
        d.update(extra)
        return d

    def image(self, layers, comp="gzip", alg="sha256", arch="amd64",
              os_="linux", config=None, ref="latest", platform=None,
              add=True, layer_mt=None, manifest_mt=MT_MANIFEST,
              config_mt=MT_CONFIG, annotations=None, **cfg):
        """Add an image; layers are entry lists or raw tar bytes (then
        compressed with comp). Returns the manifest's descriptor (added
        to the top-level index when add)."""
        ldescs, diff_ids = [], []
        for layer in layers:
            raw = layer if isinstance(layer, bytes) else tar_bytes(layer)
            diff_ids.append(digest(raw, "sha256"))
            blob = compress(raw, comp)
            mt = layer_mt or (MT_LAYER[comp] if manifest_mt == MT_MANIFEST
                              else MT_DOCKER_LAYER[comp])
            ldescs.append(self.desc(blob, mt, alg))
        if config is None:
            config = config_json(arch, os_, diff_ids, **cfg)
        cdesc = self.desc(jbytes(config), config_mt, alg)
        manifest = {"schemaVersion": 2, "mediaType": manifest_mt,
                    "config": cdesc, "layers": ldescs}
        ann = dict(annotations or {})
        if ref is not None:
            ann["org.opencontainers.image.ref.name"] = ref
        extra = {}
        if ann:
            extra["annotations"] = ann
        if platform:
            extra["platform"] = platform
        mdesc = self.desc(jbytes(manifest), manifest_mt, alg, **extra)
        if add:
            self.manifests.append(mdesc)
        self.last = {"manifest": manifest, "config": config,
                     "mdesc": mdesc, "cdesc": cdesc, "layers": ldescs}
        return mdesc

    def index(self, manifests, alg="sha256", **extra):
        """A nested index blob; returns its descriptor."""
        idx = {"schemaVersion": 2, "mediaType": MT_INDEX,
               "manifests": manifests}
        return self.desc(jbytes(idx), MT_INDEX, alg, **extra)

    def write(self, manifests=None):
        idx = {"schemaVersion": 2, "mediaType": MT_INDEX,
               "manifests": self.manifests if manifests is None
               else manifests}
        (self.path / "index.json").write_bytes(jbytes(idx) + b"\n")
        return self.path


def make_image(path, layers, **kw):
    """A one-image OCI layout at path; returns the Layout."""
    lay = Layout(path)
    lay.image(layers, **kw)
    lay.write()
    return lay


def tar_folder(src, dst, prefix=""):
    """An archive of a folder's contents (an OCI archive, or a docker
    archive written from a folder), members named PREFIX + relative path,
    sorted."""
    src = pathlib.Path(src)
    with tarfile.open(dst, "w", format=tarfile.PAX_FORMAT) as t:
        for p in sorted(src.rglob("*")):
            t.add(p, arcname=prefix + str(p.relative_to(src)),
                  recursive=False)
    return dst


def docker_legacy(path, layers, repo_tags=("app:latest",), config=None,
                  extra_entries=(), **cfg):
    """What `docker save` wrote before moby 25: manifest.json,
    <id>/layer.tar (uncompressed), <hex>.json (the config), checked by
    rootfs.diff_ids."""
    path = pathlib.Path(path)
    raws = [l if isinstance(l, bytes) else tar_bytes(l) for l in layers]
    diff_ids = [digest(r) for r in raws]
    if config is None:
        config = config_json("amd64", "linux", diff_ids, **cfg)
    cbytes = jbytes(config)
    chex = hashlib.sha256(cbytes).hexdigest()
    names, members = [], []
    for i, raw in enumerate(raws):
        lid = hashlib.sha256(f"layer{i}".encode() + raw).hexdigest()
        names.append(f"{lid}/layer.tar")
        members.append((f"{lid}/VERSION", b"1.0"))
        members.append((f"{lid}/layer.tar", raw))
    manifest = [{"Config": f"{chex}.json", "RepoTags": list(repo_tags),
                 "Layers": names}]
    members.append((f"{chex}.json", cbytes))
    members.append(("manifest.json", jbytes(manifest)))
    members.extend(extra_entries)
    with tarfile.open(path, "w") as t:
        for name, data in members:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mtime = MTIME
            t.addfile(ti, io.BytesIO(data))
    return {"config_digest": "sha256:" + chex, "manifest": manifest}


def docker_new(path, tmp, layers, repo_tags=("app:latest",), **cfg):
    """What `docker save` writes since moby 25: an OCI layout (index.json
    with containerd's image name) plus manifest.json naming
    blobs/sha256/<hex>; layers uncompressed, with docker media types."""
    path = pathlib.Path(path)
    lay = Layout(pathlib.Path(tmp) / "docker-new-layout")
    lay.image(layers, comp=None, manifest_mt=MT_DOCKER_MANIFEST,
              config_mt=MT_DOCKER_CONFIG, ref=None,
              annotations={"io.containerd.image.name":
                           "docker.io/library/" + repo_tags[0],
                           "org.opencontainers.image.ref.name":
                           repo_tags[0].rpartition(":")[2]}, **cfg)
    last = lay.last
    lay.write()

    def bname(d):
        return "blobs/sha256/" + d["digest"].split(":", 1)[1]
    manifest = [{"Config": bname(last["cdesc"]),
                 "RepoTags": list(repo_tags),
                 "Layers": [bname(d) for d in last["layers"]]}]
    (lay.path / "manifest.json").write_bytes(jbytes(manifest))
    tar_folder(lay.path, path)
    return last


def zero_layer(size, comp, name="big", extra=()):
    """A layer holding one file of size zero bytes (after the entries of
    extra), compressed with comp ("gzip" or "zstd"), made as a stream:
    (blob bytes, diff_id). Quick to make and small, however large."""
    head = tar_bytes(list(extra) + [reg(name, b"")], tarfile.USTAR_FORMAT)
    head = head[:head.rindex(b"ustar") - 257 + 512]  # up to big's header
    hdr = bytearray(head[-512:])
    hdr[124:136] = b"%011o\0" % size
    hdr[148:156] = b" " * 8
    hdr[148:156] = b"%06o\0 " % sum(hdr)
    head = head[:-512] + bytes(hdr)
    tail = b"\0" * ((-size) % 512 + 1024)
    diff = hashlib.sha256(head)
    chunk = bytes(1 << 20)
    if comp == "zstd":
        p = subprocess.Popen(["zstd", "-q", "-1", "-c"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE)
        import threading
        out = []
        t = threading.Thread(target=lambda: out.append(p.stdout.read()))
        t.start()
        write = p.stdin.write
    else:
        z = zlib.compressobj(1, zlib.DEFLATED, 31)
        parts = []

        def write(b):
            parts.append(z.compress(b))
    write(head)
    left = size
    while left:
        n = min(left, len(chunk))
        b = chunk if n == len(chunk) else chunk[:n]
        diff.update(b)
        write(b)
        left -= n
    diff.update(tail)
    write(tail)
    if comp == "zstd":
        p.stdin.close()
        t.join()
        assert p.wait() == 0
        blob = out[0]
    else:
        parts.append(z.flush())
        blob = b"".join(parts)
    return blob, "sha256:" + diff.hexdigest()


def zero_image(path, size, comp, extra=()):
    """An OCI layout whose one layer is zero_layer(size, comp, extra)."""
    blob, diff_id = zero_layer(size, comp, extra=extra)
    lay = Layout(path)
    ldesc = lay.desc(blob, MT_LAYER[comp])
    cdesc = lay.desc(jbytes(config_json(diff_ids=[diff_id],
                                        Cmd=["/big"])), MT_CONFIG)
    man = {"schemaVersion": 2, "mediaType": MT_MANIFEST, "config": cdesc,
           "layers": [ldesc]}
    lay.manifests.append(lay.desc(jbytes(man), MT_MANIFEST, annotations={
        "org.opencontainers.image.ref.name": "latest"}))
    lay.write()
    return lay


# ---- running eifkit and reading what it wrote -------------------------

def ramdisk(tmp, *args, layout="plain", env=None, name="out"):
    """eifkit ramdisk --layout LAYOUT ARGS -o TMP/NAME.cpio; the Result."""
    out = pathlib.Path(tmp) / f"{name}.cpio"
    r = run("ramdisk", "--layout", layout, "-o", out, *args, env=env)
    return r, out


def need_root():
    """Extracting devices and owners (GNU cpio, umoci) takes root."""
    if os.geteuid() != 0:
        pytest.skip("needs root: devices and owners are extracted")


def extract_cpio(archive, dest):
    need_root()
    dest = pathlib.Path(dest)
    dest.mkdir(parents=True)
    with open(archive, "rb") as f:
        cp = subprocess.run(["cpio", "-idm", "--quiet",
                             "--no-absolute-filenames", "-D", str(dest)],
                            stdin=f, capture_output=True)
    assert cp.returncode == 0, cp.stderr
    return dest


def plain_tree(tmp, *args, env=None, name="tree"):
    """Build the plain ramdisk of ARGS and extract it; the folder."""
    r, out = ramdisk(tmp, *args, env=env, name=name)
    assert r.code == 0, r
    return extract_cpio(out, pathlib.Path(tmp) / name)


def user_files(tmp, *args, env=None, name="user"):
    """The user ramdisk's cmd, env, workdir files (None when absent),
    and the Result (for its warnings)."""
    r, out = ramdisk(tmp, *args, layout="user", env=env, name=name)
    assert r.code == 0, r
    d = extract_cpio(out, pathlib.Path(tmp) / name)

    def lines(n):
        p = d / n
        return p.read_bytes().decode().split("\n")[:-1] if p.exists() else None
    return {"cmd": lines("cmd"), "env": lines("env"),
            "workdir": lines("workdir"), "result": r}


def umoci_unpack(layout, ref, dest):
    need_root()
    cp = subprocess.run(["umoci", "raw", "unpack", "--image",
                         f"{layout}:{ref}", str(dest)], capture_output=True)
    assert cp.returncode == 0, cp.stderr
    return pathlib.Path(dest)


def walk(root, mtimes=False):
    """path -> (type, mode, uid, gid, what) and the hard-link groups
    (sets of paths sharing an inode), for everything below root."""
    root = pathlib.Path(root)
    entries, inodes = {}, {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = pathlib.Path(dirpath) / n
            rel = str(p.relative_to(root))
            st = os.lstat(p)
            m = st.st_mode
            if stat.S_ISREG(m):
                kind = "file"
                what = hashlib.sha256(p.read_bytes()).hexdigest()
                if st.st_nlink > 1:
                    inodes.setdefault(st.st_ino, set()).add(rel)
            elif stat.S_ISDIR(m):
                kind, what = "dir", None
            elif stat.S_ISLNK(m):
                kind, what = "symlink", os.readlink(p)
            elif stat.S_ISCHR(m) or stat.S_ISBLK(m):
                kind = "chr" if stat.S_ISCHR(m) else "blk"
                what = (os.major(st.st_rdev), os.minor(st.st_rdev))
            elif stat.S_ISFIFO(m):
                kind, what = "fifo", None
            else:
                kind, what = "other", None
            e = (kind, stat.S_IMODE(m), st.st_uid, st.st_gid, what)
            # GNU cpio sets no symlink's mtime, and a folder's changes
            # as its entries are made: see ls_cpio for those
            if mtimes and kind in ("file", "chr", "blk", "fifo"):
                e += (int(st.st_mtime),)
            entries[rel] = e
    groups = sorted(sorted(g) for g in inodes.values() if len(g) > 1)
    return entries, groups


def tree_diff(a, b, mtimes=False):
    """Differences between two folders, as readable lines."""
    ea, ga = walk(a, mtimes)
    eb, gb = walk(b, mtimes)
    out = []
    for p in sorted(set(ea) | set(eb)):
        if ea.get(p) != eb.get(p):
            out.append(f"{p}: {ea.get(p)} != {eb.get(p)}")
    if ga != gb:
        out.append(f"hard links: {ga} != {gb}")
    return out


def assert_same_tree(a, b, mtimes=False):
    diff = tree_diff(a, b, mtimes)
    assert not diff, "\n".join(diff[:40])


def ls_cpio(archive):
    """eifkit ls of a cpio archive: name -> (mode, "uid/gid", size,
    "date time", rest of the line)."""
    r = run("ls", archive)
    assert r.code == 0, r
    out = {}
    for line in r.out.decode().splitlines():
        mode, owner, size, date, time_, name, *rest = line.split()
        out[name] = (mode, owner, size, f"{date} {time_}", " ".join(rest))
    return out


def entries(root):
    return walk(root)[0]


def err_text(r):
    return r.err.decode(errors="replace")


# ---- checks of the helpers themselves ---------------------------------

def test_helper_walk_sees_types_and_links(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    (d / "f").write_bytes(b"x")
    os.link(d / "f", d / "g")
    os.symlink("f", d / "s")
    os.mkfifo(d / "p")
    e, groups = walk(d)
    assert e["f"][0] == "file"
    assert e["s"] == ("symlink", 0o777, os.geteuid(), os.getegid(), "f")
    assert e["p"][0] == "fifo"
    assert groups == [["f", "g"]]


def test_helper_layout_is_valid_for_umoci(tmp_path):
    lay = make_image(tmp_path / "img", [[reg("a", "1")]])
    dest = umoci_unpack(lay.path, "latest", tmp_path / "un")
    assert (dest / "a").read_text() == "1"
