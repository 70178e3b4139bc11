/**
 * lseek's whence values (include/uapi/linux/fs.h). Any thread.
 */

export const SEEK_SET = 0;
export const SEEK_CUR = 1;
export const SEEK_END = 2;
/** lseek's SEEK_DATA and SEEK_HOLE: the next byte of data, the next hole. */
export const SEEK_DATA = 3;
export const SEEK_HOLE = 4;

// st_mode's file types (include/uapi/linux/stat.h).
export const S_IFMT = 0o170000;
export const S_IFLNK = 0o120000;
export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;

/** linux_dirent64's d_type (include/linux/fs_types.h DT_*). */
export const DT_FIFO = 1;
export const DT_CHR = 2;
export const DT_DIR = 4;
export const DT_REG = 8;
export const DT_LNK = 10;

/** statx's mask bits (include/uapi/linux/stat.h): STATX_BASIC_STATS, and the reserved bit. */
export const STATX_BASIC_STATS = 0x7ff;
export const STATX__RESERVED = 0x80000000;
/** struct statx's size. */
export const STATX_BYTES = 256;
