/**
 * Virtual time's turn order (docs/virtual-time.md): the threads of a machine run in virtual
 * time, one at a time, in the order of their clocks, so that what they compute is a function of
 * the configuration alone and never of how the host schedules them. Each participating thread
 * (every vCPU worker, and the main thread as the timekeeper) is a *party* with a clock in
 * modelled cycles; exactly one party holds the turn; it runs until its clock passes the next
 * party's by more than the quantum (or it halts, or it finishes) and then hands the turn to the
 * party whose clock is lowest, ties going to the lowest party number. Since the choice depends
 * only on the clocks and states the parties published, and each party is deterministic between
 * hand-overs, the whole interleaving is too.
 *
 * A party's *effective time* is what the order compares:
 *   Runnable  its clock;
 *   Halted    the time it is next due to wake (+Infinity: only a wake() from another party);
 *   Parked    the time it is scheduled again (wake() does not move it);
 *   Done      none: it left for good.
 * The holder may run while its clock is at most `limit` = the lowest effective time among the
 * others plus the quantum, so no party's clock passes another runnable party's by more than a
 * quantum plus the largest single step (what a step of work costs before the next boundary):
 * what one party writes at time t is first seen by another at its own time t - quantum at the
 * earliest. Messages that must not be seen early (IPIs) carry their arrival time; wake() makes a
 * halted party runnable no earlier than the time it is given.
 *
 * Shared memory: one SharedArrayBuffer, laid out below, used as Int32 words and Float64
 * values. The turn words are the only synchronisation: each hand-over is an Atomics.store of
 * the next party's turn word, paired with that party's Atomics.load (or Atomics.wait) of it, so
 * every plain write the holder made before it (clocks, states, wake times, and whatever the
 * parties share besides) happens-before everything the next holder does. Clocks and wake times
 * are plain Float64 values written only by the holder of the turn and read only by the holder.
 *
 * Nothing waits forever: a party waiting for its turn looks at the host clock every few spins,
 * leaves with MachineAbortedError if the machine was aborted, and throws WatchdogError naming
 * the party that holds the turn once the turn has not moved for the watchdog's limit.
 */
import { performance } from 'node:perf_hooks';
import { InternalError, MachineAbortedError, WatchdogError } from '../lib/errors.js';

/** Int32 words per cache line: the control line, then one line per party. */
const LINE_WORDS = 16;

/** The control line's words. */
const CTL = {
  /** The party that holds the turn (for diagnostics; the turn words decide). */
  holder: 0,
  /** Hand-overs so far: a waiting party's watchdog measures from the last one. */
  handOvers: 1,
} as const;

/** The control line's Float64 values (Float64 index). */
const CTL_F64 = {
  /** Where the run ends, in cycles (+Infinity until it is set: the run has no end yet). */
  runEnd: 2,
} as const;

/** A party's Int32 words, in its line. */
const PARTY = {
  /** 1 when the party holds the turn and has not yet taken it: set by the passer, cleared by the party. */
  turn: 0,
  /** PartyState. */
  state: 1,
  /** 1 while the party sleeps in Atomics.wait on its turn word (the passer then notifies). */
  sleeping: 2,
} as const;

/** A party's Float64 values, in its line (Float64 index = line's byte offset / 8 + these). */
const PARTY_F64 = {
  /** Its clock, in cycles, as of its last hand-over. */
  clock: 2,
  /** Halted: when it is due to wake, in cycles (+Infinity: only when another party wakes it). */
  wakeAt: 3,
  /**
   * The earliest arrival time of what was posted to the party and not yet taken (an IPI,
   * a kick), in cycles; +Infinity when nothing is. It may not take them before its clock
   * reaches this.
   */
  arrival: 4,
} as const;

export const enum PartyState {
  Runnable = 0,
  Halted = 1,
  Done = 2,
  /** Descheduled until a time: like Halted, but nothing another party does wakes it earlier. */
  Parked = 3,
}

/** Bytes of the turn-order block for `parties` parties. */
export function vtimeBytes(parties: number): number {
  return (1 + parties) * LINE_WORDS * 4;
}

/**
 * Main thread, before any party runs: every party runnable at cycle 0, the turn with `first`.
 */
