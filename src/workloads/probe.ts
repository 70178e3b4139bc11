/**
 * The toggler/prober skeleton of the `mprotect` and `munmap` workloads. Guest code: runs on the
 * vCPU worker of each task.
 *
 * Thread 0, the toggler, takes access to a shared region away and gives it back, over and over
 * (mprotect(PROT_READ) / mprotect(PROT_READ|PROT_WRITE), or munmap / mmap(MAP_FIXED)). Every
 * other thread, a prober, keeps accessing the region and judges each access by the epoch the
 * toggler publishes around its system calls. The epoch goes up by one at each publication; its
 * low two bits are the phase, the rest the cycle:
 *
 *   phase 0  OPEN     published after the give-back call returned (and the region was filled
 *                     for this cycle); published before the next take-away call starts
 *   phase 1  CLOSING  the take-away call is (about to be) running: no claim either way
 *   phase 2  CLOSED   published after the take-away call returned: every access must fault
 *   phase 3  OPENING  the give-back call is (about to be) running: no claim either way
 *
 * A prober loads the epoch (e1), accesses one page, loads the epoch again (e2). If e1 === e2 the
 * access happened entirely inside one phase (the epoch never repeats: it only grows), so:
 *   - CLOSED and the access succeeded: a stale TLB entry survived the shootdown that the
 *     take-away call must have finished before it returned — a failure;
 *   - OPEN and the access faulted or saw the wrong byte: also a failure (the kernel lost the
 *     page, or a stale entry points at an old frame).
 * The take-away and give-back calls are bracketed by two publications, not one, because the
 * window between the give-back call starting and its "OPEN" publication is neither: a prober
 * there may legitimately succeed while the epoch still says "CLOSED".
 *
 * ORDERING: the epoch is written with atomicStore32 and read with atomicLoad32 (sequentially
 * consistent). The toggler's system call (and its fill stores) happen-before its next epoch
 * store; a prober's access sits between its two epoch loads in program order. So e1 === e2 ===
 * a CLOSED value means the access ran after the take-away call returned and before the
 * give-back call began.
 *
 * The toggler probes the region itself in each established phase as well: with one thread that
 * is the whole test (the local flush), and in the CLOSED phase it is also the dwell that gives
 * the probers time to observe the region closed.
 */
import { PAGE_SIZE } from '../hw/paging.js';
import type { WorkloadContext } from './context.js';
import type { Sys } from './sys.js';
import { PREEMPT, type GuestThread, type Workload, type WorkloadParam } from './workload.js';

/** What `ProbeTarget.access` returns when the access faulted (SIGSEGV). */
export const FAULT = -1;

/** The workload's shared words (ctx.word indices). */
const W = {
  /** The toggler's epoch: phase in the low two bits, cycle above. */
  epoch: 0,
  /** 1 once the toggler has left its loop: the probers stop too. */
  done: 1,
  /** User address of the region (setup writes it, every thread reads it). */
  region: 2,
  /** Threads that are ready to run the loop (scratch page mapped): the toggler waits for all. */
  ready: 3,
  /** Toggle cycles the toggler completed (written once, at its end). */
  toggles: 4,
  /** Prober accesses in all (added at each prober's end). */
  probes: 5,
  /** Prober accesses made entirely inside a CLOSED phase. */
  closedProbes: 6,
  /** ... and of those, the ones that faulted (all of them, when the kernel is right). */
  closedFaults: 7,
} as const;

const enum Phase {
  Open = 0,
  Closing = 1,
  Closed = 2,
  Opening = 3,
}
const PHASE_MASK = 3;

/**
 * Toggles after which a run with two or more CPUs must have seen a prober fault in a CLOSED
 * phase: fewer may legitimately show none (an --ops run that ends before a prober got going).
 */
const MIN_TOGGLES_FOR_EVIDENCE = 1000;

/** What one probe workload toggles and how an access looks. */
export interface ProbeTarget {
  readonly name: string;
  readonly description: string;
  /** The `pages` parameter's default. */
  readonly defaultPages: number;
  /** The access a CLOSED region must refuse, for messages ("write after mprotect(PROT_READ) returned"). */
  readonly closedAccess: string;
  /** Name of the CLOSED-phase fault count in check's report ("roFaults"). */
  readonly faultsLabel: string;
  /** setup: map the region of `len` bytes, open and filled for cycle 0. Its address, or -errno. */
  map(sys: Sys, len: number): number;
  /** Toggler: take access to the region away. 0, or what the failing call returned. */
  close(sys: Sys, region: number, len: number): number;
  /** Toggler: give access back and fill the region for `cycle`. 0, or what the failing call returned. */
  open(sys: Sys, region: number, len: number, cycle: number): number;
  /**
   * One access to the page at user address `va` by thread `index`: the byte observed, or FAULT.
   * `token` is a non-zero byte the access may store (threads store at distinct offsets).
   */
  access(sys: Sys, va: number, index: number, token: number): number;
  /** The byte an access to page number `page` must observe while the region is open in `cycle`. */
  expected(cycle: number, page: number, token: number): number;
}

