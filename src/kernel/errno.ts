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
export const ETIMEDOUT = 110;
