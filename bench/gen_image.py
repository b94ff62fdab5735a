#!/usr/bin/env python3
"""bench/gen_image.py ROOTFS DIR APP: an OCI image layout in DIR made of
ROOTFS (bench/gen_tree.py's tree) as 4 gzip layers: the 20 usr/dNN
folders split in 4, bin/ and the symlinks in the last one, which also
deletes 200 files of the first layer (whiteouts) and replaces
usr/d00/e00 with an opaque folder. gzip -1 (tar and gzip from the
system, run here), cached by a stamp like gen_tree.py's."""
import hashlib
import json
import os
import subprocess
import sys

VERSION = 1
root, out, app = (os.path.abspath(a) for a in sys.argv[1:4])
stamp = f"gen_image v{VERSION} {open(root + '.stamp').read()}"
try:
    if open(out + ".stamp").read() == stamp:
        sys.exit(0)
except OSError:
    pass
print(f"bench: making a 4-layer OCI image of {root} in {out}", file=sys.stderr)
subprocess.run(["rm", "-rf", out, out + ".stamp"], check=True)
os.makedirs(f"{out}/blobs/sha256")
work = out + ".work"
subprocess.run(["rm", "-rf", work], check=True)
os.makedirs(work)

usr = sorted(os.listdir(f"{root}/usr"))
dirs = [d for d in usr if d.startswith("d")]
links = [f"usr/{d}" for d in usr if d.startswith("link")]
groups = [[f"usr/{d}" for d in dirs[i::4]] for i in range(4)]
groups[3] += ["bin"] + links

# the last layer's whiteouts: 200 files of the first layer, and an opaque
# usr/d00/e00 (what was there before is hidden; one new file)
first = sorted(os.path.join(dp, f) for g in groups[0]
               for dp, _, fs in os.walk(f"{root}/{g}") for f in fs)
wh = os.path.join(work, "wh")
for p in first[:200]:
    rel = os.path.relpath(p, root)
    d, n = os.path.split(rel)
    os.makedirs(os.path.join(wh, d), exist_ok=True)
    open(os.path.join(wh, d, ".wh." + n), "w").close()
os.makedirs(os.path.join(wh, dirs[0], "e00"), exist_ok=True)
open(os.path.join(wh, dirs[0], "e00", ".wh..wh..opq"), "w").close()
open(os.path.join(wh, dirs[0], "e00", "new"), "w").write("new\n")
os.makedirs(os.path.join(wh, "bin"), exist_ok=True)  # the Entrypoint
open(os.path.join(wh, "bin", "app"), "wb").write(open(app, "rb").read())
os.chmod(os.path.join(wh, "bin", "app"), 0o755)


def blob(data_path):
    h = hashlib.sha256()
    with open(data_path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    d = h.hexdigest()
    os.replace(data_path, f"{out}/blobs/sha256/{d}")
    return "sha256:" + d, os.path.getsize(f"{out}/blobs/sha256/{d}")


layers, diff_ids = [], []
for i, g in enumerate(groups):
    tar = f"{work}/l{i}.tar"
    args = ["tar", "--sort=name", "--mtime=@0", "--owner=0", "--group=0",
            "--numeric-owner", "-cf", tar, "-C", root, *sorted(g)]
    if i == 3:
        args += ["-C", wh, "."]
    subprocess.run(args, check=True)
    diff_ids.append("sha256:" + subprocess.run(
        ["sha256sum", tar], capture_output=True, check=True,
        text=True).stdout.split()[0])
    subprocess.run(["gzip", "-1", "-n", tar], check=True)
    d, n = blob(tar + ".gz")
    layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                   "digest": d, "size": n})


def jblob(obj, mt):
    p = f"{work}/j"
    open(p, "wb").write(json.dumps(obj, sort_keys=True).encode())
    d, n = blob(p)
    return {"mediaType": mt, "digest": d, "size": n}


config = jblob({"architecture": "amd64", "os": "linux",
                "config": {"Entrypoint": ["/bin/app"]},
                "rootfs": {"type": "layers", "diff_ids": diff_ids}},
               "application/vnd.oci.image.config.v1+json")
manifest = jblob({"schemaVersion": 2,
                  "mediaType": "application/vnd.oci.image.manifest.v1+json",
                  "config": config, "layers": layers},
                 "application/vnd.oci.image.manifest.v1+json")
manifest["annotations"] = {"org.opencontainers.image.ref.name": "bench"}
json.dump({"schemaVersion": 2, "manifests": [manifest]},
          open(f"{out}/index.json", "w"))
open(f"{out}/oci-layout", "w").write('{"imageLayoutVersion": "1.0.0"}')
subprocess.run(["rm", "-rf", work], check=True)
open(out + ".stamp", "w").write(stamp)
