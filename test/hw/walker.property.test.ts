/**
 * Property tests for src/hw/walker.ts against a reference model. vitest thread only.
 *
 * Each run builds a small random two-level page table in one shared 16 MiB GuestRam: a few
 * page-directory slots, each empty (P clear, other bits random), a 4 MiB page (random flags,
 * P may be clear) or a page table with random flags whose few PTEs are random 32-bit words.
 * Then a random sequence of (va, write, user) accesses runs through both `walk()` and
 * `modelWalk` below, which must agree on the outcome, the translation, the error code and
 * every page-table word afterwards (A/D updates included). The VAs come mostly from the same
 * small pools of PD and PT indexes, so most accesses reach a leaf instead of an empty PDE.
 *
 * No fixed seed: the properties must hold whatever seed fast-check picks.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { GuestRam } from '../../src/hw/memory.js';
import {
  PTE_A,
  PTE_D,
  PTE_G,
  PTE_P,
  PTE_PCD,
  PTE_PS,
  PTE_PWT,
  PTE_RW,
  PTE_US,
  makeLargePde,
  makePte,
} from '../../src/hw/paging.js';
import { InternalError } from '../../src/lib/errors.js';
import { pfn } from '../../src/hw/types.js';
import { PF_PROT, PF_USER, PF_WRITE, WalkResult, walk } from '../../src/hw/walker.js';
import { PageTables, smallRam } from './helpers.js';

/** Runs per property. Each run walks up to 12 accesses over up to 4 tables: about 0.5 s for the file. */
const RUNS = 300;

/** Page-directory slots the random tables use: low, kernel half, and both ends. */
const PD_POOL = [0, 1, 0x300, 0x3ff] as const;
/** Page-table slots the random tables use. */
const PT_POOL = [0, 1, 0x2aa, 0x3ff] as const;

// ---------------------------------------------------------------------------------------------
// Random page tables

type PdeSpec =
  /** P clear; `raw` is the rest of the word (random frame and flags, the walker must ignore them). */
  | { kind: 'empty'; raw: number }
  /** A 4 MiB PDE: makeLargePde(frame, flags), P possibly clear. */
  | { kind: 'large'; frame: number; flags: number }
  /** A PDE (P set, PS clear, other flags random) pointing at a table holding `ptes` (undefined = 0). */
  | { kind: 'table'; flags: number; ptes: (number | undefined)[] };

interface Access {
  va: number;
  write: boolean;
  user: boolean;
}

const wordArb = fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff });
/** `arb` with P set three times in four, so that most walks get past the present check. */
const mostlyPresent = (arb: fc.Arbitrary<number>): fc.Arbitrary<number> =>
  fc.tuple(arb, fc.integer({ min: 0, max: 3 })).map(([entry, k]) => (k === 0 ? entry & ~PTE_P : entry | PTE_P));
const flagsArb = fc.integer({ min: 0, max: 0xfff });

const pdeSpecArb: fc.Arbitrary<PdeSpec> = fc.oneof(
  { weight: 1, arbitrary: wordArb.map((raw): PdeSpec => ({ kind: 'empty', raw: raw & ~PTE_P })) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('large' as const),
      frame: fc.integer({ min: 0, max: 1023 }).map((n) => n * 1024),
      flags: mostlyPresent(flagsArb),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('table' as const),
      flags: flagsArb.map((f) => (f | PTE_P) & ~PTE_PS),
      ptes: fc.array(fc.option(mostlyPresent(wordArb), { nil: undefined }), {
        minLength: PT_POOL.length,
        maxLength: PT_POOL.length,
      }),
    }),
  },
);

/** One spec per PD_POOL slot. */
const tablesArb = fc.array(pdeSpecArb, { minLength: PD_POOL.length, maxLength: PD_POOL.length });

const accessArb: fc.Arbitrary<Access> = fc.record({
  va: fc.oneof(
    { weight: 9, arbitrary: fc.tuple(fc.constantFrom(...PD_POOL), fc.constantFrom(...PT_POOL), fc.integer({ min: 0, max: 0xfff }))
      .map(([pd, pt, offset]) => (pd * 0x40_0000 + pt * 0x1000 + offset)) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff_ffff }) },
  ),
  write: fc.boolean(),
  user: fc.boolean(),
});

