/**
 * Property tests for src/hw/tlb.ts against a model of its observable semantics. vitest
 * thread only.
 *
 * The model is a Map from (size, tag, owner) to the translations inserted there since the last
 * flush that covered them; owner is the PCID, or "global" for an entry inserted with PTE_G.
 * The real TLB evicts (a small geometry makes it evict often) and may replace a visible entry
 * of another owner, so the properties are one-sided: whatever `lookup` returns must be an entry
 * the model holds as valid, never a flushed one, and must be the latest translation inserted
 * under its key, never a replaced one. When the model holds both an entry of the lookup's own
 * PCID and a global one for the page, or both a 4 KiB and a 4 MiB one, either may answer: x86
 * leaves that choice to the hardware too. "Latest" holds when a page is global in every PCID
 * or in none, as pvemu's kernel maps pages, and also when a page is global under one PCID only
 * (the case that found a bug in chooseWay; its counterexample is kept as a fixed example).
 *
 * Operations come from small pools of pages, PCIDs and geometries so that the same set, the
 * same page under several PCIDs, and global entries keep colliding. No fixed seed: the
 * properties must hold whatever seed fast-check picks.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InternalError } from '../../src/lib/errors.js';
import { PTE_G, PTE_P } from '../../src/hw/paging.js';
import { DEFAULT_TLB, MAX_PCID, Tlb, type TlbGeometry } from '../../src/hw/tlb.js';
import { VcpuCounters } from '../../src/stats/counters.js';

/** Runs per property; each run is up to 60 operations: well under a second for the file. */
const RUNS = 400;

const GEOMETRIES: readonly TlbGeometry[] = [
  { sets: 1, ways: 1, largeSets: 1, largeWays: 1 },
  { sets: 2, ways: 2, largeSets: 1, largeWays: 2 },
  { sets: 4, ways: 3, largeSets: 2, largeWays: 2 },
  DEFAULT_TLB,
];
const PCIDS = [0, 1, 2, MAX_PCID] as const;
/**
 * 4 MiB regions (0x3ff: the kernel half) and 4 KiB pages within them. Six pages in all, so that
 * about a third of lookups hit; pages 0 and 2 share a set in the 2-set geometry.
 */
const LARGE_POOL = [0, 0x3ff] as const;
const PAGE_POOL = [0, 1, 2] as const;

type Op =
  | { kind: 'insert'; va: number; pcid: number; pfn: number; flags: number; large: boolean }
  | { kind: 'lookup'; va: number; pcid: number }
  | { kind: 'flushAll' }
  | { kind: 'flushAllIncludingGlobal' }
  | { kind: 'flushPcid'; pcid: number }
  | { kind: 'flushSingle'; va: number; pcid: number };
type InsertOp = Extract<Op, { kind: 'insert' }>;

const vaArb = fc
  .tuple(fc.constantFrom(...LARGE_POOL), fc.constantFrom(...PAGE_POOL), fc.integer({ min: 0, max: 0xfff }))
  .map(([region, page, offset]) => region * 0x40_0000 + page * 0x1000 + offset);
const pcidArb = fc.constantFrom(...PCIDS);

/** How an insert's G bit is chosen. */
type GlobalRule =
  /** Any: the same page may be global under one PCID and not under another. */
  | 'mixed'
  /**
   * By the page alone, as pvemu's kernel maps them: region 0x3ff (the kernel half) is global
   * in every address space, the others never are.
   */
  | 'by-page';

const withGlobalRule = (rule: GlobalRule, op: InsertOp): InsertOp => {
  switch (rule) {
    case 'mixed':
      return op;
    case 'by-page':
      return { ...op, flags: (op.flags & ~PTE_G) | (largeTag(op.va) === 0x3ff ? PTE_G : 0) };
    default: {
      const never: never = rule;
      throw new InternalError(`unhandled global rule ${JSON.stringify(never)}`);
    }
  }
};

