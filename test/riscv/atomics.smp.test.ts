/**
 * LR/SC, AMOs and FENCE-ordered locking under real concurrency: two RvCores in two worker
 * threads (compiled output, like the vCPU workers) run the same program on one guest RAM and
 * one RISC-V block. Each hart increments a counter with an LR/SC loop, another with AMOADD, and
 * a third with a plain load/add/store inside a spinlock taken with AMOSWAP.aq and released with
 * AMOSWAP.rl. Any lost update (an SC that succeeded over another hart's increment, a lock that
 * let two harts in) shows in the totals. Every run has a deadline that terminates the workers
 * and names the ones still running.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { machineBlockBytes } from '../../src/hw/layout.js';
import { Asm, X } from '../../src/riscv/asm.js';
import { riscvSharedBytes } from '../../src/riscv/layout.js';
import { CODE, DATA, RvMachine } from './harness.js';

const CPUS = 2;
/** Iterations per hart: each takes about 20 instructions, so 20 000 is well under a second. */
const ITERATIONS = 20_000;
/** How long the workers may take before the test names them as stuck. */
const DEADLINE_MS = 60_000;

const DIST = new URL('../../dist/src/', import.meta.url);

/** The worker: one vCPU's hardware over the shared buffers, an RvCore, one hart run to ECALL. */
const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
(async () => {
  const d = workerData;
  const { VcpuHardware } = await import(d.dist + 'hw/cpu.js');
  const { GuestRam } = await import(d.dist + 'hw/memory.js');
  const { VcpuCounters } = await import(d.dist + 'stats/counters.js');
  const { RvCore } = await import(d.dist + 'riscv/core.js');
  const { Hart } = await import(d.dist + 'riscv/hart.js');
  const hw = new VcpuHardware({ cpu: d.cpu, cpus: d.cpus, ram: new GuestRam(d.ram), machineWords: new Int32Array(d.machine), counters: new VcpuCounters() });
  hw.mmu.writeCr3(d.pd);
  const core = RvCore.forHardware(hw, d.shared, () => false, d.hotBlock);
  const hart = new Hart(d.entry);
  hart.set(10, d.cpu);
  let reason = 0;
  for (let runs = 0; reason === 0 && runs < 1e6; runs++) reason = core.run(hart, 10000);
  parentPort.postMessage({ reason, fault: core.describeFault(), instret: hart.instret, compiled: core.stats().blocksCompiled });
})().catch((e) => parentPort.postMessage({ error: String((e && e.stack) || e) }));
`;

interface WorkerResult {
  reason?: number;
  fault?: string;
  instret?: number;
  compiled?: number;
  error?: string;
}

function counterProgram(): Asm {
  return new Asm(CODE)
    .li(X.s0, DATA).li(X.s1, ITERATIONS).li(X.t3, 1)
    .addi(X.t2, X.s0, 4).addi(X.t4, X.s0, 8)
    .label('loop')
    // 1. LR/SC increment of word 0.
    .label('retry').lrW(X.t0, X.s0).addi(X.t0, X.t0, 1).scW(X.t1, X.t0, X.s0).bnez(X.t1, 'retry')
    // 2. AMOADD of word 4.
    .amoaddW(X.zero, X.t3, X.t2)
    // 3. A spinlock (word 8) around a plain increment of word 12.
    .label('acquire').amoswapW(X.t5, X.t3, X.t4, true, false).bnez(X.t5, 'acquire')
    .lw(X.t6, 12, X.s0).addi(X.t6, X.t6, 1).sw(X.t6, 12, X.s0)
    .amoswapW(X.zero, X.zero, X.t4, false, true)
    .addi(X.s1, X.s1, -1).bnez(X.s1, 'loop')
    .ecall();
}

async function runOnWorkers(hotBlock: number): Promise<{ results: WorkerResult[]; words: number[] }> {
  if (!existsSync(fileURLToPath(new URL('riscv/core.js', DIST)))) {
    throw new Error('dist/ is not built: run `npm run build` before the SMP tests');
  }
  // Guest RAM and page tables built on this thread (the harness), then shared with the workers.
  const m = new RvMachine(1, hotBlock);
  m.map(DATA);
  m.load(counterProgram());
  const machine = new SharedArrayBuffer(machineBlockBytes(CPUS));
  const shared = new SharedArrayBuffer(riscvSharedBytes(CPUS));
  const workers: Worker[] = [];
  const done = new Set<number>();
  const results = await new Promise<WorkerResult[]>((resolve, reject) => {
    const out: WorkerResult[] = [];
    const timer = setTimeout(() => {
      const stuck = workers.map((_, cpu) => cpu).filter((cpu) => !done.has(cpu));
      for (const w of workers) void w.terminate();
      reject(new Error(`watchdog: RV32 harts on cpu ${stuck.join(', ')} still running after ${DEADLINE_MS} ms`));
    }, DEADLINE_MS);
    for (let cpu = 0; cpu < CPUS; cpu++) {
      const w = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { dist: pathToFileURL(fileURLToPath(DIST)).href, cpu, cpus: CPUS, ram: m.ram.sab, machine, shared, pd: m.pt.pd, entry: CODE, hotBlock },
      });
      workers.push(w);
      w.on('message', (r: WorkerResult) => {
        out[cpu] = r;
        done.add(cpu);
        void w.terminate();
        if (done.size === CPUS) {
          clearTimeout(timer);
          resolve(out);
        }
      });
      w.on('error', (e) => {
        clearTimeout(timer);
        for (const other of workers) void other.terminate();
        reject(e);
      });
    }
  });
  return { results, words: [0, 4, 8, 12].map((o) => m.peek(DATA + o)) };
}

describe('riscv atomics on two worker threads', () => {
  for (const { name, hotBlock } of [{ name: 'interpreter', hotBlock: 0 }, { name: 'blocks compiled as they warm up', hotBlock: 200 }]) {
    it(`loses no LR/SC, AMOADD or spinlocked increment (${name})`, async () => {
      const { results, words } = await runOnWorkers(hotBlock);
      for (const [cpu, r] of results.entries()) {
        expect(r.error, `cpu ${cpu}`).toBeUndefined();
        expect(r.reason, `cpu ${cpu}: ${r.fault}`).toBe(1); // StopReason.Ecall
      }
      expect(words).toEqual([CPUS * ITERATIONS, CPUS * ITERATIONS, 0, CPUS * ITERATIONS]);
      if (hotBlock > 0) expect(results.some((r) => (r.compiled ?? 0) > 0)).toBe(true);
    });
  }
});
