#!/bin/sh
# Differential test of the riscv32 musl port under qemu-riscv32 (Debian's
# qemu-user): builds the sysroot (build.sh, a no-op when up to date), builds
# every guest/musl-tests/NAME.c into guest/build/musl-bin/NAME with
# riscv32-musl-gcc, checks each executable with check-isa.sh (static, ELF32,
# no compressed or FP instructions), runs it under qemu-riscv32 and compares
# its stdout, stderr and exit status (as a shell shows it: 128+N when killed
# by signal N) with guest/musl-tests/expected/NAME.out, NAME.err, NAME.status.
#
#   guest/musl/run-qemu.sh [--update] [--build-only] [NAME ...]
#
# --update      re-record expected/ from qemu's runs
# --build-only  build and check the executables, run nothing
# Programs listed in guest/musl-tests/qemu-skip are built but not run (qemu-user
# lacks what they test; the file says what).
# Lines qemu itself writes to stderr when the guest dies of a signal
# ("qemu: uncaught target signal ...") are dropped before comparing.
# Exit status: 0 when every program passed, 1 when one failed, 2 when a tool
# is missing (one line says which).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
guest=$(dirname "$here")
tests=$guest/musl-tests
expected=$tests/expected
bin=${BUILD:-$guest/build}/musl-bin
qemu=${QEMU_RISCV32:-qemu-riscv32}
update=0
build_only=0
while [ $# -gt 0 ]; do
	case "$1" in
	--update) update=1 ;;
	--build-only) build_only=1 ;;
	-*) echo "run-qemu.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
	shift
done

if [ $build_only = 0 ] && ! command -v "$qemu" >/dev/null 2>&1; then
	echo "run-qemu.sh: missing $qemu (apt-get install qemu-user)" >&2
	exit 2
fi
"$here/build.sh" || exit 2

if [ $# -gt 0 ]; then
	names="$*"
else
	names=$(cd "$tests" && ls -- *.c | sed 's/\.c$//')
fi

mkdir -p "$bin"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
to=""
command -v timeout >/dev/null 2>&1 && to="timeout 120"

passed=0
failed=0
# ABI against the kernel's uapi headers (syscall numbers, struct layouts)
set +e
"$here/abi/check.sh"
abi=$?
set -e
case $abi in
0) ;;
2) echo "SKIP abi check (see the line above)" ;;
*) echo "FAIL abi check"; failed=$((failed + 1)) ;;
esac

for name in $names; do
	src=$tests/$name.c
	exe=$bin/$name
	[ -f "$src" ] || { echo "FAIL $name: no $src"; failed=$((failed + 1)); continue; }
	if ! "$here/riscv32-musl-gcc" -O2 -Wall -Wno-unused-result -o "$exe" "$src" -lm -lpthread \
		> "$tmp/cc.log" 2>&1; then
		echo "FAIL $name: does not compile"
		sed 's/^/    /' "$tmp/cc.log"
		failed=$((failed + 1))
		continue
	fi
	if ! "$here/check-isa.sh" "$exe" > "$tmp/isa.log" 2>&1; then
		echo "FAIL $name: $(head -n 1 "$tmp/isa.log")"
		failed=$((failed + 1))
		continue
	fi
	[ $build_only = 1 ] && { echo "BUILT $name"; continue; }
	skip=$(awk -v n="$name" '$1 == n { $1 = ""; sub(/^[ \t]+/, ""); print }' "$tests/qemu-skip")
	if [ -n "$skip" ]; then
		echo "SKIP $name under qemu: $skip"
		continue
	fi

	mkdir -p "$tmp/run"
	set +e
	# qemu runs exec'd in a subshell; the group's 2>/dev/null takes the
	# shell's own report of a death by signal ("Aborted").
	{
		(cd "$tmp/run" && exec $to "$qemu" "$exe" < /dev/null > "$tmp/out" 2> "$tmp/err.raw")
		echo $? > "$tmp/status.raw"
	} 2>/dev/null
	status=$(cat "$tmp/status.raw")
	set -e
	grep -v '^qemu: uncaught target signal' "$tmp/err.raw" > "$tmp/err" || true
	echo "$status" > "$tmp/status"

	if [ $update = 1 ]; then
		cp "$tmp/out" "$expected/$name.out"
		cp "$tmp/err" "$expected/$name.err"
		cp "$tmp/status" "$expected/$name.status"
		echo "RECORDED $name (status $status)"
		passed=$((passed + 1))
		continue
	fi
	bad=""
	for k in out err status; do
		if [ ! -f "$expected/$name.$k" ]; then
			bad="$bad no-expected-$k"
		elif ! cmp -s "$tmp/$k" "$expected/$name.$k"; then
			bad="$bad $k"
		fi
	done
	if [ -z "$bad" ]; then
		echo "PASS $name"
		passed=$((passed + 1))
	else
		echo "FAIL $name: differs in$bad"
		for k in out err status; do
			[ -f "$expected/$name.$k" ] && diff -u "$expected/$name.$k" "$tmp/$k" | sed 's/^/    /' | head -n 20 || true
		done
		failed=$((failed + 1))
	fi
done
[ $build_only = 1 ] && [ $failed = 0 ] && exit 0
echo "$passed passed, $failed failed"
[ $failed = 0 ]
