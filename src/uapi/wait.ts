/**
 * wait4 and waitid options, waitid's id types and its SIGCHLD codes (include/uapi/linux/wait.h,
 * include/uapi/asm-generic/siginfo.h), and the wait status encoding. Any thread.
 */

/** Return 0 at once when no child has changed state. */
export const WNOHANG = 1;
/** waitid: report stopped children (none stop here). */
export const WSTOPPED = 2;
/** waitid: report children that exited or were killed. */
export const WEXITED = 4;
/** waitid: report continued children (none stop here). */
export const WCONTINUED = 8;
/** waitid: leave the child waitable: report it, do not reap it. */
export const WNOWAIT = 0x01000000;

/** waitid id types. */
export const P_ALL = 0;
export const P_PID = 1;
export const P_PGID = 2;

/** si_code of a SIGCHLD siginfo: the child exited, or a signal killed it. */
export const CLD_EXITED = 1;
export const CLD_KILLED = 2;

/** A wait status (wait4's encoding) for a task that exited with `code`. */
export function exitedStatus(code: number): number {
  return (code & 0xff) << 8;
}

/** A wait status for a task a signal killed. */
export function signaledStatus(signal: number): number {
  return signal & 0x7f;
}

/** The signal that killed the task with wait status `status`, or 0 if it exited. */
export function termSignal(status: number): number {
  return status & 0x7f;
}

/** Its exit code, if it exited. */
export function exitCodeOf(status: number): number {
  return (status >> 8) & 0xff;
}

/** A wait status as a shell shows it: the exit code, or 128 + the signal that killed it. */
export function shellStatus(status: number): number {
  const signal = termSignal(status);
  return signal !== 0 ? 128 + signal : exitCodeOf(status);
}
