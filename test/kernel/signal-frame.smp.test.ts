/**
 * The signal frame and the vDSO (src/kernel/signal.ts, vdso.ts) seen from hand-assembled
 * riscv32 programs: AT_SYSINFO_EHDR points at an ELF image whose rt_sigreturn trampoline is
 * `li a7, 139; ecall`; a handler gets ra = that trampoline and a ucontext whose saved pc is the
 * interrupted instruction; a signal sent from another thread, taken wherever the main thread's
 * loop happens to be, returns with every register the handler clobbered restored; and a
 * handler whose frame cannot be written (the stack pointer in kernel space) kills the process
 * with SIGSEGV instead of reaching the emulator. Real vCPU workers.
 */
import { describe, expect, it } from 'vitest';
import { Asm, X } from '../../src/riscv/asm.js';
import { runReport } from '../../src/report/build.js';
import type { MachineConfig } from '../../src/machine/config.js';
import { ELF_BASE, ELF_CODE_OFFSET, elfConfig, minimalElf } from '../helpers/guest-programs.js';
import { VDSO_RT_SIGRETURN } from '../../src/kernel/vdso.js';

const SYS = { rt_sigaction: 134, tkill: 130, gettid: 178, exit_group: 94, clone: 220, sched_yield: 124 } as const;
const AT_SYSINFO_EHDR = 33;
const SIGUSR1 = 10;
/** pthread_create's flags: CLONE_VM | FS | FILES | SIGHAND | THREAD | SYSVSEM. */
const CLONE_THREAD_FLAGS = 0x100 | 0x200 | 0x400 | 0x800 | 0x10000 | 0x40000;
/** uc_mcontext in the ucontext (riscv32), and sc_regs[0], the saved pc. */
const UC_MCONTEXT = 160;

function fail(a: Asm, status: number): Asm {
  return a.li(X.a0, status).li(X.a7, SYS.exit_group).ecall();
}

function program(name: string, a: Asm, cpus: number): MachineConfig {
  const cfg = elfConfig(name, minimalElf([...a.assemble()]), cpus);
  cfg.seconds = 60;
  return cfg;
}

/** rt_sigaction(SIGUSR1, {handler, flags 0, mask 0}) with the struct at sp - 64. */
function installHandler(a: Asm, label: string): Asm {
  a.la(X.t0, label).sw(X.t0, -64, X.sp).sw(X.zero, -60, X.sp).sw(X.zero, -56, X.sp).sw(X.zero, -52, X.sp);
  return a.li(X.a0, SIGUSR1).addi(X.a1, X.sp, -64).li(X.a2, 0).li(X.a3, 8).li(X.a7, SYS.rt_sigaction).ecall();
}

