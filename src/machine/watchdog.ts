/**
 * The main thread's watchdog over the vCPU workers. Waits inside a worker carry their own
 * watchdogs (src/kernel/sync.ts); this one catches what they cannot: a vCPU stuck where it no
 * longer runs its loop at all (a bug looping without a wait). Each vCPU bumps its heartbeat
 * word every run slice; a vCPU whose heartbeat stands still for twice the wait limit is named,
 * with what it was doing, and the run is aborted. Main thread.
 */
import { ApicBus } from '../hw/apic.js';
import { describeVcpu } from '../hw/activity.js';
import { MACHINE_CTL, RunState, VCPU_BLOCK, VcpuActivity, vcpuBase } from '../hw/layout.js';
import { WatchdogError } from '../lib/errors.js';
import type { WaitPolicy } from '../hw/wait.js';

export class MachineWatchdog {
  private timer: NodeJS.Timeout | undefined;
  private readonly last: number[];
  private readonly since: number[];
  /** Settles with the error when a vCPU is declared stuck. */
  readonly tripped: Promise<never>;
  private trip: (e: WatchdogError) => void = () => {};

  private readonly limitMs: number;

  constructor(private readonly words: Int32Array, private readonly cpus: number, private readonly policy: WaitPolicy) {
    this.limitMs = policy.watchdogMs;
    this.last = new Array<number>(cpus).fill(-1);
    this.since = new Array<number>(cpus).fill(Date.now());
    this.tripped = new Promise<never>((_, reject) => { this.trip = reject; });
    // A rejection nobody awaits yet must not crash the process before the race is set up.
    this.tripped.catch(() => {});
  }

  start(): void {
    this.timer = setInterval(() => this.check(), Math.max(50, this.limitMs / 4));
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private check(): void {
    const now = Date.now();
    const state = Atomics.load(this.words, MACHINE_CTL.runState);
    if (state === RunState.Aborted || state === RunState.Shutdown) return;
    for (let c = 0; c < this.cpus; c++) {
      const b = vcpuBase(c);
      const beat = Atomics.load(this.words, b + VCPU_BLOCK.heartbeat);
      if (beat !== this.last[c] || Atomics.load(this.words, b + VCPU_BLOCK.activity) === VcpuActivity.Finished) {
        this.last[c] = beat;
        this.since[c] = now;
        continue;
      }
      const stuck = now - this.since[c]!;
      if (stuck > 2 * this.limitMs) {
        Atomics.store(this.words, MACHINE_CTL.runState, RunState.Aborted);
        const what = describeVcpu(this.words, new ApicBus(this.words, this.cpus), c);
        this.stop();
        this.trip(new WatchdogError(`watchdog: cpu ${c} made no progress for ${stuck} ms; ${what} (twice ${this.policy.watchdogNote.replace(/^the limit is /, '')})`));
        return;
      }
    }
  }
}
