"""eifkit's flake (flake.nix, nix/) through real `nix` (Debian's nix-bin),
with the stand-in nixpkgs of tests/nix/nixpkgs whose eifkit is the binary
`make` built ($EIFKIT). Nix runs offline on a private store under the
test's temporary folder (no daemon, no sandbox, no /nix): see docs/nix.md.

What is checked:
- monzo's README example (buildEif of a buildEnv holding `hello`, whose
  script needs busybox from its closure) builds, and image.eif is byte for
  byte what `eifkit build` writes for the same kernel, init, rootfs and
  closure; pcr.json holds its PCRs; log.txt the measurements;
- the mkEif + mkRamdisksFrom route equals `eifkit ramdisk` + `assemble`;
- mkCpioArchive equals `eifkit ramdisk --layout plain`;
- `nix build --rebuild` builds the EIF again and finds the same bytes;
- every lib function with a missing, unexpected or wrong argument fails
  evaluation with a message naming the function and the argument;
- `nix flake check` on the real flake (its PCR0 check is built too), and
  the PCR0 written in flake.nix is what `eifkit build` gives here;
- nix/package.nix evaluates against the stand-in (flags, inputs, checks).
"""
import json
import os
import re
import shutil
import stat
import subprocess
import sys

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EIFKIT = os.environ.get("EIFKIT") or os.path.join(REPO, "build", "eifkit")
INIT = os.path.join(os.path.dirname(EIFKIT), "libexec", "eifkit", "init-x86_64")
MONZO_CMDLINE = ("reboot=k panic=30 pci=off nomodules console=ttyS0 "
                 "random.trust_cpu=on root=/dev/ram0")
SYSTEM = "x86_64-linux"

# tests/e2e's helpers: fake_kernel (a bzImage header) and OCI layouts.
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
import conftest as _e2e  # noqa: E402
import test_oci_common as oci  # noqa: E402

CONSUMER = r"""{
  # monzo/aws-nitro-util's README example, with a local kernel.
  inputs.nixpkgs.url = "path:@STANDIN@";
  inputs.nitro-util.url = "path:@FLAKE@";
  inputs.nitro-util.inputs.nixpkgs.follows = "nixpkgs";

  outputs = { self, nixpkgs, nitro-util }:
    let
      system = "x86_64-linux";
      nitro = nitro-util.lib.${system};
      eifArch = "x86_64";
      pkgs = nixpkgs.legacyPackages."${system}";
      root = pkgs.buildEnv {
        name = "image-root";
        paths = [ pkgs.hello ];
        pathsToLink = [ "/bin" ];
      };
    in
    {
      packages.${system} = {
        eif-hello = nitro.buildEif {
          name = "eif-hello-world";
          arch = eifArch;
          kernel = ./bzImage;
          kernelConfig = ./kernel.config;
          nsmKo = ./nsm.ko;
          copyToRoot = root;
          entrypoint = "/bin/hello\nthere\n";
          env = "PATH=/bin\nGREETING=hi 'there'\n";
        };
        inherit root;
        eif-low = nitro.mkEif {
          name = "low";
          version = "2.0";
          arch = eifArch;
          kernel = ./bzImage;
          kernelConfig = ./kernel.config;
          ramdisks = nitro.mkRamdisksFrom {
            arch = eifArch;
            nsmKo = ./nsm.ko;
            entrypoint = "/bin/hello";
            env = "";
            rootfs = root;
          };
        };
        archive = nitro.mkCpioArchive { src = ./tree; };
        from-image = nitro.buildEifFromImage {
          name = "from-image";
          image = ./oci;
          arch = eifArch;
          kernel = ./bzImage;
        };
        from-image-override = nitro.buildEifFromImage {
          name = "from-image-override";
          image = ./oci;
          ref = "latest";
          arch = eifArch;
          kernel = ./bzImage;
          cmdline = null;
          entrypoint = "/bin/busybox\nsh\n-c\necho 'hi'\n";
          env = "PATH=/usr/bin\nX=1\n";
          workdir = "/bin";
          nitroCliCompat = true;
        };
        from-image-entrypoint = nitro.buildEifFromImage {
          name = "from-image-entrypoint";
          image = ./oci;
          arch = eifArch;
          kernel = ./bzImage;
          entrypoint = "/bin/busybox\ntrue";
        };
      };
    };
}
"""


