# mk/nix.mk: the Nix flake (flake.nix, nix/) with monzo/aws-nitro-util's
# interface, tested through Debian's nix-bin with the stand-in nixpkgs of
# tests/nix/nixpkgs (offline, a private store under pytest's temporary
# folder, no daemon). Included by the top Makefile; docs/nix.md.
#
#   make check-nix    builds EIFs through the flake and compares them with
#                     eifkit build's, checks the lib's errors, runs
#                     nix flake check

.PHONY: check-nix
CHECK_TARGETS += check-nix

check-nix: $(B)/eifkit
	@EIFKIT=$(CURDIR)/$(B)/eifkit sh scripts/run-pytest.sh tests/nix
