/**
 * The file system and pipes (src/kernel/fs/) in the corners guest/tests/files.c and pipes.c
 * (which match qemu-riscv32, test/vcpu/rv-program.smp.test.ts) cannot reach: a truncated file's
 * mapping faults with SIGBUS past the new end and the file's pages stay counted as the kernel's
 * at power-off; a MAP_PRIVATE file mapping copies; fork shares open file descriptions; a thread
 * asleep in a pipe read dies with its group. Hand-assembled programs run as init on 2 vCPUs,
 * each check exiting with its own status on failure. Real vCPU workers.
 */
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/machine/machine.js';
import { Asm, X } from '../../src/riscv/asm.js';
import { buildReport } from '../../src/report/build.js';
import { ELF_BASE, ELF_CODE_OFFSET, elfConfig, minimalElf } from '../helpers/guest-programs.js';

const SYS = {
  dup3: 24, fcntl64: 25, pselect6_time64: 413,
  unlinkat: 35, ftruncate: 46, openat: 56, close: 57, pipe2: 59, llseek: 62, read: 63, write: 64, fstat: 80,
  exit_group: 94, clone: 220, mmap2: 222, wait4: 260, clock_nanosleep_time64: 407,
};
const AT_FDCWD = -100;
const O_RDWR = 2;
const O_CREAT = 0o100;
const O_TRUNC = 0o1000;
const PROT_RW = 3;
const MAP_SHARED = 1;
const MAP_PRIVATE = 2;
const MAP_ANONYMOUS = 0x20;
const SEEK_SET = 0;
const SEEK_CUR = 1;
const SIGCHLD = 17;
const CLONE_THREAD_FLAGS = 0x100 | 0x200 | 0x400 | 0x800 | 0x10000; // VM, FS, FILES, SIGHAND, THREAD
const CLOCK_MONOTONIC = 1;