def run(cmd, env=None, ok=True, **kw):
    r = subprocess.run(cmd, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, **kw)
    if ok and r.returncode != 0:
        raise AssertionError(f"{cmd} failed ({r.returncode}):\n"
                             f"{r.stderr.decode(errors='replace')[-3000:]}")
    return r


@pytest.fixture(scope="module")
def nx(tmp_path_factory):
    """A private Nix (store, state, config) and the flakes under test."""
    if not shutil.which("nix"):
        pytest.fail("nix is not installed (Debian's nix-bin; make check installs it)")
    top = tmp_path_factory.mktemp("nix")
    conf = top / "etc"
    conf.mkdir()
    (conf / "nix.conf").write_text(
        "experimental-features = nix-command flakes\n"
        "sandbox = false\nsubstituters =\nbuild-users-group =\n")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(top / "home"),
        "NIX_STORE_DIR": str(top / "store"),
        "NIX_STATE_DIR": str(top / "var"),
        "NIX_LOG_DIR": str(top / "log"),
        "NIX_CONF_DIR": str(conf),
        "XDG_CACHE_HOME": str(top / "cache"),
    }
    standin = top / "nixpkgs"
    shutil.copytree(os.path.join(REPO, "tests", "nix", "nixpkgs"), standin)
    (standin / "prebuilt").mkdir()
    shutil.copy(EIFKIT, standin / "prebuilt" / "eifkit")
    shutil.copy(INIT, standin / "prebuilt" / "init-x86_64")
    flake = top / "eifkit"
    flake.mkdir()
    shutil.copy(os.path.join(REPO, "flake.nix"), flake)
    shutil.copytree(os.path.join(REPO, "nix"), flake / "nix")

    app = top / "app"
    app.mkdir()
    (app / "bzImage").write_bytes(_e2e.fake_kernel(release="6.1.0-fake"))
    (app / "kernel.config").write_text(
        "#\n# Automatically generated file; DO NOT EDIT.\n"
        "# Linux/x86_64 6.1.0-fake Kernel Configuration\n")
    (app / "nsm.ko").write_bytes(b"not an nsm.ko\n")
    (app / "tree" / "etc").mkdir(parents=True)
    (app / "tree" / "etc" / "file").write_text("hello world!")
    (app / "tree" / ".dotfile").write_text("kept")
    busybox = open("/bin/busybox", "rb").read()
    oci.make_image(app / "oci", [[oci.dir_("bin"), oci.reg("bin/busybox", busybox, 0o755)]],
                   Entrypoint=["/bin/busybox"], Cmd=["echo", "hi"],
                   Env=["PATH=/bin"], WorkingDir="/")
    (app / "flake.nix").write_text(CONSUMER.replace("@STANDIN@", str(standin))
                                   .replace("@FLAKE@", str(flake)))

    # The consumer's lock (getFlake in test_package_evaluates needs one).
    run(["nix", "flake", "lock", "--offline", f"path:{app}"], env=env)

    class NX:
        pass
    n = NX()
    n.top, n.env, n.standin, n.flake, n.app = top, env, standin, flake, app
    n.opts = ["--offline", "--no-write-lock-file"]
    n.over = ["--override-input", "nixpkgs", f"path:{standin}"]
    return n


def build(nx, attr, *extra):
    out = nx.top / f"result-{attr}"
    run(["nix", "build", *nx.opts, "-o", str(out), *extra,
         f"path:{nx.app}#{attr}"], env=nx.env)
    return os.path.realpath(out)


def eifkit(*args, **kw):
    return run([EIFKIT, *args], **kw)


def closure_tree(nx, root, dest):
    """The closure of root copied to dest/<its store path>, as monzo's
    copyToRootWithClosure documents it (at the store's own folder)."""
    paths = run(["nix", "path-info", "--offline", "-r", root],
                env=nx.env).stdout.decode().split()
    assert any("-busybox" in p for p in paths), paths  # hello's #! needs it
    for p in paths:
        shutil.copytree(p, str(dest) + p, symlinks=True)
    # A store output is canonicalised: its folders, the ones above the
    # copied paths included, are 0555.
    d = os.path.dirname(str(dest) + paths[0])
    while len(d) > len(str(dest)):
        os.chmod(d, 0o555)
        d = os.path.dirname(d)
    return paths


