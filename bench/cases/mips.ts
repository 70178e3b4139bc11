/**
 * Case `mips`: RV32 instructions per second on one vCPU's hardware — a real pvemu MMU and TLB,
 * no kernel, no workers — for a compute loop and a memory-heavy loop, with the block compiler
 * (the default) and with the interpreter alone; and qemu-riscv32's time for the same machine
 * code, as a ratio. Main thread.
 *
 * The loops are raw RV32IM machine code (src/riscv/asm.ts) ending in exit(checksum), so the
 * same bytes run under pvemu (which stops at the ECALL) and, wrapped in a minimal static ELF,
 * under qemu-riscv32 (which exits with the checksum's low byte). Both results are checked
 * against a model computed here, so a wrong answer is a failure, not a fast run.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { InternalError } from '../../src/lib/errors.js';
import { EM_RISCV } from '../../src/kernel/binfmt-elf.js';
import { VcpuHardware } from '../../src/hw/cpu.js';
import { machineBlockBytes } from '../../src/hw/layout.js';
import { GuestRam, MIN_RAM_BYTES } from '../../src/hw/memory.js';
import { PAGE_SIZE, PTE_P, PTE_RW, PTE_US } from '../../src/hw/paging.js';
import { Asm, X } from '../../src/riscv/asm.js';
import { RvCore, StopReason } from '../../src/riscv/core.js';
import { Hart } from '../../src/riscv/hart.js';
import { riscvSharedBytes } from '../../src/riscv/layout.js';
import { VcpuCounters } from '../../src/stats/counters.js';
import type { BenchOptions } from '../lib/args.js';
import type { BenchCase, CaseResult } from '../lib/bench-case.js';
import { runMachine } from '../lib/machine-run.js';
import { PageDirectoryBuilder } from '../lib/page-directory.js';
import { median } from '../lib/samples.js';
import { count } from '../lib/table.js';
import { judge, type Target } from '../lib/target.js';

const CODE = 0x0001_0000;
const DATA = 0x0040_0000;
/** The memory loop's array: 16 pages, a quarter of the default TLB's sets, all resident. */
const DATA_PAGES = 16;
const DATA_WORDS = (DATA_PAGES * PAGE_SIZE) / 4;
const FIRST_FRAME = 16;
const SYS_exit = 93;

/** Issue 14's targets: per vCPU, compiled blocks, median of the timed runs (wall clock). */
const COMPUTE_TARGET: Target = { what: 'compute loop, compiled blocks, median of 5 (wall clock)', op: '>=', limit: 1000, unit: 'M instr/s' };
const MEMORY_TARGET: Target = { what: 'memory loop, compiled blocks, median of 5 (wall clock)', op: '>=', limit: 400, unit: 'M instr/s' };

/** A loop and its sizes: iterations for the compiled engine and for the interpreter alone. */
interface Loop {
  name: string;
  /** Iterations per timed run: about a second at the rates measured on the 2-core dev VM. */
  compiled: number;
  interpreted: number;
  build(iterations: number): Asm;
  /** The exit value the program must produce. */
  checksum(iterations: number): number;
}

/** Eight ALU instructions per iteration, a data-dependent mix no step can be skipped in. */
const COMPUTE: Loop = {
  name: 'compute',
  compiled: 25_000_000,
  interpreted: 4_000_000,
  build: (n) => new Asm(CODE)
    .li(X.a0, n).li(X.a1, 0).li(X.a2, 0x12345678)
    .label('loop')
    .add(X.a1, X.a1, X.a0).xor(X.a2, X.a2, X.a1).slli(X.a3, X.a2, 3).srli(X.a4, X.a2, 7)
    .or(X.a3, X.a3, X.a4).add(X.a1, X.a1, X.a3).addi(X.a0, X.a0, -1).bnez(X.a0, 'loop')
    .mv(X.a0, X.a1).li(X.a7, SYS_exit).ecall(),
  checksum: (n) => {
    let a0 = n | 0;
    let a1 = 0;
    let a2 = 0x12345678;
    for (; a0 !== 0; a0 = (a0 - 1) | 0) {
      a1 = (a1 + a0) | 0;
      a2 ^= a1;
      a1 = (a1 + ((a2 << 3) | (a2 >>> 7))) | 0;
    }
    return a1;
  },
};

