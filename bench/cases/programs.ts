/**
 * Case `programs`: the musl-linked benchmark programs of guest/musl-bench (a tlb_flush loop, a
 * pthread mutex loop, a futex ping-pong, a page-fault loop, an ebizzy-style memcpy-and-search
 * loop) on 1 vCPU under pvemu and under qemu-riscv32, interleaved: each program's throughput
 * from its own timed loop (it prints `NAME ops=N ns=T`, CLOCK_MONOTONIC around the loop, so
 * neither start-up counts), the ratio pvemu/qemu, and the geometric mean. The programs are
 * built here with guest/musl/riscv32-musl-gcc into guest/build/musl-bench when the musl sysroot
 * exists (guest/musl/build.sh); without it, or without qemu-riscv32, the case says so.
 * Main thread.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BenchOptions } from '../lib/args.js';
import type { BenchCase, CaseResult } from '../lib/bench-case.js';
import { runMachine, runNotes } from '../lib/machine-run.js';
import { count } from '../lib/table.js';
import { judge, type Target } from '../lib/target.js';

const GUEST = fileURLToPath(new URL('../../../guest/', import.meta.url));
const SOURCES = `${GUEST}musl-bench/`;
const BIN = `${GUEST}build/musl-bench/`;
const CC = `${GUEST}musl/riscv32-musl-gcc`;
const SYSROOT = `${GUEST}build/musl-sysroot`;
/**
 * The programs, and the iteration count each gets: about a second of its timed loop under pvemu
 * here, so both emulators are measured warm: pagefault's loop at 60 iterations (80 ms) was
 * mostly V8 compiling the kernel's fault path, 0.20 of qemu's rate against 0.77 at 1,600.
 */
const PROGRAMS: readonly (readonly [string, number])[] = [
  ['tlbflush', 120_000], ['mutex', 2_000_000], ['futex', 120_000], ['pagefault', 1_600], ['ebizzy', 6_000],
];
/** Interleaved repetitions (pvemu, then qemu) per program; the medians are compared. */
const REPETITIONS = 3;

const GEOMEAN_TARGET: Target = { what: 'geometric mean of pvemu/qemu-riscv32 throughput, 1 vCPU', op: '>=', limit: 0.5, unit: '' };
const WORST_TARGET: Target = { what: 'lowest program pvemu/qemu-riscv32 throughput, 1 vCPU', op: '>=', limit: 0.25, unit: '' };

/** Ops per second from a program's result line, or an error text. */
function parse(name: string, stdout: string): number | string {
  const m = new RegExp(`^${name} ops=(\\d+) ns=(\\d+)$`, 'm').exec(stdout);
  if (m === null) return `${name} printed no result line (stdout: ${JSON.stringify(stdout.slice(0, 200))})`;
  const ops = Number(m[1]);
  const ns = Number(m[2]);
  return ns > 0 ? ops / (ns / 1e9) : `${name} timed its loop at 0 ns`;
}

/** Build guest/musl-bench/NAME.c unless the binary is newer; an error text if it cannot. */
function build(name: string): string | undefined {
  const src = `${SOURCES}${name}.c`;
  const out = `${BIN}${name}`;
  if (existsSync(out) && statSync(out).mtimeMs >= Math.max(statSync(src).mtimeMs, statSync(`${SOURCES}bench.h`).mtimeMs)) return undefined;
  mkdirSync(BIN, { recursive: true });
  const r = spawnSync(CC, ['-O2', '-Wall', '-o', out, src, '-lpthread'], { encoding: 'utf8' });
  if (r.status !== 0) return `${name} did not build: ${(r.stderr ?? r.error?.message ?? '').trim().split('\n')[0]}`;
  return undefined;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[Math.floor(s.length / 2)]!;
}

interface ProgramFigures {
  name: string;
  iterations: number;
  pvemuOpsPerSec: number[];
  qemuOpsPerSec: number[];
  ratio: number;
}

export const programsCase: BenchCase = {
  description: 'musl-linked programs (tlb_flush, mutex, futex ping-pong, page faults, ebizzy) on 1 vCPU: pvemu vs qemu-riscv32 throughput and their geometric mean',
  options: ['json'],
  async run(_options: BenchOptions): Promise<CaseResult> {
    const notes: string[] = [];
    if (!existsSync(SYSROOT)) {
      return { tables: [], notes: ['skipped: no musl sysroot (guest/build/musl-sysroot); build it with guest/musl/build.sh'], verdicts: [], figures: { skipped: 'no musl sysroot' } };
    }
    const qemu = spawnSync('qemu-riscv32', ['--version'], { encoding: 'utf8' });
    if (qemu.status !== 0) {
      return { tables: [], notes: ['skipped: qemu-riscv32 is not installed (apt-get install qemu-user)'], verdicts: [], figures: { skipped: 'no qemu-riscv32' } };
    }
    const figures: ProgramFigures[] = [];
    for (const [name, iterations] of PROGRAMS) {
      const err = build(name);
      if (err !== undefined) throw new Error(err);
      const bytes = new Uint8Array(readFileSync(`${BIN}${name}`));
      const f: ProgramFigures = { name, iterations, pvemuOpsPerSec: [], qemuOpsPerSec: [], ratio: Number.NaN };
      for (let rep = 0; rep < REPETITIONS; rep++) {
        process.stderr.write(`bench: ${name} ${iterations} (${rep + 1}/${REPETITIONS}): pvemu, then qemu-riscv32\n`);
        const outcome = await runMachine({ cpus: 1, seconds: 120, program: { name, bytes, argv: [name, String(iterations)], envp: [] } });
        notes.push(...runNotes(outcome));
        const p = parse(name, outcome.report.program?.stdout ?? '');
        if (typeof p === 'string') throw new Error(`pvemu: ${p}`);
        f.pvemuOpsPerSec.push(p);
        const q = spawnSync('qemu-riscv32', [`${BIN}${name}`, String(iterations)], { encoding: 'utf8', timeout: 120_000 });
        const qp = parse(name, q.stdout ?? '');
        if (typeof qp === 'string') throw new Error(`qemu-riscv32: ${qp}`);
        f.qemuOpsPerSec.push(qp);
      }
      f.ratio = median(f.pvemuOpsPerSec) / median(f.qemuOpsPerSec);
      figures.push(f);
    }
    const geomean = Math.exp(figures.reduce((s, f) => s + Math.log(f.ratio), 0) / figures.length);
    const worst = Math.min(...figures.map((f) => f.ratio));
    return {
      tables: [{
        title: `musl-linked programs on 1 vCPU (median of ${REPETITIONS} interleaved runs each; ops/s from each program's own timed loop)`,
        header: ['program', 'iterations', 'pvemu ops/s', 'qemu ops/s', 'pvemu / qemu'],
        rows: [
          ...figures.map((f) => [f.name, count(f.iterations), count(median(f.pvemuOpsPerSec)), count(median(f.qemuOpsPerSec)), f.ratio.toFixed(3)]),
          ['geometric mean', '', '', '', geomean.toFixed(3)],
        ],
      }],
      notes,
      verdicts: [judge(GEOMEAN_TARGET, geomean), judge(WORST_TARGET, worst)],
      figures: { programs: figures, geomean, worst },
    };
  },
};