export function initVtime(sab: SharedArrayBuffer, parties: number, first = 0): void {
  if (sab.byteLength < vtimeBytes(parties)) throw new InternalError(`vtime: block of ${sab.byteLength} bytes is too small for ${parties} parties`);
  const i32 = new Int32Array(sab);
  const f64 = new Float64Array(sab);
  for (let p = 0; p < parties; p++) {
    const w = (1 + p) * LINE_WORDS;
    i32[w + PARTY.state] = PartyState.Runnable;
    i32[w + PARTY.sleeping] = 0;
    f64[w / 2 + PARTY_F64.clock] = 0;
    f64[w / 2 + PARTY_F64.wakeAt] = Number.POSITIVE_INFINITY;
    f64[w / 2 + PARTY_F64.arrival] = Number.POSITIVE_INFINITY;
  }
  f64[CTL_F64.runEnd] = Number.POSITIVE_INFINITY;
  i32[CTL.holder] = first;
  // ORDERING: pairs with the first party's Atomics.load of its turn word; the plain writes
  // above are published by this store (the workers start after it anyway).
  Atomics.store(i32, (1 + first) * LINE_WORDS + PARTY.turn, 1);
}

/**
 * The party to run next: the lowest effective time among the parties not Done, ties to the
 * lowest number; -1 when every party is Done. Pure: reads the block as the holder sees it.
 * `self` and `selfTime` stand in for the holder's own entry (its clock is not yet published).
 */
export function nextParty(i32: Int32Array, f64: Float64Array, parties: number, self: number, selfTime: number): number {
  let best = -1;
  let bestTime = Number.POSITIVE_INFINITY;
  for (let p = 0; p < parties; p++) {
    const t = p === self ? selfTime : effectiveTime(i32, f64, p);
    if (Number.isNaN(t)) continue;
    if (best === -1 || t < bestTime) {
      best = p;
      bestTime = t;
    }
  }
  return best;
}

/** Party p's effective time (header); NaN when it is Done. */
function effectiveTime(i32: Int32Array, f64: Float64Array, p: number): number {
  const w = (1 + p) * LINE_WORDS;
  const state = i32[w + PARTY.state]! as PartyState;
  if (state === PartyState.Done) return Number.NaN;
  return f64[w / 2 + (state === PartyState.Runnable ? PARTY_F64.clock : PARTY_F64.wakeAt)]!;
}

export interface VtimeOptions {
  /** How far, in cycles, the holder may run past the next party's effective time. */
  readonly quantum: number;
  /**
   * How far, in cycles, it may run past it at a synchronisation point (syncPoint): small, so
   * what parties communicate through atomics is seen in nearly the order of the clocks, but not
   * 0, so that two parties spinning on the same flag do not hand over at every look.
   */
  readonly syncSlack: number;
  /** Spin this long, in ms, waiting for the turn before sleeping on the turn word. */
  readonly spinMs: number;
  /** The turn not moving for this long, in ms, while a party waits for it is a hang. */
  readonly watchdogMs: number;
  /** Ends the watchdog's message: where the limit came from (naming --watchdog-ms). */
  readonly watchdogNote: string;
  /** A party's name in messages: "cpu 1", "the timekeeper". */
  name(party: number): string;
  /** What the holder is doing, for the watchdog's message ("cpu 1 is user, task 3, ..."); absent: nothing more. */
  describe?(party: number): string;
  /** Whether the machine was aborted (a waiting party then leaves with MachineAbortedError). */
  aborted(): boolean;
  /** Called at each look at the host clock while waiting: a sign of life for the main thread's watchdog. */
  heartbeat?(): void;
}

/** Each sleep on the turn word lasts at most this long, in ms, between looks at the clock. */
const SLEEP_SLICE_MS = 1;
/** The same for a party waiting without blocking its thread (the timekeeper's waitAsync). */
const ASYNC_SLEEP_SLICE_MS = 50;
/** Look at the host clock every this many spins. */
const CLOCK_CHECK_EVERY = 64;

/** One party's view of the turn order, on that party's thread. */
export class PartyClock {
  /** This party's clock, in cycles: advanced by the party alone, published at hand-overs. */
  now = 0;
  /** The holder may run while now <= limit (see the header). */
  private limit = Number.NEGATIVE_INFINITY;
  /** The lowest effective time among the other parties (limit without the quantum). */
  private othersMin = Number.NEGATIVE_INFINITY;
  /** The party holds the turn. */
  private holding = false;
  /** Times this party handed the turn to another. */
  passes = 0;
  private readonly i32: Int32Array;
  private readonly f64: Float64Array;
  private readonly line: number;

  constructor(
    sab: SharedArrayBuffer,
    readonly parties: number,
    readonly self: number,
    private readonly o: VtimeOptions,
  ) {
    if (self < 0 || self >= parties) throw new InternalError(`vtime: party ${self} of ${parties}`);
    this.i32 = new Int32Array(sab);
    this.f64 = new Float64Array(sab);
    this.line = (1 + self) * LINE_WORDS;
  }

