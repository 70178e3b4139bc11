/**
 * The overcommit scheduler's policy: which vCPUs hold the P physical CPUs for the next tick.
 * Pure bookkeeping over what the scheduler observed — no shared memory, no Atomics, no clock of
 * its own — so it can be tested alone. Main thread (owned by OvercommitScheduler).
 *
 * Each vCPU is observed, every tick, as one of:
 *   Gone      its run loop has ended: it needs no CPU and never will again.
 *   Idle      halted (sleeping in safeHalt for an interrupt), or parked with nothing pending:
 *             it needs no CPU now.
 *   Runnable  anything else: running guest or kernel code, or parked while it has work.
 *
 * Rules, in order:
 *   1. A Gone vCPU gives its CPU back.
 *   2. Runnable vCPUs without a CPU are served oldest-waiting first (round robin). Each takes a
 *      free CPU; else the CPU of an Idle holder (a halted vCPU does not need one: KVM's
 *      halt-polling aside, a blocked vCPU thread leaves its CPU to others); else the CPU of the
 *      Runnable holder that has run longest, once it has run a whole slice. Otherwise it waits.
 *   3. CPUs still free go to Idle vCPUs without one, oldest first, so an interrupt wakes them
 *      at once instead of at the next tick (work conserving; they are the first to lose the
 *      CPU again under rule 2).
 * A Runnable holder therefore keeps its CPU for at least one slice while others wait, and a
 * waiting Runnable vCPU gets a CPU within (vCPUs / P) slices.
 */

export const enum Need {
  Gone = 0,
  Idle = 1,
  Runnable = 2,
}

/** What the scheduler must do to apply a decision. */
export interface Decision {
  /** vCPUs that get a CPU (schedState Running, wake them). */
  readonly grant: number[];
  /** vCPUs that lose their CPU (schedState Descheduled, kick them to park). */
  readonly revoke: number[];
  /** Of `revoke`, those that were Runnable: preemptions proper (KVM marks them PREEMPTED). */
  readonly preempted: number[];
}

export class SchedPolicy {
  private readonly holds: boolean[];
  /** When each holder got its CPU (ns, the caller's clock). */
  private readonly grantedAt: number[];
  /** When each non-holder lost its CPU (ns): the round-robin order of the waiting. */
  private readonly revokedAt: number[];

  constructor(readonly cpus: number, readonly pcpus: number, readonly sliceNs: number) {
    this.holds = new Array<boolean>(cpus).fill(false);
    this.grantedAt = new Array<number>(cpus).fill(0);
    this.revokedAt = new Array<number>(cpus).fill(0);
  }

  /** Does `cpu` hold a physical CPU? */
  holdsCpu(cpu: number): boolean {
    return this.holds[cpu]!;
  }

  /** Number of vCPUs holding a physical CPU (never more than pcpus). */
  get holders(): number {
    return this.holds.reduce((n, h) => n + (h ? 1 : 0), 0);
  }

  /** The first P vCPUs hold the CPUs at boot (the boot CPU among them); the rest wait. */
  initial(nowNs: number): Decision {
    const grant: number[] = [];
    const revoke: number[] = [];
    for (let c = 0; c < this.cpus; c++) {
      if (c < this.pcpus) {
        this.holds[c] = true;
        this.grantedAt[c] = nowNs;
        grant.push(c);
      } else {
        this.holds[c] = false;
        this.revokedAt[c] = nowNs;
        revoke.push(c);
      }
    }
    return { grant, revoke, preempted: [] };
  }

  /** One tick: `needs[c]` is what the scheduler observed of vCPU c. */
  decide(needs: readonly Need[], nowNs: number): Decision {
    const grant: number[] = [];
    const revoke: number[] = [];
    const preempted: number[] = [];
    let free = this.pcpus;
    for (let c = 0; c < this.cpus; c++) {
      if (!this.holds[c]) continue;
      if (needs[c] === Need.Gone) this.holds[c] = false; // rule 1: nothing to tell a finished vCPU
      else free--;
    }
    const waiting = this.byRevokedAt((c) => !this.holds[c] && needs[c] === Need.Runnable);
    if (waiting.length > 0) {
      // Victims, best first: idle holders, then runnable holders past their slice, longest-running first.
      const idle = this.ids((c) => this.holds[c]! && needs[c] === Need.Idle);
      const expired = this.ids((c) => this.holds[c]! && needs[c] === Need.Runnable && nowNs - this.grantedAt[c]! >= this.sliceNs)
        .sort((a, b) => this.grantedAt[a]! - this.grantedAt[b]! || a - b);
      const victims = [...idle, ...expired];
      for (const w of waiting) {
        if (free === 0) {
          const v = victims.shift();
          if (v === undefined) break;
          this.take(v, nowNs);
          revoke.push(v);
          if (needs[v] === Need.Runnable) preempted.push(v);
          free++;
        }
        this.give(w, nowNs);
        grant.push(w);
        free--;
      }
    }
    if (free > 0) {
      for (const c of this.byRevokedAt((c) => !this.holds[c] && needs[c] === Need.Idle)) {
        if (free === 0) break;
        this.give(c, nowNs);
        grant.push(c);
        free--;
      }
    }
    return { grant, revoke, preempted };
  }

  /** Every vCPU may run (the machine is stopping). */
  releaseAll(): number[] {
    const out: number[] = [];
    for (let c = 0; c < this.cpus; c++) {
      out.push(c);
      this.holds[c] = true;
    }
    return out;
  }

  private give(cpu: number, nowNs: number): void {
    this.holds[cpu] = true;
    this.grantedAt[cpu] = nowNs;
  }

  private take(cpu: number, nowNs: number): void {
    this.holds[cpu] = false;
    this.revokedAt[cpu] = nowNs;
  }

  private ids(pred: (cpu: number) => boolean): number[] {
    const out: number[] = [];
    for (let c = 0; c < this.cpus; c++) if (pred(c)) out.push(c);
    return out;
  }

  private byRevokedAt(pred: (cpu: number) => boolean): number[] {
    return this.ids(pred).sort((a, b) => this.revokedAt[a]! - this.revokedAt[b]! || a - b);
  }
}
