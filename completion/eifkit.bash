# bash completion for eifkit(1): commands, options, and the values of
# options (files, folders, or the words an option accepts).
#
# The table below is the one list of each command's options; a test
# (tests/e2e/test_completion.py) checks it against every command's
# --help and the command list against `eifkit --help`. One line a
# command: its name, then its options. An option that takes a value has
# "=KIND": file, dir, text (nothing to offer), or the words it accepts
# separated by "|". docs/adding-a-command.md says how to add a command.
_eifkit_table='
build -o=file --output=file --kernel=file --kernel-format-ok --no-kernel-check --no-app-check --kernel-config=file --cmdline=text --init=file --nsm=file --blobs=dir --oci=dir --oci-archive=file --docker-archive=file --nitro-cli-compat --rootfs=dir --file=file --entrypoint=text --env=text --env-file=file --workdir=text --keep-owners --keep-mtimes --arch=x86_64|aarch64 --name=text --version=text --metadata=file --signing-certificate=file --private-key=file --pcrs=file --quiet --exclude=text --exclude-volatile --mtime=zero|keep|clamp --explain-repro --pin-file=file --signer=text --signer-timeout=text -h --help
ramdisk --layout=system|user|plain --init=file --nsm=file -o=file --output=file --rootfs=dir --file=file --entrypoint=text --env=text --env-file=file --workdir=text --keep-owners --keep-mtimes --exclude=text --exclude-volatile --mtime=zero|keep|clamp --explain-repro -h --help
assemble --kernel=file --kernel-format-ok --no-kernel-check --cmdline=text --cmdline-file=file --ramdisk=file -o=file --output=file --arch=x86_64|aarch64 --name=text --version=text --metadata=file --build-time=text --build-tool=text --build-tool-version=text --img-os=text --img-kernel=text --kernel-config=file --kernel_config=file --signing-certificate=file --private-key=file --pcrs=file --quiet --pin-file=file --signer=text --signer-timeout=text -h --help
describe --text -h --help
diff --json --max-entries=text -h --help
ls --json -h --help
run --json --memory=text --cpus=text --timeout=text --kernel=file --accel=auto|kvm|tcg --console --quiet -h --help
pcr --signing-certificate=file --input=file --kms-policy --json -h --help
sign --signing-certificate=file --private-key=file -o=file --output=file --force --quiet --pin-file=file --signer=text --signer-timeout=text -h --help
verify --pcrs=file --signing-certificate=file --deep --json -h --help
attest --eif=file --pcrs=file --pcr=text --nonce=text --user-data=file --public-key=file --root=file --at=text --now --allow-debug --format=auto|raw|base64|hex --json -h --help
'

# The options of command $1, one a line, as in the table.
_eifkit_options()
{
	local line
	while read -r line; do
		if [ "${line%% *}" = "$1" ]; then
			printf '%s\n' ${line#* }
			return
		fi
	done <<<"$_eifkit_table"
}

_eifkit()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev="" cmd opt kind i
	local -a opts words

	COMPREPLY=()
	if [ "$COMP_CWORD" -le 1 ]; then
		while read -r cmd _; do
			[ -n "$cmd" ] && words+=("$cmd")
		done <<<"$_eifkit_table"
		COMPREPLY=($(compgen -W "${words[*]} help --help --version" -- "$cur"))
		return
	fi
	cmd=${COMP_WORDS[1]}
	if [ "$cmd" = help ]; then
		[ "$COMP_CWORD" -eq 2 ] || return
		while read -r opt _; do
			[ -n "$opt" ] && words+=("$opt")
		done <<<"$_eifkit_table"
		COMPREPLY=($(compgen -W "${words[*]}" -- "$cur"))
		return
	fi
	# After "--" come the enclave command's words.
	for ((i = 2; i < COMP_CWORD; i++)); do
		if [ "${COMP_WORDS[i]}" = -- ]; then
			compopt -o filenames 2>/dev/null
			COMPREPLY=($(compgen -f -- "$cur"))
			return
		fi
	done
	# --opt=VALUE: bash splits the words at "=".
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	if [ "$cur" = = ]; then
		cur=""
	elif [ "$prev" = = ] && [ "$COMP_CWORD" -ge 3 ]; then
		prev=${COMP_WORDS[COMP_CWORD - 2]}
	fi
	opts=($(_eifkit_options "$cmd"))
	for opt in "${opts[@]}"; do
		case $opt in
		"$prev"=*) kind=${opt#*=} ;;
		esac
	done
	case ${kind-} in
	"") ;;
	file)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur"))
		return ;;
	dir)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -d -- "$cur"))
		return ;;
	text)
		return ;;
	*)
		COMPREPLY=($(compgen -W "${kind//|/ }" -- "$cur"))
		return ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "${opts[*]%%=*}" -- "$cur"))
		return
	fi
	compopt -o filenames 2>/dev/null
	COMPREPLY=($(compgen -f -- "$cur"))
}

complete -F _eifkit eifkit