const hex = (va: number): string => `0x${(va >>> 0).toString(16)}`;
/** A system call's result for a message: -errno in decimal, an address in hex. */
const result = (r: number): string => (r < 0 ? String(r) : hex(r));

/** The non-zero byte a thread stores on its `seq`-th access (tokens vary so stale data shows). */
const tokenOf = (seq: number, index: number): number => 1 + ((seq + index) & 0x7f);

function params(t: ProbeTarget): readonly WorkloadParam[] {
  return Object.freeze([
    {
      name: 'pages',
      description: 'pages in the shared region the toggler flips (one shootdown covers them all)',
      default: t.defaultPages,
      min: 1,
      // Under the 33-page full-flush ceiling by default; up to 255 so page bytes stay distinct.
      max: 255,
    },
    {
      name: 'dwell',
      description: 'passes over the region the toggler makes while it is closed, so probers see it closed',
      // Two passes of faulting accesses keep the region closed for about as long as a prober
      // needs for a few probes, without letting the dwell dominate a toggle's cost.
      default: 2,
      min: 1,
      max: 1000,
    },
  ]);
}

export function makeProbeWorkload(t: ProbeTarget): Workload {
  return Object.freeze({
    name: t.name,
    description: t.description,
    params: params(t),
    setup(sys: Sys, ctx: WorkloadContext): GuestThread {
      return probeSetup(t, sys, ctx);
    },
    thread(sys: Sys, ctx: WorkloadContext, index: number): GuestThread {
      return index === 0 ? toggler(t, sys, ctx) : prober(t, sys, ctx, index);
    },
    check(sys: Sys, ctx: WorkloadContext): GuestThread {
      return probeCheck(t, sys, ctx);
    },
  });
}

function* probeSetup(t: ProbeTarget, sys: Sys, ctx: WorkloadContext): GuestThread {
  const len = ctx.param('pages') * PAGE_SIZE;
  const region = t.map(sys, len);
  if (region < 0) {
    ctx.fail(`${t.name}: setup: mapping ${len} bytes failed (${region})`);
    return 1;
  }
  sys.store32(ctx.word(W.region), region);
  // The control block is fresh (zero): epoch 0 = OPEN in cycle 0, done 0, counts 0.
  return 0;
}

/**
 * Every thread maps its libc scratch page (used by print) before the toggler starts: the
 * munmap workload reuses its region's address with MAP_FIXED, and an mmap landing in the hole
 * it leaves would be clobbered by the next MAP_FIXED.
 */
function arriveReady(sys: Sys, ctx: WorkloadContext): void {
  sys.clockGettime();
  // ORDERING: pairs with the toggler's wait below; the scratch mmap precedes this add.
  sys.atomicAdd32(ctx.word(W.ready), 1);
}

