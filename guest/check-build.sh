#!/bin/sh
# Rebuilds every guest program into a temporary directory and fails if any differs from the
# committed guest/bin/*.elf, or if bin/ holds a program the Makefile no longer builds. The
# committed files let `npm test` run without the cross compiler; this keeps them honest.
#
#   guest/check-build.sh
#
# Needs riscv64-unknown-elf-gcc (Debian 12: apt-get install gcc-riscv64-unknown-elf, gcc
# 12.2.0 with binutils 2.40); another compiler version generates different code, and then this
# check fails by design: rebuild with `make -C guest` and commit bin/ together with the
# compiler change.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
cc=${CROSS:-riscv64-unknown-elf-}gcc
if ! command -v "$cc" >/dev/null 2>&1; then
	echo "check-build.sh: $cc not found (apt-get install gcc-riscv64-unknown-elf)" >&2
	exit 2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
make -s -C "$here" OUT="$tmp" all >"$tmp/make.log" 2>&1 || {
	cat "$tmp/make.log" >&2
	echo "check-build.sh: the build failed" >&2
	exit 1
}

bad=0
for built in "$tmp"/*.elf; do
	name=$(basename "$built")
	if [ ! -f "$here/bin/$name" ]; then
		echo "missing: bin/$name is built but not committed"
		bad=1
	elif ! cmp -s "$built" "$here/bin/$name"; then
		echo "differs: bin/$name is not what the sources build"
		bad=1
	fi
done
for committed in "$here"/bin/*.elf; do
	name=$(basename "$committed")
	if [ ! -f "$tmp/$name" ]; then
		echo "stale: bin/$name has no rule in the Makefile"
		bad=1
	fi
done

if [ $bad != 0 ]; then
	echo "check-build.sh: bin/ does not match a fresh build with $("$cc" --version | head -n 1)"
	echo "  rebuild with 'make -C guest' and commit bin/ (and expected/ if outputs changed)"
	exit 1
fi
echo "check-build.sh: $(ls "$tmp"/*.elf | wc -l) programs rebuilt byte-identical to bin/"
