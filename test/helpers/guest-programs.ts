/**
 * The guest programs of guest/ for tests: the cases of guest/expected/cases.tsv, a machine
 * configuration that runs one as init (--program), and a minimal static riscv32 ELF writer for
 * hand-assembled programs (src/riscv/asm.ts). vitest thread.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defaultConfig, type MachineConfig } from '../../src/machine/config.js';

export const GUEST_DIR = fileURLToPath(new URL('../../guest/', import.meta.url));

export interface GuestCase {
  name: string;
  exit: number;
  /** Threads besides the main one (0: single-threaded). */
  threads: number;
  program: string;
  args: string[];
  env: string[];
}

/** guest/expected/cases.tsv, parsed as guest/run-qemu.sh reads it. */
export function guestCases(): GuestCase[] {
  const text = readFileSync(`${GUEST_DIR}expected/cases.tsv`, 'utf8');
  const cases: GuestCase[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const [name, exit, threads, command] = line.split('\t');
    const words = (command ?? '').split(/\s+/).filter((w) => w !== '');
    const env: string[] = [];
    while (words.length > 0 && words[0]!.includes('=')) env.push(words.shift()!);
    const program = words.shift()!;
    cases.push({ name: name!, exit: Number(exit), threads: Number(threads), program, args: words, env });
  }
  return cases;
}

/** What qemu printed for the case (guest/expected/NAME.out). */
export function expectedOutput(name: string): string {
  return readFileSync(`${GUEST_DIR}expected/${name}.out`, 'utf8');
}

/** A machine that runs guest/bin/PROGRAM with the case's arguments and environment as init. */
export function programConfig(program: string, args: readonly string[], cpus: number, backend = 'native', env: readonly string[] = []): MachineConfig {
  const path = `bin/${program}`;
  return elfConfig(program, new Uint8Array(readFileSync(`${GUEST_DIR}${path}`)), cpus, backend, [path, ...args], env);
}

/**
 * A machine that runs the riscv32 ELF `bytes` as init, reported as `name` (argv[0] too unless
 * `argv` is given): 64 MiB, a 30 s watchdog, no time limit (a caller sets `seconds` for one).
 */
export function elfConfig(name: string, bytes: Uint8Array, cpus: number, backend = 'native', argv: readonly string[] = [name], envp: readonly string[] = []): MachineConfig {
  const cfg: MachineConfig = {
    ...defaultConfig(),
    backend,
    cpus,
    memBytes: 64 * 1024 * 1024,
    watchdogMs: 30_000,
    workload: name,
    program: { name, bytes, argv: [...argv], envp: [...envp] },
  };
  delete cfg.seconds;
  return cfg;
}

/** Where minimalElf loads its one segment (the guest programs' link address). */
export const ELF_BASE = 0x0010_0000;
/** File offset (and offset from ELF_BASE) of the code. */
export const ELF_CODE_OFFSET = 0x100;

/**
 * A static riscv32 ET_EXEC with one R+X PT_LOAD at ELF_BASE holding the headers, then `code`
 * (little-endian words) at ELF_BASE + ELF_CODE_OFFSET, which is the entry point, then `data`.
 */
export function minimalElf(code: readonly number[], data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const size = ELF_CODE_OFFSET + code.length * 4 + data.length;
  const bytes = new Uint8Array(size);
  const dv = new DataView(bytes.buffer);
  bytes.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1], 0); // ELFCLASS32, ELFDATA2LSB, EV_CURRENT
  dv.setUint16(16, 2, true); // ET_EXEC
  dv.setUint16(18, 243, true); // EM_RISCV
  dv.setUint32(20, 1, true);
  dv.setUint32(24, ELF_BASE + ELF_CODE_OFFSET, true); // e_entry
  dv.setUint32(28, 52, true); // e_phoff
  dv.setUint16(40, 52, true); // e_ehsize
  dv.setUint16(42, 32, true); // e_phentsize
  dv.setUint16(44, 1, true); // e_phnum
  dv.setUint16(46, 40, true); // e_shentsize
  const ph = 52;
  dv.setUint32(ph, 1, true); // PT_LOAD
  dv.setUint32(ph + 4, 0, true);
  dv.setUint32(ph + 8, ELF_BASE, true);
  dv.setUint32(ph + 12, ELF_BASE, true);
  dv.setUint32(ph + 16, size, true);
  dv.setUint32(ph + 20, size, true);
  dv.setUint32(ph + 24, 4 | 1, true); // PF_R | PF_X
  dv.setUint32(ph + 28, 0x1000, true);
  code.forEach((w, i) => dv.setUint32(ELF_CODE_OFFSET + i * 4, w >>> 0, true));
  bytes.set(data, ELF_CODE_OFFSET + code.length * 4);
  return bytes;
}