function* toggler(t: ProbeTarget, sys: Sys, ctx: WorkloadContext): GuestThread {
  arriveReady(sys, ctx);
  const threads = ctx.threads;
  const readyVa = ctx.word(W.ready);
  while (sys.atomicLoad32(readyVa) < threads) {
    if (sys.meter.stopRequested()) break;
    yield PREEMPT;
  }
  const region = sys.load32(ctx.word(W.region)) >>> 0;
  const pages = ctx.param('pages');
  const len = pages * PAGE_SIZE;
  const dwell = ctx.param('dwell');
  const epochVa = ctx.word(W.epoch);
  let epoch = 0;
  let toggles = 0;
  while (ctx.running()) {
    const next = (epoch >>> 2) + 1;
    const token = tokenOf(toggles, 0);

    // ORDERING: CLOSING is visible before the take-away call starts.
    sys.atomicStore32(epochVa, ++epoch);
    const c = t.close(sys, region, len);
    if (c !== 0) {
      ctx.fail(`${t.name}: toggler: taking ${hex(region)}+${len} away returned ${result(c)}`);
      break;
    }
    // ORDERING: CLOSED is published only after the call (and its shootdown) returned.
    sys.atomicStore32(epochVa, ++epoch);
    for (let pass = 0; pass < dwell; pass++) {
      for (let k = 0; k < pages; k++) {
        const va = region + k * PAGE_SIZE;
        const v = t.access(sys, va, 0, token);
        if (v !== FAULT) ctx.fail(`${t.name}: toggler: ${t.closedAccess} at ${hex(va)} did not fault (saw ${v}): local flush missed`);
      }
    }

    // ORDERING: OPENING is visible before the give-back call starts (see the file comment).
    sys.atomicStore32(epochVa, ++epoch);
    const o = t.open(sys, region, len, next);
    if (o !== 0) {
      ctx.fail(`${t.name}: toggler: giving ${hex(region)}+${len} back returned ${result(o)}`);
      break;
    }
    // ORDERING: OPEN for cycle `next`, after the call returned and the fill stores.
    sys.atomicStore32(epochVa, ++epoch);
    for (let k = 0; k < pages; k++) {
      const va = region + k * PAGE_SIZE;
      const v = t.access(sys, va, 0, token);
      const want = t.expected(next, k, token);
      if (v !== want) ctx.fail(`${t.name}: toggler: ${hex(va)} ${v === FAULT ? 'faulted' : `saw ${v}`} once reopened, expected ${want}`);
    }

    toggles++;
    ctx.opDone(1);
    yield PREEMPT;
  }
  sys.atomicStore32(ctx.word(W.toggles), toggles);
  // ORDERING: after the toggles count; the probers' loop condition reads it.
  sys.atomicStore32(ctx.word(W.done), 1);
  return 0;
}

function* prober(t: ProbeTarget, sys: Sys, ctx: WorkloadContext, index: number): GuestThread {
  arriveReady(sys, ctx);
  // Setup wrote the region's address before any thread was cloned.
  const region = sys.load32(ctx.word(W.region)) >>> 0;
  const pages = ctx.param('pages');
  const epochVa = ctx.word(W.epoch);
  const doneVa = ctx.word(W.done);
  let k = 0;
  let seq = 0;
  let closedProbes = 0;
  let closedFaults = 0;
  // ORDERING: `done` pairs with the toggler's last store; --ops runs end through it, since a
  // prober counts no ops of its own.
  while (sys.atomicLoad32(doneVa) === 0 && ctx.running()) {
    const va = region + k * PAGE_SIZE;
    const token = tokenOf(seq, index);
    // ORDERING: e1 and e2 pair with the toggler's epoch stores (see the file comment).
    const e1 = sys.atomicLoad32(epochVa) >>> 0;
    const v = t.access(sys, va, index, token);
    const e2 = sys.atomicLoad32(epochVa) >>> 0;
    if (e1 === e2) {
      const phase = e1 & PHASE_MASK;
      if (phase === Phase.Closed) {
        closedProbes++;
        if (v === FAULT) closedFaults++;
        else ctx.fail(`${t.name}: thread ${index}: ${t.closedAccess} at ${hex(va)} did not fault (saw ${v}, epoch ${e1}): a stale TLB entry survived the shootdown`);
      } else if (phase === Phase.Open) {
        const want = t.expected(e1 >>> 2, k, token);
        if (v !== want) ctx.fail(`${t.name}: thread ${index}: ${hex(va)} ${v === FAULT ? 'faulted' : `saw ${v}`} while open (epoch ${e1}), expected ${want}`);
      }
    }
    seq++;
    if (++k === pages) k = 0;
    yield PREEMPT;
  }
  sys.atomicAdd32(ctx.word(W.probes), seq);
  sys.atomicAdd32(ctx.word(W.closedProbes), closedProbes);
  sys.atomicAdd32(ctx.word(W.closedFaults), closedFaults);
  return 0;
}

function* probeCheck(t: ProbeTarget, sys: Sys, ctx: WorkloadContext): GuestThread {
  // Every thread has exited (joined): plain loads see their final adds.
  const toggles = sys.atomicLoad32(ctx.word(W.toggles));
  const probes = sys.atomicLoad32(ctx.word(W.probes));
  const closedProbes = sys.atomicLoad32(ctx.word(W.closedProbes));
  const closedFaults = sys.atomicLoad32(ctx.word(W.closedFaults));
  sys.print(`${t.name}: toggles=${toggles} probes=${probes} closedProbes=${closedProbes} ${t.faultsLabel}=${closedFaults}\n`);
  if (ctx.threads >= 2 && ctx.cpus >= 2 && toggles >= MIN_TOGGLES_FOR_EVIDENCE && closedFaults === 0) {
    ctx.fail(`${t.name}: ${toggles} toggles but no prober access faulted while the region was closed (${t.faultsLabel}=0, ${closedProbes} closed-phase probes)`);
  }
  return 0;
}
