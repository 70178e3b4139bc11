#!/bin/sh
# Checks the riscv32 port's ABI against the Linux uapi headers from Debian's
# linux-libc-dev-riscv64-cross (asm-generic + asm/ for riscv, compiled for
# ilp32): (1) the system call numbers in arch/riscv32/bits/syscall.h.in are
# exactly the ones <asm/unistd.h> defines for a 32-bit riscv (musl spells
# llseek as _llseek); (2) struct layouts and constants (ucontext, sigcontext,
# siginfo, statfs64, ipc *64_ds, flock64, O_* and F_* values, ...) match
# between kernel.c (uapi) and musl.c (the installed musl headers).
#
#   guest/musl/abi/check.sh
#
# Exit status 0 when all match, 1 on a mismatch, 2 when a tool or the
# headers are missing (one line says which).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
musl=$(dirname "$here")
cross=${CROSS:-riscv64-unknown-elf-}
uapi=${UAPI_INCLUDE:-/usr/riscv64-linux-gnu/include}
[ -f "$uapi/asm/unistd.h" ] || { echo "abi/check.sh: missing riscv uapi headers in $uapi (apt-get install linux-libc-dev-riscv64-cross)" >&2; exit 2; }
command -v "${cross}gcc" >/dev/null 2>&1 || { echo "abi/check.sh: missing ${cross}gcc" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
kcc="${cross}gcc -march=rv32ima_zicsr -mabi=ilp32 -D__linux__ -nostdinc -isystem $uapi"

# (1) syscall numbers: the value of every __NR_ name, from each side, found
# by compiling "long v_NAME = NAME + 1000000;" (so that none is 0 and in .bss)
nr_values() { # $1 header to include, $2 file of names, $3 output
	{ echo "#include \"$1\""; while read -r n; do echo "long v_$n = $n + 1000000;"; done < "$2"; } > "$tmp/nr.c"
	$kcc -S -o "$tmp/nr.s" "$tmp/nr.c"
	awk '/^v___NR_/ {name = substr($1, 3, length($1) - 3)} /\.word/ && name {print name, $2 - 1000000; name = ""}' \
		"$tmp/nr.s" | sort > "$3"
}
echo '#include <asm/unistd.h>' | $kcc -E -dM -x c - | awk '$1 == "#define" && $2 ~ /^__NR_/ && $2 != "__NR_syscalls" {print $2}' |
	sort -u > "$tmp/knames"
echo '#include <asm/unistd.h>' > "$tmp/k.h"
nr_values "$tmp/k.h" "$tmp/knames" "$tmp/kernel.nr.raw"
sed 's/^__NR_llseek /__NR__llseek /' "$tmp/kernel.nr.raw" | sort > "$tmp/kernel.nr"
awk '$1 == "#define" && $2 ~ /^__NR_/ {print $2}' "$musl/port/arch/riscv32/bits/syscall.h.in" | sort -u > "$tmp/mnames"
# __NR_sysriscv is musl's own alias for __NR_arch_specific_syscall (as on riscv64)
nr_values "$musl/port/arch/riscv32/bits/syscall.h.in" "$tmp/mnames" "$tmp/musl.nr.raw"
grep -v "^__NR_sysriscv " "$tmp/musl.nr.raw" > "$tmp/musl.nr"
if ! diff "$tmp/kernel.nr" "$tmp/musl.nr" > "$tmp/nr.diff"; then
	echo "FAIL syscall numbers differ (< kernel, > syscall.h.in):"
	cat "$tmp/nr.diff"
	exit 1
fi
echo "PASS syscall numbers: $(wc -l < "$tmp/musl.nr") match <asm/unistd.h> for riscv32"

# (2) layouts
$kcc -S -o "$tmp/k.s" "$here/kernel.c"
"$musl/riscv32-musl-gcc" -S -o "$tmp/m.s" "$here/musl.c"
grep -o '@@.*' "$tmp/k.s" > "$tmp/k.txt"
grep -o '@@.*' "$tmp/m.s" > "$tmp/m.txt"
if ! diff "$tmp/k.txt" "$tmp/m.txt"; then
	echo "FAIL layouts differ (< kernel, > musl)"
	exit 1
fi
echo "PASS layouts: $(wc -l < "$tmp/k.txt") values match the uapi headers"
