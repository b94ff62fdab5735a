#!/bin/sh
# usage: scripts/md2man.sh EIFKIT VERSION SRC.md OUT.1
# One source of truth for the man pages: docs/eifkit-COMMAND.md becomes
# eifkit-COMMAND(1) and docs/eifkit.md the overview eifkit(1), through
# go-md2man. The NAME line and the overview's command list come from the
# command table (EIFKIT --help), so no summary is written twice.
#
# The markdown is adapted first: its "# eifkit CMD" title becomes the
# NAME section, "## Section" the man page's SECTION and "### Sub" a
# subsection, and a table a list. The date is SOURCE_DATE_EPOCH's month (none when unset):
# never the clock, so that two builds give the same page.
set -e
eifkit=$1 version=$2 src=$3 out=$4
base=$(basename "$src" .md)
cmd=${base#eifkit}
cmd=${cmd#-}
commands=$("$eifkit" --help | awk '/^commands:/ { on = 1; next }
	on && /^  [a-z]/ { print } on && /^$/ { exit }')

if [ -n "$cmd" ]; then
	summary=$(printf '%s\n' "$commands" |
		awk -v c="$cmd" '$1 == c { $1 = ""; sub(/^ +/, ""); print }')
	if [ -z "$summary" ]; then
		echo "md2man: $src: '$cmd' is not in '$eifkit --help'" >&2
		exit 1
	fi
else
	summary="build and inspect AWS Nitro Enclave image files (EIF)"
fi
date=""
if [ -n "$SOURCE_DATE_EPOCH" ]; then
	date=$(LC_ALL=C date -u -d "@$SOURCE_DATE_EPOCH" '+%B %Y')
fi
title=$(printf '%s' "$base" | tr '[:lower:]' '[:upper:]')

tmp="$out.md"
{
	printf '%% %s 1 "%s" "eifkit %s" "eifkit manual"\n\n' \
		"$title" "$date" "$version"
	printf '# NAME\n\n%s \\- %s\n\n' "$base" "$summary"
	COMMANDS=$commands awk '
	NR == 1 && /^# / { next }
	/^<!-- commands -->$/ {
		n = split(ENVIRON["COMMANDS"], line, "\n")
		for (i = 1; i <= n; i++) {
			c = line[i]; sub(/^ +/, "", c)
			name = c; sub(/ .*/, "", name)
			text = c; sub(/^[^ ]+ +/, "", text)
			printf "- **%s**: %s; see **eifkit-%s**(1).\n", name, text, name
		}
		next
	}
	# Tables: as a list, one item a row (tbl cannot wrap a long code
	# cell, and a page must fit 80 columns): "- A: B" for two columns,
	# "- A; H2: B; H3: C" for more, H the header cells.
	function cells(s, out,    n, i) {
		gsub(/\\\|/, "\001", s)
		sub(/^ *\| */, "", s); sub(/ *\| *$/, "", s)
		n = split(s, out, / *\| */)
		for (i = 1; i <= n; i++)
			gsub(/\001/, "|", out[i])
		return n
	}
	/^\|/ && !table { table = 1; ncol = cells($0, head); next }
	table == 1 && /^\|[-:| ]+$/ { table = 2; next }
	table == 2 && /^\|/ {
		cells($0, cell)
		row = "- " cell[1]
		for (i = 2; i <= ncol; i++)
			row = row (ncol == 2 ? ": " : "; " head[i] ": ") cell[i]
		print row
		next
	}
	table { table = 0 }
	/^## / { sub(/^## /, ""); print "# " toupper($0); next }
	/^### / { sub(/^### /, ""); print "## " $0; next }
	{ print }' "$src"
	if [ -n "$cmd" ]; then
		printf '\n# SEE ALSO\n\n**eifkit**(1)\n'
	fi
} >"$tmp"
# A hash or other long run of letters and digits may break anywhere
# (groff's \: every 16 characters), or it would overflow an 80-column
# line.
# (mawk has no {40,}: the run is spelt out)
long=$(printf '[0-9A-Za-z]%.0s' $(seq 40))
go-md2man -in "$tmp" | awk -v long="$long[0-9A-Za-z]*" '
	!/^[.\047]/ {
		out = ""
		while (match($0, long)) {
			w = substr($0, RSTART, RLENGTH)
			out = out substr($0, 1, RSTART - 1)
			while (length(w) > 16) {
				out = out substr(w, 1, 16) "\\:"
				w = substr(w, 17)
			}
			out = out w
			$0 = substr($0, RSTART + RLENGTH)
		}
		$0 = out $0
	}
	{ print }' >"$out"
rm -f "$tmp"
