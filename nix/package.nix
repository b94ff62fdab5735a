# eifkit built from this repository with nixpkgs' stdenv: the same
# pkg-config libraries as the Makefile asks for, both enclave inits
# (static, musl, through nixpkgs' cross compilers, as mk/init.mk wants
# them) and the unit tests of `make check` as the check phase.
#
# Not built by this repository's tests (they cannot fetch nixpkgs; see
# docs/nix.md): kept to what the nixpkgs manual's stdenv chapter shows.
{ stdenv, pkg-config, openssl, zlib, libarchive, json-c, pkgsCross, src, version }:

let
  # mk/init.mk's compilers for the two inits, whatever the build machine.
  initCC = {
    x86_64 = pkgsCross.musl64.stdenv.cc;
    aarch64 = pkgsCross.aarch64-multiplatform-musl.stdenv.cc;
  };
  ccFlag = arch: "INIT_CC_${arch}=${initCC.${arch}}/bin/${initCC.${arch}.targetPrefix}gcc";
in
stdenv.mkDerivation {
  pname = "eifkit";
  inherit version src;

  nativeBuildInputs = [ pkg-config ];
  buildInputs = [ openssl zlib libarchive json-c ];

  makeFlags = [ "PREFIX=${placeholder "out"}" (ccFlag "x86_64") (ccFlag "aarch64") ];
  buildFlags = [ "all" "init" ];

  doCheck = true;
  checkTarget = "unit";

  meta = {
    description = "Reproducible AWS Nitro Enclave image (EIF) builder";
    mainProgram = "eifkit";
    platforms = [ "x86_64-linux" "aarch64-linux" ];
  };
}
