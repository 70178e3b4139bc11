/**
 * Seeded pointer fuzz of the calls that take user pointers and flags riscv32 programs hand the
 * kernel: clone, futex, rt_sigaction, sigaltstack, rt_sigprocmask, rt_sigpending, signals sent
 * to oneself (whose frames land on a random stack pointer), rt_sigreturn from a random frame,
 * set/get_robust_list, setitimer, waitid. Each generated program is init forking children
 * that each run a random sequence of such calls with arguments drawn from null, misaligned,
 * unmapped, read-only (code, vDSO), kernel and valid stack addresses, then exit. Whatever a
 * child does to itself, the run must end with a report: no InternalError, no hang (--seconds
 * bounds a child that sleeps for good). Every backend. Real vCPU workers.
 */
import { describe, expect, it } from 'vitest';
import { Asm, X } from '../../src/riscv/asm.js';
import { describeBackends } from '../../src/hv/registry.js';
import { runReport } from '../../src/report/build.js';
import type { MachineConfig } from '../../src/machine/config.js';
import { ELF_BASE, ELF_CODE_OFFSET, elfConfig, minimalElf } from '../helpers/guest-programs.js';
import { rng } from '../helpers/rng.js';

const SYS = {
  clone: 220, futex: 98, rt_sigaction: 134, sigaltstack: 132, rt_sigprocmask: 135, rt_sigpending: 136, tkill: 130,
  kill: 129, rt_sigqueueinfo: 138, rt_sigreturn: 139, set_robust_list: 99, get_robust_list: 100, setitimer: 103,
  waitid: 95, gettid: 178, getpid: 172, exit_group: 94,
} as const;
const SIGCHLD = 17;
const CLONE_BITS = [0x100, 0x200, 0x400, 0x800, 0x4000, 0x10000, 0x80000, 0x100000, 0x200000, 0x1000000];
const WNOHANG = 1;
const WEXITED = 4;

/** An argument: a constant, or an address relative to the child's stack pointer. */
type Arg = { imm: number } | { sp: number };

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

/** A user pointer: null, tiny, misaligned, unmapped, code, the vDSO, kernel space, or the stack (aligned or not). */
function pointer(r: () => number): Arg {
  const code = ELF_BASE + ELF_CODE_OFFSET;
  return pick<Arg>(r, [
    { imm: 0 }, { imm: 1 }, { imm: 3 }, { imm: 0x1000 }, { imm: 0x7ffffffc }, { imm: code }, { imm: code + 2 },
    { imm: 0xbfc00000 | 0 }, { imm: 0xbfc00080 | 0 }, { imm: 0xc0000000 | 0 }, { imm: 0xfffffffc | 0 }, { imm: -1 },
    { sp: -256 }, { sp: -2048 }, { sp: -4093 }, { sp: -6 }, { sp: -8000 }, { sp: 4096 },
  ]);
}

function value(r: () => number): Arg {
  return pick<Arg>(r, [{ imm: 0 }, { imm: 1 }, { imm: -1 }, { imm: 8 }, { imm: 12 }, { imm: 0x7fffffff }, { imm: (r() * 2 ** 32) | 0 }, { imm: 64 }, { imm: 65 }]);
}

function load(a: Asm, reg: number, arg: Arg): void {
  if ('imm' in arg) a.li(reg, arg.imm);
  else a.li(reg, arg.sp).add(reg, reg, X.sp);
}

