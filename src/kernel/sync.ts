/**
 * Kernel synchronisation over words in guest memory: the spin-wait loop every cross-CPU wait
 * uses, spinlocks and a reader-writer semaphore. Runs on a vCPU worker, on behalf of that CPU.
 *
 * Every wait here:
 * - takes interrupts while it spins (if IF is set), so two CPUs waiting on each other's
 *   flush requests both make progress — the rule that keeps shootdowns deadlock-free;
 * - gives its host core away after a short spin (a futex wait of SPIN_YIELD_MS on its own
 *   doorbell, which any IPI to it rings), like pause-loop exiting: on an overcommitted host the
 *   CPU it waits for may need that core;
 * - has a watchdog: past the limit it throws a WatchdogError naming the waiter, what it waited
 *   for, and what the CPU it waited on was doing;
 * - leaves at once, with MachineAbortedError, if the machine was aborted elsewhere.
 */
import { MACHINE_CTL, RunState, VcpuActivity, WaitKind } from '../hw/layout.js';
import { describeVcpu, type ActivityPublisher } from '../hw/activity.js';
import type { VcpuHardware } from '../hw/cpu.js';
import { MachineAbortedError, WatchdogError } from '../lib/errors.js';
import { performance } from 'node:perf_hooks';

/**
 * Spin this long before giving the host core away. When every vCPU has a host core, the CPU we
 * wait for is running and answers within microseconds, so spin long (a futex wake costs 30-90
 * µs here); when vCPUs outnumber cores, it may be descheduled, so hand the core over after
 * ~50 Atomics round trips (0.35 µs each here) — pause-loop exiting with a short window.
 */
export const SPIN_BEFORE_YIELD_DEDICATED_MS = 0.5;
export const SPIN_BEFORE_YIELD_OVERCOMMITTED_MS = 0.02;
/** Each give-away sleeps at most this long on our own doorbell (IPIs to us end it early). */
const SPIN_YIELD_MS = 0.05;
/** A lock-wait report describes at most this many other CPUs (keeps it readable at 64 vCPUs). */
const MAX_DESCRIBED_CPUS = 8;
/** Check the clock every this many spins. */
const CLOCK_CHECK_EVERY = 64;

export class Spinner {
  private kind: WaitKind = WaitKind.None;
  private target = 0;
  private startMs = 0;
  private spins = 0;
  /** Whether this wait has been published to the activity words (only slow waits are). */
  private published = false;

  constructor(
    private readonly hw: VcpuHardware,
    private readonly activity: ActivityPublisher,
    private readonly watchdogMs: number,
    /** SPIN_BEFORE_YIELD_DEDICATED_MS or SPIN_BEFORE_YIELD_OVERCOMMITTED_MS. */
    private readonly spinBeforeYieldMs: number,
  ) {}

  /**
   * Start a wait for `kind` on `target` (a CPU id, or a lock's physical address). It is published
   * for other threads' diagnostics only once it lasts (the first clock check): most waits end
   * within a few spins, and the stores would cost more than the wait.
   */
  begin(kind: WaitKind, target: number): void {
    this.kind = kind;
    this.target = target;
    this.spins = 0;
    this.startMs = 0;
  }

  end(): void {
    this.kind = WaitKind.None;
    if (this.published) {
      this.published = false;
      this.activity.waiting(WaitKind.None, 0);
    }
  }

  /** One iteration of a wait loop: take interrupts, maybe yield the core, check the watchdog. */
  pause(): void {
    const hw = this.hw;
    if (hw.interruptsEnabled && hw.apic.hasPending()) {
      const saved = this.activity.get();
      hw.takeInterrupts();
      this.activity.set(saved);
    }
    if (++this.spins % CLOCK_CHECK_EVERY !== 0) return;
    const now = performance.now();
    if (this.startMs === 0) {
      this.startMs = now;
      this.published = true;
      this.activity.waiting(this.kind, this.target);
      return;
    }
    const state = Atomics.load(hw.machineWords, MACHINE_CTL.runState);
    if (state === RunState.Aborted) {
      throw new MachineAbortedError(`cpu ${hw.cpu}: machine aborted while waiting`);
    }
    const waited = now - this.startMs;
    if (waited > this.watchdogMs) throw new WatchdogError(this.describe(waited));
    this.activity.heartbeat();
    if (waited > this.spinBeforeYieldMs) {
      const saved = this.activity.get();
      this.activity.set(VcpuActivity.Halted);
      hw.apic.halt(SPIN_YIELD_MS);
      this.activity.set(saved);
    }
  }

