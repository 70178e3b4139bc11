/**
 * System-call scripts for kernel tests: a list of steps — a call with its arguments and the
 * result it must return, a word stored into or checked in a scratch buffer — assembled into a
 * riscv32 program (src/riscv/asm.ts) that runs as init. The first step that goes wrong exits
 * with its number (1-based), so a test can name the step that failed; a script that gets to
 * the end exits 0. vitest thread.
 *
 * Registers: s1 is the scratch buffer (BUF_BYTES below the initial stack), s2 the slots where
 * `save` keeps results (for later steps' `{ saved }` arguments).
 */
import { Asm, X } from '../../src/riscv/asm.js';
import { buildReport } from '../../src/report/build.js';
import { Machine } from '../../src/machine/machine.js';
import type { MachineConfig } from '../../src/machine/config.js';
import { ELF_BASE, ELF_CODE_OFFSET, elfConfig, minimalElf } from './guest-programs.js';

/** Bytes of the scratch buffer at s1. */
export const BUF_BYTES = 48 * 1024;
const SAVE_SLOTS = 64;

/** A call's argument: a number, a string's address, an address in the buffer, a saved result. */
export type Arg = number | { str: string } | { buf: number } | { saved: string };

export type Step =
  /** ecall `nr`; `expect` is the exact result, 'ok' any result >= 0; `save` keeps it by name. */
  | { nr: number; args: readonly Arg[]; expect: number | 'ok'; save?: string; what?: string }
  /** The 32-bit word at buffer offset `at` must equal `equals` (`bytes`: 1 or 2 for a smaller load, unsigned). */
  | { word: number; equals: number; bytes?: 1 | 2 | 4; what?: string }
  /** After a clone whose result was saved as `childExits`: the child (result 0) exits 0 here. */
  | { childExits: string; what?: string }
  /** The word at the address a step saved (`load`) must equal `equals`. */
  | { load: string; equals: number; what?: string }
  /** The words at buffer offsets `same[0]` and `same[1]` must be equal. */
  | { same: readonly [number, number]; what?: string }
  /** Store `value` (a number or a saved result) as a word at buffer offset `at`. */
  | { store: number; value: number | { saved: string }; what?: string }
  /** fork: the child runs `fork` (exiting 0, or 100 + its failing step, which the parent then exits with too). */
  | { fork: readonly Step[]; what?: string };

/** What a step failing with `status` was, for the test's message. */
/** The first four bytes of `s` (NUL-padded) as the little-endian word a `word` step compares. */
export function word(s: string): number {
  return Buffer.from(s.padEnd(4, '\0'), 'latin1').readInt32LE(0);
}

export function stepName(steps: readonly Step[], status: number): string {
  if (status === 0) return 'ok';
  const s = steps[status - 1];
  if (s === undefined) return `exit status ${status}`;
  return `step ${status}: ${s.what ?? JSON.stringify(s)}`;
}

class ScriptAsm {
  readonly a = new Asm(ELF_BASE + ELF_CODE_OFFSET);
  private readonly strings = new Map<string, string>();
  private readonly slots = new Map<string, number>();
  private labels = 0;

  label(): string {
    return `L${this.labels++}`;
  }

  slot(name: string): number {
    let s = this.slots.get(name);
    if (s === undefined) {
      s = this.slots.size;
      if (s >= SAVE_SLOTS) throw new Error('syscall-script: too many saved results');
      this.slots.set(name, s);
    }
    return s;
  }

  private stringLabel(text: string): string {
    let l = this.strings.get(text);
    if (l === undefined) {
      l = `str${this.strings.size}`;
      this.strings.set(text, l);
    }
    return l;
  }

  /** Load `v` into register `rd` (t registers used as scratch are never argument registers). */
  load(rd: number, v: Arg): void {
    const { a } = this;
    if (typeof v === 'number') a.li(rd, v);
    else if ('str' in v) a.la(rd, this.stringLabel(v.str));
    else if ('buf' in v) a.li(X.t3, v.buf).add(rd, X.s1, X.t3);
    else a.lw(rd, this.slot(v.saved) * 4, X.s2);
  }

  save(name: string, reg: number): void {
    this.a.sw(reg, this.slot(name) * 4, X.s2);
  }

  /** exit(status) unless `reg` == `expect` (or, for 'ok', `reg` >= 0). */
  check(reg: number, expect: number | 'ok', status: number): void {
    const ok = this.label();
    if (expect === 'ok') this.a.bge(reg, X.zero, ok);
    else this.a.li(X.t0, expect).beq(reg, X.t0, ok);
    this.a.li(X.a0, status).li(X.a7, 94).ecall().label(ok);
  }