const accessesArb = fc.array(accessArb, { minLength: 1, maxLength: 12 });

interface Built {
  pt: PageTables;
  /** Physical frames holding the PD and every page table: everything a walk may write. */
  frames: number[];
  /** The model's copy of every non-zero entry, keyed by physical byte address. */
  mem: Map<number, number>;
}

function build(ram: GuestRam, specs: readonly PdeSpec[]): Built {
  const pt = new PageTables(ram);
  const frames = [pt.pd >>> 12];
  const mem = new Map<number, number>();
  const put = (pa: number, entry: number): void => {
    pt.write(pa, entry);
    mem.set(pa, entry | 0);
  };
  specs.forEach((spec, slot) => {
    const pdeAt = pt.pd + PD_POOL[slot]! * 4;
    switch (spec.kind) {
      case 'empty':
        put(pdeAt, spec.raw);
        return;
      case 'large':
        put(pdeAt, makeLargePde(pfn(spec.frame), spec.flags));
        return;
      case 'table': {
        const table = pt.allocFrame();
        frames.push(table);
        put(pdeAt, makePte(table, spec.flags));
        spec.ptes.forEach((pte, i) => {
          if (pte !== undefined) put(table * 4096 + PT_POOL[i]! * 4, pte);
        });
        return;
      }
      default: {
        const never: never = spec;
        throw new InternalError(`unhandled PDE spec ${JSON.stringify(never)}`);
      }
    }
  });
  return { pt, frames, mem };
}

// ---------------------------------------------------------------------------------------------
// The reference model: the i386 walk as the SDM states it, over a Map of entries.

type Outcome =
  | { kind: 'fault'; errorCode: number }
  | { kind: 'ok'; pfn: number; flags: number; large: boolean; pdeAt: number; leafAt: number };

const has = (entry: number, bit: number): boolean => (entry & bit) !== 0;

/**
 * Translate `va` through the PD at `pd` in `mem` (missing words are 0). On success, sets A on
 * the PDE and the leaf, and D on the leaf for a write, in `mem`; on a fault changes nothing.
 */
function modelWalk(mem: Map<number, number>, pd: number, va: number, write: boolean, user: boolean): Outcome {
  const read = (pa: number): number => mem.get(pa) ?? 0;
  const access = (write ? PF_WRITE : 0) | (user ? PF_USER : 0);

  const pdeAt = pd + Math.floor(va / 0x40_0000) * 4;
  const pde = read(pdeAt);
  if (!has(pde, PTE_P)) return { kind: 'fault', errorCode: access };

  const large = has(pde, PTE_PS);
  const pageIndex = Math.floor(va / 0x1000) % 1024;
  const leafAt = large ? pdeAt : Math.floor((pde >>> 0) / 0x1000) * 0x1000 + pageIndex * 4;
  const leaf = large ? pde : read(leafAt);
  if (!has(leaf, PTE_P)) return { kind: 'fault', errorCode: access };

  // Effective permissions: allowed only if every level allows (CR0.WP = 1: supervisor too).
  const rw = has(pde, PTE_RW) && has(leaf, PTE_RW);
  const us = has(pde, PTE_US) && has(leaf, PTE_US);
  if ((write && !rw) || (user && !us)) return { kind: 'fault', errorCode: access | PF_PROT };

  mem.set(pdeAt, (pde | PTE_A) | 0);
  const newLeaf = (read(leafAt) | PTE_A | (write ? PTE_D : 0)) | 0;
  mem.set(leafAt, newLeaf);

  const frame = large
    ? Math.floor((pde >>> 0) / 0x40_0000) * 1024 + pageIndex
    : Math.floor((leaf >>> 0) / 0x1000);
  const passed = newLeaf & (PTE_P | PTE_PWT | PTE_PCD | PTE_A | PTE_D | PTE_G);
  const flags = passed | (rw ? PTE_RW : 0) | (us ? PTE_US : 0);
  return { kind: 'ok', pfn: frame, flags, large, pdeAt, leafAt };
}

// ---------------------------------------------------------------------------------------------

