/* The kernel's struct stat64 (asm-generic/stat.h, __BITS_PER_LONG == 32).
 * Not used: riscv32 has no fstat64/fstatat64 system calls, so SYS_fstatat
 * is undefined and src/stat/fstatat.c goes straight to statx. Kept so that
 * code testing sizeof((struct kstat){0}.st_atime_sec) still compiles. */
struct kstat {
	dev_t st_dev;
	ino_t st_ino;
	mode_t st_mode;
	nlink_t st_nlink;
	uid_t st_uid;
	gid_t st_gid;
	dev_t st_rdev;
	unsigned long long __pad1;
	off_t st_size;
	blksize_t st_blksize;
	int __pad2;
	blkcnt_t st_blocks;
	long st_atime_sec;
	unsigned long st_atime_nsec;
	long st_mtime_sec;
	unsigned long st_mtime_nsec;
	long st_ctime_sec;
	unsigned long st_ctime_nsec;
	unsigned __unused4;
	unsigned __unused5;
};
