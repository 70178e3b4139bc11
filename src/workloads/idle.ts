/**
 * The `idle` workload: most vCPUs halted, to show lazy TLB and halted-CPU wakeups. Guest code:
 * runs on the vCPU worker of each task.
 *
 * Thread 0 is the active thread; threads 1.. are sleepers. One round (one op, on thread 0):
 *   1. every sleeper reads every page of a shared private region (its TLB caches the frames),
 *      checks each holds this round's byte, counts itself in `arrived`, and futex-waits on
 *      `round` — its CPU goes idle, keeping the mm loaded lazily;
 *   2. the active thread waits until every sleeper has arrived, reads the region too, drops it
 *      with MADV_DONTNEED (a shootdown in which the lazy CPUs are skipped), checks every page
 *      now reads 0 (its own flush), stores the next round's bytes into the fresh frames, resets
 *      `arrived`, bumps `round` and wakes everyone;
 *   3. the sleepers wake, and step 1 checks the new bytes: a lazy CPU that did not flush when it
 *      switched back to the mm would read the old frames.
 * With one thread, the active thread alone does steps 2 (the local flush test).
 *
 * Stopping: the active thread leaves its loop when ctx.running() turns false (also while it
 * waits for arrivals), then sets `done`, bumps `round` and wakes every sleeper; a sleeper exits
 * once it sees `done`, whether it was asleep, touching pages, or about to wait.
 */