/** A copy of the words of `frames`, to see which words a walk changed. */
function snapshot(ram: GuestRam, frames: readonly number[]): Int32Array[] {
  return frames.map((f) => ram.i32.slice(f * 1024, f * 1024 + 1024));
}

/** Physical addresses of the words that differ between two snapshots of `frames`. */
function changedWords(frames: readonly number[], before: Int32Array[], after: Int32Array[]): number[] {
  const changed: number[] = [];
  frames.forEach((f, k) => {
    for (let w = 0; w < 1024; w++) if (before[k]![w] !== after[k]![w]) changed.push(f * 4096 + w * 4);
  });
  return changed;
}

const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;

describe('walker properties', () => {
  let ram: GuestRam;

  beforeAll(() => {
    ram = smallRam();
  });

  it('walk() agrees with the reference model on translation, flags and fault error code for random tables and accesses', () => {
    fc.assert(
      fc.property(tablesArb, accessesArb, (specs, accesses) => {
        const { pt, mem } = build(ram, specs);
        const out = new WalkResult();
        for (const { va, write, user } of accesses) {
          const expected = modelWalk(mem, pt.pd, va, write, user);
          const ok = walk(ram.i32, pt.pd, va, write, user, out);
          const where = `va ${hex(va)} write=${write} user=${user}`;
          if (expected.kind === 'fault') {
            expect(ok, where).toBe(false);
            expect(out.errorCode, where).toBe(expected.errorCode);
          } else {
            expect(ok, where).toBe(true);
            expect({ pfn: out.pfn, flags: out.flags, large: out.large, pteAddr: out.pteAddr, errorCode: out.errorCode }, where)
              .toEqual({ pfn: expected.pfn, flags: expected.flags, large: expected.large, pteAddr: expected.leafAt, errorCode: 0 });
          }
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('a successful walk sets A on the PDE and the leaf, D on the leaf iff it writes, and writes no other word', () => {
    fc.assert(
      fc.property(tablesArb, accessesArb, (specs, accesses) => {
        const { pt, frames, mem } = build(ram, specs);
        const out = new WalkResult();
        for (const { va, write, user } of accesses) {
          const before = snapshot(ram, frames);
          const expected = modelWalk(mem, pt.pd, va, write, user);
          if (expected.kind === 'fault') {
            walk(ram.i32, pt.pd, va, write, user, out);
            continue;
          }
          const dirtyBefore = has(pt.read(expected.leafAt), PTE_D);
          expect(walk(ram.i32, pt.pd, va, write, user, out)).toBe(true);

          const pde = pt.read(expected.pdeAt);
          const leaf = pt.read(expected.leafAt);
          const where = `va ${hex(va)} write=${write} user=${user} pde ${hex(pde)} leaf ${hex(leaf)}`;
          expect(has(pde, PTE_A), where).toBe(true);
          expect(has(leaf, PTE_A), where).toBe(true);
          // D: set by a write; a read leaves it as it was (it never clears or sets it).
          expect(has(leaf, PTE_D), where).toBe(write || dirtyBefore);
          // Every word of the PD and the tables matches the model: only the PDE and leaf moved.
          const after = snapshot(ram, frames);
          for (const pa of changedWords(frames, before, after)) {
            expect([expected.pdeAt, expected.leafAt], `${where}: wrote ${hex(pa)}`).toContain(pa);
          }
          for (const [pa, entry] of mem) expect(pt.read(pa), `${where}: word ${hex(pa)}`).toBe(entry);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('a faulting walk changes no page-table word', () => {
    fc.assert(
      fc.property(tablesArb, accessesArb, (specs, accesses) => {
        const { pt, frames, mem } = build(ram, specs);
        const out = new WalkResult();
        for (const { va, write, user } of accesses) {
          const before = snapshot(ram, frames);
          const ok = walk(ram.i32, pt.pd, va, write, user, out);
          const expected = modelWalk(mem, pt.pd, va, write, user);
          expect(ok).toBe(expected.kind === 'ok');
          if (ok) continue;
          const changed = changedWords(frames, before, snapshot(ram, frames)).map(hex);
          expect(changed, `va ${hex(va)} write=${write} user=${user} error ${out.errorCode}`).toEqual([]);
        }
      }),
      { numRuns: RUNS },
    );
  });
});
