#!/bin/sh
# The library's shape, checked (make check-lib):
#  1. layers: each folder of src/lib includes only from the layers below it
#     (image -> ramdisk, base; ramdisk -> base; eif -> base; base -> base;
#     build.c, the top of the library, -> any), and nothing in src/lib
#     includes a CLI header;
#  2. process-wide state stays with the CLI: libeifkit.a calls none of
#     exit, printf, fprintf, sigaction, signal, getenv, umask.
# Usage: check-lib.sh LIBEIFKIT.A
set -eu
lib=${1:?usage: check-lib.sh LIBEIFKIT.A}
fail=0

allowed() { # layer of the including file -> layers it may include
	case $1 in
	base) echo "base" ;;
	ramdisk) echo "ramdisk base" ;;
	eif) echo "eif base" ;;
	image) echo "image ramdisk base" ;;
	top) echo "image ramdisk eif base top" ;;
	esac
}

for f in $(find src/lib -name '*.[ch]' | sort); do
	rel=${f#src/lib/}
	case $rel in
	*/*) layer=${rel%%/*} ;;
	*) layer=top ;;
	esac
	ok=$(allowed "$layer")
	# every quoted include: "layer/name.h", or "build.h" (the top)
	grep -n '^#[[:space:]]*include[[:space:]]*"' "$f" |
	sed 's/^\([0-9]*\):#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1 \2/' |
	while read -r line inc; do
		case $inc in
		*/*) to=${inc%%/*} ;;
		build.h) to=top ;;
		*) to=cli ;;
		esac
		case " $ok " in
		*" $to "*) ;;
		*) echo "$f:$line: the $layer layer includes \"$inc\" ($to)"
		   echo x >> "${TMPDIR:-/tmp}/check-lib.$$" ;;
		esac
	done
done
if [ -e "${TMPDIR:-/tmp}/check-lib.$$" ]; then
	rm -f "${TMPDIR:-/tmp}/check-lib.$$"
	fail=1
fi

bad=$(nm -u "$lib" | awk '{print $NF}' | sed 's/@.*//' |
	grep -xE 'exit|_exit|printf|fprintf|vprintf|vfprintf|puts|fputs|putchar|perror|sigaction|signal|getenv|secure_getenv|umask' |
	sort -u | tr '\n' ' ')
if [ -n "$bad" ]; then
	echo "$lib: the library calls $bad(only the CLI may)"
	fail=1
fi
[ $fail -eq 0 ] && echo "check-lib: layers and library calls ok"
exit $fail
