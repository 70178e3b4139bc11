/**
 * The guest kernel's entropy (KernelContext.entropy, src/lib/prng.ts): AT_RANDOM's 16 bytes at
 * exec and getrandom's come from the run's --seed when there is one (the same bytes on every
 * run, other bytes under another seed), from seed 0 in virtual time, and from the host's CSPRNG
 * otherwise. A hand-assembled program prints both in hex; real vCPU workers.
 */
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/machine/machine.js';
import type { MachineConfig } from '../../src/machine/config.js';
import { Asm, X } from '../../src/riscv/asm.js';
import { ELF_BASE, ELF_CODE_OFFSET, elfConfig, minimalElf } from '../helpers/guest-programs.js';

const SYS = { write: 64, exit_group: 94, getrandom: 278 };
const AT_RANDOM = 25;

/** Write 16 bytes at register a4 as 32 lower-case hex digits at register a5 (both advance). */
function hex16(a: Asm, tag: string): void {
  a.li(X.t4, 16).label(`byte${tag}`)
    .lbu(X.t0, 0, X.a4).srli(X.t1, X.t0, 4).andi(X.t2, X.t0, 15).li(X.t3, 58)
    .addi(X.t1, X.t1, 48).blt(X.t1, X.t3, `hi${tag}`).addi(X.t1, X.t1, 39).label(`hi${tag}`)
    .addi(X.t2, X.t2, 48).blt(X.t2, X.t3, `lo${tag}`).addi(X.t2, X.t2, 39).label(`lo${tag}`)
    .sb(X.t1, 0, X.a5).sb(X.t2, 1, X.a5).addi(X.a4, X.a4, 1).addi(X.a5, X.a5, 2)
    .addi(X.t4, X.t4, -1).bnez(X.t4, `byte${tag}`);
}

/** Prints AT_RANDOM's bytes, then 16 bytes of getrandom, in hex on one line; exit 2 without AT_RANDOM. */
function entropyProgram(): Uint8Array {
  const a = new Asm(ELF_BASE + ELF_CODE_OFFSET);
  // The auxiliary vector follows argv's and envp's NULL-terminated arrays above argc.
  a.mv(X.s0, X.sp).lw(X.t0, 0, X.s0).slli(X.t0, X.t0, 2).add(X.s1, X.s0, X.t0).addi(X.s1, X.s1, 8)
    .label('env').lw(X.t1, 0, X.s1).addi(X.s1, X.s1, 4).bnez(X.t1, 'env')
    .label('aux').lw(X.t1, 0, X.s1).lw(X.t2, 4, X.s1).addi(X.s1, X.s1, 8).li(X.t3, AT_RANDOM).beq(X.t1, X.t3, 'found')
    .bnez(X.t1, 'aux').li(X.a0, 2).li(X.a7, SYS.exit_group).ecall()
    .label('found').addi(X.s2, X.s0, -256).mv(X.a4, X.t2).addi(X.a5, X.s2, 64);
  hex16(a, 'at');
  a.mv(X.a0, X.s2).li(X.a1, 16).li(X.a2, 0).li(X.a7, SYS.getrandom).ecall();
  a.mv(X.a4, X.s2).addi(X.a5, X.s2, 96);
  hex16(a, 'gr');
  a.li(X.t0, 10).sb(X.t0, 128, X.s2)
    .li(X.a0, 1).addi(X.a1, X.s2, 64).li(X.a2, 65).li(X.a7, SYS.write).ecall()
    .li(X.a0, 0).li(X.a7, SYS.exit_group).ecall();
  return minimalElf([...a.assemble()]);
}

const program = entropyProgram();

/** The program's line (AT_RANDOM then getrandom, 32 hex digits each) under `extra`. */
async function entropyLine(extra: Partial<MachineConfig>): Promise<{ atRandom: string; getrandom: string }> {
  const r = await new Machine({ ...elfConfig('entropy', program, 1), ...extra }).run();
  expect(r.exitStatus).toBe(0);
  const line = r.stdout ?? '';
  expect(line).toMatch(/^[0-9a-f]{64}\n$/);
  return { atRandom: line.slice(0, 32), getrandom: line.slice(32, 64) };
}

describe('guest entropy: AT_RANDOM and getrandom', () => {
  it('under --seed gives the same bytes on every run and other bytes under another seed', async () => {
    const first = await entropyLine({ seed: 9 });
    expect(await entropyLine({ seed: 9 })).toEqual(first);
    expect(first.atRandom).not.toBe(first.getrandom);
    const other = await entropyLine({ seed: 10 });
    expect(other.atRandom).not.toBe(first.atRandom);
    expect(other.getrandom).not.toBe(first.getrandom);
  });

  it('in virtual time without --seed uses seed 0; in host time without one, the host CSPRNG (two runs differ)', async () => {
    expect(await entropyLine({ clock: 'virtual' })).toEqual(await entropyLine({ seed: 0 }));
    const a = await entropyLine({});
    const b = await entropyLine({});
    expect(a.atRandom).not.toBe(b.atRandom);
    expect(a.getrandom).not.toBe(b.getrandom);
  });
});
