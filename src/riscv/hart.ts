/**
 * One RV32 hart's user-visible state: x0..x31, pc and the retired-instruction count. One per
 * guest task (a thread's registers), kept by the kernel with the task and handed to the vCPU's
 * RvCore to run; worker-local (tasks never migrate between vCPU workers).
 *
 * x has 33 entries: x[32] is the sink the decoder gives instructions whose destination is x0,
 * so x[0] is never written and always reads 0.
 */
import { InternalError } from '../lib/errors.js';
import { REG_A0, REG_A7, REG_NAMES, REG_SP } from './isa.js';

/** Words of a saved hart context: x1..x31, pc, instret low and high. */
export const HART_CONTEXT_WORDS = 34;
const TWO32 = 4294967296;

export class Hart {
  /** x0..x31 and the x0 sink (index 32). Values are the registers' bits as int32. */
  readonly x = new Int32Array(33);
  /** Address of the next instruction (uint32). After an ECALL or EBREAK stop: that instruction. */
  pc: number;
  /** Instructions retired by this hart (instret); an exact integer below 2^53. */
  instret = 0;

  constructor(pc = 0, sp = 0) {
    this.pc = pc >>> 0;
    this.x[REG_SP] = sp;
  }

  /** Register `r` (0..31) as int32. */
  get(r: number): number {
    return this.x[checkReg(r)]!;
  }

  /** Write register `r`; writes to x0 are discarded, as the hardware does. */
  set(r: number, value: number): void {
    if (checkReg(r) !== 0) this.x[r] = value;
  }

  /** The system-call number of an ECALL stop (a7). */
  syscallNumber(): number {
    return this.x[REG_A7]!;
  }

  /** System-call argument `i` (0..5: a0..a5). */
  syscallArg(i: number): number {
    if (!Number.isInteger(i) || i < 0 || i > 5) throw new InternalError(`riscv32 system calls take arguments a0..a5, not a${i}`);
    return this.x[REG_A0 + i]!;
  }

  /**
   * Complete the system call this hart stopped at with an ECALL: a0 = result, pc past the
   * ECALL (Linux's handle_syscall does regs->epc += 4). A call to be restarted is left alone.
   */
  finishSyscall(result: number): void {
    this.x[REG_A0] = result;
    this.pc = (this.pc + 4) >>> 0;
  }

  /** Copy the context into `words` from `at` (HART_CONTEXT_WORDS words), e.g. a task struct. */
  saveTo(words: Int32Array, at: number): void {
    for (let r = 1; r < 32; r++) words[at + r - 1] = this.x[r]!;
    words[at + 31] = this.pc | 0;
    words[at + 32] = this.instret % TWO32 | 0;
    words[at + 33] = Math.floor(this.instret / TWO32) | 0;
  }

  /** Load a context saved by saveTo. */
  restoreFrom(words: Int32Array, at: number): void {
    for (let r = 1; r < 32; r++) this.x[r] = words[at + r - 1]!;
    this.x[0] = 0;
    this.pc = words[at + 31]! >>> 0;
    this.instret = (words[at + 32]! >>> 0) + (words[at + 33]! >>> 0) * TWO32;
  }

  /** "pc=0x10074 ra=0x... sp=0x..." — every non-zero register, for crash reports. */
  describe(): string {
    const parts = [`pc=0x${this.pc.toString(16)}`];
    for (let r = 1; r < 32; r++) {
      const v = this.x[r]!;
      if (v !== 0) parts.push(`${REG_NAMES[r]}=0x${(v >>> 0).toString(16)}`);
    }
    return parts.join(' ');
  }
}

function checkReg(r: number): number {
  if (!Number.isInteger(r) || r < 0 || r > 31) throw new InternalError(`RV32 has registers x0..x31, not x${r}`);
  return r;
}
