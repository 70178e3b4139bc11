/**
 * The system calls riscv32 programs need beyond the guest runtime's (src/kernel/syscalls.ts),
 * from a hand-assembled program run as init on 2 vCPUs: clock_nanosleep_time64 with
 * TIMER_ABSTIME, getrandom, sched_getaffinity, uname, prlimit64, ioctl, the accepted signal
 * and robust-list calls, riscv_flush_icache, and an unknown number (-ENOSYS, counted in the
 * report). Each check exits with its own status on failure. Real vCPU workers.
 */
import { describe, expect, it } from 'vitest';
import { Asm, X } from '../../src/riscv/asm.js';
import { ELF_BASE, ELF_CODE_OFFSET, elfConfig, minimalElf } from '../helpers/guest-programs.js';
import { runReport } from '../../src/report/build.js';

const SYS = {
  ioctl: 29, exit_group: 94, set_robust_list: 99, sched_getaffinity: 123, rt_sigaction: 134, uname: 160,
  riscv_flush_icache: 259, prlimit64: 261, getrandom: 278, clock_gettime64: 403, clock_nanosleep_time64: 407,
};
const CLOCK_MONOTONIC = 1;
const TIMER_ABSTIME = 1;
const SLEEP_NS = 5_000_000;

/** ecall `nr` with a0..a3, then exit(status) unless a0 == `expect`. */
function call(a: Asm, nr: number, args: readonly number[], expect: number, status: number): void {
  args.forEach((v, i) => a.li(X.a0 + i, v));
  a.li(X.a7, nr).ecall().li(X.t0, expect).beq(X.a0, X.t0, `ok${status}`)
    .li(X.a0, status).li(X.a7, SYS.exit_group).ecall().label(`ok${status}`);
}

/** The rest of the checks, each a call with its arguments (pointers into s4's buffer). */
function checks(a: Asm): void {
  const withBuf = (nr: number, before: number[], after: number[], expect: number, status: number): void => {
    before.forEach((v, i) => a.li(X.a0 + i, v));
    a.mv(X.a0 + before.length, X.s4);
    after.forEach((v, i) => a.li(X.a0 + before.length + 1 + i, v));
    a.li(X.a7, nr).ecall().li(X.t0, expect).beq(X.a0, X.t0, `ok${status}`)
      .li(X.a0, status).li(X.a7, SYS.exit_group).ecall().label(`ok${status}`);
  };
  withBuf(SYS.getrandom, [], [16, 0], 16, 21);
  withBuf(SYS.sched_getaffinity, [0, 8], [], 8, 22);
  a.lw(X.t1, 0, X.s4).li(X.t0, 3).beq(X.t1, X.t0, 'mask').li(X.a0, 23).li(X.a7, SYS.exit_group).ecall().label('mask');
  withBuf(SYS.uname, [], [], 0, 24);
  a.lw(X.t1, 0, X.s4).li(X.t0, 0x756e694c).beq(X.t1, X.t0, 'linux').li(X.a0, 25).li(X.a7, SYS.exit_group).ecall().label('linux'); // "Linu"
  withBuf(SYS.prlimit64, [0, 3, 0], [], 0, 26); // RLIMIT_STACK into the buffer
  // init's soft stack limit is _STK_LIM (8 MiB); the hard one RLIM64_INFINITY.
  a.lw(X.t1, 0, X.s4).li(X.t0, 8 * 1024 * 1024).beq(X.t1, X.t0, 'stk').li(X.a0, 27).li(X.a7, SYS.exit_group).ecall().label('stk');
  a.lw(X.t1, 8, X.s4).li(X.t0, -1).beq(X.t1, X.t0, 'inf').li(X.a0, 33).li(X.a7, SYS.exit_group).ecall().label('inf');
  call(a, SYS.ioctl, [1, 0x5401, 0], -25, 28); // TCGETS: -ENOTTY
  call(a, SYS.rt_sigaction, [2, 0, 0, 8], 0, 29);
  call(a, SYS.set_robust_list, [0, 12], 0, 30);
  call(a, SYS.riscv_flush_icache, [0, 0, 0], 0, 31);
  call(a, 999, [], -38, 32); // -ENOSYS
  a.li(X.a0, 0).li(X.a7, SYS.exit_group).ecall();
}

describe('riscv32 system calls beyond the guest runtime', () => {
  it('clock_nanosleep TIMER_ABSTIME sleeps until the deadline (and not for a past one); getrandom, sched_getaffinity, uname, prlimit64, ioctl, rt_sigaction, set_robust_list, riscv_flush_icache answer as Linux does; an unknown call is -ENOSYS and counted', async () => {
    const a = new Asm(ELF_BASE + ELF_CODE_OFFSET);
    a.addi(X.s1, X.sp, -1024);
    a.li(X.a0, CLOCK_MONOTONIC).mv(X.a1, X.s1).li(X.a7, SYS.clock_gettime64).ecall();
    a.lw(X.s2, 0, X.s1).lw(X.s3, 8, X.s1).li(X.t0, SLEEP_NS).add(X.s3, X.s3, X.t0).li(X.t1, 1_000_000_000)
      .blt(X.s3, X.t1, 'nocarry').sub(X.s3, X.s3, X.t1).addi(X.s2, X.s2, 1).label('nocarry')
      .sw(X.s2, 16, X.s1).sw(X.zero, 20, X.s1).sw(X.s3, 24, X.s1).sw(X.zero, 28, X.s1);
    a.li(X.a0, CLOCK_MONOTONIC).li(X.a1, TIMER_ABSTIME).addi(X.a2, X.s1, 16).li(X.a3, 0).li(X.a7, SYS.clock_nanosleep_time64).ecall()
      .beq(X.a0, X.zero, 'slept').li(X.a0, 10).li(X.a7, SYS.exit_group).ecall().label('slept');
    a.li(X.a0, CLOCK_MONOTONIC).mv(X.a1, X.s1).li(X.a7, SYS.clock_gettime64).ecall()
      .lw(X.t0, 0, X.s1).lw(X.t1, 8, X.s1)
      .blt(X.s2, X.t0, 'late').bne(X.s2, X.t0, 'early').bge(X.t1, X.s3, 'late')
      .label('early').li(X.a0, 11).li(X.a7, SYS.exit_group).ecall().label('late');
    a.li(X.a0, CLOCK_MONOTONIC).li(X.a1, TIMER_ABSTIME).addi(X.a2, X.s1, 16).li(X.a3, 0).li(X.a7, SYS.clock_nanosleep_time64).ecall()
      .beq(X.a0, X.zero, 'past').li(X.a0, 12).li(X.a7, SYS.exit_group).ecall().label('past');
    a.addi(X.s4, X.s1, 32);
    checks(a);
    const report = await runReport(elfConfig('syscalls-extra', minimalElf([...a.assemble()]), 2));
    expect(report.exitStatus).toBe(0);
    expect(report.unknownSyscalls).toEqual({ 999: 1 });
  });
});