function insertArb(rule: GlobalRule): fc.Arbitrary<InsertOp> {
  return fc
    .record({
      kind: fc.constant('insert' as const),
      va: vaArb,
      pcid: pcidArb,
      pfn: fc.integer({ min: 0, max: 0xfffff }),
      // Any 12 flag bits; G (bit 8) set in about half of them unless the rule decides it.
      flags: fc.integer({ min: 0, max: 0xfff }),
      large: fc.boolean(),
    })
    .map((op) => withGlobalRule(rule, op));
}

function opArb(rule: GlobalRule): fc.Arbitrary<Op> {
  return fc.oneof(
    { weight: 6, arbitrary: insertArb(rule) },
    { weight: 6, arbitrary: fc.record({ kind: fc.constant('lookup' as const), va: vaArb, pcid: pcidArb }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'flushAll' as const }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'flushAllIncludingGlobal' as const }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('flushPcid' as const), pcid: pcidArb }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('flushSingle' as const), va: vaArb, pcid: pcidArb }) },
  );
}

interface Scenario {
  geometry: TlbGeometry;
  ops: Op[];
}

const scenarioArb = (rule: GlobalRule): fc.Arbitrary<Scenario> =>
  fc.record({
    geometry: fc.constantFrom(...GEOMETRIES),
    // size 'max': histories of up to 60 operations, not fast-check's default of about ten.
    ops: fc.array(opArb(rule), { minLength: 1, maxLength: 60, size: 'max' }),
  });

/**
 * A shortest history that broke "latest" under the 'mixed' rule before chooseWay was fixed. Random search finds this shape too (about one run in ten of RUNS, shrinking to the
 * same five operations on 4 MiB entries in DEFAULT_TLB), too rarely to rely on, so it runs as
 * a fixed example. One set of two ways, page 0x1000:
 *   0. pcid 2 caches X (non-global)                      -> way 0
 *   1. pcid 1 caches G (global); X is not visible to it   -> way 1
 *   2. pcid 2 caches G' (global): chooseWay stops at the first way pcid 2 can see, X, so G'
 *      replaces X in way 0 and G stays in way 1: two global entries for one page
 *   3. pcid 0 caches Z (non-global): its first visible way is G' in way 0, which Z replaces
 *   4. pcid 1 looks up 0x1000: way 0 is Z (pcid 0), way 1 is G -> returns G, not G'
 * (Filling the set with another page instead of step 3 evicts way 0 the same way.)
 */
const SUPERSEDED_GLOBAL: Scenario = {
  geometry: { sets: 1, ways: 2, largeSets: 1, largeWays: 1 },
  ops: [
    { kind: 'insert', va: 0x1000, pcid: 2, pfn: 0xaaa, flags: PTE_P, large: false },
    { kind: 'insert', va: 0x1000, pcid: 1, pfn: 0xbbb, flags: PTE_P | PTE_G, large: false },
    { kind: 'insert', va: 0x1000, pcid: 2, pfn: 0xccc, flags: PTE_P | PTE_G, large: false },
    { kind: 'insert', va: 0x1000, pcid: 0, pfn: 0xddd, flags: PTE_P, large: false },
    { kind: 'lookup', va: 0x1000, pcid: 1 },
  ],
};

// ---------------------------------------------------------------------------------------------
// The model

const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;

const GLOBAL = 'global';
type Owner = number | typeof GLOBAL;

interface Translation {
  /** The 4 KiB frame for a small entry; the first frame of the 4 MiB frame for a large one. */
  pfn: number;
  flags: number;
  /** Position of the insert in the run, for messages. */
  seq: number;
}

interface Candidate {
  /** The frame `lookup` would return for the looked-up page. */
  pfn: number;
  flags: number;
  latest: boolean;
  describe: string;
}