/** Per word: load, add, store back, two pointer/counter updates and a branch (6 instructions, 2 accesses). */
const MEMORY: Loop = {
  name: 'memory',
  compiled: 800,
  interpreted: 200,
  build: (passes) => new Asm(CODE)
    .li(X.s0, DATA).li(X.a1, passes)
    .label('outer').mv(X.t0, X.s0).li(X.t1, DATA_WORDS)
    .label('inner')
    .lw(X.t2, 0, X.t0).add(X.t2, X.t2, X.a1).sw(X.t2, 0, X.t0).addi(X.t0, X.t0, 4).addi(X.t1, X.t1, -1).bnez(X.t1, 'inner')
    .addi(X.a1, X.a1, -1).bnez(X.a1, 'outer')
    .lw(X.a0, 0, X.s0).li(X.a7, SYS_exit).ecall(),
  // Every word ends as passes + (passes - 1) + ... + 1.
  checksum: (p) => ((p * (p + 1)) / 2) | 0,
};

interface Repetition {
  instructions: number;
  wallSeconds: number;
  cpuSeconds: number;
  wallMips: number;
  cpuMips: number;
  tlbHits: number;
  tlbMisses: number;
}

interface Series {
  loop: string;
  engine: 'compiled' | 'interpreter';
  iterations: number;
  repetitions: Repetition[];
  medianWallMips: number;
  medianCpuMips: number;
  blocksCompiled: number;
}

/** One vCPU's hardware with the program at CODE and the data pages mapped. */
function machineFor(words: Uint32Array, hotBlock: number | undefined): { hw: VcpuHardware; core: RvCore } {
  const ram = GuestRam.allocate(MIN_RAM_BYTES);
  const counters = new VcpuCounters();
  const hw = new VcpuHardware({ cpu: 0, cpus: 1, ram, machineWords: new Int32Array(new SharedArrayBuffer(machineBlockBytes(1))), counters });
  const pages = new PageDirectoryBuilder(ram, FIRST_FRAME);
  const user = PTE_P | PTE_RW | PTE_US;
  for (let off = 0; off < words.length * 4; off += PAGE_SIZE) {
    const frame = pages.mapNew(CODE + off, user);
    ram.i32.set(words.subarray(off / 4, Math.min(words.length, (off + PAGE_SIZE) / 4)), (frame * PAGE_SIZE) / 4);
  }
  for (let k = 0; k < DATA_PAGES; k++) pages.mapNew(DATA + k * PAGE_SIZE, user);
  hw.mmu.writeCr3(pages.pd);
  // No interrupts are ever pending here: the hook is never called.
  const core = RvCore.forHardware(hw, new SharedArrayBuffer(riscvSharedBytes(1)), () => false, hotBlock);
  return { hw, core };
}

function runSeries(loop: Loop, engine: Series['engine'], reps: number): Series {
  const iterations = engine === 'compiled' ? loop.compiled : loop.interpreted;
  const words = loop.build(iterations).assemble();
  const expected = loop.checksum(iterations);
  const repetitions: Repetition[] = [];
  let blocksCompiled = 0;
  // One untimed run first, so V8 has optimised the engine (and the compiled blocks) before timing.
  for (let r = -1; r < reps; r++) {
    const { hw, core } = machineFor(words, engine === 'compiled' ? undefined : 0);
    const hart = new Hart(CODE);
    const hits0 = hw.counters.tlbHits;
    const misses0 = hw.counters.tlbMisses;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let reason: StopReason = StopReason.Budget;
    while (reason === StopReason.Budget) reason = core.run(hart, 1_000_000);
    const wallSeconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    if (reason !== StopReason.Ecall || hart.get(X.a0) !== expected) {
      throw new InternalError(`mips bench: ${loop.name} (${engine}) stopped with ${reason} and a0 = ${hart.get(X.a0)}, expected an ECALL with ${expected}: ${core.describeFault()}`);
    }
    blocksCompiled = core.stats().blocksCompiled;
    if (r < 0) continue;
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    repetitions.push({
      instructions: hart.instret, wallSeconds, cpuSeconds,
      wallMips: hart.instret / wallSeconds / 1e6, cpuMips: hart.instret / cpuSeconds / 1e6,
      tlbHits: hw.counters.tlbHits - hits0, tlbMisses: hw.counters.tlbMisses - misses0,
    });
  }
  return {
    loop: loop.name, engine, iterations, repetitions, blocksCompiled,
    medianWallMips: median(repetitions.map((r) => r.wallMips)),
    medianCpuMips: median(repetitions.map((r) => r.cpuMips)),
  };
}

