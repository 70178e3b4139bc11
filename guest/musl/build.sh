#!/bin/sh
# Builds musl 1.2.3 (Debian bookworm's source package) for riscv32 Linux:
# RV32IMA + Zicsr, ilp32 soft-float, static only. Fetches and verifies the
# source, applies the riscv32 port in guest/musl (port/ is copied over the
# tree, patches/*.patch are applied), configures with Debian's bare-metal
# riscv64-unknown-elf-gcc and installs into guest/build/musl-sysroot. Then
# checks that libc.a has no compressed and no floating-point instructions.
# guest/musl/riscv32-musl-gcc links programs against the result.
#
#   guest/musl/build.sh            build (does nothing when already up to date)
#   guest/musl/build.sh --force    rebuild from a fresh source tree
#
# Environment: CROSS (default riscv64-unknown-elf-), BUILD (default guest/build),
# JOBS (default nproc). Exit status 0 when the sysroot is built and checked,
# 1 when something is missing or fails (one line on stderr says what).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
guest=$(dirname "$here")
build=${BUILD:-$guest/build}
cross=${CROSS:-riscv64-unknown-elf-}
cc=${cross}gcc
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
force=0
[ "${1:-}" = "--force" ] && force=1

version=1.2.3
debver=1.2.3-1
suite=bookworm
pool=http://deb.debian.org/debian/pool/main/m/musl
# SHA-256 of Debian's musl_1.2.3-1.dsc (bookworm). apt checks the .dsc against
# the signed Sources index; this pin covers the direct download as well. The
# .dsc in turn lists the SHA-256 of the orig tarball, checked below.
dsc_sha256=243a7462e9c751da662c4c61d4c96b6318c796ba302b72f6cdf74ea5427a9b4f

src=$build/musl-src
tree=$src/musl-$version
objdir=$build/musl-obj
sysroot=$build/musl-sysroot
stamp=$sysroot/.build-stamp

# rv32ima_zicsr: the base ISA plus M and A, and Zicsr (gcc 12 needs it named);
# no C (compressed) and no F/D: pvemu's CPU is RV32IMA. __linux__ and friends:
# the bare-metal compiler does not define them.
arch_flags="-march=rv32ima_zicsr -mabi=ilp32"
os_flags="-D__linux__ -D__linux -D__unix__ -D__unix -D__gnu_linux__"

die() { echo "build.sh: $*" >&2; exit 1; }

command -v "$cc" >/dev/null 2>&1 || die "missing compiler $cc (apt-get install gcc-riscv64-unknown-elf)"
command -v "${cross}objdump" >/dev/null 2>&1 || die "missing ${cross}objdump (apt-get install binutils-riscv64-unknown-elf)"
for t in make patch sha256sum tar gzip; do
	command -v $t >/dev/null 2>&1 || die "missing $t"
done

# libgcc: the compiler has no rv32ima/ilp32 multilib. rv32im/ilp32 is the
# largest one whose ISA is a subset of RV32IMA (no C, no F/D; rv32ia lacks M
# and rv32imac has compressed code). libgcc makes no atomic accesses, so
# lacking A there changes nothing. -march=rv32ima_zicsr itself matches no
# multilib and would give the default (rv64imafdc/lp64d) libgcc.
libgcc=$("$cc" -march=rv32im -mabi=ilp32 -print-libgcc-file-name)
case "$libgcc" in
*/rv32im/ilp32/libgcc.a) ;;
*) die "missing rv32im/ilp32 multilib in $cc (it gave $libgcc)" ;;
esac
[ -f "$libgcc" ] || die "missing $libgcc"

# Up to date? The stamp records the inputs: port files, patches, this script,
# the compiler.
inputs_hash=$( (cd "$here" && find port patches build.sh -type f | LC_ALL=C sort | xargs sha256sum;
	"$cc" --version | head -n 1; echo "$libgcc") | sha256sum | cut -d' ' -f1)
