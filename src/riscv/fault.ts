/**
 * Why an RV32 task must die: the RISC-V exception it took that nothing resolved, and the Linux
 * signal it becomes (arch/riscv/kernel/traps.c: illegal instruction -> SIGILL ILL_ILLOPC, a
 * page fault outside any VMA or against its protection -> SIGSEGV, a misaligned instruction
 * address or AMO -> SIGBUS BUS_ADRALN). Built on the vCPU worker by RvCore; the integrator
 * turns it into the task's exit. Cold path.
 */
import { disassemble } from './disasm.js';
import { SIGBUS, SIGILL, SIGKILL, SIGSEGV } from '../uapi/signal.js';

/** SIGKILL: the OOM killer chose the task's process while it faulted. */
export type RvSignal = typeof SIGILL | typeof SIGBUS | typeof SIGSEGV | typeof SIGKILL;

/** The RISC-V exception cause (privileged spec, mcause values), by name. */
export type RvCause =
  | 'instruction address misaligned'
  | 'instruction page fault'
  | 'illegal instruction'
  | 'load page fault'
  | 'store/AMO address misaligned'
  | 'store/AMO page fault';

export interface RvFault {
  signal: RvSignal;
  cause: RvCause;
  /** The faulting instruction's address. */
  pc: number;
  /** Its raw word, or null when it could not be fetched (an instruction page fault). */
  insn: number | null;
  /** The faulting address (stval): the data address, the jump target, or the pc. */
  addr: number;
  /** For page faults: the x86 page-fault error code the MMU raised (PF_PROT | PF_WRITE | PF_USER). */
  errorCode: number;
  /** A mapping covers the address but forbids the access (SEGV_ACCERR rather than SEGV_MAPERR). */
  mapped: boolean;
}

const SIGNAL_NAMES: Readonly<Record<RvSignal, string>> = { [SIGILL]: 'SIGILL', [SIGBUS]: 'SIGBUS', [SIGSEGV]: 'SIGSEGV', [SIGKILL]: 'SIGKILL' };

const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;

/**
 * One line for the task's exit, naming the pc, the instruction and the address:
 * "SIGSEGV (store/AMO page fault) at pc 0x10074: sw a0, 0(a1) [0x00a5a023], address 0x0".
 */
export function describeFault(f: RvFault): string {
  const insn = f.insn === null
    ? 'instruction not fetched'
    : `${disassemble(f.insn)} [0x${(f.insn >>> 0).toString(16).padStart(8, '0')}]`;
  const why = f.signal === SIGKILL ? `out of memory: the OOM killer chose this process at its ${f.cause}` : f.cause;
  return `${SIGNAL_NAMES[f.signal]} (${why}) at pc ${hex(f.pc)}: ${insn}, address ${hex(f.addr)}`;
}