/** One random call into the child's code; s1 holds its tid, s2 its pid. */
function randomCall(a: Asm, r: () => number, clones: { n: number }): void {
  const args = (...xs: Arg[]): void => xs.forEach((x, i) => load(a, X.a0 + i, x));
  const kind = Math.floor(r() * 13);
  switch (kind) {
    case 0: {
      if (clones.n++ >= 2) return;
      let flags = r() < 0.5 ? SIGCHLD : 0;
      for (const b of CLONE_BITS) if (r() < 0.3) flags |= b;
      args({ imm: flags }, r() < 0.5 ? { imm: 0 } : pointer(r), pointer(r), value(r), pointer(r));
      a.li(X.a7, SYS.clone);
      break;
    }
    case 1:
      args(pointer(r), { imm: Math.floor(r() * 14) | (r() < 0.5 ? 128 : 0) | (r() < 0.2 ? 256 : 0) }, { imm: 0x5a5a5a5a }, pointer(r), pointer(r), value(r));
      a.li(X.a7, SYS.futex);
      break;
    case 2:
      args({ imm: Math.floor(r() * 67) }, pointer(r), pointer(r), r() < 0.8 ? { imm: 8 } : value(r));
      a.li(X.a7, SYS.rt_sigaction);
      break;
    case 3:
      args(pointer(r), pointer(r));
      a.li(X.a7, SYS.sigaltstack);
      break;
    case 4:
      args({ imm: Math.floor(r() * 4) }, pointer(r), pointer(r), r() < 0.8 ? { imm: 8 } : value(r));
      a.li(X.a7, SYS.rt_sigprocmask);
      break;
    case 5:
      args(pointer(r), value(r));
      a.li(X.a7, SYS.rt_sigpending);
      break;
    case 6: {
      // A handler that returns, then a signal to ourselves taken on a random stack pointer.
      a.la(X.t0, 'ret_handler').sw(X.t0, -64, X.sp).li(X.t0, r() < 0.5 ? 0x08000000 : 0).sw(X.t0, -60, X.sp);
      a.sw(X.zero, -56, X.sp).sw(X.zero, -52, X.sp);
      a.li(X.a0, 10).addi(X.a1, X.sp, -64).li(X.a2, 0).li(X.a3, 8).li(X.a7, SYS.rt_sigaction).ecall();
      a.mv(X.s3, X.sp);
      load(a, X.t1, pointer(r));
      a.mv(X.sp, X.t1).mv(X.a0, X.s1).li(X.a1, 10).li(X.a7, SYS.tkill).ecall().mv(X.sp, X.s3);
      return;
    }
    case 7:
      args({ imm: pick(r, [0, -1, 99999]) }, { imm: pick(r, [0, 10, 17, 64, 65, -1]) });
      a.li(X.a7, SYS.kill);
      break;
    case 8:
      a.mv(X.a0, X.s2);
      load(a, X.a1, { imm: Math.floor(r() * 66) });
      load(a, X.a2, pointer(r));
      a.li(X.a7, SYS.rt_sigqueueinfo);
      break;
    case 9:
      // rt_sigreturn from whatever is at a random stack pointer.
      load(a, X.t1, pointer(r));
      a.mv(X.sp, X.t1).li(X.a7, SYS.rt_sigreturn).ecall();
      return;
    case 10:
      if (r() < 0.5) {
        args(pointer(r), r() < 0.7 ? { imm: 12 } : value(r));
        a.li(X.a7, SYS.set_robust_list);
      } else {
        args(r() < 0.5 ? { imm: 0 } : value(r), pointer(r), pointer(r));
        a.li(X.a7, SYS.get_robust_list);
      }
      break;
    case 11:
      args({ imm: Math.floor(r() * 4) }, pointer(r), pointer(r));
      a.li(X.a7, SYS.setitimer);
      break;
    default:
      args({ imm: Math.floor(r() * 4) }, value(r), pointer(r), { imm: WEXITED | WNOHANG }, pointer(r));
      a.li(X.a7, SYS.waitid);
      break;
  }
  a.ecall();
}

/** init forks `children` children, each running `calls` random calls then exiting; waits for each. */
function fuzzProgram(seed: number, children: number, calls: number): Uint8Array {
  const r = rng(seed);
  const a = new Asm(ELF_BASE + ELF_CODE_OFFSET);
  for (let c = 0; c < children; c++) {
    a.li(X.a0, SIGCHLD).li(X.a1, 0).li(X.a2, 0).li(X.a3, 0).li(X.a4, 0).li(X.a7, SYS.clone).ecall();
    a.bnez(X.a0, `parent${c}`);
    a.li(X.a7, SYS.gettid).ecall().mv(X.s1, X.a0).li(X.a7, SYS.getpid).ecall().mv(X.s2, X.a0);
    // Work below the parent's frame; leave room above for the structures the calls point at.
    a.addi(X.sp, X.sp, -1024);
    const clones = { n: 0 };
    for (let i = 0; i < calls; i++) randomCall(a, r, clones);
    a.li(X.a0, 0).li(X.a7, SYS.exit_group).ecall();
    // The parent: reap any child (-1), until none is left.
    a.label(`parent${c}`);
    a.label(`reap${c}`).li(X.a0, -1).addi(X.a1, X.sp, -16).li(X.a2, 0).li(X.a3, 0).li(X.a7, 260).ecall();
    a.blt(X.zero, X.a0, `reap${c}`);
  }
  a.li(X.a0, 0).li(X.a7, SYS.exit_group).ecall();
  a.label('ret_handler').ret();
  return minimalElf([...a.assemble()]);
}

function config(seed: number, backend: string): MachineConfig {
  const cfg = elfConfig(`fuzz-${seed}`, fuzzProgram(seed, 6, 14), 2, backend);
  // A child left asleep for good (a signal mask that blocks everything, a vfork parent whose
  // child never lets go) ends with the run's limit.
  cfg.seconds = 8;
  return cfg;
}

/** Three seeds per backend in the suite; PVEMU_FUZZ_SEEDS=N runs seeds 1..N for a longer campaign. */
const SEEDS = Array.from({ length: Number(process.env['PVEMU_FUZZ_SEEDS'] ?? 3) }, (_, i) => i + 1);
const runs = describeBackends().flatMap((b) => SEEDS.map((seed): [number, string] => [seed, b.name]));

describe('system-call pointer fuzz', () => {
  it.each(runs)('seed %i on %s: random pointers and flags to clone, futex, signals, frames and robust lists end in errors or signals, never an emulator error', async (seed, backend) => {
    const report = await runReport(config(seed, backend));
    expect(typeof report.exitStatus).toBe('number');
    const c = report.conservation;
    expect(c === undefined ? 'not checked' : { ipis: c.ipis.ok, flushes: c.flushes.ok, frames: c.frames.ok }).toEqual({ ipis: true, flushes: true, frames: true });
  }, 60_000);
});