  /** Whether this party holds the turn. */
  get hasTurn(): boolean {
    return this.holding;
  }

  /** Hand-overs made so far, machine-wide (any party; a figure for the report). */
  get handOvers(): number {
    // ORDERING: pairs with the holders' Atomics.add; a count, ordering nothing.
    return Atomics.load(this.i32, CTL.handOvers);
  }

  /** Wait for this party's first turn (a thread's start). */
  begin(): void {
    this.waitTurn();
  }

  /** Advance this party's clock by `cycles` of modelled work (holder only). */
  advance(cycles: number): void {
    this.now += cycles;
  }

  /**
   * A point where the party may hand over: call it wherever the run can stop between steps.
   * Returns at once unless the clock has passed the limit.
   */
  boundary(): void {
    if (this.now > this.limit) this.handOver();
  }

  /**
   * A synchronisation point (an atomic access to memory others use to communicate): hand over
   * unless this party is within the sync slack of the earliest, so that what it writes is seen
   * by no party more than the slack before this time, and what it reads was written by no party
   * more than the slack after it. Between such points parties may run up to a quantum apart.
   */
  syncPoint(): void {
    if (this.now > this.othersMin + this.o.syncSlack) this.handOver();
  }

  /**
   * Give the turn to the party that is due (maybe this one again) and wait until this party is
   * due itself; on return it holds the turn, its clock at least its wake time if it was halted.
   */
  handOver(): void {
    if (this.passOn()) this.waitTurn();
  }

  /**
   * handOver without blocking the thread (the main thread's timekeeper, whose event loop must
   * keep running): the wait for the turn to come back is a promise.
   */
  async handOverAsync(): Promise<void> {
    if (this.passOn()) await this.waitTurnAsync();
  }

  /** Wait for this party's first turn without blocking the thread (the timekeeper's begin). */
  async beginAsync(): Promise<void> {
    await this.waitTurnAsync();
  }

  /**
   * Descheduled until `until`, without blocking the thread (park's async twin, for the
   * timekeeper): on return the clock is `until`.
   */
  async parkAsync(until: number): Promise<void> {
    this.requireTurn('parkAsync');
    this.i32[this.line + PARTY.state] = PartyState.Parked;
    this.f64[this.line / 2 + PARTY_F64.wakeAt] = until;
    await this.handOverAsync();
  }

  /**
   * Hand the turn to the party due next. Returns true if it went to another party (the caller
   * must wait for it to come back), false if this party is still due and keeps it.
   */
  private passOn(): boolean {
    this.requireTurn('handOver');
    const selfTime = this.effectiveSelf();
    const next = nextParty(this.i32, this.f64, this.parties, this.self, selfTime);
    if (!Number.isFinite(next === this.self ? selfTime : this.timeOf(next))) {
      throw new WatchdogError(`watchdog: ${this.o.name(this.self)} halted in virtual time, and so is every other party, with nothing due to wake any of them`);
    }
    if (next === this.self) {
      this.resume();
      return false;
    }
    this.pass(next);
    return true;
  }

  /**
   * Halt until `until` (cycles; +Infinity: until another party's wake()) or an earlier wake(),
   * handing the turn over meanwhile. On return the clock is the wake time, or unchanged if that
   * had already passed.
   */
  halt(until = Number.POSITIVE_INFINITY): void {
    this.requireTurn('halt');
    this.i32[this.line + PARTY.state] = PartyState.Halted;
    this.f64[this.line / 2 + PARTY_F64.wakeAt] = until;
    this.handOver();
  }

  /**
   * Descheduled until `until` cycles: hand the turn over, and take it back at that time whatever
   * other parties do meanwhile (an overcommitted vCPU waiting for its physical CPU). On return
   * the clock is `until`.
   */
  park(until: number): void {
    this.requireTurn('park');
    this.i32[this.line + PARTY.state] = PartyState.Parked;
    this.f64[this.line / 2 + PARTY_F64.wakeAt] = until;
    this.handOver();
  }

  /**
   * Make party `p` due no later than `at` cycles, if it is halted (an IPI or a kick reaching a
   * halted CPU). A runnable party is left alone: it will see the message at its own time.
   */
  wake(p: number, at: number): void {
    this.requireTurn('wake');
    this.dueBy(p, PartyState.Halted, at);
  }

  /**
   * Schedule parked party `p` again at `at` cycles, or earlier if it already was (a hypervisor
   * scheduler granting a descheduled vCPU a physical CPU). Other states are left alone.
   */
  unpark(p: number, at: number): void {
    this.requireTurn('unpark');
    this.dueBy(p, PartyState.Parked, at);
  }

