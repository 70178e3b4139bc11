/**
 * Memory-mapping constants: mmap's protections and flags, madvise advice, mremap flags
 * (include/uapi/asm-generic/mman-common.h, include/uapi/linux/mman.h). Any thread.
 */

export const PROT_NONE = 0;
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const PROT_EXEC = 4;
export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_FIXED = 0x10;
export const MAP_ANONYMOUS = 0x20;
export const MADV_DONTNEED = 4;
// mremap flags (include/uapi/linux/mman.h).
export const MREMAP_MAYMOVE = 1;
export const MREMAP_FIXED = 2;
export const MREMAP_DONTUNMAP = 4;
