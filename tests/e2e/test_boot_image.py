"""A container image made with Debian's umoci, built into an EIF with
`eifkit build --oci` and booted with `eifkit run`: the app runs with the
image's Entrypoint followed by its Cmd, its Env and its WorkingDir.

The image has three layers: busybox-static as /bin/busybox; /bin/sh, the
app script and the working directory; a whiteout removing a file of the
layer below. Its config is set with `umoci config`. The same image,
converted by skopeo to a `docker save` archive, must give an EIF with the
same PCRs (only the metadata's DockerInfo differs). `eifkit describe`
names the image's config and manifest digests in Metadata.DockerInfo.

One boot (x86_64). Like test_init_boot.py, this runs when EIFKIT_BOOT=1
(make check-init) and is skipped otherwise; with EIFKIT_BOOT=1 a missing
umoci, skopeo, kernel or QEMU is a failure.
"""
import json
import os
import shutil
import subprocess

import pytest

from conftest import run
from test_init_boot import BOOTING, boot, build_eif, kernel_dir, need

if not BOOTING:
    pytestmark = pytest.mark.skip(
        reason="boots an EIF under QEMU: run by make check-init (EIFKIT_BOOT=1)")

ARCH = "x86_64"
TAG = "app"
# sh is a bare name: found through the image's PATH
ENTRYPOINT = ["sh", "/app/run.sh", "from entrypoint"]
CMD = ["cmd one", "  two  ", "x=y"]
ENV = ["PATH=/usr/local/bin:/bin", "GREETING=hello image", "EMPTY=",
       "WITH_EQ=a=b"]
WORKDIR = "/srv/app"
STATUS = 7

APP_SH = r"""#!/bin/sh
echo "T argc=$#"
for a in "$@"; do echo "T arg=[$a]"; done
echo "T cmdline=[$(tr '\0' '|' </proc/$$/cmdline)]"
tr '\0' '\n' </proc/$$/environ | while IFS= read -r v; do echo "T environ [$v]"; done
echo "T pwd=$(pwd)"
echo "T data $(cat data.txt)"
echo "T gone $([ -e /app/gone ] && echo present || echo absent)"
echo "T done"
exit 7
"""


def tool(name, package):
    if shutil.which(name) is None:
        pytest.fail(f"{name} is not installed: apt-get install {package} "
                    "(make check installs it)")


def sh(*args):
    cp = subprocess.run([str(a) for a in args], capture_output=True, text=True)
    assert cp.returncode == 0, (args, cp.stdout, cp.stderr)
    return cp.stdout


def blob(layout, digest):
    return json.loads((layout / "blobs" / digest.replace(":", "/")).read_bytes())


def make_image(tmp):
    """An OCI layout at tmp/oci holding TAG; returns (layout, manifest
    digest, config digest, config)."""
    tool("umoci", "umoci")
    kd = kernel_dir(ARCH)
    need(kd / "busybox")
    layout, image = tmp / "oci", f"{tmp / 'oci'}:{TAG}"
    rootless = [] if os.geteuid() == 0 else ["--rootless"]
    bb = tmp / "busybox"
    bb.write_bytes((kd / "busybox").read_bytes())
    bb.chmod(0o755)
    stage = tmp / "stage"
    for d in ("bin", "app", "srv/app"):
        (stage / d).mkdir(parents=True)
    os.symlink("busybox", stage / "bin" / "sh")
    (stage / "app" / "run.sh").write_text(APP_SH)
    (stage / "app" / "run.sh").chmod(0o755)
    (stage / "app" / "gone").write_text("removed by the next layer\n")
    (stage / "srv" / "app" / "data.txt").write_text("in the workdir\n")
    sh("umoci", "init", "--layout", layout)
    sh("umoci", "new", "--image", image)
    sh("umoci", "insert", *rootless, "--image", image, bb, "/bin/busybox")
    sh("umoci", "insert", *rootless, "--image", image, stage, "/")
    sh("umoci", "insert", *rootless, "--image", image, "--whiteout", "/app/gone")
    cfg = ["umoci", "config", *rootless, "--image", image,
           "--config.workingdir", WORKDIR]
    for a in ENTRYPOINT:
        cfg += ["--config.entrypoint", a]
    for a in CMD:
        cfg += ["--config.cmd", a]
    for v in ENV:
        cfg += ["--config.env", v]
    sh(*cfg)
    index = json.loads((layout / "index.json").read_bytes())
    [desc] = [m for m in index["manifests"]
              if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == TAG]
    manifest = blob(layout, desc["digest"])
    config = blob(layout, manifest["config"]["digest"])
    # what umoci wrote is what the boot is checked against
    c = config["config"]
    assert (c["Entrypoint"], c["Cmd"], c["Env"], c["WorkingDir"]) == \
        (ENTRYPOINT, CMD, ENV, WORKDIR), c
    assert len(manifest["layers"]) == 3, manifest
    return layout, desc["digest"], manifest["config"]["digest"], config