// --- qemu-riscv32 -------------------------------------------------------------------------
// QEMU RATIO: the same ELF file runs under qemu-riscv32 and under pvemu as --program (the
// kernel's exec, one vCPU, native backend); the ratio of pvemu's exec-to-exit time to qemu's
// time (less its start-up) is reported beside the bare-core ratio above.

/**
 * qemu runs per program. qemu-riscv32 runs these loops in tens of milliseconds, not much more
 * than its own start-up, so the median of several runs (less the start-up's median) is used.
 */
const QEMU_RUNS = 5;

/** A static ELF32 executable: the code at CODE (R+X), the data pages at DATA as bss (R+W). */
function minimalElf(code: Uint32Array): Buffer {
  const EHDR = 52;
  const PHDR = 32;
  const codeOffset = PAGE_SIZE;
  const out = Buffer.alloc(codeOffset + code.length * 4);
  out.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1], 0); // ELFCLASS32, little-endian, version 1
  out.writeUInt16LE(2, 16); // ET_EXEC
  out.writeUInt16LE(EM_RISCV, 18);
  out.writeUInt32LE(1, 20);
  out.writeUInt32LE(CODE, 24); // e_entry
  out.writeUInt32LE(EHDR, 28); // e_phoff
  out.writeUInt16LE(EHDR, 40);
  out.writeUInt16LE(PHDR, 42);
  out.writeUInt16LE(2, 44); // e_phnum
  const segments = [
    { offset: codeOffset, vaddr: CODE, filesz: code.length * 4, memsz: code.length * 4, flags: 5 },
    { offset: 0, vaddr: DATA, filesz: 0, memsz: DATA_PAGES * PAGE_SIZE, flags: 6 },
  ];
  segments.forEach((s, k) => {
    const at = EHDR + k * PHDR;
    [1, s.offset, s.vaddr, s.vaddr, s.filesz, s.memsz, s.flags, PAGE_SIZE].forEach((v, i) => out.writeUInt32LE(v, at + 4 * i));
  });
  Buffer.from(code.buffer, code.byteOffset, code.byteLength).copy(out, codeOffset);
  return out;
}

interface QemuRun {
  loop: string;
  instructions: number;
  /** Median wall seconds of the qemu-riscv32 process, less the median start-up of an empty program. */
  seconds: number;
  mips: number;
  /** pvemu's median wall seconds for the same instruction count / qemu's seconds. */
  pvemuOverQemu: number;
  /** The same ELF as pvemu's init (--program): its exec-to-exit seconds / qemu's seconds (NaN: not run). */
  programOverQemu: number;
}

/**
 * Seconds from exec to exit of `elf` run as init of a one-vCPU pvemu machine (boot and
 * shutdown excluded: the report's work interval), checking its exit status; or why not.
 */
async function timePvemuProgram(name: string, elf: Buffer, expectedStatus: number): Promise<number | string> {
  const { report } = await runMachine({ cpus: 1, program: { name, bytes: new Uint8Array(elf), argv: [name], envp: [] } });
  if (report.exitStatus !== expectedStatus) return `pvemu --program exited with ${report.exitStatus} for ${name}, expected ${expectedStatus}`;
  return report.seconds;
}

/** Wall seconds of one qemu-riscv32 run of `elf`, checking its exit status. */
function timeQemu(dir: string, name: string, elf: Buffer, expectedStatus: number): number | string {
  const file = join(dir, `${name}.elf`);
  // qemu's loader, like execve, refuses a file without an execute bit.
  writeFileSync(file, elf, { mode: 0o755 });
  const t0 = performance.now();
  const r = spawnSync('qemu-riscv32', [file], { stdio: 'ignore', timeout: 120_000 });
  const seconds = (performance.now() - t0) / 1000;
  if (r.error !== undefined) return `qemu-riscv32 could not run (${r.error.message})`;
  if (r.status !== expectedStatus) return `qemu-riscv32 exited with ${r.status} for ${name}, expected ${expectedStatus}`;
  return seconds;
}

