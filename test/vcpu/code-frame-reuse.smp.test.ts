/**
 * A frame that held decoded code, freed and reused for new code the kernel wrote (not this
 * hart's stores, which the decode cache sees), runs the new code: the decode cache notices the
 * frame's free count moved (src/kernel/frames.ts frameGens, src/riscv/decode-cache.ts). A
 * hand-assembled riscv32 program runs `li a0, 1; ret` from an anonymous RWX page, unmaps it,
 * maps a new page at the same address, has read() from a pipe write `li a0, 2; ret` into it,
 * and calls it. Real vCPU workers.
 */
import { describe, expect, it } from 'vitest';
import { Asm, X } from '../../src/riscv/asm.js';
import { runReport } from '../../src/report/build.js';
import { ELF_BASE, ELF_CODE_OFFSET, elfConfig, minimalElf } from '../helpers/guest-programs.js';

const SYS = { mmap2: 222, munmap: 215, pipe2: 59, write: 64, read: 63, exit_group: 94, riscv_flush_icache: 259 } as const;
const PROT_RWX = 7;
const MAP_PRIVATE_ANON_FIXED = 0x02 | 0x20 | 0x10;
const PAGE = 0x20000000;
/** li a0, N (addi a0, zero, N) and ret (jalr zero, 0(ra)). */
const liA0 = (n: number): number => (n << 20) | (10 << 7) | 0x13;
const RET = 0x00008067;

describe('code in a reused frame', () => {
  it('runs the new code the kernel wrote into a frame that held other decoded code', async () => {
    const a = new Asm(ELF_BASE + ELF_CODE_OFFSET);
    const mapPage = (): void => {
      a.li(X.a0, PAGE).li(X.a1, 4096).li(X.a2, PROT_RWX).li(X.a3, MAP_PRIVATE_ANON_FIXED).li(X.a4, -1).li(X.a5, 0).li(X.a7, SYS.mmap2).ecall();
    };
    // 1. Code stored by this hart, made visible with FENCE.I (riscv_flush_icache), run 50 times
    // so the decode cache (and the block compiler) know it.
    mapPage();
    a.li(X.s0, PAGE).li(X.t0, liA0(1)).sw(X.t0, 0, X.s0).li(X.t0, RET).sw(X.t0, 4, X.s0);
    a.li(X.a0, 0).li(X.a1, 0).li(X.a2, 0).li(X.a7, SYS.riscv_flush_icache).ecall();
    a.li(X.s1, 50).label('warm').jalr(X.ra, X.s0, 0).addi(X.s1, X.s1, -1).bnez(X.s1, 'warm');
    a.li(X.t0, 1).beq(X.a0, X.t0, 'first_ok').li(X.a0, 10).li(X.a7, SYS.exit_group).ecall().label('first_ok');
    // 2. The new code waits in a pipe (set up first, so its buffer takes no frame later).
    a.addi(X.a0, X.sp, -16).li(X.a1, 0).li(X.a7, SYS.pipe2).ecall();
    a.li(X.t0, liA0(2)).sw(X.t0, -32, X.sp).li(X.t0, RET).sw(X.t0, -28, X.sp);
    a.lw(X.a0, -12, X.sp).addi(X.a1, X.sp, -32).li(X.a2, 8).li(X.a7, SYS.write).ecall();
    // 3. The page goes (its frame is freed, last onto the free stack), a new one comes at the
    // same address, and the kernel's read() faults it in — taking that frame back — and writes
    // the new code into it.
    a.li(X.a0, PAGE).li(X.a1, 4096).li(X.a7, SYS.munmap).ecall();
    mapPage();
    a.lw(X.a0, -16, X.sp).li(X.a1, PAGE).li(X.a2, 8).li(X.a7, SYS.read).ecall();
    a.jalr(X.ra, X.s0, 0);
    // Exit with what the new code returned: 2 unless the old decoded code ran.
    a.li(X.a7, SYS.exit_group).ecall();
    const cfg = elfConfig('reuse', minimalElf([...a.assemble()]), 1);
    cfg.seconds = 30;
    const report = await runReport(cfg);
    expect(report.exitStatus).toBe(2);
  });
});
