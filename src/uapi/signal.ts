/**
 * Signal numbers (include/uapi/asm-generic/signal.h). Any thread.
 */

/** The highest signal number (asm-generic: 64, the real-time ones included). */
export const NSIG = 64;
export const SIGILL = 4;
export const SIGTRAP = 5;
export const SIGABRT = 6;
export const SIGBUS = 7;
export const SIGFPE = 8;
export const SIGKILL = 9;
export const SIGSEGV = 11;
export const SIGALRM = 14;
export const SIGSYS = 31;
/** The exit signal a fork's low byte names. */
export const SIGCHLD = 17;

export const SIGSTOP = 19;
/** Dispositions a sigaction's handler word may hold besides a handler's address. */
export const SIG_DFL = 0;
export const SIG_IGN = 1;

/** rt_sigprocmask's how. */
export const SIG_BLOCK = 0;
export const SIG_UNBLOCK = 1;
export const SIG_SETMASK = 2;
/** The sigset_t size riscv32 Linux's rt_sig* calls take: 64 signals, 8 bytes. */
export const SIGSET_BYTES = 8;

/** sa_flags (asm-generic/signal-defs.h). riscv defines no SA_RESTORER: the vDSO returns from handlers. */
export const SA_NOCLDSTOP = 0x00000001;
export const SA_NOCLDWAIT = 0x00000002;
export const SA_SIGINFO = 0x00000004;
export const SA_ONSTACK = 0x08000000;
export const SA_RESTART = 0x10000000;
export const SA_NODEFER = 0x40000000;
export const SA_RESETHAND = 0x80000000 | 0;
/** The flags rt_sigaction keeps (kernel/signal.c's UAPI_SA_FLAGS): unknown bits read back as 0. */
export const UAPI_SA_FLAGS = SA_NOCLDSTOP | SA_NOCLDWAIT | SA_SIGINFO | SA_ONSTACK | SA_RESTART | SA_NODEFER | SA_RESETHAND;

/** sigaltstack's ss_flags. */
export const SS_ONSTACK = 1;
export const SS_DISABLE = 2;
export const SS_AUTODISARM = 1 << 31;
/** The smallest alternate stack sigaltstack accepts (asm-generic MINSIGSTKSZ). */
export const MINSIGSTKSZ = 2048;

/** si_code values (asm-generic/siginfo.h). */
export const SI_USER = 0;
export const SI_KERNEL = 0x80;
export const SI_QUEUE = -1;
export const SI_TKILL = -6;
export const SEGV_MAPERR = 1;
export const SEGV_ACCERR = 2;
export const BUS_ADRALN = 1;
export const ILL_ILLOPC = 1;
export const TRAP_BRKPT = 1;

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