def test_build_eif_is_eifkit_build(nx, tmp_path):
    out = build(nx, "eif-hello")
    assert sorted(os.listdir(out)) == ["image.eif", "log.txt", "pcr.json"]
    root = build(nx, "root")

    clo = tmp_path / "closure"
    closure_tree(nx, root, clo)
    ref = tmp_path / "ref.eif"
    r = eifkit("build", "-o", str(ref), "--arch", "x86_64",
               "--kernel", str(nx.app / "bzImage"),
               "--kernel-config", str(nx.app / "kernel.config"),
               "--cmdline", MONZO_CMDLINE, "--init", INIT,
               "--nsm", str(nx.app / "nsm.ko"),
               "--rootfs", str(clo), "--rootfs", root,
               "--env", "PATH=/bin", "--env", "GREETING=hi 'there'",
               "--name", "eif-hello-world", "--version", "0.1-dev",
               "--", "/bin/hello", "there")
    with open(os.path.join(out, "image.eif"), "rb") as f:
        assert f.read() == ref.read_bytes()

    want = json.loads(r.stdout)["Measurements"]
    with open(os.path.join(out, "pcr.json")) as f:
        got = json.load(f)
    assert got == want
    assert set(got) == {"HashAlgorithm", "PCR0", "PCR1", "PCR2"}
    assert all(re.fullmatch("[0-9a-f]{96}", got[k]) for k in ("PCR0", "PCR1", "PCR2"))
    with open(os.path.join(out, "log.txt"), "rb") as f:
        assert json.loads(f.read())["Measurements"] == want

    # What the enclave's init reads: argv and env as monzo's text said.
    ls = eifkit("ls", os.path.join(out, "image.eif")).stdout.decode()
    assert re.search(r"rootfs/bin/hello\b", ls), ls


def test_rebuild_same_bytes(nx):
    first = build(nx, "eif-hello")
    with open(os.path.join(first, "image.eif"), "rb") as f:
        before = f.read()
    # --rebuild builds the derivation again and fails if the output differs.
    again = build(nx, "eif-hello", "--rebuild")
    assert again == first
    with open(os.path.join(again, "image.eif"), "rb") as f:
        assert f.read() == before


def test_mk_eif_is_ramdisk_and_assemble(nx, tmp_path):
    out = build(nx, "eif-low")
    root = build(nx, "root")
    clo = tmp_path / "closure"
    closure_tree(nx, root, clo)
    sysrd, userrd, ref = tmp_path / "sys.cpio", tmp_path / "user.cpio", tmp_path / "ref.eif"
    eifkit("ramdisk", "--layout", "system", "--init", INIT,
           "--nsm", str(nx.app / "nsm.ko"), "-o", str(sysrd))
    # mkUserRamdisk takes rootfs as it is (monzo: no closure added).
    eifkit("ramdisk", "--layout", "user", "--rootfs", root, "-o", str(userrd),
           "--", "/bin/hello")
    r = eifkit("assemble", "--arch", "x86_64", "--kernel", str(nx.app / "bzImage"),
               "--kernel-config", str(nx.app / "kernel.config"),
               "--cmdline", MONZO_CMDLINE, "--ramdisk", str(sysrd),
               "--ramdisk", str(userrd), "--name", "low", "--version", "2.0",
               "-o", str(ref))
    with open(os.path.join(out, "image.eif"), "rb") as f:
        assert f.read() == ref.read_bytes()
    with open(os.path.join(out, "pcr.json")) as f:
        assert json.load(f) == json.loads(r.stdout)["Measurements"]


def test_mk_cpio_archive_is_plain_ramdisk(nx, tmp_path):
    out = build(nx, "archive")
    ref = tmp_path / "ref.cpio"
    # The flake copies ./tree into the store: modes as the store has them.
    src = tmp_path / "tree"
    shutil.copytree(nx.app / "tree", src)
    for d, dirs, files in os.walk(src, topdown=False):
        for f in files:
            os.chmod(os.path.join(d, f), 0o444)
        os.chmod(d, 0o555)
    eifkit("ramdisk", "--layout", "plain", "--rootfs", str(src), "-o", str(ref))
    with open(out, "rb") as f:
        data = f.read()
    assert data == ref.read_bytes()
    assert b".dotfile" in data  # monzo's archiver drops top-level dotfiles