  private describe(waitedMs: number): string {
    const hw = this.hw;
    const what = this.kind === WaitKind.Lock
      ? `kernel lock at phys 0x${this.target.toString(16)}`
      : `${this.kind === WaitKind.CallAck ? 'call-function acknowledgement from' : 'online'} cpu ${this.target}`;
    let line = `watchdog: cpu ${hw.cpu} waited ${Math.round(waitedMs)} ms for ${what}`;
    if (this.kind !== WaitKind.Lock && this.target < hw.cpus) {
      line += `; ${describeVcpu(hw.machineWords, hw.bus, this.target)}`;
    } else if (this.kind === WaitKind.Lock) {
      // A spinlock word holds its owner's CPU id + 1; an rwsem word its reader count and flags,
      // not who the readers are: so say what every other CPU (the holders among them) is doing.
      line += `; lock word 0x${(Atomics.load(hw.ram.i32, this.target >>> 2) >>> 0).toString(16)}`;
      for (let c = 0; c < Math.min(hw.cpus, MAX_DESCRIBED_CPUS); c++) {
        if (c !== hw.cpu) line += `; ${describeVcpu(hw.machineWords, hw.bus, c)}`;
      }
    }
    return line;
  }
}

/**
 * Spinlock word: 0 free, cpu + 1 held (the owner is named in watchdog reports).
 * `lockWord` is a word index into guest RAM.
 */
export function spinLock(i32: Int32Array, lockWord: number, cpu: number, spinner: Spinner): void {
  // ORDERING: the acquiring compareExchange pairs with spinUnlock's Atomics.store(0): everything
  // the previous holder wrote is visible once we own the word.
  if (Atomics.compareExchange(i32, lockWord, 0, cpu + 1) === 0) return;
  spinner.begin(WaitKind.Lock, lockWord * 4);
  while (Atomics.compareExchange(i32, lockWord, 0, cpu + 1) !== 0) spinner.pause();
  spinner.end();
}

export function spinUnlock(i32: Int32Array, lockWord: number): void {
  // ORDERING: release; pairs with spinLock's compareExchange.
  Atomics.store(i32, lockWord, 0);
}

/** rwsem word: low 30 bits = readers; RWSEM_WRITER held by a writer; RWSEM_WAITING a writer queues. */
const RWSEM_WRITER = 1 << 30;
export const RWSEM_WAITING = 1 << 29;
const RWSEM_READERS = RWSEM_WAITING - 1;

/** Is the rwsem word free (no reader, no writer; a queued writer's WAITING bit aside)? */
export function rwsemIsFree(word: number): boolean {
  return (word & ~RWSEM_WAITING) === 0;
}

/** down_read: readers share; a waiting writer holds new readers back so it cannot starve. */
export function downRead(i32: Int32Array, word: number, spinner: Spinner): void {
  let begun = false;
  for (;;) {
    const v = Atomics.load(i32, word);
    // ORDERING: the compareExchange pairs with up_write's store and other readers' updates.
    if ((v & (RWSEM_WRITER | RWSEM_WAITING)) === 0 && Atomics.compareExchange(i32, word, v, v + 1) === v) break;
    if (!begun) { spinner.begin(WaitKind.Lock, word * 4); begun = true; }
    spinner.pause();
  }
  if (begun) spinner.end();
}

export function upRead(i32: Int32Array, word: number): void {
  // ORDERING: release of a read hold; pairs with down_write's compareExchange from 0.
  Atomics.sub(i32, word, 1);
}

export function downWrite(i32: Int32Array, word: number, spinner: Spinner): void {
  let begun = false;
  for (;;) {
    const v = Atomics.load(i32, word);
    if ((v & (RWSEM_WRITER | RWSEM_READERS)) === 0) {
      // Free (perhaps with our own or another writer's WAITING bit): take it, clearing WAITING;
      // another waiting writer sets it again on its next spin.
      if (Atomics.compareExchange(i32, word, v, RWSEM_WRITER) === v) break;
      continue;
    }
    if ((v & RWSEM_WAITING) === 0) Atomics.compareExchange(i32, word, v, v | RWSEM_WAITING);
    if (!begun) { spinner.begin(WaitKind.Lock, word * 4); begun = true; }
    spinner.pause();
  }
  if (begun) spinner.end();
}

export function upWrite(i32: Int32Array, word: number): void {
  // ORDERING: release; pairs with the next down_read/down_write compareExchange. Keep a WAITING
  // bit another writer set meanwhile.
  for (;;) {
    const v = Atomics.load(i32, word);
    if (Atomics.compareExchange(i32, word, v, v & RWSEM_WAITING) === v) return;
  }
}
