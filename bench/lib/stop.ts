/**
 * Ctrl-C and SIGTERM in a bench case: the runner (bench/main.ts) records the stop here, the
 * machine running now is interrupted (its run ends early, marked interrupted), and no case
 * starts another. A sweep keeps its finished rows and writes them; other machine cases end with
 * BenchInterrupted. Main thread.
 */
import type { Machine } from '../../src/machine/machine.js';
import type { RunResult } from '../../src/machine/result.js';
import type { StopSignal } from '../../src/cli/stop-signal.js';

/** A case stopped by a signal before it had figures to show. */
export class BenchInterrupted extends Error {
  override readonly name = 'BenchInterrupted';
  constructor(readonly signal: StopSignal) {
    super(`interrupted by ${signal}`);
  }
}

export class BenchStop {
  private by: StopSignal | undefined;
  private readonly running = new Set<Machine>();

  /** The signal that stopped the bench, if one has. */
  get signal(): StopSignal | undefined {
    return this.by;
  }

  /** Stop: interrupt the machines running now, and let no case start another. */
  request(signal: StopSignal): void {
    if (this.by !== undefined) return;
    this.by = signal;
    for (const m of this.running) m.interrupt(signal);
  }

  /** Throws BenchInterrupted once a stop was requested: call it before starting work. */
  check(): void {
    if (this.by !== undefined) throw new BenchInterrupted(this.by);
  }

  /** Runs `machine`, interrupting it if a stop comes meanwhile (or came already). */
  async run(machine: Machine): Promise<RunResult> {
    this.check();
    this.running.add(machine);
    try {
      return await machine.run();
    } finally {
      this.running.delete(machine);
    }
  }
}

/** The bench process's one stop. */
export const benchStop = new BenchStop();
