/**
 * A vCPU's clock in virtual time (--clock virtual, docs/virtual-time.md): its party in the turn
 * order (src/hw/vtime.ts) plus everything that moves the clock or happens at a time on it. vCPU
 * worker; one per vCPU, used only by that vCPU's thread while it holds the turn.
 *
 * The clock, in cycles at the TSC's nominal frequency (TSC_KHZ), advances by:
 *   - the cost meter's modelled cycles (traps, hypercalls, VM exits, flushes, IPIs, walks…),
 *     taken from VcpuCounters.modeledCycles at every step, so every event counted is timed;
 *   - plain work, at its cost-table price: a TypeScript workload's memory accesses (the MMU's
 *     poll steps POLL_EVERY of them) and operations, an RV32 program's instructions (the core's
 *     poll boundaries), system calls, page faults, signals, spin-wait iterations (pause);
 *   - halting, which jumps to whatever wakes the CPU: its LAPIC timer's deadline, or another
 *     party's wake: an IPI's arrival (ApicBus.ring wakes the halted target at the sender's
 *     time), or the timekeeper's stop at the run's end.
 * What is posted to the vCPU's APIC (IPIs, kicks, its timer) carries the sender's time
 * (post): the APIC shows it pending only once this clock has reached that time (arrived), so
 * a vCPU running behind its sender takes an IPI at the send time, not before it. Posts that
 * coalesce before a take arrive with the earliest of them.
 * At each step it also plays what is due at the new time on this CPU's own hardware: its LAPIC
 * timer, raised on itself in its own time. Then it offers the turn (boundary). What the host
 * does — the overcommit scheduler, steal time, the stop at the run's end — the main thread's
 * timekeeper plays in its own turns (src/machine/vtime-keeper.ts).
 */
import type { ApicBus, ApicVirtualClock } from './apic.js';
import { TSC_KHZ, useVirtualTsc } from './clock.js';
import type { CostTable } from './cost.js';
import { LapicTimer } from './lapic-timer.js';
import { PartyClock } from './vtime.js';
import { InternalError } from '../lib/errors.js';
import { LatencyHistogram } from '../stats/histogram.js';

/** Cycles per ns at the nominal TSC frequency. */
export const CYCLES_PER_NS = TSC_KHZ / 1e6;

/**
 * The wall clock's reading at the start of a virtual-time machine: 2026-01-01T00:00:00Z. Fixed,
 * so a program that prints the date prints the same on every run.
 */
export const VIRTUAL_EPOCH_S = 1_767_225_600;

/** Parties in a machine's turn order: its vCPUs, then the main thread's timekeeper (party `cpus`). */
export function vtimeParties(cpus: number): number {
  return cpus + 1;
}

/** A party's name in messages: "cpu 3", or "the timekeeper" (the main thread). */
export function vtimePartyName(party: number, cpus: number): string {
  return party < cpus ? `cpu ${party}` : 'the timekeeper';
}

export interface VirtualClockParts {
  readonly cpu: number;
  readonly costs: CostTable;
  /** The vCPU's counters: modelled cycles are read from here, hand-overs written at the end. */
  readonly counters: { modeledCycles: number; turnHandOvers: number };
  /** The vCPU's own bus: its timer is raised on itself through it. */
  readonly bus: ApicBus;
  /** The machine block: timer registers. */
  readonly machineWords: Int32Array;
  /** How long the run lasts once booted, in cycles (0: the workload stops itself, --ops). */
  readonly runCycles: number;
  /** The timekeeper's party number (src/machine/vtime-keeper.ts): it plays the run's end. */
  readonly keeper: number;
}

export class VirtualClock implements ApicVirtualClock {
  /** Timer interrupts this clock raised. */
  ticks = 0;
  /**
   * From send to take, modelled ns, of what this vCPU's APIC took (IPIs, kicks, its own timer),
   * one sample per take: the earliest post of those the take gathered.
   */
  readonly delivery = new LatencyHistogram();
  private seenModeled = 0;
  private readonly timer: LapicTimer;

  constructor(readonly party: PartyClock, private readonly p: VirtualClockParts) {
    this.timer = new LapicTimer(p.machineWords, p.cpu);
    this.seenModeled = p.counters.modeledCycles;
  }

  /** The clock, in cycles (modelled events included). */
  get now(): number {
    this.sync();
    return this.party.now;
  }

  /**
   * The vCPU is running in the turn order (it began and holds the turn). Before its first turn
   * (a backend's constructor waiting for another vCPU's one-time setup) waits stay in host
   * time: nothing the guest computes depends on them.
   */
  get running(): boolean {
    return this.party.hasTurn;
  }

  /**
   * The guest has booted (the boot vCPU, once): the run's --seconds count from here, as the
   * main thread's timer counts them in host time.
   */
  bootDone(): void {
    if (this.p.runCycles <= 0) return;
    const end = this.now + this.p.runCycles;
    this.party.setRunEnd(end);
    // The timekeeper makes the stop request then, as the main thread's --seconds timer does in host time.
    this.party.unpark(this.p.keeper, end);
  }

  /** The clock in ns since the machine started. */
  get nowNs(): number {
    return this.now / CYCLES_PER_NS;
  }

  /**
   * From here this thread's TSC is this clock. The party must hold the turn already: the vCPU
   * waits for its first turn before it builds its hardware, kernel and backend, since building
   * them reads memory other vCPUs write once they run (src/vcpu/vcpu.ts).
   */
  start(): void {
    if (!this.party.hasTurn) throw new InternalError(`vtime: cpu ${this.p.cpu} started its clock before its first turn`);
    useVirtualTsc(() => Math.floor(this.now));
  }

