/**
 * The one way a vCPU waits for another thread: the kernel's spin-waits (call acknowledgements,
 * kernel locks, a CPU coming online), the hypervisor's (Xen's remote-flush acknowledgements, the
 * hypervisor lock, the frame table being built), parking while the overcommit scheduler has the
 * vCPU descheduled, and an application processor waiting for its STARTUP IPI. Runs on the
 * waiting vCPU's worker; one VcpuWait per waiting component (the kernel, a backend, the parking
 * code), all built from the run's one WaitPolicy.
 *
 * A wait goes through three phases, as a CPU's does (PAUSE in a loop, then pause-loop exiting
 * gives the core to the host, then HLT):
 *   1. spin: `pause()` in the caller's loop. It takes this CPU's pending work as the site asks
 *      (guest interrupts if IF is set, hypervisor requests whatever IF says), so two vCPUs waiting
 *      on each other's requests both make progress — the rule that keeps shootdowns deadlock-free.
 *   2. give the core away: once the wait has lasted the spin window (spinBeforeYieldMs, adapted
 *      wait by wait between a few µs and the policy's value), each look at the clock also sleeps
 *      YIELD_SLICE_MS on this vCPU's doorbell (an IPI, a kick, or the thread it waits for ringing
 *      it with wake() rings it early), publishing the vCPU as halted meanwhile. On an
 *      overcommitted or busy host the thread we wait for may need this core; with a core per
 *      vCPU the wait is microseconds, so spin longer.
 *   3. sleep: `sleep(words, index, value, sliceMs)` blocks in Atomics.wait on the word the
 *      awaited thread changes (and notifies, or not: the slice bounds the sleep either way).
 * Every look at the clock (every CLOCK_CHECK_EVERY spins, and every sleep):
 *   - leaves at once with MachineAbortedError if another thread aborted the machine;
 *   - throws WatchdogError past policy.watchdogMs, its message naming the waiter, what it waited
 *     for and from whom (the site's `describe`);
 *   - bumps the heartbeat, so the main thread's watchdog does not take a long wait for a hang.
 * The wait is published to the activity words (kind and target) for other threads' diagnostics
 * only once it lasts (the first look at the clock): most waits end within a few spins.
 */
import { performance } from 'node:perf_hooks';
import { MachineAbortedError, WatchdogError } from '../lib/errors.js';
import type { VcpuHardware } from './cpu.js';
import { MACHINE_CTL, RunState, VcpuActivity, WaitKind } from './layout.js';

/** How every wait of a run behaves; computed once by the machine (waitPolicy) for all vCPUs. */
export interface WaitPolicy {
  /**
   * A wait longer than this, in ms, is a hang: --watchdog-ms, times the vCPUs that share each
   * physical CPU they may use (at most WATCHDOG_SCALE_MAX times), since a thread that waits for
   * a descheduled one waits for the host to run everything queued before it.
   */
  readonly watchdogMs: number;
  /** How a watchdog message states the limit and where it came from, naming --watchdog-ms. */
  readonly watchdogNote: string;
  /**
   * vCPUs outnumber the physical CPUs they may use: --pcpus below --cpus, or more vCPUs than
   * the host has cores. The CPU a wait is for may then not be running.
   */
  readonly overcommitted: boolean;
  /** Spin this long, in ms, before giving the core away (phase 2). */
  readonly spinBeforeYieldMs: number;
}

/**
 * Spin this long before giving the host core away. When every vCPU has a host core, the CPU we
 * wait for is running and answers within microseconds, so spin long (a futex wake costs 10-90
 * µs on the hosts pvemu targets); when vCPUs outnumber cores, it may be descheduled, so hand the
 * core over after ~50 Atomics round trips (0.14-0.5 µs each) — pause-loop exiting with a short
 * window.
 */
export const SPIN_BEFORE_YIELD_DEDICATED_MS = 0.5;
export const SPIN_BEFORE_YIELD_OVERCOMMITTED_MS = 0.02;
/**
 * Virtual time, every vCPU with a host core: how long a party waiting for its turn spins before
 * it sleeps (src/hw/vtime.ts). Longer than SPIN_BEFORE_YIELD_DEDICATED_MS: the turn comes back
 * within microseconds except across the holder's garbage collections, and a sleeper woke late
 * here. Measured on the 2-core host, 2-vCPU tlb_flush1: with 0.5 ms, about 400 of 20,000 takes
 * went through a sleep and took 0.6 ms each on average from the hand-over (a quarter of the
 * run's host time); with 5 ms, 5 did, and the bench's virtual/host speed ratio went from
 * 0.24-0.26 to 0.28.
 */
export const SPIN_BEFORE_SLEEP_TURN_DEDICATED_MS = 5;
/** The shortest the adaptive spin window gets, in ms: about ten Atomics round trips. */
export const SPIN_WINDOW_MIN_MS = 0.003;
/** Each give-away sleeps at most this long, in ms, on our own doorbell (IPIs, kicks and wakes end it early). */
const YIELD_SLICE_MS = 0.05;
/** Look at the clock every this many spins (a performance.now() costs about what 64 spins do). */
const CLOCK_CHECK_EVERY = 64;

