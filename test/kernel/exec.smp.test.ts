/**
 * exec for init (src/kernel/exec.ts): segments keep their ELF protection after their bytes
 * are copied in (a store into R+X text is a SIGSEGV), the heap starts on the page after the
 * highest segment, and the stack pointer points at argc below STACK_TOP. Hand-assembled
 * programs run as init on one vCPU; real vCPU workers.
 */
import { describe, expect, it } from 'vitest';
import { STACK_BYTES, STACK_TOP } from '../../src/kernel/exec.js';
import { Machine } from '../../src/machine/machine.js';
import { Asm, X } from '../../src/riscv/asm.js';
import { ELF_BASE, ELF_CODE_OFFSET, elfConfig, minimalElf } from '../helpers/guest-programs.js';

const SYS_exit_group = 94;
const SYS_brk = 214;

async function runInit(a: Asm, argv = ['exec-test']) {
  return new Machine(elfConfig('exec-test', minimalElf([...a.assemble()]), 1, 'native', argv)).run();
}

describe('exec of a riscv32 ELF as init', () => {
  it('maps the text read+execute only: a store into it kills the program with SIGSEGV (exit 139)', async () => {
    const a = new Asm(ELF_BASE + ELF_CODE_OFFSET).li(X.a1, ELF_BASE).sw(X.zero, 0, X.a1).li(X.a0, 0).li(X.a7, SYS_exit_group).ecall();
    const r = await runInit(a);
    expect(r.exitStatus).toBe(139);
    expect(r.console).toContain(`SIGSEGV (store/AMO page fault) at pc 0x${(ELF_BASE + ELF_CODE_OFFSET + 4).toString(16)}`);
    expect(r.console).toContain(`address 0x${ELF_BASE.toString(16)}`);
  });

  it('starts the heap at the page after the program, and sp at argc within the stack below STACK_TOP', async () => {
    // exit status: 1 when brk(0) == ELF_BASE + 4096 (the one-page image's end, page-aligned)
    // and argc == 3 and STACK_TOP - STACK_BYTES <= sp < STACK_TOP; otherwise which check failed.
    const a = new Asm(ELF_BASE + ELF_CODE_OFFSET)
      .li(X.a0, 0).li(X.a7, SYS_brk).ecall().li(X.t0, ELF_BASE + 4096).bne(X.a0, X.t0, 'badbrk')
      .lw(X.t1, 0, X.sp).li(X.t0, 3).bne(X.t1, X.t0, 'badargc')
      .li(X.t0, STACK_TOP - STACK_BYTES).bltu(X.sp, X.t0, 'badsp').li(X.t0, STACK_TOP).bgeu(X.sp, X.t0, 'badsp')
      .li(X.a0, 1).li(X.a7, SYS_exit_group).ecall()
      .label('badbrk').li(X.a0, 2).li(X.a7, SYS_exit_group).ecall()
      .label('badargc').li(X.a0, 3).li(X.a7, SYS_exit_group).ecall()
      .label('badsp').li(X.a0, 4).li(X.a7, SYS_exit_group).ecall();
    const r = await runInit(a, ['exec-test', 'x', 'y']);
    expect(r.exitStatus).toBe(1);
  });
});
