/**
 * Signal numbers (include/uapi/asm-generic/signal.h). Any thread.
 */

/** The highest signal number (asm-generic: 64, the real-time ones included). */
export const NSIG = 64;
export const SIGILL = 4;
export const SIGBUS = 7;
export const SIGKILL = 9;
export const SIGSEGV = 11;
/** The exit signal a fork's low byte names. */
export const SIGCHLD = 17;

export const SIGSTOP = 19;
/** Dispositions a sigaction's handler word may hold besides a handler's address. */
export const SIG_DFL = 0;
export const SIG_IGN = 1;

/** What a signal does to a process that neither ignores nor handles it (signal(7)). */
export type DefaultAction = 'terminate' | 'ignore' | 'stop';

/**
 * Default actions: SIGCHLD, SIGCONT, SIGURG and SIGWINCH are ignored; SIGSTOP, SIGTSTP,
 * SIGTTIN and SIGTTOU stop (no job control here, so they too leave the process running);
 * every other signal, the real-time ones included, terminates it (some with a core dump,
 * which a shell shows the same way: 128 + the signal).
 */
export function defaultAction(signal: number): DefaultAction {
  switch (signal) {
    case 17: case 18: case 23: case 28: return 'ignore';
    case 19: case 20: case 21: case 22: return 'stop';
    default: return 'terminate';
  }
}
