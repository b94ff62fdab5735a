{
  # A stand-in for nixpkgs in eifkit's flake tests (tests/nix/): just
  # what flake.nix and nix/lib.nix call, as thin derivations with
  # /bin/sh as builder and this machine's tools on PATH (the tests run
  # nix with sandbox = false). Its eifkit is the binary `make` built,
  # copied in by the test. Not nixpkgs: see docs/nix.md.
  description = "stand-in nixpkgs for eifkit's tests";
  outputs = { self }: {
    legacyPackages = builtins.listToAttrs (map
      (system: { name = system; value = import ./. { inherit system; }; })
      [ "x86_64-linux" "aarch64-linux" ]);
  };
}
