#!/bin/sh
# Differential test of the guest programs against qemu-riscv32 (Debian's qemu-user): runs every
# case in expected/cases.tsv and compares its stdout with expected/NAME.out and its exit status
# with the cases.tsv column.
#
#   guest/run-qemu.sh [--update] [NAME ...]
#
# --update rewrites expected/NAME.out from qemu's output (the exit status must still match).
# Exit status: 0 when every case matched, 1 otherwise, 2 when qemu-riscv32 is missing.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
qemu=${QEMU_RISCV32:-qemu-riscv32}
update=0
if [ "${1:-}" = "--update" ]; then
	update=1
	shift
fi
if ! command -v "$qemu" >/dev/null 2>&1; then
	echo "run-qemu.sh: $qemu not found (apt-get install qemu-user)" >&2
	exit 2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tab=$(printf '\t')
failed=0
ran=0
while IFS="$tab" read -r name status threads command; do
	case "$name" in '' | '#'*) continue ;; esac
	if [ $# -gt 0 ]; then
		wanted=0
		for n in "$@"; do [ "$n" = "$name" ] && wanted=1; done
		[ $wanted = 1 ] || continue
	fi
	# Split the command: leading NAME=VALUE words are the environment, then the program.
	envs=""
	set -f
	prog=""
	args=""
	for word in $command; do
		if [ -z "$prog" ]; then
			case "$word" in
			*=*) envs="$envs $word"; continue ;;
			*) prog=$word; continue ;;
			esac
		fi
		args="$args $word"
	done
	set +f
	out="$tmp/$name.out"
	rc=0
	# shellcheck disable=SC2086 # word splitting of envs and args is intended
	(cd "$here" && env -i $envs timeout 120 "$qemu" "bin/$prog" $args </dev/null) >"$out" || rc=$?
	ran=$((ran + 1))
	if [ "$rc" != "$status" ]; then
		echo "FAIL $name: exit status $rc, expected $status (threads: $threads)"
		sed 's/^/  | /' "$out"
		failed=$((failed + 1))
		continue
	fi
	if [ $update = 1 ]; then
		cp "$out" "$here/expected/$name.out"
		echo "updated $name"
	elif ! cmp -s "$out" "$here/expected/$name.out"; then
		echo "FAIL $name: stdout differs from expected/$name.out"
		diff "$here/expected/$name.out" "$out" | sed 's/^/  /' || true
		failed=$((failed + 1))
	else
		echo "ok   $name"
	fi
done <"$here/expected/cases.tsv"

if [ $ran = 0 ]; then
	echo "run-qemu.sh: no case matched" >&2
	exit 1
fi
echo "$((ran - failed))/$ran cases match"
[ $failed = 0 ]
