/**
 * futex operations and flags (include/uapi/linux/futex.h). Any thread.
 */

// futex ops (include/uapi/linux/futex.h).
export const FUTEX_WAIT = 0;
export const FUTEX_WAKE = 1;
export const FUTEX_REQUEUE = 3;
export const FUTEX_CMP_REQUEUE = 4;
export const FUTEX_WAKE_OP = 5;
export const FUTEX_WAIT_BITSET = 9;
export const FUTEX_WAKE_BITSET = 10;
export const FUTEX_PRIVATE_FLAG = 128;
export const FUTEX_CLOCK_REALTIME = 256;
export const FUTEX_BITSET_MATCH_ANY = -1;

/** FUTEX_WAKE_OP's operations on the second word, and its comparisons of the old value. */
export const FUTEX_OP_SET = 0;
export const FUTEX_OP_ADD = 1;
export const FUTEX_OP_OR = 2;
export const FUTEX_OP_ANDN = 3;
export const FUTEX_OP_XOR = 4;
/** In the op field: use 1 << oparg. */
export const FUTEX_OP_OPARG_SHIFT = 8;
export const FUTEX_OP_CMP_GE = 5;
