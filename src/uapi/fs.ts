/**
 * lseek's whence values (include/uapi/linux/fs.h). Any thread.
 */

export const SEEK_SET = 0;
export const SEEK_CUR = 1;
export const SEEK_END = 2;