def test_flake_check(nx):
    # Evaluates every output and builds checks.test-eif-PCRs-match
    # (test_flake_check_fails_on_wrong_pcr0 shows that it can fail).
    run(["nix", "flake", "check", *nx.opts, *nx.over, f"path:{nx.flake}"], env=nx.env)


def test_flake_check_fails_on_wrong_pcr0(nx, tmp_path):
    """The check must be able to fail: the same flake with another PCR0."""
    bad = tmp_path / "bad"
    shutil.copytree(nx.flake, bad)
    text = (bad / "flake.nix").read_text()
    pcr0 = re.search(r'checkPcr0 = "([0-9a-f]{96})"', text).group(1)
    (bad / "flake.nix").write_text(text.replace(pcr0, "0" * 96))
    r = run(["nix", "flake", "check", *nx.opts, *nx.over, f"path:{bad}"],
            env=nx.env, ok=False)
    assert r.returncode != 0
    assert b"is not " + b"0" * 96 in r.stderr


def test_flake_pcr0_is_eifkit_build(tmp_path):
    """flake.nix's PCR0, recomputed with eifkit build on the same bytes
    (what writeText/writeTextDir put in the store: 0444 files, 0555 dirs)."""
    with open(os.path.join(REPO, "flake.nix")) as f:
        pcr0 = re.search(r'checkPcr0 = "([0-9a-f]{96})"', f.read()).group(1)
    (tmp_path / "k").write_text("not a kernel: eifkit's flake check\n")
    (tmp_path / "i").write_text("not an init: eifkit's flake check\n")
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "file").write_text("hello world!")
    os.chmod(root / "etc" / "file", 0o444)
    os.chmod(root / "etc", 0o555)
    os.chmod(root, 0o555)
    r = eifkit("build", "-o", str(tmp_path / "x.eif"), "--arch", "x86_64",
               "--kernel", str(tmp_path / "k"), "--no-kernel-check",
               "--init", str(tmp_path / "i"), "--cmdline", MONZO_CMDLINE,
               "--rootfs", str(root), "--no-app-check",
               "--name", "test", "--version", "0.1-dev", "--", "none")
    assert json.loads(r.stdout)["Measurements"]["PCR0"] == pcr0


