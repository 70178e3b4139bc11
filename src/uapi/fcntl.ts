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
export const F_GETFD = 1;
export const F_SETFD = 2;
export const F_GETFL = 3;
export const F_SETFL = 4;
export const FD_CLOEXEC = 1;
export const AT_FDCWD = -100;
export const AT_REMOVEDIR = 0x200;