def describe(eif):
    r = run("describe", eif)
    assert r.code == 0, r
    return json.loads(r.out)


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("image")
    layout, manifest_digest, config_digest, config = make_image(tmp)
    eif = build_eif(tmp, "image", ARCH, "--oci", f"{layout}:{TAG}")
    return dict(tmp=tmp, layout=layout, manifest_digest=manifest_digest,
                config_digest=config_digest, config=config, eif=eif)


@pytest.fixture(scope="module")
def booted(image):
    return boot(image["eif"], ARCH)


def test_app_runs_with_entrypoint_then_cmd(booted):
    assert booted.code == STATUS, (booted.err, booted.console[-3000:])
    assert f"eifkit-init: app exited with status {STATUS}" in booted.lines
    assert booted.marks("done") == [""]
    # the whole argv as exec'd: Entrypoint, then Cmd
    assert booted.mark("cmdline=") == "[" + "".join(a + "|" for a in ENTRYPOINT + CMD) + "]"
    # the script's own arguments: the rest of Entrypoint, then Cmd
    assert booted.mark("argc=") == str(len(ENTRYPOINT) - 2 + len(CMD))
    assert booted.marks("arg=") == [f"[{a}]" for a in ENTRYPOINT[2:] + CMD]


def test_app_env_is_the_images(booted):
    assert booted.marks("environ ") == [f"[{v}]" for v in ENV]


def test_app_workdir_is_the_images(booted):
    assert booted.mark("pwd=") == WORKDIR
    assert booted.mark("data ") == "in the workdir"


def test_layers_applied_in_order(booted):
    assert booted.mark("gone ") == "absent"
    bad = [l for l in booted.lines if l.startswith("eifkit-init: ")
           and "app exited" not in l]
    assert bad == []


def test_describe_names_the_image(image):
    info = describe(image["eif"])["Metadata"]["DockerInfo"]
    assert info == {"Architecture": "amd64", "ConfigDigest": image["config_digest"],
                    "ManifestDigest": image["manifest_digest"], "Os": "linux",
                    "Ref": TAG}, info
    assert image["config"]["architecture"] == "amd64"


def test_docker_archive_of_the_same_image_gives_the_same_pcrs(image):
    """skopeo's docker-archive (docker save's legacy layout: no manifest
    digest) of the same image: the same ramdisks, so the same PCRs."""
    tool("skopeo", "skopeo")
    tar = image["tmp"] / "image.tar"
    sh("skopeo", "copy", "--quiet", f"oci:{image['layout']}:{TAG}",
       f"docker-archive:{tar}:eifkit-test/app:latest")
    eif = build_eif(image["tmp"], "image-docker", ARCH, "--docker-archive", tar)
    oci, docker = describe(image["eif"]), describe(eif)
    assert docker["Measurements"] == oci["Measurements"]
    info = docker["Metadata"]["DockerInfo"]
    assert info["ConfigDigest"] == image["config_digest"], info
    assert info["ManifestDigest"] is None, info
