/**
 * open flags and the *at calls' directory and flag values (include/uapi/asm-generic/fcntl.h,
 * include/uapi/linux/fcntl.h). Any thread.
 */

// open flags (include/uapi/asm-generic/fcntl.h).
export const O_ACCMODE = 3;
export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_NOCTTY = 0o400;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;
export const O_NONBLOCK = 0o4000;
export const O_DIRECT = 0o40000;
export const O_LARGEFILE = 0o100000;
export const O_DIRECTORY = 0o200000;
export const O_NOFOLLOW = 0o400000;
export const O_CLOEXEC = 0o2000000;
/** fcntl commands (include/uapi/asm-generic/fcntl.h). */
export const F_DUPFD = 0;
export const F_DUPFD_CLOEXEC = 1030;
export const F_GETFD = 1;
export const F_SETFD = 2;
export const F_GETFL = 3;
export const F_SETFL = 4;
export const FD_CLOEXEC = 1;
export const AT_FDCWD = -100;
export const AT_REMOVEDIR = 0x200;
/** The *at calls' flags (include/uapi/linux/fcntl.h). */
export const AT_SYMLINK_NOFOLLOW = 0x100;
export const AT_EACCESS = 0x200;
export const AT_NO_AUTOMOUNT = 0x800;
export const AT_EMPTY_PATH = 0x1000;
/** statx's sync type: AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC. */
export const AT_STATX_SYNC_TYPE = 0x6000;
/** renameat2's flags (include/uapi/linux/fs.h). */
export const RENAME_NOREPLACE = 1;
export const RENAME_EXCHANGE = 2;
export const RENAME_WHITEOUT = 4;
/** faccessat's modes (include/linux/fs.h MAY_*, as access(2)'s R_OK, W_OK, X_OK). */
export const X_OK = 1;
export const W_OK = 2;
export const R_OK = 4;
/** fallocate's modes (include/uapi/linux/falloc.h). */
export const FALLOC_FL_KEEP_SIZE = 1;
export const FALLOC_FL_PUNCH_HOLE = 2;
/** posix_fadvise's advice (include/uapi/linux/fadvise.h): POSIX_FADV_NORMAL .. NOREUSE. */
export const POSIX_FADV_NOREUSE = 5;
/** sync_file_range's flags (include/uapi/linux/fs.h): WAIT_BEFORE | WRITE | WAIT_AFTER. */
export const SYNC_FILE_RANGE_VALID = 1 | 2 | 4;
