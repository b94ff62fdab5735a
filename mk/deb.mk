# mk/deb.mk: man pages, shell completion, the Debian package, and the
# checks that eifkit and its package are reproducible. Included by the
# top Makefile.
#
#   make man          build/man/eifkit.1 and eifkit-COMMAND.1, from docs/
#   make deb          build/deb/eifkit_VERSION_ARCH.deb (dpkg-buildpackage,
#                     in a copy of the tree under build/deb/)
#   make check-deb    the package built twice (other folder, depth, time,
#                     umask, TZ) gives the same bytes; lintian has no
#                     errors; the package unpacked with dpkg -x works
#                     (tests/deb/); eifkit built in two other folders
#                     gives the bytes of $(B)/eifkit; debian/changelog
#                     has the Makefile's VERSION
#
# docs/HACKING-commands.md says what a new command needs here.

MANDIR          ?= $(PREFIX)/share/man
BASHCOMPDIR     ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR      ?= $(PREFIX)/share/zsh/vendor-completions
MAN_SRC         := docs/eifkit.md $(sort $(wildcard docs/eifkit-*.md))
MAN_PAGES       := $(MAN_SRC:docs/%.md=$(B)/man/%.1)
DEB_ARCH        := $(shell dpkg --print-architecture 2>/dev/null)
DEB_FILE        := $(B)/deb/eifkit_$(VERSION)_$(DEB_ARCH).deb

.PHONY: man deb check-deb check-version repro-bin install-man install-completion
CHECK_TARGETS += check-deb
install: install-man install-completion

man: $(MAN_PAGES)

# The NAME line comes from the command table, hence the binary.
$(B)/man/%.1: docs/%.md scripts/md2man.sh $(B)/eifkit
	@mkdir -p $(dir $@)
	sh scripts/md2man.sh $(B)/eifkit $(VERSION) $< $@

install-man: $(MAN_PAGES)
	install -d $(DESTDIR)$(MANDIR)/man1
	install -m 0644 $(MAN_PAGES) $(DESTDIR)$(MANDIR)/man1/

install-completion:
	install -d $(DESTDIR)$(BASHCOMPDIR)
	install -m 0644 completion/eifkit.bash $(DESTDIR)$(BASHCOMPDIR)/eifkit

# VERSION is set once, in the Makefile; the package must say the same.
check-version:
	@v=$$(dpkg-parsechangelog -l debian/changelog -SVersion) && \
	if [ "$$v" != "$(VERSION)" ]; then \
	  echo "check-version: debian/changelog says $$v, the Makefile $(VERSION)" >&2; \
	  exit 1; fi

# dpkg-buildpackage builds both inits and checks Build-Depends, the
# aarch64 init's musl-dev:arm64 among them: the same compilers as make
# init, installed (with dpkg's arm64 architecture) the same way first.
deb: check-version init-toolchain-x86_64 init-toolchain-aarch64
	@sh scripts/build-deb.sh $(B)/deb

# eifkit again from copies of the sources in two other folders; the
# same flags as $(B)/eifkit (make check's -Werror included).
repro-bin: $(B)/eifkit
	@sh scripts/check-repro-bin.sh $(B)/eifkit $(B)/repro-bin \
	  "$(CFLAGS)" "$(EXTRA_CFLAGS)"

# The tests compare the package's inits with those `make init` built.
check-deb: deb repro-bin init
	@sh scripts/build-deb.sh $(B)/deb-repro/second/folder-with-a-longer-name \
	  $(B)/deb
	@EIFKIT_DEB=$(CURDIR)/$(DEB_FILE) EIFKIT_BUILD=$(CURDIR)/$(B) \
	  sh scripts/run-pytest.sh tests/deb