describe('signal frames and the vDSO', () => {
  it('AT_SYSINFO_EHDR names an ELF image whose rt_sigreturn trampoline a handler returns through, with the interrupted pc saved in its ucontext', async () => {
    const a = new Asm(ELF_BASE + ELF_CODE_OFFSET);
    // Walk past argc, argv and envp to the auxiliary vector; find AT_SYSINFO_EHDR.
    a.lw(X.t0, 0, X.sp).addi(X.t0, X.t0, 2).slli(X.t0, X.t0, 2).add(X.t1, X.sp, X.t0); // &envp[0]
    a.label('envp').lw(X.t2, 0, X.t1).addi(X.t1, X.t1, 4).bnez(X.t2, 'envp');
    a.label('auxv').lw(X.t2, 0, X.t1).beqz(X.t2, 'no_vdso').li(X.t3, AT_SYSINFO_EHDR).beq(X.t2, X.t3, 'found').addi(X.t1, X.t1, 8).j('auxv');
    a.label('no_vdso');
    fail(a, 10);
    a.label('found').lw(X.s1, 4, X.t1);
    a.lw(X.t0, 0, X.s1).li(X.t1, 0x464c457f).beq(X.t0, X.t1, 'elf');
    fail(a, 11).label('elf');
    a.lw(X.t0, VDSO_RT_SIGRETURN - 0xbfc00000, X.s1).li(X.t1, (139 << 20) | (17 << 7) | 0x13).beq(X.t0, X.t1, 'tramp');
    fail(a, 12).label('tramp');
    // A handler: it records ra and the ucontext's saved pc.
    a.addi(X.sp, X.sp, -2048).mv(X.s4, X.sp);
    installHandler(a, 'handler');
    a.li(X.a7, SYS.gettid).ecall().li(X.a1, SIGUSR1).li(X.a7, SYS.tkill);
    a.label('the_ecall').ecall();
    a.lw(X.t0, 0, X.s4).li(X.t1, VDSO_RT_SIGRETURN).beq(X.t0, X.t1, 'ra_ok');
    fail(a, 13).label('ra_ok');
    // The signal is taken on the way back from tkill: the saved pc is the instruction after it.
    a.lw(X.t0, 4, X.s4).la(X.t1, 'the_ecall').addi(X.t1, X.t1, 4).beq(X.t0, X.t1, 'pc_ok');
    fail(a, 14).label('pc_ok');
    fail(a, 0);
    a.label('handler').sw(X.ra, 0, X.s4).lw(X.t0, UC_MCONTEXT, X.a2).sw(X.t0, 4, X.s4).ret();
    const report = await runReport(program('vdso', a, 1));
    expect(report.exitStatus).toBe(0);
  });

  it('a signal from another thread, taken wherever the loop is, comes back with every register the handler clobbered restored', async () => {
    const a = new Asm(ELF_BASE + ELF_CODE_OFFSET);
    const kept = [X.t0, X.t1, X.t2, X.t3, X.t4, X.t5, X.t6, X.a1, X.a2, X.a3, X.a4, X.a5, X.a6, X.s2, X.s3, X.s5, X.s6, X.s7, X.s8, X.s9, X.s10, X.s11];
    a.addi(X.sp, X.sp, -2048).addi(X.sp, X.sp, -2048).mv(X.s4, X.sp);
    a.sw(X.zero, 0, X.s4);
    installHandler(a, 'handler');
    a.li(X.a7, SYS.gettid).ecall().sw(X.a0, 8, X.s4);
    // The sender: a thread on its own stack that signals the main thread until it has taken 40.
    a.li(X.a0, CLONE_THREAD_FLAGS).li(X.a1, -16384).add(X.a1, X.a1, X.s4).li(X.a2, 0).li(X.a3, 0).li(X.a4, 0).li(X.a7, SYS.clone).ecall();
    a.bnez(X.a0, 'main');
    a.label('send').lw(X.a0, 8, X.s4).li(X.a1, SIGUSR1).li(X.a7, SYS.tkill).ecall();
    a.li(X.a7, SYS.sched_yield).ecall();
    a.lw(X.t0, 0, X.s4).li(X.t1, 40).blt(X.t0, X.t1, 'send');
    a.label('park').li(X.a7, SYS.sched_yield).ecall().j('park');
    // The main thread: known values in every register, a loop that checks them all.
    a.label('main');
    kept.forEach((r, i) => a.li(r, 0x1000 + i * 0x111));
    a.label('loop');
    kept.forEach((r, i) => { a.li(X.a7, 0x1000 + i * 0x111).bne(r, X.a7, 'clobbered'); });
    a.lw(X.a0, 0, X.s4).li(X.a7, 40).blt(X.a0, X.a7, 'loop');
    fail(a, 0);
    a.label('clobbered');
    fail(a, 1);
    // The handler clobbers everything it may (s4 excepted: it finds the counter through it).
    a.label('handler').lw(X.t0, 0, X.s4).addi(X.t0, X.t0, 1).sw(X.t0, 0, X.s4);
    kept.forEach((r) => a.li(r, -1));
    a.ret();
    const report = await runReport(program('async-regs', a, 2));
    expect(report.exitStatus).toBe(0);
  }, 60_000);

  it('a handler whose frame cannot be written (the stack pointer in kernel space) kills the process with SIGSEGV', async () => {
    const a = new Asm(ELF_BASE + ELF_CODE_OFFSET);
    installHandler(a, 'handler');
    a.li(X.a7, SYS.gettid).ecall().mv(X.s1, X.a0);
    a.li(X.sp, 0xc0001000 | 0).mv(X.a0, X.s1).li(X.a1, SIGUSR1).li(X.a7, SYS.tkill).ecall();
    fail(a, 1);
    a.label('handler').ret();
    const report = await runReport(program('bad-frame', a, 1));
    expect(report.exitStatus).toBe(128 + 11);
  });
});