  /**
   * Party `p`, if it is in `state`, wakes no later than `at`; the holder's own limit drops so
   * that it hands over soon enough for `p` to run at that time.
   */
  private dueBy(p: number, state: PartyState, at: number): void {
    const w = (1 + p) * LINE_WORDS;
    if ((this.i32[w + PARTY.state]! as PartyState) !== state) return;
    const i = w / 2 + PARTY_F64.wakeAt;
    if (at < this.f64[i]!) this.f64[i] = at;
    if (at < this.othersMin) this.othersMin = at;
    const cap = at + this.o.quantum;
    if (cap < this.limit) this.limit = cap;
  }

  /** Something posted to party `p` at time `at` (the holder's clock) may be taken from then on. */
  post(p: number, at: number): void {
    this.requireTurn('post');
    const i = (1 + p) * LINE_WORDS / 2 + PARTY_F64.arrival;
    if (at < this.f64[i]!) this.f64[i] = at;
  }

  /** The earliest arrival time of what was posted to this party and not yet taken (+Infinity: none). */
  get arrival(): number {
    return this.f64[this.line / 2 + PARTY_F64.arrival]!;
  }

  /** This party took everything posted to it. */
  takenAll(): void {
    this.f64[this.line / 2 + PARTY_F64.arrival] = Number.POSITIVE_INFINITY;
  }

  /**
   * The earliest effective time among the other parties, as of this party's last turn (or a
   * wake it made since): no other party acts before it.
   */
  get othersEarliest(): number {
    return this.othersMin;
  }

  /** Whether every other party has left the turn order for good (holder only). */
  othersDone(): boolean {
    this.requireTurn('othersDone');
    for (let p = 0; p < this.parties; p++) {
      if (p !== this.self && (this.i32[(1 + p) * LINE_WORDS + PARTY.state]! as PartyState) !== PartyState.Done) return false;
    }
    return true;
  }

  /** Where the run ends, in cycles (+Infinity: not set). */
  get runEnd(): number {
    return this.f64[CTL_F64.runEnd]!;
  }

  /** The run ends at `at` cycles (the holder sets it once, when the workload starts). */
  setRunEnd(at: number): void {
    this.requireTurn('setRunEnd');
    this.f64[CTL_F64.runEnd] = at;
  }

  /** This party leaves for good: the turn goes to the next party and this thread does not wait. */
  finish(): void {
    this.requireTurn('finish');
    this.i32[this.line + PARTY.state] = PartyState.Done;
    this.publishClock();
    const next = nextParty(this.i32, this.f64, this.parties, -1, 0);
    this.holding = false;
    if (next !== -1) this.pass(next);
  }

  /** This party's effective time while it holds the turn. */
  private effectiveSelf(): number {
    if ((this.i32[this.line + PARTY.state]! as PartyState) === PartyState.Runnable) return this.now;
    return this.f64[this.line / 2 + PARTY_F64.wakeAt]!;
  }

  /** Another party's effective time (+Infinity for Done, which nextParty never returns). */
  private timeOf(p: number): number {
    const t = effectiveTime(this.i32, this.f64, p);
    return Number.isNaN(t) ? Number.POSITIVE_INFINITY : t;
  }

  private publishClock(): void {
    this.f64[this.line / 2 + PARTY_F64.clock] = this.now;
  }

  /** Hand the turn to `next` (not this party). */
  private pass(next: number): void {
    this.publishClock();
    this.holding = false;
    this.passes++;
    this.i32[CTL.holder] = next;
    // ORDERING: a count for the waiting parties' watchdogs; pairs with their Atomics.load.
    Atomics.add(this.i32, CTL.handOvers, 1);
    const w = (1 + next) * LINE_WORDS;
    // ORDERING: the hand-over. Pairs with `next`'s Atomics.load / Atomics.wait of its turn word
    // (waitTurn); publishes every plain write this party made while it held the turn.
    Atomics.store(this.i32, w + PARTY.turn, 1);
    // ORDERING: after the store above (sequentially consistent), pairs with the sleeper's
    // Atomics.store of `sleeping` before its Atomics.wait: either we see it asleep and notify,
    // or its wait sees the turn word already 1 and does not sleep.
    if (Atomics.load(this.i32, w + PARTY.sleeping) !== 0) Atomics.notify(this.i32, w + PARTY.turn, 1);
  }

