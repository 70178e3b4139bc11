/* The riscv32 kernel has no stat, fstat, fstatat or stat64 system calls
 * (asm/unistd.h defines __ARCH_WANT_NEW_STAT only for __LP64__), so musl
 * fills this from statx. The layout is asm-generic's struct stat64 with the
 * 32-bit second/nanosecond pairs replaced by struct timespec (64-bit time_t). */
struct stat {
	dev_t st_dev;
	ino_t st_ino;
	mode_t st_mode;
	nlink_t st_nlink;
	uid_t st_uid;
	gid_t st_gid;
	dev_t st_rdev;
	unsigned long long __pad;
	off_t st_size;
	blksize_t st_blksize;
	int __pad2;
	blkcnt_t st_blocks;
	struct timespec st_atim;
	struct timespec st_mtim;
	struct timespec st_ctim;
	unsigned __unused[2];
};