/**
 * Most the watchdog limit grows with overcommit: 16 times, so a hang at 64 vCPUs on 2 host cores
 * is still named within minutes (80 s at the default 5 s).
 */
export const WATCHDOG_SCALE_MAX = 16;

/**
 * The run's wait policy. `pcpus` is --pcpus (the vCPU count when absent), `hostCpus` the host's
 * cores (os.availableParallelism()), `watchdogMs` --watchdog-ms.
 */
export function waitPolicy(opts: { cpus: number; pcpus: number; hostCpus: number; watchdogMs: number }): WaitPolicy {
  const overcommitted = opts.pcpus < opts.cpus || opts.cpus > opts.hostCpus;
  const physical = Math.max(1, Math.min(opts.pcpus, opts.hostCpus));
  const scale = Math.min(WATCHDOG_SCALE_MAX, Math.max(1, Math.ceil(opts.cpus / physical)));
  const watchdogMs = opts.watchdogMs * scale;
  const watchdogNote = scale === 1
    ? `the limit is --watchdog-ms ${opts.watchdogMs}`
    : `the limit is ${watchdogMs} ms: --watchdog-ms ${opts.watchdogMs} times ${scale} for ${opts.cpus} vCPUs on ${physical} physical CPUs`;
  return Object.freeze({
    watchdogMs,
    watchdogNote,
    overcommitted,
    spinBeforeYieldMs: overcommitted ? SPIN_BEFORE_YIELD_OVERCOMMITTED_MS : SPIN_BEFORE_YIELD_DEDICATED_MS,
  });
}

/** What a waiting vCPU takes while it spins (phase 1). */
export enum TakeWhileWaiting {
  /** Nothing: the waiter holds something an interrupt handler might need (a hypervisor lock). */
  Nothing = 0,
  /** Hypervisor requests, and guest interrupts only if IF is set: a kernel spin-wait. */
  IfEnabled = 1,
  /** Hypervisor requests whatever IF says, and guest interrupts if IF is set: a hypercall's wait. */
  Always = 2,
}

/** The parts of a vCPU a wait uses. A VcpuHardware is one. */
export type WaitingCpu = Pick<
  VcpuHardware,
  'cpu' | 'cpus' | 'machineWords' | 'bus' | 'ram' | 'activity' | 'apic' | 'interruptsEnabled' | 'takeInterrupts'
> & Partial<Pick<VcpuHardware, 'vclock'>>;

/** One place that waits: what it publishes, what it takes while spinning, and its watchdog words. */
export interface WaitSite {
  /** Published in the activity words while the wait lasts. */
  readonly kind: WaitKind;
  readonly take: TakeWhileWaiting;
  /**
   * The end of the watchdog's sentence after "watchdog: cpu C waited N ms ", naming what was
   * awaited and from whom: "for the Xen frame-table lock, held by cpu 2". `target` is what
   * begin() was given; `cpu` the waiter, for reading the machine's state.
   */
  describe(target: number, cpu: WaitingCpu): string;
}

export class VcpuWait {
  readonly watchdogMs: number;
  /**
   * How long to spin before giving the core away, adapted to the host (pause-loop exiting's
   * window, tuned as KVM's halt-polling is): halved after a wait that had to give the core away,
   * doubled after one that ended while still spinning, between SPIN_WINDOW_MIN_MS and the
   * policy's spinBeforeYieldMs. On a quiet host with a core per vCPU waits end spinning and the
   * window stays long; beside a busy process they do not, and the window shrinks to a few µs.
   * With vCPUs overcommitted the policy's short window is kept: there yielding is the rule.
   */
  spinBeforeYieldMs: number;
  private site: WaitSite | null = null;
  private target = 0;
  private startMs = 0;
  private spins = 0;
  /** The wait in progress gave the core away at least once. */
  private yielded = false;

  constructor(private readonly c: WaitingCpu, readonly policy: WaitPolicy) {
    this.watchdogMs = policy.watchdogMs;
    this.spinBeforeYieldMs = policy.spinBeforeYieldMs;
  }

  /** The waiting vCPU's id. */
  get cpu(): number {
    return this.c.cpu;
  }

  /** Start a wait at `site` for `target` (a CPU id, a lock's address: whatever the site names). */
  begin(site: WaitSite, target: number): void {
    this.site = site;
    this.target = target;
    this.spins = 0;
    this.startMs = 0;
    this.yielded = false;
  }

  /** End the wait begun last; clears what it published, and adapts the spin window. */
  end(): void {
    if (this.startMs !== 0) {
      this.c.activity.waiting(WaitKind.None, 0);
      // Only waits that lasted past the first look at the clock say anything about the host.
      // Overcommitted, the policy's short window already assumes the awaited CPU may not run:
      // yielding is the normal case there, and no evidence to spin less.
      const floor = this.policy.overcommitted ? this.policy.spinBeforeYieldMs : SPIN_WINDOW_MIN_MS;
      this.spinBeforeYieldMs = this.yielded
        ? Math.max(floor, this.spinBeforeYieldMs / 2)
        : Math.min(this.policy.spinBeforeYieldMs, this.spinBeforeYieldMs * 2);
    }
    this.site = null;
    this.startMs = 0;
  }