const keyOf = (large: boolean, tag: number, owner: Owner): string => `${large ? '4M' : '4K'} tag ${hex(tag)} ${owner}`;
const smallTag = (va: number): number => va >>> 12;
const largeTag = (va: number): number => va >>> 22;

interface Slot {
  owner: Owner;
  /** Translations inserted under this key since the last flush covering it, oldest first. */
  inserted: Translation[];
}

class TlbModel {
  private readonly slots = new Map<string, Slot>();

  insert(op: InsertOp, seq: number): void {
    const owner: Owner = (op.flags & PTE_G) !== 0 ? GLOBAL : op.pcid;
    const key = keyOf(op.large, op.large ? largeTag(op.va) : smallTag(op.va), owner);
    const slot = this.slots.get(key) ?? { owner, inserted: [] };
    slot.inserted.push({ pfn: op.large ? op.pfn - (op.pfn % 1024) : op.pfn, flags: op.flags, seq });
    this.slots.set(key, slot);
  }

  /** Everything `lookup(vpn, pcid)` may return: each valid translation of the page visible to pcid. */
  candidates(va: number, pcid: number): Candidate[] {
    const found: Candidate[] = [];
    for (const large of [false, true]) {
      const tag = large ? largeTag(va) : smallTag(va);
      for (const owner of [pcid, GLOBAL] as const) {
        const key = keyOf(large, tag, owner);
        const inserted = this.slots.get(key)?.inserted ?? [];
        inserted.forEach((t, i) => {
          found.push({
            pfn: large ? t.pfn + (smallTag(va) % 1024) : t.pfn,
            flags: t.flags,
            latest: i === inserted.length - 1,
            describe: `${key} from op ${t.seq}`,
          });
        });
      }
    }
    return found;
  }

  flushAll(): void {
    for (const [key, slot] of this.slots) if (slot.owner !== GLOBAL) this.slots.delete(key);
  }

  flushAllIncludingGlobal(): void {
    this.slots.clear();
  }

  flushPcid(pcid: number): void {
    for (const [key, slot] of this.slots) if (slot.owner === pcid) this.slots.delete(key);
  }

  flushSingle(va: number, pcid: number): void {
    for (const owner of [pcid, GLOBAL] as const) {
      this.slots.delete(keyOf(false, smallTag(va), owner));
      this.slots.delete(keyOf(true, largeTag(va), owner));
    }
  }
}

// ---------------------------------------------------------------------------------------------

type LookupCheck = (hit: { pfn: number; flags: number } | null, allowed: Candidate[], where: string) => void;

/**
 * Apply `ops` to a real TLB and the model in step; at each lookup call `check` with what the
 * TLB returned (null on a miss) and what the model allows.
 */
function replay(tlb: Tlb, model: TlbModel, ops: readonly Op[], check: LookupCheck): void {
  ops.forEach((op, seq) => {
    switch (op.kind) {
      case 'insert':
        tlb.insert(op.va, op.pcid, op.pfn, op.flags, op.large);
        model.insert(op, seq);
        return;
      case 'lookup': {
        const got = tlb.lookup(smallTag(op.va), op.pcid);
        const hit = got === -1 ? null : { pfn: got, flags: tlb.hitFlags };
        check(hit, model.candidates(op.va, op.pcid), `op ${seq}: lookup va ${hex(op.va)} pcid ${op.pcid}`);
        return;
      }
      case 'flushAll':
        tlb.flushAll();
        model.flushAll();
        return;
      case 'flushAllIncludingGlobal':
        tlb.flushAllIncludingGlobal();
        model.flushAllIncludingGlobal();
        return;
      case 'flushPcid':
        tlb.flushPcid(op.pcid);
        model.flushPcid(op.pcid);
        return;
      case 'flushSingle':
        tlb.flushSingle(op.va, op.pcid);
        model.flushSingle(op.va, op.pcid);
        return;
      default: {
        const never: never = op;
        throw new InternalError(`unhandled op ${JSON.stringify(never)}`);
      }
    }
  });
}

