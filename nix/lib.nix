# monzo/aws-nitro-util's lib.<system> (buildEif, mkEif, the ramdisk
# builders, unpackImage, blobs), with the same argument names, defaults
# and meanings, built by eifkit instead of GNU cpio + gzip + eif_build.
# docs/nix.md lists every argument against monzo's and where they differ.
#
# Written with builtins only (no nixpkgs lib): what a function needs from
# nixpkgs is runCommand, writeText, closureInfo, fetchFromGitHub and, for
# unpackImage, skopeo/umoci/cacert, so any nixpkgs of the last years fits.
{ pkgs, eifkit }:

let
  inherit (builtins) concatStringsSep elemAt filter genList isAttrs isList
    isPath isString length map replaceStrings split stringLength substring;

  fail = fn: msg: throw "eifkit lib.${fn}: ${msg}";

  # One shell word, whatever the bytes.
  q = s: "'" + replaceStrings [ "'" ] [ "'\\''" ] s + "'";

  # Store path names allow [A-Za-z0-9+._?=-]: map anything else to "-"
  # so a free-form image name (which goes to ImageName, quoted) never
  # breaks the derivation.
  drvName = s:
    let n = concatStringsSep "" (map (p: if isString p then p else "-")
      (split "[^A-Za-z0-9+._?=-]" s));
    in if n == "" || substring 0 1 n == "." then "eif-${n}" else n;

  # The lines of a /cmd or /env text as the enclave's init reads them
  # (AWS init.c and eifkit's init alike): split at "\n", the final "\n"
  # ends the last line rather than starting an empty one, an empty
  # line inside is an empty element, and "" has no lines.
  lines = s:
    if s == "" then [ ] else
    let
      parts = filter isString (split "\n" s);
      n = length parts;
    in if elemAt parts (n - 1) == "" then genList (elemAt parts) (n - 1) else parts;

  typeOf = v:
    if isString v then "a string" else if isList v then "a list"
    else if isAttrs v then "an attribute set" else if isPath v then "a path"
    else if v == null then "null" else builtins.typeOf v;

  # A file argument: a path, a store path string, or a derivation.
  isFile = v: isPath v || isString v || (isAttrs v && v ? outPath);
  needFile = fn: arg: v:
    if isFile v then "${v}"
    else fail fn "${arg} must be a path or a derivation, got ${typeOf v}";
  optFile = fn: arg: v: if v == null then null else needFile fn arg v;

  needString = fn: arg: v:
    if isString v then v else fail fn "${arg} must be a string, got ${typeOf v}";

  arches = [ "x86_64" "aarch64" ];
  needArch = fn: a:
    if builtins.elem a arches then a
    else fail fn "arch must be \"x86_64\" or \"aarch64\", got ${
      if isString a then "\"${a}\"" else typeOf a}";

  # monzo: the build machine's CPU.
  defaultArch = pkgs.stdenv.hostPlatform.uname.processor;

  # monzo's default command line (AWS's aarch64 one, for both arches).
  # cmdline = null takes nitro-cli's line for the arch instead.
  monzoCmdline = "reboot=k panic=30 pci=off nomodules console=ttyS0 random.trust_cpu=on root=/dev/ram0";

  ownInit = arch: "${eifkit}/libexec/eifkit/init-${arch}";

  # entrypoint: the verbatim /cmd text, one argv element a line.
  argvOf = fn: entrypoint:
    let argv = lines (needString fn "entrypoint" entrypoint);
    in if argv == [ ]
      then fail fn "entrypoint is empty: it is the /cmd text, one argument a line (\"/bin/hello\\n\")"
      else if elemAt argv 0 == ""
      then fail fn "entrypoint's first line (the program) is empty"
      else argv;

  # env: the verbatim /env text, one KEY=VALUE a line.
  envOf = fn: env:
    map (l:
      if builtins.match "[^=]+=.*" l != null then l
      else fail fn "env line ${q l} is not KEY=VALUE")
      (lines (needString fn "env" env));

  flag = f: v: if v == null then "" else " ${f} ${q v}";
  flags = f: vs: concatStringsSep "" (map (flag f) vs);
  words = vs: concatStringsSep " " (map q vs);

  # SOURCE_DATE_EPOCH is unset because nixpkgs' stdenv sets it to 1980:
  # the bytes must be eifkit's defaults, whatever builds them.
  prelude = ''
    unset SOURCE_DATE_EPOCH
    set -e
  '';

  # The Nix closure of a root folder as a folder holding
  # <storeDir>/<hash>-<name>/... for each path (monzo's nixStoreFrom,
  # but at the real store dir, and without copying the root itself:
  # eifkit overlays it with a second --rootfs, dotfiles included).
  closureOf = root:
    let info = pkgs.closureInfo { rootPaths = [ root ]; };
    in pkgs.runCommand "pack-closure" { } ''
      mkdir -p "$out"
      while read -r p; do
        mkdir -p "$out$(dirname "$p")"
        cp -r "$p" "$out$p"
      done < ${info}/store-paths
    '';

  # The common body of buildEif and buildEifFromImage: one `eifkit build`.
  eifkitBuild = fn: a:
    let
      arch = needArch fn a.arch;
      signing = a.signingCertificate != null || a.privateKey != null;
    in
    if signing && (a.signingCertificate == null || a.privateKey == null)
    then fail fn "signingCertificate and privateKey go together"
    else pkgs.runCommand (drvName (needString fn "name" a.name)) { } (prelude + ''
      mkdir -p "$out"
      ${eifkit}/bin/eifkit build -o "$out/image.eif" --arch ${arch} \
        --kernel ${q (needFile fn "kernel" a.kernel)}${
          flag "--kernel-config" (optFile fn "kernelConfig" a.kernelConfig)}${
          flag "--cmdline" (if a.cmdline == null then null else needString fn "cmdline" a.cmdline)} \
        --init ${q (if a.init == null then ownInit arch else needFile fn "init" a.init)}${
          flag "--nsm" (optFile fn "nsmKo" a.nsmKo)} \
        ${a.inputs}${flags "--env" a.env}${
          flag "--workdir" (if a.workdir == null then null else needString fn "workdir" a.workdir)}${
          if a.kernelCheck then "" else " --no-kernel-check"}${
          if a.appCheck then "" else " --no-app-check"} \
        --name ${q (needString fn "name" a.name)} --version ${q (needString fn "version" a.version)}${
          flag "--metadata" (optFile fn "metadata" a.metadata)}${
          flag "--signing-certificate" (optFile fn "signingCertificate" a.signingCertificate)}${
          flag "--private-key" (optFile fn "privateKey" a.privateKey)} \
        --pcrs "$out/pcr.json" ${a.command} > "$out/log.txt"
    '');

  buildEif =
    { name ? "image-linux-${arch}-${version}-eif"
    , version ? "0.1-dev"
    , kernel
    , kernelConfig ? null
    , cmdline ? monzoCmdline
    , arch ? defaultArch
    , copyToRoot
    , copyToRootWithClosure ? true
    , entrypoint
    , env ? ""
    , nsmKo ? null
    , init ? null
      # eifkit's own, not in monzo's:
    , workdir ? null
    , kernelCheck ? true
    , appCheck ? true
    , metadata ? null
    , signingCertificate ? null
    , privateKey ? null
    }:
    let
      root = needFile "buildEif" "copyToRoot" copyToRoot;
      closure = if copyToRootWithClosure then "--rootfs ${closureOf copyToRoot} " else "";
    in
    eifkitBuild "buildEif" {
      inherit name version kernel kernelConfig cmdline arch nsmKo init
        workdir kernelCheck appCheck metadata signingCertificate privateKey;
      env = envOf "buildEif" env;
      inputs = "${closure}--rootfs ${q root}";
      command = "-- ${words (argvOf "buildEif" entrypoint)}";
    };

  # Not in monzo: an image in an OCI layout folder (skopeo copy ...
  # oci:DIR), an OCI archive or a docker archive (dockerTools.buildImage,
  # docker save). The command is the image's Entrypoint + Cmd, its Env
  # and WorkingDir are kept; entrypoint/env/workdir here override them.
  buildEifFromImage =
    { image
    , ref ? null
    , format ? null # "oci" | "oci-archive" | "docker-archive"; default: oci for a folder, else oci-archive
    , name ? "image-linux-${arch}-${version}-eif"
    , version ? "0.1-dev"
    , kernel
    , kernelConfig ? null
    , cmdline ? monzoCmdline
    , arch ? defaultArch
    , copyToRoot ? null
    , entrypoint ? null
    , env ? ""
    , nsmKo ? null
    , init ? null
    , workdir ? null
    , nitroCliCompat ? false
    , kernelCheck ? true
    , appCheck ? true
    , metadata ? null
    , signingCertificate ? null
    , privateKey ? null
    }:
    let
      fn = "buildEifFromImage";
      img = needFile fn "image" image;
      spec = q (if ref == null then img else "${img}:${needString fn "ref" ref}");
      pick =
        if format == null then
          "$(if [ -d ${q img} ]; then echo --oci; else echo --oci-archive; fi) ${spec}"
        else if builtins.elem format [ "oci" "oci-archive" "docker-archive" ] then
          "--${format} ${spec}"
        else fail fn "format must be \"oci\", \"oci-archive\" or \"docker-archive\", got ${typeOf format}";
      argv = if entrypoint == null then null else argvOf fn entrypoint;
    in
    eifkitBuild fn {
      inherit name version kernel kernelConfig cmdline arch nsmKo init
        workdir kernelCheck appCheck metadata signingCertificate privateKey;
      env = envOf fn env;
      inputs = pick
        + (if copyToRoot == null then "" else " --rootfs ${q (needFile fn "copyToRoot" copyToRoot)}")
        + (if nitroCliCompat then " --nitro-cli-compat" else "");
      # The whole command either way: eifkit's default runs Entrypoint +
      # Cmd (--entrypoint drops the image's Cmd), nitro-cli's rule runs
      # Cmd alone when there is one (-- replaces it).
      command = if argv == null then "" else if nitroCliCompat then "-- ${words argv}" else
        "--entrypoint ${q (elemAt argv 0)} -- ${words (genList (i: elemAt argv (i + 1)) (length argv - 1))}";
    };

  mkEif =
    { name ? "image-linux-${arch}-${version}-eif"
    , version ? "0.1-dev"
    , kernel
    , kernelConfig ? null
    , cmdline ? monzoCmdline
    , arch ? defaultArch
    , ramdisks
    , kernelCheck ? true
    , metadata ? null
    , signingCertificate ? null
    , privateKey ? null
    }:
    let
      fn = "mkEif";
      rds =
        if !(isList ramdisks) then fail fn "ramdisks must be a list of files, got ${typeOf ramdisks}"
        else if ramdisks == [ ] then fail fn "ramdisks is empty: an EIF needs at least one"
        else genList (i: needFile fn "ramdisks[${toString i}]" (elemAt ramdisks i)) (length ramdisks);
      signing = signingCertificate != null || privateKey != null;
    in
    if signing && (signingCertificate == null || privateKey == null)
    then fail fn "signingCertificate and privateKey go together"
    else pkgs.runCommand (drvName (needString fn "name" name)) { } (prelude + ''
      mkdir -p "$out"
      ${eifkit}/bin/eifkit assemble -o "$out/image.eif" --arch ${needArch fn arch} \
        --kernel ${q (needFile fn "kernel" kernel)}${
          flag "--kernel-config" (optFile fn "kernelConfig" kernelConfig)}${
          if kernelCheck then "" else " --no-kernel-check"} \
        --cmdline ${q (needString fn "cmdline" cmdline)} \
        ${flags "--ramdisk" rds} \
        --name ${q (needString fn "name" name)} --version ${q (needString fn "version" version)}${
          flag "--metadata" (optFile fn "metadata" metadata)}${
          flag "--signing-certificate" (optFile fn "signingCertificate" signingCertificate)}${
          flag "--private-key" (optFile fn "privateKey" privateKey)} \
        --pcrs "$out/pcr.json" > "$out/log.txt"
    '');

  mkSysRamdisk =
    { name ? "bootstrap-initramfs"
    , init ? null
    , nsmKo ? null
    , arch ? defaultArch # eifkit's: picks the default init
    }:
    let fn = "mkSysRamdisk"; in
    pkgs.runCommand (drvName (needString fn "name" name)) { } (prelude + ''
      ${eifkit}/bin/eifkit ramdisk --layout system -o "$out" \
        --init ${q (if init == null then ownInit (needArch fn arch) else needFile fn "init" init)}${
          flag "--nsm" (optFile fn "nsmKo" nsmKo)}
    '');

  mkUserRamdisk =
    { name ? "user-initramfs"
    , entrypoint
    , env ? ""
    , rootfs
    , workdir ? null # eifkit's
    }:
    let fn = "mkUserRamdisk"; in
    pkgs.runCommand (drvName (needString fn "name" name)) { } (prelude + ''
      ${eifkit}/bin/eifkit ramdisk --layout user -o "$out" \
        --rootfs ${q (needFile fn "rootfs" rootfs)}${flags "--env" (envOf fn env)}${
          flag "--workdir" (if workdir == null then null else needString fn "workdir" workdir)} \
        -- ${words (argvOf fn entrypoint)}
    '');

  mkRamdisksFrom =
    { init ? null
    , nsmKo ? null
    , entrypoint
    , env ? ""
    , rootfs
    , arch ? defaultArch
    }: [
      (mkSysRamdisk { inherit init nsmKo arch; })
      (mkUserRamdisk { inherit entrypoint env rootfs; })
    ];

  # monzo's archiver: here eifkit's plain layout (uncompressed newc,
  # sorted, 0:0, fixed mtime, modes and dotfiles kept).
  mkCpioArchive =
    { name ? "archive"
    , src
    }:
    let fn = "mkCpioArchive"; in
    pkgs.runCommand (drvName (needString fn "name" name)) { } (prelude + ''
      ${eifkit}/bin/eifkit ramdisk --layout plain -o "$out" \
        --rootfs ${q (needFile fn "src" src)}
    '');

  goArch = { x86_64 = "amd64"; aarch64 = "arm64"; amd64 = "amd64"; arm64 = "arm64"; };

  # monzo's: a registry image's root folder, a fixed-output derivation
  # (network; skopeo + umoci), pinned by the hash of the unpacked tree.
  # For eifkit, fetchImage (the OCI layout itself) + buildEifFromImage
  # keeps the image's modes, owners, Entrypoint, Cmd, Env and WorkingDir.
  unpackImage =
    { imageName
    , imageDigest
    , sha256
    , name ? "image-rootfs"
    , arch ? defaultArch
    }:
    let
      fn = "unpackImage";
      ga = goArch.${needString fn "arch" arch} or (fail fn "arch must be x86_64, aarch64, amd64 or arm64, got \"${arch}\"");
    in
    pkgs.runCommand (drvName (needString fn "name" name)) {
      nativeBuildInputs = [ pkgs.skopeo pkgs.umoci ];
      outputHashMode = "recursive";
      outputHashAlgo = "sha256";
      outputHash = needString fn "sha256" sha256;
      SSL_CERT_FILE = "${pkgs.cacert}/etc/ssl/certs/ca-bundle.crt";
    } ''
      skopeo --insecure-policy copy \
        ${q "docker://${needString fn "imageName" imageName}@${needString fn "imageDigest" imageDigest}"} \
        oci:image:latest --override-os linux --override-arch ${ga}
      umoci raw unpack --rootless --image image:latest "$out"
    '';

  fetchImage =
    { imageName
    , imageDigest
    , sha256
    , name ? "image-oci"
    , arch ? defaultArch
    }:
    let
      fn = "fetchImage";
      ga = goArch.${needString fn "arch" arch} or (fail fn "arch must be x86_64, aarch64, amd64 or arm64, got \"${arch}\"");
    in
    pkgs.runCommand (drvName (needString fn "name" name)) {
      nativeBuildInputs = [ pkgs.skopeo ];
      outputHashMode = "recursive";
      outputHashAlgo = "sha256";
      outputHash = needString fn "sha256" sha256;
      SSL_CERT_FILE = "${pkgs.cacert}/etc/ssl/certs/ca-bundle.crt";
    } ''
      skopeo --insecure-policy copy \
        ${q "docker://${needString fn "imageName" imageName}@${needString fn "imageDigest" imageDigest}"} \
        "oci:$out:latest" --override-os linux --override-arch ${ga}
    '';

  # AWS's blobs from nitro-cli v1.2.3, by the tree hash monzo pins.
  blobsSrc = pkgs.fetchFromGitHub {
    owner = "aws";
    repo = "aws-nitro-enclaves-cli";
    rev = "v1.2.3";
    hash = "sha256-+vQ9XK3la7K35p4VI3Mct5ij2o21zEYeqndI7RjTyiQ=";
  };
  blobsFor = arch: kernelName: rec {
    blobPath = "${blobsSrc}/blobs/${arch}";
    kernel = "${blobPath}/${kernelName}";
    kernelConfig = "${blobPath}/${kernelName}.config";
    cmdLine = "${blobPath}/cmdline";
    nsmKo = "${blobPath}/nsm.ko";
    init = "${blobPath}/init";
  };
in
{
  inherit buildEif buildEifFromImage mkEif mkSysRamdisk mkUserRamdisk
    mkRamdisksFrom mkCpioArchive unpackImage fetchImage pkgs;
  blobs = {
    x86_64 = blobsFor "x86_64" "bzImage";
    aarch64 = blobsFor "aarch64" "Image";
  };
}
