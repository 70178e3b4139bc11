/**
 * A spinlock over one word of hvState, for the hypervisor's frame-table lock and the guest's pin
 * lock (src/hv/xen/layout.ts XEN_CTL). The word holds 0 when free and the holder's CPU id + 1
 * when held, so a watchdog message can name the holder. Runs on a vCPU worker, for that vCPU.
 *
 * A holder never waits for anything while it holds the lock (validation is a bounded walk of at
 * most a page directory and its tables; remote flushes wait only after the lock is dropped), so a
 * waiter only ever waits for a running holder to finish: no interrupts are taken while spinning.
 * After a short spin the waiter sleeps on the lock word in bounded Atomics.wait slices, giving its
 * host core to the holder when vCPUs outnumber host cores (the kernel's spinner does the same).
 */
import { performance } from 'node:perf_hooks';
import { InternalError, MachineAbortedError, WatchdogError } from '../../errors.js';
import type { VcpuHardware } from '../../hw/cpu.js';
import { MACHINE_CTL, RunState } from '../../hw/layout.js';

/** Look at the clock (watchdog, abort, yield) every this many spins. */
const CLOCK_CHECK_EVERY = 64;
/** Each sleep while waiting lasts at most this long, in ms: the holder's unlock does not notify. */
const YIELD_SLICE_MS = 0.05;

export class HvLock {
  constructor(
    private readonly words: Int32Array,
    private readonly index: number,
    private readonly hw: VcpuHardware,
    /** What the lock protects, for messages ("frame-table lock"). */
    private readonly name: string,
    /** A wait longer than this, in ms, is a hang: WatchdogError naming the holder. */
    private readonly watchdogMs: number,
    /** Spin this long, in ms, before sleeping between attempts. */
    private readonly spinBeforeYieldMs: number,
  ) {}

  /** Take the lock, spinning (then sleeping in slices) while another vCPU holds it. */
  lock(): void {
    const mine = this.hw.cpu + 1;
    // ORDERING: the acquiring compareExchange pairs with unlock's Atomics.store(0): every word
    // the previous holder wrote (frame-table entries, page-table entries) is visible to us.
    const seen = Atomics.compareExchange(this.words, this.index, 0, mine);
    if (seen === 0) return;
    if (seen === mine) throw new InternalError(`cpu ${this.hw.cpu}: the Xen ${this.name} taken twice by the same vCPU`);
    this.lockSlow(mine);
  }

  unlock(): void {
    // ORDERING: release; pairs with lock's compareExchange on the next holder.
    Atomics.store(this.words, this.index, 0);
  }

  private lockSlow(mine: number): void {
    const start = performance.now();
    for (let spins = 1; ; spins++) {
      // ORDERING: as in lock().
      const seen = Atomics.compareExchange(this.words, this.index, 0, mine);
      if (seen === 0) return;
      if (spins % CLOCK_CHECK_EVERY !== 0) continue;
      // ORDERING: pairs with the Atomics.store of runState by the vCPU that aborted the machine.
      if (Atomics.load(this.hw.machineWords, MACHINE_CTL.runState) === RunState.Aborted) {
        throw new MachineAbortedError(`cpu ${this.hw.cpu}: machine aborted while waiting for the Xen ${this.name}`);
      }
      const waited = performance.now() - start;
      if (waited > this.watchdogMs) {
        throw new WatchdogError(
          `watchdog: cpu ${this.hw.cpu} waited ${Math.round(waited)} ms for the Xen ${this.name}, held by cpu ${seen - 1}`,
        );
      }
      // ORDERING: a pure sleep bounded by the slice; a wrong or stale `seen` only ends it early.
      if (waited > this.spinBeforeYieldMs) Atomics.wait(this.words, this.index, seen, YIELD_SLICE_MS);
    }
  }
}