# (function, arguments, what the error must say). Good arguments around
# the one that is wrong, so each case fails for its own reason.
K = 'kernel = "/k"; '
BE = K + 'copyToRoot = "/r"; entrypoint = "/bin/app"; '
ERRORS = [
    ("buildEif", "{ }", "called without required argument 'copyToRoot'"),
    ("buildEif", '{ copyToRoot = "/r"; entrypoint = "x"; }', "without required argument 'kernel'"),
    ("buildEif", '{ %s copyToRoot = "/r"; }' % K, "without required argument 'entrypoint'"),
    ("buildEif", "{ %s nsm = ./x; }" % BE, "called with unexpected argument 'nsm'"),
    ("buildEif", '{ %s copyToRoot = "/r"; entrypoint = ""; }' % K, "lib.buildEif: entrypoint is empty"),
    ("buildEif", '{ %s copyToRoot = "/r"; entrypoint = "\\nx"; }' % K, "lib.buildEif: entrypoint's first line (the program) is empty"),
    ("buildEif", '{ %s copyToRoot = "/r"; entrypoint = [ "/bin/app" ]; }' % K, "lib.buildEif: entrypoint must be a string, got a list"),
    ("buildEif", '{ %s env = "A=1\\nnoequals\\n"; }' % BE, "lib.buildEif: env line 'noequals' is not KEY=VALUE"),
    ("buildEif", '{ %s env = { A = "1"; }; }' % BE, "lib.buildEif: env must be a string, got an attribute set"),
    ("buildEif", '{ %s arch = "riscv64"; }' % BE, 'lib.buildEif: arch must be "x86_64" or "aarch64", got "riscv64"'),
    ("buildEif", '{ copyToRoot = "/r"; entrypoint = "x"; kernel = 42; }', "lib.buildEif: kernel must be a path or a derivation, got int"),
    ("buildEif", '{ %s copyToRoot = null; entrypoint = "x"; }' % K, "lib.buildEif: copyToRoot must be a path or a derivation, got null"),
    ("buildEif", '{ %s cmdline = [ ]; }' % BE, "lib.buildEif: cmdline must be a string, got a list"),
    ("buildEif", '{ %s name = 1; }' % BE, "lib.buildEif: name must be a string, got int"),
    ("buildEif", '{ %s privateKey = "/key.pem"; }' % BE, "lib.buildEif: signingCertificate and privateKey go together"),
    ("buildEifFromImage", '{ %s image = "/img"; format = "tar"; }' % K, 'lib.buildEifFromImage: format must be "oci", "oci-archive" or "docker-archive"'),
    ("buildEifFromImage", "{ %s }" % K, "without required argument 'image'"),
    ("mkEif", "{ %s ramdisks = [ ]; }" % K, "lib.mkEif: ramdisks is empty"),
    ("mkEif", '{ %s ramdisks = "/rd"; }' % K, "lib.mkEif: ramdisks must be a list of files, got a string"),
    ("mkEif", '{ %s ramdisks = [ "/rd" 3 ]; }' % K, "lib.mkEif: ramdisks[1] must be a path or a derivation, got int"),
    ("mkEif", "{ %s }" % K, "without required argument 'ramdisks'"),
    ("mkSysRamdisk", "{ init = 1; }", "lib.mkSysRamdisk: init must be a path or a derivation, got int"),
    ("mkSysRamdisk", '{ arch = "x86"; }', 'lib.mkSysRamdisk: arch must be "x86_64" or "aarch64", got "x86"'),
    ("mkUserRamdisk", '{ rootfs = "/r"; }', "without required argument 'entrypoint'"),
    ("mkUserRamdisk", '{ rootfs = "/r"; entrypoint = "x"; env = "=1"; }', "lib.mkUserRamdisk: env line '=1' is not KEY=VALUE"),
    ("mkRamdisksFrom", '{ entrypoint = "x"; }', "without required argument 'rootfs'"),
    ("mkRamdisksFrom", '{ rootfs = "/r"; entrypoint = ""; }', "lib.mkUserRamdisk: entrypoint is empty"),
    ("mkCpioArchive", "{ }", "without required argument 'src'"),
    ("mkCpioArchive", "{ src = true; }", "lib.mkCpioArchive: src must be a path or a derivation, got bool"),
    ("unpackImage", '{ imageName = "busybox"; imageDigest = "sha256:0"; }', "without required argument 'sha256'"),
    ("unpackImage", '{ imageName = "busybox"; imageDigest = "sha256:0"; sha256 = ""; arch = "mips"; }', "lib.unpackImage: arch must be x86_64, aarch64, amd64 or arm64, got \"mips\""),
    ("fetchImage", '{ imageName = "busybox"; imageDigest = 0; sha256 = ""; }', "lib.fetchImage: imageDigest must be a string, got int"),
]


def lib_eval(nx, fn, args):
    # Force every derivation the function returns (mkRamdisksFrom: a list).
    apply = (f"l: let r = l.{fn} {args}; in builtins.toJSON "
             f"(if builtins.isList r then map (d: d.drvPath) r else r.drvPath)")
    return run(["nix", "eval", "--raw", *nx.opts, *nx.over,
                f"path:{nx.flake}#lib.{SYSTEM}", "--apply", apply],
               env=nx.env, ok=False)


@pytest.mark.parametrize("fn,args,msg", ERRORS, ids=[f"{e[0]}-{i}" for i, e in enumerate(ERRORS)])
def test_lib_errors(nx, fn, args, msg):
    r = lib_eval(nx, fn, args)
    err = r.stderr.decode()
    assert r.returncode != 0, r.stdout
    assert msg in err, err[-2000:]