if [ $force = 0 ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$inputs_hash" ] \
	&& [ -f "$sysroot/lib/libc.a" ]; then
	echo "build.sh: $sysroot is up to date"
	exit 0
fi

# --- source ---------------------------------------------------------------
mkdir -p "$src"
dsc=$src/musl_$debver.dsc
orig=$src/musl_$version.orig.tar.gz

dsc_ok() { [ -f "$dsc" ] && [ "$(sha256sum "$dsc" | cut -d' ' -f1)" = "$dsc_sha256" ]; }

if ! dsc_ok || [ ! -f "$orig" ]; then
	echo "build.sh: fetching musl $debver source from Debian ($suite)"
	# apt-get source with a private configuration holding only a deb-src line
	# for bookworm: the machine's apt setup is left alone, and no root needed.
	apt=$src/apt
	rm -rf "$apt"
	mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/sources.list.d" "$apt/preferences.d"
	cat > "$apt/sources.list.d/musl-src.sources" <<EOF
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $suite
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
	aptopts="-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=$apt/sources.list.d
		-o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=$apt/preferences.d
		-o Dir::State::Lists=$apt/lists -o Dir::Cache=$apt/cache -o Dir::State::Status=/dev/null
		-o APT::Sandbox::User=$(id -un)"
	fetched=0
	if command -v apt-get >/dev/null 2>&1 && [ -f /usr/share/keyrings/debian-archive-keyring.gpg ]; then
		# shellcheck disable=SC2086
		if apt-get -q $aptopts update >"$apt/log" 2>&1 &&
			(cd "$src" && apt-get -q $aptopts source --download-only "musl=$debver") >>"$apt/log" 2>&1; then
			fetched=1
		fi
	fi
	if [ $fetched = 0 ]; then
		# The same files straight from the pool.
		for f in "musl_$debver.dsc" "musl_$version.orig.tar.gz"; do
			if command -v curl >/dev/null 2>&1; then
				curl -fsS -o "$src/$f" "$pool/$f" || die "missing network: cannot download $pool/$f"
			elif command -v wget >/dev/null 2>&1; then
				wget -q -O "$src/$f" "$pool/$f" || die "missing network: cannot download $pool/$f"
			else
				die "missing network tools: apt-get source failed (see $apt/log) and there is no curl or wget"
			fi
		done
	fi
fi
dsc_ok || die "musl_$debver.dsc does not match its pinned SHA-256 ($dsc)"
want=$(awk '/^Checksums-Sha256:/ {s=1; next} /^[^ ]/ {s=0} s && $3 == "musl_'$version'.orig.tar.gz" {print $1}' "$dsc")
[ -n "$want" ] || die "musl_$debver.dsc lists no SHA-256 for the orig tarball"
[ "$(sha256sum "$orig" | cut -d' ' -f1)" = "$want" ] || die "$orig does not match the SHA-256 in the .dsc"

# Debian 1.2.3-1 carries no patches to the upstream source (its debian/
# tarball holds only packaging), so the orig tarball is the whole source.
rm -rf "$tree" "$objdir"
tar -xzf "$orig" -C "$src"
[ -f "$tree/VERSION" ] && [ "$(cat "$tree/VERSION")" = "$version" ] || die "unexpected tarball contents in $orig"

# --- the riscv32 port -----------------------------------------------------
cp -R "$here/port/." "$tree/"
for p in "$here"/patches/*.patch; do
	patch -s -p1 --batch --forward -d "$tree" < "$p" || die "patch $(basename "$p") does not apply"
done

# --- configure, build, install --------------------------------------------
mkdir -p "$objdir"
rm -rf "$sysroot"
start=$(date +%s)
(
	cd "$objdir"
	CC="$cc" CROSS_COMPILE="$cross" CFLAGS="$arch_flags $os_flags -O2" \
		"$tree/configure" --target=riscv32-linux-musl --prefix="$sysroot" \
		--disable-shared --enable-static --disable-wrapper LIBCC="$libgcc" >configure.log 2>&1 ||
		{ tail -n 20 configure.log >&2; exit 1; }
	grep -q '^ARCH = riscv32$' config.mak || { echo "configure did not pick ARCH=riscv32" >&2; exit 1; }
	make -j"$jobs" >make.log 2>&1 || { tail -n 30 make.log >&2; exit 1; }
	make install >install.log 2>&1 || { tail -n 20 install.log >&2; exit 1; }
) || die "musl build failed (logs in $objdir)"
end=$(date +%s)
echo "build.sh: built musl $version for riscv32 in $((end - start)) s"

# --- checks ---------------------------------------------------------------
"$here/check-isa.sh" "$sysroot/lib/libc.a" "$sysroot/lib/crt1.o" "$sysroot/lib/crti.o" \
	"$sysroot/lib/crtn.o" || die "libc.a has instructions outside RV32IMA + Zicsr"
echo "$inputs_hash" > "$stamp"
echo "build.sh: sysroot $sysroot (libgcc: $libgcc)"
