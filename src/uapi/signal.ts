/**
 * Signal numbers (include/uapi/asm-generic/signal.h). Any thread.
 */

export const SIGILL = 4;
export const SIGBUS = 7;
export const SIGKILL = 9;
export const SIGSEGV = 11;
/** The exit signal a fork's low byte names. */
export const SIGCHLD = 17;
