/** Linux errno values the guest kernel returns (as -errno), asm-generic/errno-base.h. */
export const EPERM = 1;
export const ESRCH = 3;
export const EINTR = 4;
export const EIO = 5;
export const EBADF = 9;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EFAULT = 14;
export const EBUSY = 16;
export const EEXIST = 17;
export const ENODEV = 19;
export const ENOTTY = 25;
export const EINVAL = 22;
export const ENOSPC = 28;
export const ENOSYS = 38;
export const ENOENT = 2;
export const ENOTDIR = 20;
export const EISDIR = 21;
export const EMFILE = 24;
export const ENFILE = 23;
export const EFBIG = 27;
export const ESPIPE = 29;
export const EPIPE = 32;
export const ENAMETOOLONG = 36;
export const ENOTEMPTY = 39;
export const EACCES = 13;
/**
 * Kernel-internal, never seen by user space: the woken call runs again from the start (the hart
 * is still at its ECALL), as Linux restarts a call interrupted before it did anything.
 */
export const ERESTARTSYS = 512;
/** Restart after a handler whatever SA_RESTART says (include/linux/errno.h). */
export const ERESTARTNOINTR = 513;
/** -EINTR if a handler runs, restart if none does (sigsuspend, poll, select, nanosleep). */
export const ERESTARTNOHAND = 514;
export const ETIMEDOUT = 110;
export const ERANGE = 34;
export const ELOOP = 40;
export const EOVERFLOW = 75;
export const EOPNOTSUPP = 95;