const fresh = (geometry: TlbGeometry): { tlb: Tlb; model: TlbModel } => ({
  tlb: new Tlb(geometry, new VcpuCounters()),
  model: new TlbModel(),
});

const describeAllowed = (allowed: Candidate[]): string =>
  allowed.map((c) => `${c.describe} pfn ${hex(c.pfn)} flags ${hex(c.flags)}${c.latest ? ' (latest)' : ''}`).join('; ') || 'none';

/** Property: every hit is a translation inserted since the last flush that covered it. */
const neverFlushed = ({ geometry, ops }: Scenario): void => {
  const { tlb, model } = fresh(geometry);
  replay(tlb, model, ops, (hit, allowed, where) => {
    if (hit === null) return;
    const match = allowed.some((c) => c.pfn === hit.pfn && c.flags === hit.flags);
    expect(match, `${where} hit pfn ${hex(hit.pfn)} flags ${hex(hit.flags)}; allowed: ${describeAllowed(allowed)}`).toBe(true);
  });
};

/** Property: every hit is the latest translation inserted under its (size, page, owner). */
const neverSuperseded = ({ geometry, ops }: Scenario): void => {
  const { tlb, model } = fresh(geometry);
  replay(tlb, model, ops, (hit, allowed, where) => {
    if (hit === null) return;
    const match = allowed.some((c) => c.latest && c.pfn === hit.pfn && c.flags === hit.flags);
    expect(match, `${where} hit pfn ${hex(hit.pfn)} flags ${hex(hit.flags)}; allowed: ${describeAllowed(allowed)}`).toBe(true);
  });
};

describe('tlb properties', () => {
  it('lookup never returns a flushed translation: every hit was inserted after the last flush covering it', () => {
    fc.assert(fc.property(scenarioArb('mixed'), neverFlushed), { numRuns: RUNS });
  });

  it('lookup returns only the latest translation for a page in its PCID or globally, when a page is global in every PCID or in none', () => {
    fc.assert(fc.property(scenarioArb('by-page'), neverSuperseded), { numRuns: RUNS });
  });

  // This property found a bug in chooseWay (since fixed): when one page was cached non-global
  // under one PCID and global under another, an insert could leave two global entries for the
  // page and a later lookup return the superseded one. SUPERSEDED_GLOBAL, that counterexample,
  // runs first so a regression fails deterministically.
  it('lookup returns only the latest translation even when a page is global under one PCID and not another', () => {
    fc.assert(fc.property(scenarioArb('mixed'), neverSuperseded), { numRuns: RUNS, examples: [[SUPERSEDED_GLOBAL]] });
  });

  it('right after an insert, a lookup of that va under that PCID hits, and a 4 KiB insert is exactly what it returns', () => {
    fc.assert(
      fc.property(scenarioArb('mixed'), insertArb('mixed'), ({ geometry, ops }, insert) => {
        const { tlb, model } = fresh(geometry);
        // Any history first, then the insert under test.
        replay(tlb, model, ops, () => {});
        tlb.insert(insert.va, insert.pcid, insert.pfn, insert.flags, insert.large);
        model.insert(insert, ops.length);
        const got = tlb.lookup(smallTag(insert.va), insert.pcid);
        const where = `after insert ${JSON.stringify(insert)}`;
        expect(got, where).not.toBe(-1);
        const allowed = model.candidates(insert.va, insert.pcid);
        expect(allowed.some((c) => c.latest && c.pfn === got && c.flags === tlb.hitFlags), `${where}: ${describeAllowed(allowed)}`).toBe(true);
        if (!insert.large) {
          // The small array is searched first, in the same order insert chose its way.
          expect({ pfn: got, flags: tlb.hitFlags }, where).toEqual({ pfn: insert.pfn, flags: insert.flags });
        }
      }),
      { numRuns: RUNS },
    );
  });
});