  steps(steps: readonly Step[], statusBase: number): void {
    const { a } = this;
    steps.forEach((s, i) => {
      const status = statusBase + i + 1;
      if ('nr' in s) {
        s.args.forEach((v, j) => this.load(X.a0 + j, v));
        a.li(X.a7, s.nr).ecall();
        if (s.save !== undefined) this.save(s.save, X.a0);
        this.check(X.a0, s.expect, status);
      } else if ('word' in s) {
        a.li(X.t3, s.word).add(X.t3, X.s1, X.t3);
        if (s.bytes === 1) a.lbu(X.t1, 0, X.t3);
        else if (s.bytes === 2) a.lhu(X.t1, 0, X.t3);
        else a.lw(X.t1, 0, X.t3);
        this.check(X.t1, s.equals, status);
      } else if ('childExits' in s) {
        const parent = this.label();
        a.lw(X.t1, this.slot(s.childExits) * 4, X.s2).bne(X.t1, X.zero, parent);
        a.li(X.a0, 0).li(X.a7, 94).ecall().label(parent);
      } else if ('load' in s) {
        a.lw(X.t3, this.slot(s.load) * 4, X.s2).lw(X.t1, 0, X.t3);
        this.check(X.t1, s.equals, status);
      } else if ('same' in s) {
        a.li(X.t3, s.same[0]).add(X.t3, X.s1, X.t3).lw(X.t1, 0, X.t3);
        a.li(X.t3, s.same[1]).add(X.t3, X.s1, X.t3).lw(X.t2, 0, X.t3);
        const ok = this.label();
        a.beq(X.t1, X.t2, ok).li(X.a0, status).li(X.a7, 94).ecall().label(ok);
      } else if ('store' in s) {
        if (typeof s.value === 'number') a.li(X.t1, s.value);
        else a.lw(X.t1, this.slot(s.value.saved) * 4, X.s2);
        a.li(X.t3, s.store).add(X.t3, X.s1, X.t3).sw(X.t1, 0, X.t3);
      } else {
        // clone(SIGCHLD, 0): the child continues on a copy of this stack, as musl's fork.
        a.li(X.a0, 17).li(X.a1, 0).li(X.a2, 0).li(X.a3, 0).li(X.a4, 0).li(X.a7, 220).ecall();
        const parent = this.label();
        a.bne(X.a0, X.zero, parent);
        this.steps(s.fork, 100);
        a.li(X.a0, 0).li(X.a7, 94).ecall();
        a.label(parent);
        // wait4(pid, &status in the save area's last slot, 0, 0), then WEXITSTATUS == 0.
        a.addi(X.a1, X.s2, (SAVE_SLOTS - 1) * 4).li(X.a2, 0).li(X.a3, 0).li(X.a7, 260).ecall();
        this.check(X.a0, 'ok', status);
        // The child's own exit status (its failing step + 100) becomes the script's.
        const ok = this.label();
        a.lw(X.t1, (SAVE_SLOTS - 1) * 4, X.s2).srli(X.t1, X.t1, 8).andi(X.t1, X.t1, 255).beq(X.t1, X.zero, ok);
        a.mv(X.a0, X.t1).li(X.a7, 94).ecall().label(ok);
      }
    });
  }

  /** The program: prologue, the steps, exit(0), then the strings. */
  assemble(steps: readonly Step[]): Uint8Array {
    const { a } = this;
    if (steps.length >= 100) throw new Error('syscall-script: at most 99 steps (a child\'s failures are 101 up)');
    a.li(X.t0, BUF_BYTES + SAVE_SLOTS * 4 + 64).sub(X.sp, X.sp, X.t0);
    a.mv(X.s1, X.sp).li(X.t0, BUF_BYTES).add(X.s2, X.s1, X.t0);
    this.steps(steps, 0);
    a.li(X.a0, 0).li(X.a7, 94).ecall();
    for (const [text, label] of this.strings) {
      a.label(label);
      const bytes = [...Buffer.from(text, 'latin1'), 0];
      while (bytes.length % 4 !== 0) bytes.push(0);
      for (let i = 0; i < bytes.length; i += 4) a.word(bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
    }
    return minimalElf([...a.assemble()]);
  }
}

/** A machine running `steps` as init on `cpus` vCPUs. */
export function scriptConfig(name: string, steps: readonly Step[], cpus = 2): MachineConfig {
  return elfConfig(name, new ScriptAsm().assemble(steps), cpus);
}

/** Run the script; its verdict ('ok' or the failing step), the machine's result and report. */
export async function runScript(name: string, steps: readonly Step[], cpus = 2) {
  const cfg = scriptConfig(name, steps, cpus);
  const result = await new Machine(cfg).run();
  const report = buildReport(cfg, result, undefined, result.conservation);
  const status = result.exitStatus;
  return { verdict: status >= 100 ? `child ${stepName(childSteps(steps), status - 100)}` : stepName(steps, status), result, report };
}

/** The steps of the (first) fork in `steps`, for naming a child's failure. */
function childSteps(steps: readonly Step[]): readonly Step[] {
  for (const s of steps) if ('fork' in s) return s.fork;
  return [];
}
