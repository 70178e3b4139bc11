/**
 * pvemu's LKDTM commands, the first argument of SYS_lkdtm (src/kernel/lkdtm.ts says what each
 * makes the kernel try). Not Linux's ABI: Linux reaches LKDTM through debugfs. Any thread.
 */

/** The commands (lkdtm's "crash types"). */
export const LKDTM_PT_WRITABLE = 1;
export const LKDTM_MAP_BEYOND_RAM = 2;
export const LKDTM_MAP_RESERVED = 3;
export const LKDTM_UNMAP = 4;
export const LKDTM_LOAD_UNVALIDATED_PD = 5;
export const LKDTM_IPI_NO_CPU = 6;
