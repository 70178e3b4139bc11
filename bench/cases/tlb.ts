/**
 * Case `tlb`: the MMU's hit path alone. One vCPU's hardware (no kernel, no workers), a hand-built
 * page directory mapping PAGES user pages, and a pointer chase through them with mmu.load32:
 * each load's value is the next load's address, so no load can be skipped or hoisted, and the
 * final address proves every load returned what was stored. After warm-up every load is a TLB
 * hit; the case counts misses in the timed loops to show it. Main thread.
 */
import { performance } from 'node:perf_hooks';
import { InternalError } from '../../src/lib/errors.js';
import { VcpuHardware } from '../../src/hw/cpu.js';
import { machineBlockBytes } from '../../src/hw/layout.js';
import { GuestRam, MIN_RAM_BYTES } from '../../src/hw/memory.js';
import type { Mmu } from '../../src/hw/mmu.js';
import { PAGE_SIZE, PTE_P, PTE_RW, PTE_US } from '../../src/hw/paging.js';
import { DEFAULT_TLB } from '../../src/hw/tlb.js';
import { VcpuCounters } from '../../src/stats/counters.js';
import type { BenchOptions } from '../lib/args.js';
import type { BenchCase, CaseResult } from '../lib/bench-case.js';
import { PageDirectoryBuilder } from '../lib/page-directory.js';
import { median } from '../lib/samples.js';
import { count } from '../lib/table.js';
import { judge, type Target } from '../lib/target.js';

/** Mapped pages: a quarter of the default TLB's 256 entries, one per set, so all stay resident. */
const PAGES = 64;
/** First user page: a 4 MiB-aligned address well inside user space. */
const USER_BASE = 0x4000_0000;
/** First frame the builder hands out: above the low 64 KiB, like a kernel keeping page 0 unused. */
const FIRST_FRAME = 16;
/** Loads per timed repetition: about half a second at the 100 M/s target. */
const LOADS = 50_000_000;
const REPETITIONS = 5;
/** Untimed loads first, so the chase loop runs optimised code when timing starts. */
const WARMUP_LOADS = 5_000_000;

const TARGET: Target = { what: 'TLB-hit load32 throughput, median of 5', op: '>=', limit: 100, unit: 'M/s' };

/** Odd stride through the pages: co-prime with PAGES, so the chase visits every page in turn. */
const STRIDE = 37;
/** Word of page k sits on a different cache line per page, as the touch workload places it. */
const wordVa = (k: number): number => USER_BASE + k * PAGE_SIZE + (k & 63) * 64;

interface Repetition {
  loads: number;
  seconds: number;
  mLoadsPerSec: number;
  tlbHits: number;
  tlbMisses: number;
}

export const tlbCase: BenchCase = {
  description: `TLB-hit translated loads per second: mmu.load32 pointer chase over ${PAGES} user pages, one vCPU, no kernel`,
  options: ['json'],
  async run(_options: BenchOptions): Promise<CaseResult> {
    const ram = GuestRam.allocate(MIN_RAM_BYTES);
    const counters = new VcpuCounters();
    const hw = new VcpuHardware({ cpu: 0, cpus: 1, ram, machineWords: new Int32Array(new SharedArrayBuffer(machineBlockBytes(1))), counters });
    const pages = new PageDirectoryBuilder(ram, FIRST_FRAME);
    // cycle[i] is the page visited i-th; page cycle[i]'s word holds the address of cycle[i + 1]'s.
    const cycle = Array.from({ length: PAGES }, (_, i) => (i * STRIDE) % PAGES);
    const frames = cycle.map(() => 0);
    for (let k = 0; k < PAGES; k++) frames[k] = pages.mapNew(USER_BASE + k * PAGE_SIZE, PTE_P | PTE_RW | PTE_US);
    for (let i = 0; i < PAGES; i++) {
      const k = cycle[i] ?? 0;
      const next = cycle[(i + 1) % PAGES] ?? 0;
      ram.i32[((frames[k] ?? 0) * PAGE_SIZE + (wordVa(k) & (PAGE_SIZE - 1))) >>> 2] = wordVa(next);
    }
    hw.mmu.writeCr3(pages.pd);
    const start = wordVa(cycle[0] ?? 0);
    const expectedAfter = (n: number): number => wordVa(cycle[n % PAGES] ?? 0);

    process.stderr.write(`bench: ${WARMUP_LOADS} warm-up loads, then ${REPETITIONS} x ${LOADS} timed\n`);
    check(chase(hw.mmu, start, WARMUP_LOADS), expectedAfter(WARMUP_LOADS));
    const reps: Repetition[] = [];
    for (let r = 0; r < REPETITIONS; r++) {
      const hits0 = counters.tlbHits;
      const misses0 = counters.tlbMisses;
      const t0 = performance.now();
      const end = chase(hw.mmu, start, LOADS);
      const seconds = (performance.now() - t0) / 1000;
      check(end, expectedAfter(LOADS));
      reps.push({ loads: LOADS, seconds, mLoadsPerSec: LOADS / seconds / 1e6, tlbHits: counters.tlbHits - hits0, tlbMisses: counters.tlbMisses - misses0 });
    }
    const rates = reps.map((r) => r.mLoadsPerSec);
    const best = Math.max(...rates);
    const med = median(rates);
    const misses = reps.reduce((s, r) => s + r.tlbMisses, 0);
    const notes = misses > 0 ? [`${misses} TLB misses in the timed loops: not every load was a hit`] : [];
    return {
      tables: [{
        title: `mmu.load32 TLB hits, ${PAGES} pages, TLB ${DEFAULT_TLB.sets} sets x ${DEFAULT_TLB.ways} ways, 1 vCPU (no workers)`,
        header: ['repetition', 'loads', 'seconds', 'M loads/s', 'TLB hits', 'TLB misses'],
        rows: [
          ...reps.map((r, i) => [`${i + 1}`, count(r.loads), r.seconds.toFixed(3), r.mLoadsPerSec.toFixed(1), count(r.tlbHits), count(r.tlbMisses)]),
          ['best', '', '', best.toFixed(1), '', ''],
          ['median', '', '', med.toFixed(1), '', ''],
        ],
      }],
      notes,
      verdicts: [judge(TARGET, med)],
      figures: { pages: PAGES, tlb: DEFAULT_TLB, loadsPerRepetition: LOADS, warmupLoads: WARMUP_LOADS, repetitions: reps, bestMLoadsPerSec: best, medianMLoadsPerSec: med },
    };
  },
};

/** The timed loop: each load's value is the next address (a data dependency nothing can skip). */
function chase(mmu: Mmu, va: number, n: number): number {
  for (let i = 0; i < n; i++) va = mmu.load32(va);
  return va;
}

function check(got: number, want: number): void {
  if (got !== want) {
    throw new InternalError(`tlb bench: the chase ended at 0x${(got >>> 0).toString(16)}, expected 0x${(want >>> 0).toString(16)}: a load returned the wrong word`);
  }
}
