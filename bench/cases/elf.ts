/**
 * Case `elf`: the C tlb_flush1 (guest/bin/tlb_flush1.elf, a real riscv32 program run as
 * init through the kernel's exec) at 1, 2 and 4 vCPUs on every backend — the program's own
 * operations per second (store, MADV_DONTNEED, load back: one shootdown each when threads
 * share the mm), the guest instructions retired per second, shootdowns and their latency.
 * Main thread (each machine starts its own vCPU workers).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describeBackends } from '../../src/hv/registry.js';
import type { Report } from '../../src/report/types.js';
import type { BenchOptions } from '../lib/args.js';
import type { BenchCase, CaseResult } from '../lib/bench-case.js';
import { runMachine, runNotes } from '../lib/machine-run.js';
import { count } from '../lib/table.js';

const PROGRAM = 'tlb_flush1.elf';
const PROGRAM_PATH = fileURLToPath(new URL(`../../../guest/bin/${PROGRAM}`, import.meta.url));
const CPUS = [1, 2, 4] as const;
/**
 * Program operations per run when --ops is absent, split over the threads (-n each): a few
 * seconds per run on a busy 2-core host at 4 vCPUs, enough for a stable p50.
 */
const DEFAULT_OPS = 4000;

interface ProgramRun {
  backend: string;
  cpus: number;
  report: Report;
  /** Operations the program did (threads x -n), from its own arguments. */
  programOps: number;
}

async function runProgram(backend: string, cpus: number, totalOps: number, bytes: Uint8Array): Promise<{ run: ProgramRun; notes: string[] }> {
  const perThread = Math.max(1, Math.ceil(totalOps / cpus));
  const argv = [`guest/bin/${PROGRAM}`, '-t', String(cpus), '-n', String(perThread)];
  // No time limit: the program's -n bounds the run.
  const outcome = await runMachine({ backend, cpus, program: { name: PROGRAM, bytes, argv, envp: [] } });
  return { run: { backend, cpus, report: outcome.report, programOps: perThread * cpus }, notes: runNotes(outcome) };
}

export const elfCase: BenchCase = {
  description: `the riscv32 C ${PROGRAM} (guest/bin) as init at ${CPUS.join(', ')} vCPUs on every backend: its ops/s, guest MIPS, shootdowns, p50`,
  options: ['ops', 'json'],
  async run(options: BenchOptions): Promise<CaseResult> {
    const totalOps = options.ops ?? DEFAULT_OPS;
    const bytes = new Uint8Array(readFileSync(PROGRAM_PATH));
    const runs: ProgramRun[] = [];
    const notes: string[] = [];
    for (const backend of describeBackends().map((b) => b.name)) {
      for (const cpus of CPUS) {
        const { run, notes: n } = await runProgram(backend, cpus, totalOps, bytes);
        runs.push(run);
        notes.push(...n);
      }
    }
    const opsPerSec = (r: ProgramRun): number => (r.report.seconds > 0 ? r.programOps / r.report.seconds : 0);
    return {
      tables: [{
        title: `${PROGRAM} -t N -n ${totalOps}/N (program ops = threads x -n; MIPS = guest instructions retired per host second)`,
        header: ['backend', 'vCPUs', 'program ops/s', 'guest MIPS', 'elapsed s', 'shootdowns', 'IPIs', 'shootdown p50 µs', 'p99 µs', 'check'],
        rows: runs.map((r) => [
          r.backend, `${r.cpus}`, count(opsPerSec(r)), (r.report.opsPerSec / 1e6).toFixed(2), r.report.seconds.toFixed(3),
          count(r.report.shootdowns.count), count(r.report.shootdowns.ipis),
          (r.report.shootdowns.latencyNs.p50 / 1000).toFixed(2), (r.report.shootdowns.latencyNs.p99 / 1000).toFixed(2),
          r.report.selfCheck.passed ? 'pass' : 'FAIL',
        ]),
      }],
      notes: [
        'elapsed s runs from init\'s first instruction to the last thread\'s exit, so it includes exec, thread creation and the join',
        ...notes,
      ],
      verdicts: [],
      figures: {
        program: PROGRAM,
        totalOps,
        runs: runs.map((r) => ({
          backend: r.backend, cpus: r.cpus, programOps: r.programOps, elapsedSeconds: r.report.seconds,
          programOpsPerSec: opsPerSec(r), instructions: r.report.ops, instructionsPerSec: r.report.opsPerSec,
          shootdowns: r.report.shootdowns.count, shootdownIpis: r.report.shootdowns.ipis,
          shootdownLatencyNs: r.report.shootdowns.latencyNs, exitStatus: r.report.exitStatus, selfCheckPassed: r.report.selfCheck.passed,
        })),
      },
    };
  },
};