import { PAGE_SIZE } from '../hw/paging.js';
import { MADV_DONTNEED, MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../uapi/mman.js';
import type { WorkloadContext } from './context.js';
import type { Sys } from './sys.js';
import { PREEMPT, type GuestThread, type Workload } from './workload.js';

/** The workload's shared words (ctx.word indices). */
const W = {
  /** The round number; sleepers futex-wait on it. */
  round: 0,
  /** Sleepers that touched the region this round and are (about to be) asleep; the active thread futex-waits on it. */
  arrived: 1,
  /** 1 once the active thread has stopped. */
  done: 2,
  /** User address of the region (setup writes it before any thread exists). */
  region: 3,
  /** Rounds completed (written by the active thread at its end, printed by check). */
  rounds: 4,
} as const;

/** FUTEX_WAKE count for "everyone" (INT_MAX). */
const WAKE_ALL = 0x7fffffff;

const hex = (va: number): string => `0x${(va >>> 0).toString(16)}`;

/**
 * The byte of page `page` in round `round`: non-zero (a fresh zero page cannot pass for it),
 * different from the last round's, and different between the pages of one round (pages ≤ 255)
 * — freed frames come back from the allocator in another order, so a stale entry to a frame now
 * holding another page still shows.
 */
const roundByte = (round: number, page: number): number => 1 + ((round + page) % 255);

export const idleWorkload: Workload = Object.freeze({
  name: 'idle',
  description: 'sleepers cache a region and futex-wait (vCPUs halt, lazy TLB); thread 0 drops and refills it each round',
  params: Object.freeze([
    {
      name: 'pages',
      description: 'pages in the shared region every thread caches and thread 0 drops each round',
      // A few pages: a ranged flush (under the 33-page ceiling) that stale entries would survive.
      default: 8,
      min: 1,
      max: 255,
    },
  ]),

  *setup(sys: Sys, ctx: WorkloadContext): GuestThread {
    const pages = ctx.param('pages');
    const region = sys.mmap(0, pages * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    if (region < 0) {
      ctx.fail(`idle: setup: mapping ${pages} pages failed (${region})`);
      return 1;
    }
    for (let k = 0; k < pages; k++) sys.store8(region + k * PAGE_SIZE, roundByte(0, k));
    sys.store32(ctx.word(W.region), region);
    // The control block is fresh: round 0, arrived 0, done 0.
    return 0;
  },

  thread(sys: Sys, ctx: WorkloadContext, index: number): GuestThread {
    return index === 0 ? active(sys, ctx) : sleeper(sys, ctx, index);
  },

  *check(sys: Sys, ctx: WorkloadContext): GuestThread {
    sys.print(`idle: rounds=${sys.atomicLoad32(ctx.word(W.rounds))} sleepers=${Math.max(0, ctx.threads - 1)}\n`);
    return 0;
  },
});

function* active(sys: Sys, ctx: WorkloadContext): GuestThread {
  const region = sys.load32(ctx.word(W.region)) >>> 0;
  const pages = ctx.param('pages');
  const sleepers = ctx.threads - 1;
  const roundVa = ctx.word(W.round);
  const arrivedVa = ctx.word(W.arrived);
  let round = 0;
  rounds: while (ctx.running()) {
    // ORDERING: pairs with each sleeper's atomicAdd on `arrived`, made after its page reads.
    for (let a = sys.atomicLoad32(arrivedVa); a < sleepers; a = sys.atomicLoad32(arrivedVa)) {
      if (sys.meter.stopRequested()) break rounds;
      // Returns at once (EAGAIN) if `arrived` moved past `a`; the last sleeper to arrive wakes us.
      yield* sys.futexWait(arrivedVa, a);
    }
    // Our own TLB caches the frames too, so the DONTNEED below has a local entry to drop.
    for (let k = 0; k < pages; k++) {
      const va = region + k * PAGE_SIZE;
      const v = sys.load8(va);
      if (v !== roundByte(round, k)) ctx.fail(`idle: thread 0: round ${round}: ${hex(va)} read ${v} before MADV_DONTNEED, expected ${roundByte(round, k)}`);
    }
    const r = sys.madvise(region, pages * PAGE_SIZE, MADV_DONTNEED);
    if (r !== 0) {
      ctx.fail(`idle: thread 0: madvise(${hex(region)}, ${pages * PAGE_SIZE}, MADV_DONTNEED) returned ${r}`);
      break;
    }
    const next = round + 1;
    for (let k = 0; k < pages; k++) {
      const va = region + k * PAGE_SIZE;
      const v = sys.load8(va);
      if (v !== 0) ctx.fail(`idle: thread 0: round ${round}: ${hex(va)} read ${v} after MADV_DONTNEED, expected 0: local flush missed`);
      sys.store8(va, roundByte(next, k));
    }
    round = next;
    // ORDERING: every sleeper has arrived and waits for `round` to change, so none touches
    // `arrived` until it sees the store to `round` below, which follows the reset; the page
    // stores above happen-before the `round` store the sleepers read.
    sys.atomicStore32(arrivedVa, 0);
    sys.atomicStore32(roundVa, round);
    if (sleepers > 0) sys.futexWake(roundVa, WAKE_ALL);
    ctx.opDone(1);
    yield PREEMPT;
  }
  sys.atomicStore32(ctx.word(W.rounds), round);
  // ORDERING: `done` before the bump of `round`: a sleeper that sees the bump then sees `done`.
  sys.atomicStore32(ctx.word(W.done), 1);
  sys.atomicAdd32(roundVa, 1);
  if (sleepers > 0) sys.futexWake(roundVa, WAKE_ALL);
  return 0;
}

function* sleeper(sys: Sys, ctx: WorkloadContext, index: number): GuestThread {
  const region = sys.load32(ctx.word(W.region)) >>> 0;
  const pages = ctx.param('pages');
  const sleepers = ctx.threads - 1;
  const roundVa = ctx.word(W.round);
  const arrivedVa = ctx.word(W.arrived);
  const doneVa = ctx.word(W.done);
  let round = 0;
  // ORDERING: `done` pairs with the active thread's store before its final bump of `round`.
  while (sys.atomicLoad32(doneVa) === 0) {
    for (let k = 0; k < pages; k++) {
      const va = region + k * PAGE_SIZE;
      const v = sys.load8(va);
      if (v !== roundByte(round, k)) {
        ctx.fail(`idle: thread ${index}: round ${round}: ${hex(va)} read ${v}, expected ${roundByte(round, k)}: a stale TLB entry (missed lazy-TLB flush at wakeup, or missed shootdown)`);
      }
    }
    // ORDERING: the reads above precede this add; the active thread drops the region only
    // after it has seen every sleeper's add. The last to arrive wakes it.
    if (sys.atomicAdd32(arrivedVa, 1) + 1 === sleepers) sys.futexWake(arrivedVa, 1);
    let now = sys.atomicLoad32(roundVa);
    while (now === round && sys.atomicLoad32(doneVa) === 0) {
      // Returns at once (EAGAIN) if `round` already moved on.
      yield* sys.futexWait(roundVa, round);
      now = sys.atomicLoad32(roundVa);
    }
    round = now;
    yield PREEMPT;
  }
  return 0;
}