  /** Taken the turn (or kept it): leave Halted if due, and compute the limit. */
  private resume(): void {
    this.holding = true;
    const state = this.i32[this.line + PARTY.state]! as PartyState;
    if (state === PartyState.Halted || state === PartyState.Parked) {
      const wakeAt = this.f64[this.line / 2 + PARTY_F64.wakeAt]!;
      // +Infinity: the turn came without a wake (a party that finished passed it on).
      if (wakeAt > this.now && Number.isFinite(wakeAt)) this.now = wakeAt;
      this.i32[this.line + PARTY.state] = PartyState.Runnable;
      this.f64[this.line / 2 + PARTY_F64.wakeAt] = Number.POSITIVE_INFINITY;
    }
    let others = Number.POSITIVE_INFINITY;
    for (let p = 0; p < this.parties; p++) {
      if (p === this.self) continue;
      const t = this.timeOf(p);
      if (t < others) others = t;
    }
    this.othersMin = others;
    this.limit = others + this.o.quantum;
  }

  private requireTurn(what: string): void {
    if (!this.holding) throw new InternalError(`vtime: ${this.o.name(this.self)} called ${what} without holding the turn`);
  }

  /** Spin, then sleep, until this party's turn word is 1; take it. */
  private waitTurn(): void {
    const i32 = this.i32;
    const turn = this.line + PARTY.turn;
    const watch = new TurnWatch();
    let spins = 0;
    let spinStartMs = 0;
    // ORDERING: pairs with the passer's Atomics.store of our turn word (pass / initVtime).
    while (Atomics.load(i32, turn) === 0) {
      if (++spins % CLOCK_CHECK_EVERY !== 0) continue;
      const now = performance.now();
      if (spinStartMs === 0) spinStartMs = now;
      this.o.heartbeat?.();
      this.look(watch, now);
      if (now - spinStartMs > this.o.spinMs) {
        // ORDERING: the sleeper's half of the Dekker pair described in pass().
        Atomics.store(i32, this.line + PARTY.sleeping, 1);
        Atomics.wait(i32, turn, 0, SLEEP_SLICE_MS);
        Atomics.store(i32, this.line + PARTY.sleeping, 0);
      }
    }
    this.take();
  }

  /**
   * waitTurn without blocking the thread: asleep on the turn word from the start (the passer
   * then notifies), in Atomics.waitAsync's promise, with the same looks at the clock between
   * bounded sleeps.
   */
  private async waitTurnAsync(): Promise<void> {
    const i32 = this.i32;
    const turn = this.line + PARTY.turn;
    const watch = new TurnWatch();
    // ORDERING: the sleeper's half of the Dekker pair described in pass(), kept up for the whole
    // wait: a passer that stores our turn word after this store sees it and notifies.
    Atomics.store(i32, this.line + PARTY.sleeping, 1);
    try {
      // ORDERING: pairs with the passer's Atomics.store of our turn word (pass / initVtime).
      while (Atomics.load(i32, turn) === 0) {
        const r = Atomics.waitAsync(i32, turn, 0, ASYNC_SLEEP_SLICE_MS);
        if (r.async) await r.value;
        this.look(watch, performance.now());
      }
    } finally {
      Atomics.store(i32, this.line + PARTY.sleeping, 0);
    }
    this.take();
  }

  /** A waiting party's look at the clock: leave on an abort; a turn that has not moved for the watchdog's limit is a hang. */
  private look(watch: TurnWatch, now: number): void {
    if (this.o.aborted()) throw new MachineAbortedError(`${this.o.name(this.self)}: machine aborted while waiting for its turn in virtual time`);
    // The watchdog measures from the last hand-over anywhere: a turn that moves is progress.
    const handOvers = this.handOvers;
    if (handOvers !== watch.seen || watch.sinceMs === 0) {
      watch.seen = handOvers;
      watch.sinceMs = now;
    } else if (now - watch.sinceMs > this.o.watchdogMs) {
      // ORDERING: diagnostics only; pairs with the holders' plain writes via the hand-overs.
      const holder = Atomics.load(this.i32, CTL.holder);
      throw new WatchdogError(
        `watchdog: ${this.o.name(this.self)} waited ${Math.round(now - watch.sinceMs)} ms for its turn in virtual time; ` +
        `the turn has been with ${this.o.name(holder)} all that time${this.o.describe !== undefined ? ` (${this.o.describe(holder)})` : ''} (${this.o.watchdogNote})`,
      );
    }
  }

  /** The turn word said 1: take the turn. */
  private take(): void {
    // ORDERING: only this party clears its turn word, and only while it holds the turn.
    Atomics.store(this.i32, this.line + PARTY.turn, 0);
    this.resume();
  }
}

/** What a waiting party's watchdog remembers: the hand-over count it last saw, and since when. */
class TurnWatch {
  seen = -1;
  sinceMs = 0;
}