GOOD = [
    ("buildEif", "{ %s }" % BE),
    ("buildEif", '{ %s cmdline = null; arch = "aarch64"; env = ""; copyToRootWithClosure = false; workdir = "/"; }' % BE),
    ("buildEifFromImage", '{ %s image = "/img"; ref = "app:1.0"; entrypoint = "/app\\n-v\\n"; nitroCliCompat = true; }' % K),
    ("mkEif", '{ %s ramdisks = [ "/a" "/b" ]; signingCertificate = "/c"; privateKey = "/k"; }' % K),
    ("mkSysRamdisk", "{ }"),
    ("mkUserRamdisk", '{ rootfs = "/r"; entrypoint = "x"; }'),
    ("mkRamdisksFrom", '{ rootfs = "/r"; entrypoint = "x"; init = "/i"; nsmKo = "/n"; }'),
    ("mkCpioArchive", '{ src = "/s"; }'),
    ("unpackImage", '{ imageName = "busybox"; imageDigest = "sha256:0"; sha256 = "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="; arch = "amd64"; }'),
    ("fetchImage", '{ imageName = "busybox"; imageDigest = "sha256:0"; sha256 = "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="; }'),
]


@pytest.mark.parametrize("fn,args", GOOD, ids=[f"{g[0]}-{i}" for i, g in enumerate(GOOD)])
def test_lib_evaluates(nx, fn, args):
    r = lib_eval(nx, fn, args)
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    assert ".drv" in r.stdout.decode()


def test_blobs_are_monzos(nx):
    r = run(["nix", "eval", "--json", *nx.opts, *nx.over,
             f"path:{nx.flake}#lib.{SYSTEM}.blobs"], env=nx.env)
    blobs = json.loads(r.stdout)
    assert set(blobs) == {"x86_64", "aarch64"}
    assert blobs["x86_64"]["kernel"].endswith("/blobs/x86_64/bzImage")
    assert blobs["aarch64"]["kernelConfig"].endswith("/blobs/aarch64/Image.config")
    for a in blobs.values():
        assert set(a) == {"blobPath", "kernel", "kernelConfig", "cmdLine", "nsmKo", "init"}
    # Pinned by monzo's tree hash of nitro-cli v1.2.3 (Linux): the
    # store path follows from the hash alone (nothing is fetched).
    r = run(["nix", "eval", "--raw", *nx.opts, *nx.over, f"path:{nx.flake}#lib.{SYSTEM}.blobs",
             "--apply", "b: builtins.unsafeDiscardStringContext b.x86_64.blobPath"], env=nx.env)
    want = run(["nix", "eval", "--raw", "--offline", "--expr",
                'builtins.unsafeDiscardStringContext (derivation { name = "source"; system = "x"; builder = "x"; '
                'outputHashMode = "recursive"; outputHash = "sha256-+vQ9XK3la7K35p4VI3Mct5ij2o21zEYeqndI7RjTyiQ="; }).outPath'],
               env=nx.env).stdout.decode()
    assert r.stdout.decode() == want + "/blobs/x86_64"


def test_package_evaluates(nx):
    """nix/package.nix through the overlay, against the stand-in's stubs:
    what it asks of nixpkgs and what it passes to make."""
    # Through the consumer flake, whose nitro-util follows the stand-in.
    expr = (f'let f = (builtins.getFlake "path:{nx.app}").inputs.nitro-util; in '
            f'builtins.toJSON ((import {nx.standin} {{ overlays = [ f.overlays.default ]; }})'
            f'.eifkitFromOverlay.passthru // {{ src = null; nativeBuildInputs = null; buildInputs = null; }})')
    r = run(["nix", "eval", "--raw", "--impure", *nx.opts, "--expr", expr], env=nx.env, ok=False)
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    a = json.loads(r.stdout)
    assert a["pname"] == "eifkit" and a["doCheck"] is True and a["checkTarget"] == "unit"
    assert a["buildFlags"] == ["all", "init"]
    flags = a["makeFlags"]
    assert any(re.fullmatch(r"INIT_CC_x86_64=.*-x86_64-cc/bin/x86_64-unknown-linux-musl-gcc", f) for f in flags), flags
    assert any(re.fullmatch(r"INIT_CC_aarch64=.*-aarch64-cc/bin/aarch64-unknown-linux-musl-gcc", f) for f in flags), flags
    assert any(f.startswith("PREFIX=/") for f in flags), flags
    with open(os.path.join(REPO, "Makefile")) as f:
        mk = re.search(r"^VERSION\s*:=\s*(\S+)", f.read(), re.M).group(1)
    assert a["version"] == mk  # flake.nix's version is the Makefile's


