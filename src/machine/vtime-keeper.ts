/**
 * The timekeeper of virtual time (--clock virtual, docs/virtual-time.md): the main thread's
 * party in the turn order (src/hw/vtime.ts), party number `cpus`, after the vCPUs. It plays what
 * the host plays in host time, at the modelled times it falls due:
 *   - the overcommit scheduler (--pcpus below --cpus): the same OvercommitScheduler and policy
 *     that run on a host timer in host time, ticked every SCHED_TICK_MS of modelled time, so
 *     its slices, PREEMPTED marking and steal time are modelled time too (a grant unparks the
 *     vCPU in the turn order, a revocation's kick carries the timekeeper's time);
 *   - the run's end, --seconds of modelled time after the boot vCPU said the guest was up:
 *     the stop request, and a wake for every halted vCPU so each sees it.
 * A vCPU's LAPIC timer is the vCPU's own hardware: each vCPU plays its own (src/hw/virtual-clock.ts).
 * Between its turns the timekeeper is parked until its next event; it waits for its turn
 * without blocking the main thread (Atomics.waitAsync), so the event loop — worker messages,
 * Ctrl-C, the host-time watchdog — keeps running.
 */
import type { ApicVirtualClock } from '../hw/apic.js';
import { MACHINE_CTL, RunState } from '../hw/layout.js';
import { PartyClock } from '../hw/vtime.js';
import { CYCLES_PER_NS, vtimeParties, vtimePartyName } from '../hw/virtual-clock.js';
import { InternalError } from '../lib/errors.js';
import type { OvercommitScheduler } from './sched/scheduler.js';

export interface TimekeeperOptions {
  readonly cpus: number;
  /** The turn order's quantum and sync slack (VtimeOptions). */
  readonly quantum: number;
  readonly syncSlack: number;
  /** The run's wait policy: its watchdog limit and note. */
  readonly watchdogMs: number;
  readonly watchdogNote: string;
  /** How often the scheduler ticks, in cycles of modelled time. */
  readonly tickCycles: number;
}

export class VirtualTimekeeper implements ApicVirtualClock {
  readonly party: PartyClock;
  private scheduler: OvercommitScheduler | null = null;
  private stopped = false;
  /** The scheduler's next tick, in cycles: ticks fall on whole multiples of tickCycles. */
  private nextTick = 0;

  constructor(sab: SharedArrayBuffer, private readonly words: Int32Array, private readonly o: TimekeeperOptions) {
    const cpus = o.cpus;
    this.party = new PartyClock(sab, vtimeParties(cpus), cpus, {
      quantum: o.quantum,
      syncSlack: o.syncSlack,
      spinMs: 0,
      watchdogMs: o.watchdogMs,
      watchdogNote: o.watchdogNote,
      name: (p) => vtimePartyName(p, cpus),
      aborted: () => Atomics.load(words, MACHINE_CTL.runState) === RunState.Aborted,
    });
  }

  /** The overcommit scheduler the timekeeper ticks (its SchedulerTurns are this timekeeper's). */
  schedule(scheduler: OvercommitScheduler): void {
    this.scheduler = scheduler;
  }

  /** vCPU `cpu` was granted a physical CPU: it runs again from the timekeeper's time. */
  unpark(cpu: number): void {
    // Before the first turn (the initial decision, made before any vCPU runs) none is parked.
    if (this.party.hasTurn) this.party.unpark(cpu, this.party.now);
  }

  /** Its turns until every vCPU has left the turn order, or the machine was aborted (MachineAbortedError). */
  async run(): Promise<void> {
    const party = this.party;
    await party.beginAsync();
    for (;;) {
      // ORDERING: pairs with the Atomics.store of runState by the vCPU that ended the run; the
      // vCPUs' own parties leave the order as their run loops end.
      const state = Atomics.load(this.words, MACHINE_CTL.runState);
      if (state === RunState.Aborted || party.othersDone()) break;
      const now = party.now;
      this.playRunEnd(now);
      if (this.scheduler !== null && now >= this.nextTick) {
        this.scheduler.tick(now / CYCLES_PER_NS);
        while (this.nextTick <= now) this.nextTick += this.o.tickCycles;
      }
      await party.parkAsync(this.nextEvent(now));
    }
    party.finish();
  }

  /** The stop request at the run's end, and a wake for each halted vCPU to see it. */
  private playRunEnd(now: number): void {
    if (this.stopped || now < this.party.runEnd) return;
    this.stopped = true;
    // ORDERING: as the main thread's --seconds timer does in host time; pairs with the
    // workload's stopRequested() Atomics.load of runState.
    Atomics.compareExchange(this.words, MACHINE_CTL.runState, RunState.Running, RunState.StopRequested);
    for (let c = 0; c < this.o.cpus; c++) this.party.wake(c, now);
  }

  /** When the timekeeper is next due: the scheduler's next tick, the run's end; +Infinity for none. */
  private nextEvent(now: number): number {
    let next = this.scheduler === null ? Number.POSITIVE_INFINITY : this.nextTick;
    const end = this.party.runEnd;
    if (!this.stopped && end > now && end < next) next = end;
    return next;
  }

  // ApicVirtualClock, for the scheduler's bus: its kicks carry the timekeeper's time.

  post(dest: number): void {
    if (this.party.hasTurn) this.party.post(dest, this.party.now);
  }

  wake(dest: number): void {
    if (this.party.hasTurn) this.party.wake(dest, this.party.now);
  }

  /** The timekeeper has no APIC of its own: nothing is posted to it. */
  get arrived(): boolean {
    return true;
  }

  takenAll(): void {
    throw new InternalError('vtime: the timekeeper has no APIC to take interrupts on');
  }

  halt(): void {
    throw new InternalError('vtime: the timekeeper has no APIC to halt on');
  }
}
