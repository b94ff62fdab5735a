{
  # eifkit as a Nix flake, with monzo/aws-nitro-util's interface:
  # lib.<system>.buildEif { ... } gives $out/image.eif, $out/pcr.json and
  # $out/log.txt, built by eifkit. docs/nix.md is the reference.
  description = "eifkit: reproducible AWS Nitro Enclave images (EIF), with monzo/aws-nitro-util's Nix interface";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.11";

  outputs = { self, nixpkgs }:
    let
      # eifkit and its init are Linux programs.
      systems = [ "x86_64-linux" "aarch64-linux" ];
      forAll = f: builtins.listToAttrs (map (system: { name = system; value = f system; }) systems);
      version = "0.1.0"; # the Makefile's VERSION (tests/nix checks)
      checkPcr0 = "c95df14ad1784ae368e1247ff5ce1d837105afaeaed223305d52e78c625f409187beea188dce748d0ea93b8fd524ae0a";

      pkgsFor = system: import nixpkgs { inherit system; overlays = [ self.overlays.default ]; };
      libFor = system: let pkgs = pkgsFor system; in import ./nix/lib.nix { inherit pkgs; inherit (pkgs) eifkit; };

      # What nix flake check builds: monzo's test-eif-PCRs-match, on
      # inputs that need neither network nor a compiler's exact bytes
      # (a fixed stand-in kernel and init; eifkit's own init would change
      # PCR0 with every nixpkgs). PCR0 was computed by `eifkit build` on
      # the same bytes (tests/nix/test_flake.py checks it again).
      pcr0Check = system:
        let
          pkgs = pkgsFor system;
          nitro = libFor system;
          eif = nitro.buildEif {
            name = "test";
            arch = "x86_64";
            kernel = pkgs.writeText "bzImage" "not a kernel: eifkit's flake check\n";
            kernelCheck = false;
            init = pkgs.writeText "init" "not an init: eifkit's flake check\n";
            copyToRoot = pkgs.writeTextDir "etc/file" "hello world!";
            copyToRootWithClosure = false;
            entrypoint = "none";
            env = "";
            appCheck = false;
          };
        in
        pkgs.runCommand "test-eif-PCRs-match" { } ''
          grep -q '"PCR0": "${checkPcr0}"' ${eif}/pcr.json || {
            echo "PCR0 of ${eif}/image.eif is not ${checkPcr0}:" >&2
            cat ${eif}/pcr.json >&2
            exit 1
          }
          cp ${eif}/pcr.json "$out"
        '';
    in
    {
      overlays.default = final: prev: {
        eifkit = final.callPackage ./nix/package.nix { src = self; inherit version; };
      };

      packages = forAll (system: rec {
        eifkit = (pkgsFor system).eifkit;
        default = eifkit;
      });

      lib = forAll libFor;

      checks = forAll (system: {
        test-eif-PCRs-match = pcr0Check system;
      });
    };
}