async function runQemu(series: Series[], notes: string[]): Promise<QemuRun[]> {
  const dir = mkdtempSync(join(tmpdir(), 'pvemu-mips-'));
  try {
    const empty = minimalElf(new Asm(CODE).li(X.a0, 0).li(X.a7, SYS_exit).ecall().assemble());
    const startups: number[] = [];
    for (let k = 0; k < QEMU_RUNS; k++) {
      const s = timeQemu(dir, 'empty', empty, 0);
      if (typeof s === 'string') {
        notes.push(`${s}: no qemu ratio`);
        return [];
      }
      startups.push(s);
    }
    const startup = median(startups);
    const out: QemuRun[] = [];
    for (const loop of [COMPUTE, MEMORY]) {
      const mine = series.find((s) => s.loop === loop.name && s.engine === 'compiled');
      if (mine === undefined) continue;
      const instructions = mine.repetitions[0]?.instructions ?? Number.NaN;
      const elf = minimalElf(loop.build(loop.compiled).assemble());
      const times: number[] = [];
      for (let k = 0; k < QEMU_RUNS; k++) {
        const s = timeQemu(dir, loop.name, elf, loop.checksum(loop.compiled) & 0xff);
        if (typeof s === 'string') {
          notes.push(s);
          break;
        }
        times.push(s);
      }
      if (times.length < QEMU_RUNS) continue;
      const seconds = Math.max(median(times) - startup, 1e-6);
      const pvemuSeconds = median(mine.repetitions.map((r) => r.wallSeconds));
      const program = await timePvemuProgram(loop.name, elf, loop.checksum(loop.compiled) & 0xff);
      if (typeof program === 'string') notes.push(program);
      const programOverQemu = typeof program === 'string' ? Number.NaN : program / seconds;
      out.push({ loop: loop.name, instructions, seconds, mips: instructions / seconds / 1e6, pvemuOverQemu: pvemuSeconds / seconds, programOverQemu });
    }
    notes.push(`qemu-riscv32 start-up (an empty program, median of ${QEMU_RUNS}): ${(startup * 1000).toFixed(1)} ms, subtracted from its median times`);
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const mipsCase: BenchCase = {
  description: 'RV32 instructions per second on one vCPU (pvemu MMU/TLB, no kernel): compute and memory loops, compiled and interpreted, vs qemu-riscv32',
  options: ['json'],
  async run(_options: BenchOptions): Promise<CaseResult> {
    process.stderr.write('bench: compute and memory loops, compiled (5 timed runs) and interpreted (3), then qemu-riscv32\n');
    const series = [
      runSeries(COMPUTE, 'compiled', 5),
      runSeries(MEMORY, 'compiled', 5),
      runSeries(COMPUTE, 'interpreter', 3),
      runSeries(MEMORY, 'interpreter', 3),
    ];
    const notes = [
      'wall M/s is the figure judged; CPU M/s divides by this process\'s CPU time instead, which is what one vCPU gets when other work shares the host\'s cores',
      `memory loop: ${DATA_PAGES} pages (${DATA_WORDS} words) read and written back per pass, every access a TLB lookup through the vCPU's TLB`,
    ];
    const qemu = await runQemu(series, notes);
    const compute = series[0]!;
    const memory = series[1]!;
    return {
      tables: [
        {
          title: 'RV32 on one vCPU\'s MMU and TLB (medians over the timed runs)',
          header: ['loop', 'engine', 'instructions/run', 'wall M/s', 'CPU M/s', 'best wall M/s', 'TLB hits/run', 'TLB misses/run', 'blocks'],
          rows: series.map((s) => [
            s.loop, s.engine, count(s.repetitions[0]?.instructions ?? 0), s.medianWallMips.toFixed(1), s.medianCpuMips.toFixed(1),
            Math.max(...s.repetitions.map((r) => r.wallMips)).toFixed(1), count(s.repetitions[0]?.tlbHits ?? 0),
            count(s.repetitions[0]?.tlbMisses ?? 0), count(s.blocksCompiled),
          ]),
        },
        {
          title: `qemu-riscv32 on the same machine code (median of ${QEMU_RUNS} runs, start-up subtracted)`,
          header: ['loop', 'instructions', 'qemu s', 'qemu M/s', 'pvemu (compiled) time / qemu time', 'same ELF as pvemu --program / qemu'],
          rows: qemu.map((q) => [q.loop, count(q.instructions), q.seconds.toFixed(3), q.mips.toFixed(1), q.pvemuOverQemu.toFixed(2), q.programOverQemu.toFixed(2)]),
        },
      ],
      notes,
      verdicts: [judge(COMPUTE_TARGET, compute.medianWallMips), judge(MEMORY_TARGET, memory.medianWallMips)],
      figures: { series, qemu, dataPages: DATA_PAGES },
    };
  },
};