  /** Phase 1 and 2: one iteration of a spin loop. */
  pause(): void {
    this.pauseOn(null, 0, 0);
  }

  /**
   * pause() for a wait on `words[index] & mask` becoming 0 (a call's acknowledgement): when it
   * gives the core away it sleeps only if the word still says wait, after announcing itself
   * halted, so the thread that clears the word and then rings this vCPU (wake) cannot be missed.
   */
  pauseOn(words: Int32Array | null, index: number, mask: number): void {
    const c = this.c;
    const take = this.site!.take;
    if ((take === TakeWhileWaiting.Always || (take === TakeWhileWaiting.IfEnabled && c.interruptsEnabled)) && c.apic.hasPending()) {
      this.takePending();
    }
    const vclock = c.vclock ?? null;
    if (vclock !== null && vclock.running) {
      // Virtual time: an iteration costs a PAUSE and offers the turn, so the CPU we wait for
      // runs (in the order of the clocks) until it has done what we wait for; no host-time
      // yielding. A wait on a word whose writer rings us when it clears it (a call's
      // acknowledgement) halts instead, and wakes at the writer's time exactly. The watchdog
      // still looks at the host clock.
      vclock.pause();
      if (words !== null && (Atomics.load(words, index) & mask) !== 0) this.haltOn(0, words, index, mask);
      if (++this.spins % CLOCK_CHECK_EVERY === 0) this.look();
      return;
    }
    if (++this.spins % CLOCK_CHECK_EVERY !== 0) return;
    if (this.look() > this.spinBeforeYieldMs) {
      this.yielded = true;
      this.haltOn(YIELD_SLICE_MS, words, index, mask);
    }
  }

  /** Halt, published as halted, until rung, `timeoutMs` pass, or the awaited word says go (LocalApic.halt). */
  private haltOn(timeoutMs: number, words: Int32Array | null, index: number, mask: number): void {
    const activity = this.c.activity;
    const saved = activity.get();
    activity.set(VcpuActivity.Halted);
    this.c.apic.halt(timeoutMs, words, index, mask);
    activity.set(saved);
  }

  /**
   * Ring `cpu`'s doorbell: a vCPU that gave its core away in a wait on a word this thread just
   * changed (pauseOn) wakes now instead of at the end of its slice. Any vCPU's worker.
   */
  wake(cpu: number): void {
    this.c.bus.wakeIfHalted(cpu);
  }

  /**
   * Phase 3: one bounded sleep while words[index] holds `value`, after a look at the clock. The
   * caller's loop re-checks its condition after each.
   */
  sleep(words: Int32Array, index: number, value: number, sliceMs: number): void {
    this.look();
    const vclock = this.c.vclock ?? null;
    if (vclock !== null && vclock.running) {
      // Virtual time: sleeping would keep the turn from the thread we wait for; a PAUSE
      // offers it instead (pauseOn), and the caller looks again.
      vclock.pause();
      return;
    }
    // ORDERING: Atomics.wait compares and sleeps atomically; the waker's store (and notify, if
    // it sends one) to words[index] pairs with it. The caller's own load re-checks afterwards.
    Atomics.wait(words, index, value, sliceMs);
  }

  /**
   * A look at the clock: abort, watchdog and heartbeat. For a wait whose sleep is the
   * hardware's own (the STARTUP IPI's doorbell); pause() and sleep() call it themselves.
   * Returns how long the wait has lasted, in ms (0 at the first look, which starts the clock).
   */
  look(): number {
    const c = this.c;
    const now = performance.now();
    if (this.startMs === 0) {
      this.startMs = now;
      c.activity.waiting(this.site!.kind, this.target);
      return 0;
    }
    // ORDERING: pairs with the Atomics.store of runState by whoever aborted the machine.
    if (Atomics.load(c.machineWords, MACHINE_CTL.runState) === RunState.Aborted) {
      throw new MachineAbortedError(`cpu ${c.cpu}: machine aborted while waiting ${this.site!.describe(this.target, c)}`);
    }
    const waited = now - this.startMs;
    if (waited > this.watchdogMs) {
      throw new WatchdogError(
        `watchdog: cpu ${c.cpu} waited ${Math.round(waited)} ms ${this.site!.describe(this.target, c)} (${this.policy.watchdogNote})`,
      );
    }
    c.activity.heartbeat();
    return waited;
  }

  /**
   * Take this CPU's pending work in the middle of a wait. A handler may itself wait on this same
   * VcpuWait (a flush handler taking a kernel lock): the outer wait's state is put back after.
   */
  private takePending(): void {
    const { site, target, startMs, spins } = this;
    const activity = this.c.activity;
    const saved = activity.get();
    this.c.takeInterrupts();
    activity.set(saved);
    this.site = site;
    this.target = target;
    this.startMs = startMs;
    this.spins = spins;
    if (startMs !== 0) activity.waiting(site!.kind, target);
  }
}
