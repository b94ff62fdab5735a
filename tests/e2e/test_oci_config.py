"""The image's config gives the app: Env, Entrypoint + Cmd (or nitro-cli's
rule with --nitro-cli-compat), WorkingDir, a warning for a non-root User;
the command line replaces and adds as docker run does; --rootfs after the
image overlays it."""
import pytest

from test_oci_common import (dir_, docker_legacy, entries, err_text,
                             make_image, plain_tree, ramdisk, reg, sym,
                             user_files)

LAYER = [[dir_("bin"), reg("bin/app", "#!", mode=0o755)]]


def image(tmp_path, **cfg):
    return make_image(tmp_path / "img", LAYER, **cfg).path


@pytest.mark.parametrize("cfg,args,want,compat_want", [
    # Entrypoint + Cmd
    (dict(Entrypoint=["/bin/app", "-v"], Cmd=["serve", "--port=1"]), [],
     ["/bin/app", "-v", "serve", "--port=1"], ["serve", "--port=1"]),
    # only Cmd
    (dict(Cmd=["/bin/app", "x"]), [], ["/bin/app", "x"], ["/bin/app", "x"]),
    # only Entrypoint
    (dict(Entrypoint=["/bin/app"]), [], ["/bin/app"], ["/bin/app"]),
    # Cmd: null and Entrypoint: [] count as absent
    (dict(Entrypoint=["/bin/app"], Cmd=None), [], ["/bin/app"],
     ["/bin/app"]),
    # words after -- replace Cmd, keep Entrypoint
    (dict(Entrypoint=["/bin/app"], Cmd=["default"]), ["--", "mine", "2"],
     ["/bin/app", "mine", "2"], ["mine", "2"]),
    # --entrypoint replaces Entrypoint and drops Cmd (docker run)
    (dict(Entrypoint=["/bin/app"], Cmd=["default"]),
     ["--entrypoint", "/bin/other"], ["/bin/other"], ["/bin/other"]),
    (dict(Entrypoint=["/bin/app"], Cmd=["default"]),
     ["--entrypoint", "/bin/other", "--", "a"], ["/bin/other", "a"],
     ["a"]),
    # no config at all: the command line is the whole command
    (dict(), ["--", "/bin/app", "x"], ["/bin/app", "x"], ["/bin/app", "x"]),
])
def test_command(tmp_path, cfg, args, want, compat_want):
    img = image(tmp_path, **cfg)
    got = user_files(tmp_path, "--oci", img, *args, name="a")
    assert got["cmd"] == want
    cut = args.index("--") if "--" in args else len(args)
    opts, rest = args[:cut], args[cut:]
    got = user_files(tmp_path, "--oci", img, *opts, "--nitro-cli-compat",
                     *rest, name="b")
    assert got["cmd"] == compat_want


def test_no_command_at_all_is_an_error(tmp_path):
    img = image(tmp_path)
    r, out = ramdisk(tmp_path, "--oci", img, layout="user")
    assert r.code == 1 and "no command" in err_text(r), r


def test_env_from_image_then_command_line(tmp_path):
    img = image(tmp_path, Env=["PATH=/usr/bin:/bin", "A=image", "B=image",
                               "EMPTY="], Cmd=["/bin/app"])
    envf = tmp_path / "env"
    envf.write_text("# comment\nB=file\nC=file\n")
    got = user_files(tmp_path, "--oci", img, "--env-file", envf,
                     "--env", "A=cli", "--env", "D=cli")
    assert got["env"] == ["PATH=/usr/bin:/bin", "A=cli", "B=file",
                          "EMPTY=", "C=file", "D=cli"]


def test_workdir(tmp_path):
    img = image(tmp_path, WorkingDir="/srv/app", Cmd=["/bin/app"])
    assert user_files(tmp_path, "--oci", img, name="a")["workdir"] == \
        ["/srv/app"]
    assert user_files(tmp_path, "--oci", img, "--workdir", "/x",
                      name="b")["workdir"] == ["/x"]
    img2 = make_image(tmp_path / "img2", LAYER, Cmd=["/bin/app"],
                      WorkingDir="").path
    assert user_files(tmp_path, "--oci", img2, name="c")["workdir"] is None


@pytest.mark.parametrize("user,warn", [("", False), ("root", False),
                                       ("0", False), ("0:0", False),
                                       ("root:root", False),
                                       ("1000", True), ("app:app", True),
                                       ("nobody", True)])
def test_non_root_user_is_a_warning(tmp_path, user, warn):
    img = image(tmp_path, User=user, Cmd=["/bin/app"])
    got = user_files(tmp_path, "--oci", img)
    e = err_text(got["result"])
    if warn:
        assert f"the image's User is '{user}'" in e and "root" in e, e
    else:
        assert "User" not in e, e


def test_newline_in_env_or_cmd_is_refused(tmp_path):
    img = image(tmp_path, Env=["A=two\nlines"], Cmd=["/bin/app"])
    r, _ = ramdisk(tmp_path, "--oci", img, layout="user")
    assert r.code == 1, r
    img = make_image(tmp_path / "i2", LAYER, Cmd=["/bin/app", "a\nb"]).path
    r, _ = ramdisk(tmp_path, "--oci", img, layout="user")
    assert r.code == 1, r


def test_docker_archive_config(tmp_path):
    tar = tmp_path / "d.tar"
    docker_legacy(tar, LAYER, Env=["X=1"], Entrypoint=["/bin/app"],
                  Cmd=["c"], WorkingDir="/w")
    got = user_files(tmp_path, "--docker-archive", tar)
    assert got["cmd"] == ["/bin/app", "c"] and got["env"] == ["X=1"]
    assert got["workdir"] == ["/w"]


def test_rootfs_overlays_the_image(tmp_path):
    img = make_image(tmp_path / "img", [[
        dir_("bin"), reg("bin/app", "image", mode=0o755),
        reg("bin/keep", "image"), dir_("etc"), reg("etc/conf", "image"),
        sym("lib", "usr/lib"), dir_("data"), reg("data/x", "x")]]).path
    over = tmp_path / "over"
    (over / "bin").mkdir(parents=True)
    (over / "bin/app").write_text("overlay")
    (over / "etc").mkdir()
    (over / "etc/new").write_text("new")
    (over / "data").write_text("a file over a folder")
    t = plain_tree(tmp_path, "--oci", img, "--rootfs", over)
    e = entries(t)
    assert (t / "bin/app").read_text() == "overlay"
    assert (t / "bin/keep").read_text() == "image"
    assert (t / "etc/conf").read_text() == "image"
    assert (t / "etc/new").read_text() == "new"
    assert e["data"][0] == "file" and "data/x" not in e
    assert e["lib"][0] == "symlink"
