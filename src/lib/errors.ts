/**
 * The project's error classes. Everything pvemu throws on purpose is one of these, so the CLI
 * can print one line for expected failures and keep stack traces for real bugs. Any thread.
 */

export class PvemuError extends Error {
  override readonly name: string = 'PvemuError';
}

/** Bad user input: names the option or field and what is allowed. */
export class ConfigError extends PvemuError {
  override readonly name = 'ConfigError';
  constructor(readonly option: string, readonly allowed: string) {
    super(`${option}: ${allowed}`);
  }
}

/** A module bound a pv group that the export table does not export to it. */
export class PvExportError extends PvemuError {
  override readonly name = 'PvExportError';
}

/** A wait exceeded its deadline; the message names who waited, for what, and on whom. */
export class WatchdogError extends PvemuError {
  override readonly name = 'WatchdogError';
}

/** The machine was stopped (error elsewhere or shutdown) while this vCPU was waiting. */
export class MachineAbortedError extends PvemuError {
  override readonly name = 'MachineAbortedError';
}

/** A broken invariant inside the emulator (a bug, not a guest error). */
export class InternalError extends PvemuError {
  override readonly name = 'InternalError';
}

/** A workload's own result check failed (for example a page read non-zero after DONTNEED). */
export class SelfCheckError extends PvemuError {
  override readonly name = 'SelfCheckError';
}

/** The fatal signals a user access can raise. */
export type FaultSignal = 'SIGSEGV' | 'SIGBUS' | 'SIGKILL';

/**
 * A user-mode access the kernel could not resolve: delivered to the guest thread the way
 * SIGSEGV is — or SIGBUS, when the translation named a frame outside the guest's RAM (a machine
 * check: Linux's memory-failure path kills the consuming task with SIGBUS). Guest programs may
 * catch it (the mprotect workload expects SIGSEGV).
 */
export class GuestSegfault extends PvemuError {
  override readonly name = 'GuestSegfault';
  /**
   * @param mapped a mapping covers the address but forbids the access (SEGV_ACCERR), rather
   *   than no mapping at all (SEGV_MAPERR).
   */
  constructor(readonly address: number, readonly errorCode: number, readonly signal: FaultSignal = 'SIGSEGV', detail = '', readonly mapped = false) {
    super(`${signal} at 0x${(address >>> 0).toString(16)} (${detail !== '' ? detail : `error code ${errorCode}`})`);
  }
}

/**
 * A conservation law failed at the end of a run (IPIs, call/flush acknowledgements, frames):
 * the message names each violated law with both numbers.
 */
export class ConservationError extends PvemuError {
  override readonly name = 'ConservationError';
}

/**
 * --check found a TLB entry used after the shootdown that should have removed it completed
 * (a broken TLB flush protocol). The message names the first violation.
 */
export class CoherenceError extends PvemuError {
  override readonly name = 'CoherenceError';
}
