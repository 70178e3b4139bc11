/**
 * The machine's fixed limits, which every layer sizes its tables by. Any thread.
 */

/** Most vCPUs one machine can have: cpumasks are two 32-bit words in guest memory. */
export const MAX_CPUS = 64;

/** The guest kernel's task slots (threads and processes, init included). */
export const MAX_TASKS = 256;
/** Address spaces: one per task at most (ctxswitch at 64 vCPUs forks about 200 processes). */
export const MAX_MMS = 256;
