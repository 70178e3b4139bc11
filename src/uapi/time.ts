/**
 * Clock ids and clock_nanosleep flags (include/uapi/linux/time.h). Any thread.
 */

export const CLOCK_REALTIME = 0;
export const CLOCK_MONOTONIC = 1;
/** CPU time of the calling process, and of the calling thread. */
export const CLOCK_PROCESS_CPUTIME_ID = 2;
export const CLOCK_THREAD_CPUTIME_ID = 3;
/** clock_nanosleep flag: the request is an absolute time on the clock. */
export const TIMER_ABSTIME = 1;