  /** This vCPU leaves the turn order for good (its run loop ended). */
  finish(): void {
    this.sync();
    this.party.finish();
    this.p.counters.turnHandOvers = this.party.passes;
  }

  /** `cycles` of plain work were done: advance, play what is due, and offer the turn. */
  step(cycles: number): void {
    this.party.advance(cycles);
    this.due();
    this.party.boundary();
  }

  /** `n` memory accesses of a TypeScript workload (the MMU's poll). */
  accesses(n: number): void {
    this.step(n * this.p.costs.memoryAccess);
  }

  /**
   * An atomic access of a TypeScript workload, after `n - 1` plain ones: a synchronisation
   * point (PartyClock.syncPoint), so guest locks, flags and futex words are seen in the exact
   * order of the clocks.
   */
  atomicAccess(n: number): void {
    this.party.advance(n * this.p.costs.memoryAccess);
    this.due();
    this.party.syncPoint();
  }

  /** `n` RV32 instructions retired (the core's poll boundaries and the end of each run). */
  instructions(n: number): void {
    this.step(n * this.p.costs.instruction);
  }

  /** An LR, SC or AMO of an RV32 program: a synchronisation point, as a workload's atomic access is. */
  atomic(): void {
    this.due();
    this.party.syncPoint();
  }

  /** The wall clock in seconds: VIRTUAL_EPOCH_S plus the modelled seconds since the machine started. */
  get wallSeconds(): number {
    return VIRTUAL_EPOCH_S + Math.floor(this.nowNs / 1e9);
  }

  /**
   * One spin-wait iteration. What it waits for can only come from another party or from this
   * vCPU's own timer, posts or the run's end; none comes before the earliest of those times, so
   * a spin that has nothing to wait for before then jumps there (the spin-loop exit a
   * hypervisor's pause-loop exiting makes, minus the host time): the same figures, without
   * spinning through a descheduled target's whole slice.
   */
  pause(): void {
    const party = this.party;
    party.advance(this.p.costs.pause);
    this.sync();
    const now = party.now;
    const next = Math.min(party.othersEarliest, this.nextOwnEvent());
    if (next > now && Number.isFinite(next)) party.advance(next - now);
    this.due();
    party.boundary();
  }

  /**
   * HLT with nothing pending: sleep in virtual time until the timer's deadline or another
   * party's wake (an IPI's ring, the timekeeper's stop), whichever is first; then play what is due.
   */
  halt(): void {
    this.due();
    this.party.halt(this.nextOwnEvent());
    this.due();
  }

  /**
   * Descheduled by the timekeeper's scheduler (src/vcpu/park.ts): hand the turn over until it
   * grants this vCPU a physical CPU again (PartyClock.unpark), or another party's finish passes
   * the turn on. The caller looks at its schedule word again.
   */
  parked(): void {
    this.due();
    this.party.park(Number.POSITIVE_INFINITY);
    this.due();
  }

  /**
   * The earliest time something of this vCPU's own falls due, in cycles: its timer's deadline,
   * the arrival of a post not yet arrived; +Infinity when none is pending.
   */
  private nextOwnEvent(): number {
    let next = this.timer.deadlineNs > 0 ? this.timer.deadlineNs * CYCLES_PER_NS : Number.POSITIVE_INFINITY;
    const arrival = this.party.arrival;
    if (arrival > this.party.now && arrival < next) next = arrival;
    return next;
  }

  /** An IPI or kick reached `dest`, which is halted: it wakes at this CPU's time. */
  wake(dest: number): void {
    // Not while outside the turn order (a failing vCPU ringing everyone on its way out).
    if (dest === this.p.cpu || !this.party.hasTurn) return;
    this.party.wake(dest, this.now);
  }

  /** An IPI, kick or timer interrupt was posted to `dest` now: it may be taken from this time. */
  post(dest: number): void {
    if (this.party.hasTurn) this.party.post(dest, this.now);
  }

  /**
   * Whether what was posted to this vCPU has arrived: its clock has reached the earliest
   * post's time. A vCPU behind its sender sees the pending word early and must not act on it.
   */
  get arrived(): boolean {
    const arrival = this.party.arrival;
    // +Infinity: nothing was posted through the turn order (so nothing to hold back).
    return arrival === Number.POSITIVE_INFINITY || this.now >= arrival;
  }

  /** Move the clock up to the arrival of what is still posted (the power-off takes everything). */
  reachArrival(): void {
    const arrival = this.party.arrival;
    const now = this.now;
    if (Number.isFinite(arrival) && arrival > now) this.party.advance(arrival - now);
  }

  /**
   * The APIC took everything posted (its pending word is empty again): what was posted earliest
   * waited from its send to now (the IPI delivery latency, modelled ns).
   */
  takenAll(): void {
    const arrival = this.party.arrival;
    if (Number.isFinite(arrival)) this.delivery.record((this.now - arrival) / CYCLES_PER_NS);
    this.party.takenAll();
  }

  /** Fold the meter's modelled cycles since the last look into the clock. */
  private sync(): void {
    const m = this.p.counters.modeledCycles;
    if (m !== this.seenModeled) {
      this.party.advance(m - this.seenModeled);
      this.seenModeled = m;
    }
  }

  /** Play this CPU's LAPIC timer at the current time. */
  private due(): void {
    this.sync();
    const vector = this.timer.due(this.party.now / CYCLES_PER_NS, 0);
    if (vector >= 0) {
      this.p.bus.raise(this.p.cpu, vector, false);
      this.ticks++;
    }
  }
}