/** A program: `body` builds the code; strings go after it (read-only, at labels). */
function program(name: string, body: (a: Asm) => void, strings: Record<string, string>): { name: string; bytes: Uint8Array } {
  const a = new Asm(ELF_BASE + ELF_CODE_OFFSET);
  body(a);
  for (const [label, text] of Object.entries(strings)) {
    a.label(label);
    const bytes = [...new TextEncoder().encode(text), 0];
    while (bytes.length % 4 !== 0) bytes.push(0);
    // Strings sit after the code as .word data so labels stay in step with addresses.
    for (let i = 0; i < bytes.length; i += 4) a.word(bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
  }
  return { name, bytes: minimalElf([...a.assemble()]) };
}

/** ecall `nr` with a0.. = args (registers or numbers); then exit(status) unless a0 == expect (when given). */
function sys(a: Asm, nr: number, args: readonly (number | { reg: number } | { label: string })[], status?: number, expect = 0): void {
  args.forEach((v, i) => {
    if (typeof v === 'number') a.li(X.a0 + i, v);
    else if ('reg' in v) a.mv(X.a0 + i, v.reg);
    else a.la(X.a0 + i, v.label);
  });
  a.li(X.a7, nr).ecall();
  if (status !== undefined) check(a, X.a0, expect, status);
}

let checks = 0;
/** exit(status) unless register `reg` == expect. */
function check(a: Asm, reg: number, expect: number, status: number): void {
  const ok = `ok${checks++}`;
  a.li(X.t0, expect).beq(reg, X.t0, ok).li(X.a0, status).li(X.a7, SYS.exit_group).ecall().label(ok);
}

/** exit(status) if register `reg` is negative (an -errno). */
function checkNonNegative(a: Asm, reg: number, status: number): void {
  const ok = `ok${checks++}`;
  a.bge(reg, X.zero, ok).li(X.a0, status).li(X.a7, SYS.exit_group).ecall().label(ok);
}

async function run(p: { name: string; bytes: Uint8Array }) {
  const cfg = elfConfig(p.name, p.bytes, 2);
  const result = await new Machine(cfg).run();
  return { result, report: buildReport(cfg, result, undefined, result.conservation) };
}

describe('in-memory file system', () => {
  it('fcntl F_SETFL O_NONBLOCK makes an empty pipe\'s read -EAGAIN and F_GETFL shows it; dup3 shares the pipe; pselect6 sees it readable only once written', async () => {
    const F_GETFL = 3;
    const F_SETFL = 4;
    const O_NONBLOCK = 0o4000;
    const p = program('fd-calls', (a) => {
      a.addi(X.sp, X.sp, -256).mv(X.s2, X.sp);
      sys(a, SYS.pipe2, [{ reg: X.s2 }, 0], 1);
      a.lw(X.s0, 0, X.s2).lw(X.s1, 4, X.s2); // s0: read end, s1: write end
      sys(a, SYS.fcntl64, [{ reg: X.s0 }, F_SETFL, O_NONBLOCK], 2);
      sys(a, SYS.fcntl64, [{ reg: X.s0 }, F_GETFL, 0]);
      a.li(X.t2, O_NONBLOCK).and(X.t1, X.a0, X.t2);
      check(a, X.t1, O_NONBLOCK, 3);
      a.addi(X.a1, X.s2, 64);
      sys(a, SYS.read, [{ reg: X.s0 }, { reg: X.a1 }, 1], 4, -11); // -EAGAIN, not a sleep
      sys(a, SYS.fcntl64, [{ reg: X.s0 }, 99, 0], 5, -22); // an unknown command: -EINVAL
      // pselect6 on the empty pipe with a zero timeout: nothing ready, the set cleared.
      a.li(X.t0, 1).sll(X.t0, X.t0, X.s0).sw(X.t0, 128, X.s2).sw(X.zero, 136, X.s2).sw(X.zero, 140, X.s2).sw(X.zero, 144, X.s2).sw(X.zero, 148, X.s2);
      a.addi(X.a0, X.s0, 1).addi(X.a1, X.s2, 128).li(X.a2, 0).li(X.a3, 0).addi(X.a4, X.s2, 136).li(X.a5, 0).li(X.a7, SYS.pselect6_time64).ecall();
      check(a, X.a0, 0, 6);
      a.lw(X.t1, 128, X.s2);
      check(a, X.t1, 0, 7);
      // dup3 the write end to fd 20 and write through it: the pipe is readable.
      sys(a, SYS.dup3, [{ reg: X.s1 }, 20, 0], 8, 20);
      sys(a, SYS.write, [20, { label: 'x' }, 1], 9, 1);
      a.li(X.t0, 1).sll(X.t0, X.t0, X.s0).sw(X.t0, 128, X.s2);
      a.addi(X.a0, X.s0, 1).addi(X.a1, X.s2, 128).li(X.a2, 0).li(X.a3, 0).addi(X.a4, X.s2, 136).li(X.a5, 0).li(X.a7, SYS.pselect6_time64).ecall();
      check(a, X.a0, 1, 10);
      a.lw(X.t1, 128, X.s2).li(X.t0, 1).sll(X.t0, X.t0, X.s0).beq(X.t1, X.t0, 'bitset');
      a.li(X.a0, 11).li(X.a7, SYS.exit_group).ecall().label('bitset');
      sys(a, SYS.exit_group, [0]);
    }, { x: 'x' });
    const { result } = await run(p);
    expect(result.exitStatus).toBe(0);
  });


  it('truncating a mapped file: the cut page reads zeros past the end, the next page is SIGBUS (exit 135), and the file left behind is counted as kept frames', async () => {
    const p = program('truncate-sigbus', (a) => {
      sys(a, SYS.openat, [AT_FDCWD, { label: 'path' }, O_CREAT | O_RDWR, 0o600]);
      checkNonNegative(a, X.a0, 1);
      a.mv(X.s0, X.a0);
      sys(a, SYS.ftruncate, [{ reg: X.s0 }, 8192, 0], 2);
      sys(a, SYS.mmap2, [0, 8192, PROT_RW, MAP_SHARED, { reg: X.s0 }, 0]);
      checkNonNegative(a, X.a0, 3);
      a.mv(X.s1, X.a0);
      a.lui(X.s3, 1).add(X.s3, X.s3, X.s1); // s3: the mapping's second page
      a.li(X.t1, 0x55).sw(X.t1, 0, X.s1).sw(X.t1, 200, X.s1).sw(X.t1, 0, X.s3);
      sys(a, SYS.ftruncate, [{ reg: X.s0 }, 100, 0], 4);
      a.lw(X.t2, 0, X.s1);
      check(a, X.t2, 0x55, 5);
      a.lw(X.t2, 200, X.s1);
      check(a, X.t2, 0, 6);
      a.lw(X.t2, 0, X.s3); // past the end of the file: SIGBUS
      a.li(X.a0, 7).li(X.a7, SYS.exit_group).ecall();
    }, { path: '/tmp/truncated' });
    const { result, report } = await run(p);
    expect(result.exitStatus).toBe(135);
    expect(result.console).toMatch(/killed: SIGBUS \(load page fault\) at pc 0x[0-9a-f]+: lw t2, 0\(s3\)/);
    expect(report.faultsDetail.sigbus).toBe(1);
    // Page 0 of the file and its page-index frame outlive the process; the zero page besides.
    expect(report.conservation?.frames.kept).toBe(3);
    expect(report.conservation?.ok).toBe(true);
  });

  it('a MAP_PRIVATE file mapping copies the file; a forked child shares the file offset; fstat and unlink see the result', async () => {
    const p = program('private-fork', (a) => {
      a.addi(X.sp, X.sp, -256).mv(X.s2, X.sp); // s2: a scratch buffer on the stack
      sys(a, SYS.openat, [AT_FDCWD, { label: 'path' }, O_CREAT | O_RDWR | O_TRUNC, 0o600]);
      checkNonNegative(a, X.a0, 1);
      a.mv(X.s0, X.a0);
      sys(a, SYS.write, [{ reg: X.s0 }, { label: 'aaaa' }, 4], 2, 4);
      sys(a, SYS.mmap2, [0, 4096, PROT_RW, MAP_PRIVATE, { reg: X.s0 }, 0]);
      checkNonNegative(a, X.a0, 3);
      a.mv(X.s1, X.a0);
      a.lw(X.t2, 0, X.s1);
      check(a, X.t2, 0x41414141, 4);
      a.li(X.t1, 0x42424242).sw(X.t1, 0, X.s1); // a private copy: the file keeps "AAAA"
      sys(a, SYS.llseek, [{ reg: X.s0 }, 0, 0, { reg: X.s2 }, SEEK_SET], 5);
      a.addi(X.a1, X.s2, 16);
      sys(a, SYS.read, [{ reg: X.s0 }, { reg: X.a1 }, 4], 6, 4);
      a.lw(X.t2, 16, X.s2);
      check(a, X.t2, 0x41414141, 7);
      // fork: the child's write moves the offset both descriptors share.
      sys(a, SYS.clone, [SIGCHLD, { reg: X.sp }, 0, 0, 0]);
      a.bnez(X.a0, 'parent');
      sys(a, SYS.write, [{ reg: X.s0 }, { label: 'aaaa' }, 4]);
      sys(a, SYS.exit_group, [0]);
      a.label('parent');
      sys(a, SYS.wait4, [-1, 0, 0, 0]);
      checkNonNegative(a, X.a0, 8);
      sys(a, SYS.llseek, [{ reg: X.s0 }, 0, 0, { reg: X.s2 }, SEEK_CUR], 9);
      a.lw(X.t2, 0, X.s2);
      check(a, X.t2, 8, 10);
      sys(a, SYS.fstat, [{ reg: X.s0 }, { reg: X.s2 }], 11);
      a.lw(X.t2, 48, X.s2); // st_size
      check(a, X.t2, 8, 12);
      sys(a, SYS.unlinkat, [AT_FDCWD, { label: 'path' }, 0], 13);
      sys(a, SYS.fstat, [{ reg: X.s0 }, { reg: X.s2 }], 14);
      a.lw(X.t2, 20, X.s2); // st_nlink
      check(a, X.t2, 0, 15);
      sys(a, SYS.exit_group, [0]);
    }, { path: '/tmp/private', aaaa: 'AAAA' });
    const { result, report } = await run(p);
    expect(result.console).not.toContain('killed');
    expect(result.exitStatus).toBe(0);
    // Unlinked and closed: nothing of the file is left.
    expect(report.conservation?.frames.kept).toBe(1);
    expect(report.conservation?.ok).toBe(true);
  });

  it('exit_group ends a thread asleep in a pipe read, and the pipe is freed', async () => {
    const p = program('pipe-sleeper', (a) => {
      a.addi(X.sp, X.sp, -64).mv(X.s2, X.sp);
      sys(a, SYS.pipe2, [{ reg: X.s2 }, 0], 1);
      a.lw(X.s3, 0, X.s2); // the read end
      sys(a, SYS.mmap2, [0, 4096, PROT_RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0]);
      checkNonNegative(a, X.a0, 2);
      a.mv(X.s4, X.a0);
      a.li(X.t1, 4096).add(X.a1, X.s4, X.t1);
      sys(a, SYS.clone, [CLONE_THREAD_FLAGS, { reg: X.a1 }, 0, 0, 0]);
      a.bnez(X.a0, 'main');
      sys(a, SYS.read, [{ reg: X.s3 }, { reg: X.s4 }, 1]); // nobody writes: sleeps until killed
      sys(a, SYS.exit_group, [9]);
      a.label('main');
      // Give the thread time to fall asleep: 20 ms.
      a.sw(X.zero, 16, X.s2).sw(X.zero, 20, X.s2).li(X.t1, 20_000_000).sw(X.t1, 24, X.s2).sw(X.zero, 28, X.s2);
      a.addi(X.a2, X.s2, 16);
      sys(a, SYS.clock_nanosleep_time64, [CLOCK_MONOTONIC, 0, { reg: X.a2 }, 0], 3);
      sys(a, SYS.exit_group, [7]);
    }, {});
    const { result, report } = await run(p);
    expect(result.exitStatus).toBe(7);
    expect(report.conservation?.frames.kept).toBe(1);
    expect(report.conservation?.ok).toBe(true);
  });
});
