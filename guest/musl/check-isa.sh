#!/bin/sh
# Checks that riscv32 objects, archives or executables stay within RV32IMA +
# Zicsr, ilp32 soft-float, which is what pvemu's CPU runs: ELF32 RISC-V,
# e_flags without EF_RISCV_RVC (0x1) and with float ABI soft (bits 0x6 clear),
# no 16-bit (compressed) instruction and no floating-point instruction in the
# disassembly. Executables must also be static (no PT_INTERP, no PT_DYNAMIC)
# and not PIE (ET_EXEC).
#
#   guest/musl/check-isa.sh FILE...
#
# Exit status 0 when every file passes, 1 otherwise (each failure is named).
set -eu

cross=${CROSS:-riscv64-unknown-elf-}
command -v "${cross}objdump" >/dev/null 2>&1 || { echo "check-isa.sh: missing ${cross}objdump" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bad=0
for f in "$@"; do
	"${cross}readelf" -h "$f" > "$tmp/h" 2>/dev/null || { echo "FAIL $f: not ELF" >&2; bad=1; continue; }
	if grep -q 'Class:.*ELF64' "$tmp/h"; then echo "FAIL $f: ELF64" >&2; bad=1; fi
	flags=$(awk '/Flags:/ {sub(/,$/, "", $2); print $2}' "$tmp/h" | sort -u)
	for fl in $flags; do
		if [ $((fl & 0x7)) -ne 0 ]; then echo "FAIL $f: e_flags $fl (RVC or hard-float ABI)" >&2; bad=1; fi
	done
	if grep -q 'Type:.*EXEC' "$tmp/h"; then
		"${cross}readelf" -l "$f" > "$tmp/l"
		if grep -qE '^\s+(INTERP|DYNAMIC)' "$tmp/l"; then echo "FAIL $f: not static" >&2; bad=1; fi
	elif grep -q 'Type:.*DYN' "$tmp/h"; then
		echo "FAIL $f: PIE or shared object" >&2; bad=1
	fi
	"${cross}objdump" -d "$f" > "$tmp/d"
	# Instruction lines are "addr:<TAB>encoding<TAB>mnemonic operands"; a
	# 4-hex-digit encoding is a compressed instruction.
	awk -F'\t' 'NF >= 3 && $1 ~ /^ *[0-9a-f]+:$/ {
		enc = $2; gsub(/ /, "", enc); split($3, m, " ");
		if (length(enc) == 4) print "compressed: " $0;
		else if (m[1] ~ /^f/ && m[1] !~ /^fence/) print "floating point: " $0;
	}' "$tmp/d" > "$tmp/bad"
	if [ -s "$tmp/bad" ]; then
		echo "FAIL $f: $(wc -l < "$tmp/bad") instructions outside RV32IMA, first: $(head -n 1 "$tmp/bad")" >&2
		bad=1
	fi
done
exit $bad
