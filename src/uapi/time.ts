/**
 * Clock ids and clock_nanosleep flags (include/uapi/linux/time.h). Any thread.
 */

export const CLOCK_REALTIME = 0;
export const CLOCK_MONOTONIC = 1;
/** clock_nanosleep flag: the request is an absolute time on the clock. */
export const TIMER_ABSTIME = 1;
