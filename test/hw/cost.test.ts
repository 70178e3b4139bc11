/**
 * The cost model: the default table and its sources, parsing a user's --cost table, and the
 * per-vCPU CostMeter's counts and cycles. Unit tests, main thread, no workers.
 */
import { describe, expect, it } from 'vitest';
import { COST_KEYS, CostMeter, DEFAULT_COSTS, MAX_COST_CYCLES, VmExitReason, defaultCostTable, parseCostTable, type CostTable } from '../../src/hw/cost.js';
import { VcpuCounters } from '../../src/stats/counters.js';
import { configError } from '../helpers/errors.js';


describe('the default cost table', () => {
  it('names a source for every default', () => {
    for (const key of COST_KEYS) {
      const { cycles, source } = DEFAULT_COSTS[key];
      expect(Number.isFinite(cycles) && cycles >= 0 && cycles <= MAX_COST_CYCLES, key).toBe(true);
      // A published figure names who and where (a dated post or a commit); anything else says
      // it is pvemu's estimate.
      expect(source, key).toMatch(/pvemu estimate|\b(19|20)\d\d\b|commit [0-9a-f]{12}/);
      expect(source.length, key).toBeGreaterThan(20);
    }
  });

  it('is what defaultCostTable gives, key for key', () => {
    const table = defaultCostTable();
    expect(Object.keys(table)).toEqual(COST_KEYS);
    for (const key of COST_KEYS) expect(table[key]).toBe(DEFAULT_COSTS[key].cycles);
  });
});

describe('parseCostTable', () => {
  it('keeps every default for an empty object', () => {
    expect(parseCostTable('{}', 'c.json')).toEqual(defaultCostTable());
  });

  it('changes only the keys a table gives', () => {
    const table = parseCostTable('{ "trap": 4000, "walkRef": 2 }', 'c.json');
    const defaults = defaultCostTable();
    expect(table.trap).toBe(4000);
    expect(table.walkRef).toBe(2);
    for (const key of COST_KEYS.filter((k) => k !== 'trap' && k !== 'walkRef')) expect(table[key], key).toBe(defaults[key]);
    expect(Object.isFrozen(table)).toBe(true);
  });

  it('accepts the range limits', () => {
    expect(parseCostTable(`{"eoi": 0, "trap": ${MAX_COST_CYCLES}}`, 'c.json')).toMatchObject({ eoi: 0, trap: MAX_COST_CYCLES });
  });

  const bad: { what: string; text: string; message: string | RegExp }[] = [
    { what: 'an unknown key', text: '{"trapp": 5}', message: /^--cost: "c\.json": unknown cost "trapp"; known: trap, hypercall, .*shadowSync, instruction, operation, memoryAccess, syscall, pageFault, signal, pause$/ },
    { what: '__proto__ (an own key after JSON.parse)', text: '{"__proto__": 5}', message: /^--cost: "c\.json": unknown cost "__proto__"; known: / },
    { what: 'a string value', text: '{"trap": "5"}', message: `--cost: "c.json": trap must be a whole number of cycles from 0 to ${MAX_COST_CYCLES}, got "5"` },
    { what: 'a null value', text: '{"trap": null}', message: /trap must be a whole number of cycles .*, got null$/ },
    { what: 'a boolean value', text: '{"eoi": true}', message: /eoi must be a whole number of cycles .*, got true$/ },
    { what: 'an object value', text: '{"eoi": {"cycles": 5}}', message: /eoi must be a whole number of cycles .*, got \{"cycles":5\}$/ },
    { what: 'a fractional value', text: '{"trap": 1.5}', message: /trap must be a whole number of cycles from 0 to \d+, got 1\.5$/ },
    { what: 'a negative value', text: '{"ipiSend": -1}', message: /ipiSend must be a whole number of cycles from 0 to \d+, got -1$/ },
    { what: 'a value too large', text: '{"ipiSend": 1e12}', message: /ipiSend must be a whole number of cycles .*, got 1000000000000$/ },
    { what: 'a value overflowing to Infinity', text: '{"ipiSend": 1e999}', message: /ipiSend must be a whole number of cycles .*, got null$/ },
    { what: 'an array', text: '[1, 2]', message: '--cost: "c.json" must hold a JSON object of cost names to cycles, got an array' },
    { what: 'a number', text: '42', message: /must hold a JSON object .*, got a number$/ },
    { what: 'a string', text: '"trap"', message: /must hold a JSON object .*, got a string$/ },
    { what: 'null', text: 'null', message: /must hold a JSON object .*, got null$/ },
    { what: 'invalid JSON', text: '{"trap": 5,}', message: /^--cost: "c\.json" is not valid JSON \(.+\)$/ },
    { what: 'invalid JSON over several lines', text: '{\n  "trap": 5\n  "eoi": 1\n}', message: /^--cost: "c\.json" is not valid JSON/ },
    { what: 'an empty file', text: '', message: /^--cost: "c\.json" is not valid JSON/ },
  ];

  it.each(bad)('rejects $what with one line naming --cost', ({ text, message }) => {
    const err = configError(() => parseCostTable(text, 'c.json'));
    expect(err.option).toBe('--cost');
    expect(err.message).not.toContain('\n');
    if (typeof message === 'string') expect(err.message).toBe(message);
    else expect(err.message).toMatch(message);
  });
});

describe('CostMeter', () => {
  function meter(overrides: Partial<Record<keyof CostTable, number>> = {}): { m: CostMeter; c: VcpuCounters; t: CostTable } {
    const c = new VcpuCounters();
    const t: CostTable = { ...defaultCostTable(), ...overrides };
    return { m: new CostMeter(t, c), c, t };
  }

  it('prices a trap as a trap and counts it as a trap and a VM exit', () => {
    const { m, c, t } = meter({ trap: 3000, vmexit: 2000 });
    m.trap(VmExitReason.PtWrite);
    expect(c).toMatchObject({ traps: 1, vmexitPtWrite: 1, modeledCycles: t.trap });
  });

  it('prices a hypercall and each entry it carries', () => {
    const { m, c, t } = meter();
    m.hypercall(32);
    expect(c).toMatchObject({ hypercalls: 1, hypercallEntries: 32, vmexitHypercall: 1, traps: 0 });
    expect(c.modeledCycles).toBe(t.hypercall + 32 * t.hypercallEntry);
  });

  it('counts every VM exit reason in its own counter', () => {
    const { m, c, t } = meter();
    const reasons = [
      VmExitReason.Hypercall, VmExitReason.Cr3, VmExitReason.Invlpg, VmExitReason.Apic,
      VmExitReason.PtWrite, VmExitReason.HiddenFault, VmExitReason.Halt, VmExitReason.Preemption,
    ];
    for (const r of reasons) m.vmexit(r);
    expect(c).toMatchObject({
      vmexitHypercall: 1, vmexitCr3: 1, vmexitInvlpg: 1, vmexitApic: 1,
      vmexitPtWrite: 1, vmexitHiddenFault: 1, vmexitHalt: 1, vmexitPreemption: 1,
    });
    expect(c.modeledCycles).toBe(reasons.length * t.vmexit);
  });

  it('counts shadow syncs, hidden faults, rejections and deferred flushes', () => {
    const { m, c, t } = meter();
    m.shadowSync(3);
    m.hiddenFault();
    m.rejected();
    m.deferredFlush();
    expect(c).toMatchObject({ shadowSyncs: 3, hiddenFaults: 1, vmexitHiddenFault: 1, rejected: 1, deferredFlushes: 1 });
    expect(c.modeledCycles).toBe(3 * t.shadowSync + t.vmexit);
  });
});
