# The stand-in nixpkgs (see flake.nix here). `import nixpkgs { system;
# overlays; }` applies the overlays as nixpkgs does, then pins eifkit to
# the prebuilt binary; eifkitFromOverlay keeps what the overlay gave, so
# the tests can evaluate nix/package.nix against these stubs.
{ system ? "x86_64-linux", overlays ? [ ], ... }:

let
  cpu = builtins.head (builtins.split "-" system);

  sh = name: env: script: derivation ({
    inherit name system;
    builder = "/bin/sh";
    args = [ "-ec" script ];
    PATH = "/usr/bin:/bin";
    # As nixpkgs' stdenv (setup.sh) exports it.
    SOURCE_DATE_EPOCH = "315532800";
  } // env);

  # Evaluates like a package; building it says what it is.
  stub = name: attrs: sh name { } "echo 'stand-in nixpkgs: ${name} is a stub' >&2; exit 1" // attrs;

  base = final: {
    inherit system;
    lib = { };
    stdenv = {
      hostPlatform = { inherit system; uname.processor = cpu; isLinux = true; isDarwin = false; };
      # Evaluation only (nix/package.nix): the attributes are kept.
      mkDerivation = args: stub "${args.pname}-${args.version}" { passthru = args; };
    };
    runCommand = name: env: script:
      sh name (builtins.removeAttrs env [ "nativeBuildInputs" "buildInputs" ]) script;
    writeText = name: text: sh name { inherit text; passAsFile = [ "text" ]; }
      ''cp "$textPath" "$out"'';
    writeTextDir = path: text: sh (baseNameOf path) { inherit text; passAsFile = [ "text" ]; }
      ''mkdir -p "$out/$(dirname '${path}')" && cp "$textPath" "$out/${path}"'';
    # exportReferencesGraph's file: per path, its name, deriver, number
    # of references and the references; store-paths lists the names.
    closureInfo = { rootPaths }: sh "closure-info" {
      exportReferencesGraph = builtins.concatLists
        (builtins.genList (i: [ "graph${toString i}" (builtins.elemAt rootPaths i) ]) (builtins.length rootPaths));
    } ''
      mkdir -p "$out"
      cat graph* | awk 'st == 0 { print; st = 1; next }
        st == 1 { st = 2; next }
        st == 2 { n = $1; st = (n > 0) ? 3 : 0; next }
        st == 3 { if (--n == 0) st = 0 }' | sort -u > "$out/store-paths"
    '';
    buildEnv = { name, paths, pathsToLink ? [ "/" ], ... }: sh name { inherit paths; } ''
      for p in $paths; do
        for d in ${toString pathsToLink}; do
          [ -d "$p$d" ] || continue
          mkdir -p "$out$d"
          for f in "$p$d"/*; do ln -s "$f" "$out$d/"; done
        done
      done
    '';
    fetchFromGitHub = { owner, repo, rev, hash, ... }: derivation {
      name = "source";
      inherit system;
      builder = "/bin/sh";
      args = [ "-c" "echo 'stand-in nixpkgs: no network' >&2; exit 1" ];
      outputHashMode = "recursive";
      outputHash = hash;
    };
    callPackage = f: args:
      let fn = if builtins.isFunction f then f else import f;
      in fn (builtins.intersectAttrs (builtins.functionArgs fn) final // args);

    # A real program for the test app: this machine's busybox-static.
    busybox = sh "busybox" { } ''
      mkdir -p "$out/bin"
      cp /bin/busybox "$out/bin/busybox"
      ln -s busybox "$out/bin/sh"
    '';
    hello = sh "hello" { inherit (final) busybox; } ''
      mkdir -p "$out/bin"
      printf '#!%s/bin/sh\necho "Hello, world!"\n' "$busybox" > "$out/bin/hello"
      chmod 755 "$out/bin/hello"
    '';

    pkg-config = stub "pkg-config" { };
    openssl = stub "openssl" { };
    zlib = stub "zlib" { };
    libarchive = stub "libarchive" { };
    json-c = stub "json-c" { };
    skopeo = stub "skopeo" { };
    umoci = stub "umoci" { };
    cacert = stub "cacert" { };
    pkgsCross = {
      musl64.stdenv.cc = stub "x86_64-cc" { targetPrefix = "x86_64-unknown-linux-musl-"; };
      aarch64-multiplatform-musl.stdenv.cc = stub "aarch64-cc" { targetPrefix = "aarch64-unknown-linux-musl-"; };
    };
  };

  # The tests copy build/eifkit and its init here (prebuilt/).
  prebuilt = sh "eifkit-prebuilt" { } ''
    mkdir -p "$out/bin" "$out/libexec/eifkit"
    cp ${./prebuilt/eifkit} "$out/bin/eifkit"
    cp ${./prebuilt/init-x86_64} "$out/libexec/eifkit/init-x86_64"
  '';

  withOverlays = final:
    builtins.foldl' (prev: o: prev // o final prev) (base final) overlays;
  pkgs = let f = withOverlays pkgs; in f // {
    eifkit = prebuilt;
    eifkitFromOverlay = f.eifkit or null;
  };
in
pkgs