def test_build_eif_from_image(nx, tmp_path):
    """An OCI layout folder: the image's Entrypoint, Cmd, Env, WorkingDir
    as eifkit build --oci takes them, and the overrides."""
    img = str(nx.app / "oci")
    for attr, extra in [
            ("from-image", ["--cmdline", MONZO_CMDLINE]),
            ("from-image-override",
             # entrypoint is the whole command, under nitro-cli's rule too
             ["--env", "PATH=/usr/bin", "--env", "X=1", "--workdir", "/bin",
              "--nitro-cli-compat", "--", "/bin/busybox", "sh", "-c", "echo 'hi'"]),
            # the image's Cmd (echo hi) is not appended
            ("from-image-entrypoint",
             ["--cmdline", MONZO_CMDLINE, "--entrypoint", "/bin/busybox", "--", "true"])]:
        out = build(nx, attr)
        ref = tmp_path / f"{attr}.eif"
        spec = img + (":latest" if attr == "from-image-override" else "")
        eifkit("build", "-o", str(ref), "--arch", "x86_64",
               "--kernel", str(nx.app / "bzImage"), "--init", INIT,
               "--oci", spec, "--name", attr, "--version", "0.1-dev", *extra)
        with open(os.path.join(out, "image.eif"), "rb") as f:
            assert f.read() == ref.read_bytes(), attr


# (entrypoint text, env text, argv, env) as AWS's init and eifkit's read
# /cmd and /env (AWS-BUILD-AND-INIT.md section 4): lines, the final "\n"
# of each stripped, an empty line inside an empty element.
LINES = [
    ("/bin/hello", "", ["/bin/hello"], []),
    ("/bin/hello\n", "", ["/bin/hello"], []),
    ("/bin/hello\nthere\n", "A=1\nB=x y\n", ["/bin/hello", "there"], ["A=1", "B=x y"]),
    ("/bin/hello\n\nlast", "A=1", ["/bin/hello", "", "last"], ["A=1"]),
    ("/bin/hello\nx\n\n", "A=\n", ["/bin/hello", "x", ""], ["A="]),
    ("/bin/sh\n-c\necho 'hi' \"$X\" \\n", "X=a'b", ["/bin/sh", "-c", "echo 'hi' \"$X\" \\n"], ["X=a'b"]),
]


def nix_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$").replace("\n", "\\n") + '"'


@pytest.mark.parametrize("text,envtext,argv,env", LINES, ids=[str(i) for i in range(len(LINES))])
def test_entrypoint_and_env_lines(nx, tmp_path, text, envtext, argv, env):
    out = tmp_path / "rd"
    expr = (f'(builtins.getFlake "path:{nx.app}").inputs.nitro-util.lib.{SYSTEM}.mkUserRamdisk '
            f'{{ rootfs = (builtins.getFlake "path:{nx.app}").packages.{SYSTEM}.root; '
            f'entrypoint = {nix_str(text)}; env = {nix_str(envtext)}; }}')
    run(["nix", "build", "--impure", *nx.opts, "-o", str(out), "--expr", expr], env=nx.env)
    root = build(nx, "root")
    ref = tmp_path / "ref.cpio"
    eifkit("ramdisk", "--layout", "user", "--rootfs", root, "-o", str(ref),
           *[a for e in env for a in ("--env", e)], "--", *argv)
    with open(os.path.realpath(out), "rb") as f:
        assert f.read() == ref.read_bytes()


def test_entrypoint_spellings_are_one_derivation(nx):
    """"/bin/hello" and "/bin/hello\n" are the same /cmd for init: the
    same derivation, not two EIFs that differ by a newline."""
    paths = []
    for text in ('"/bin/hello"', '"/bin/hello\\n"'):
        r = lib_eval(nx, "buildEif", '{ %s copyToRoot = "/r"; entrypoint = %s; }' % (K, text))
        assert r.returncode == 0, r.stderr.decode()[-2000:]
        paths.append(r.stdout)
    assert paths[0] == paths[1]
    r = lib_eval(nx, "buildEif", '{ %s copyToRoot = "/r"; entrypoint = "/bin/hello\\n\\n"; }' % K)
    assert r.stdout != paths[0]
