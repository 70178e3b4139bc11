/**
 * A library caller's MachineConfig gets the checks the CLI's options get, before anything boots:
 * one ConfigError naming the field and what it allows. (No machine is started here: every case
 * is refused, or accepted, by the constructor.)
 */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/lib/errors.js';
import { defaultCostTable } from '../../src/hw/cost.js';
import { defaultConfig, type MachineConfig } from '../../src/machine/config.js';
import { Machine, judgeRun } from '../../src/machine/machine.js';

function refusal(config: MachineConfig): ConfigError {
  try {
    new Machine(config);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error(`accepted ${JSON.stringify(config)}`);
}

describe('MachineConfig validation', () => {
  it.each([
    { what: 'ops 0 (would run for ever)', config: { ...defaultConfig(), ops: 0 }, field: 'ops', message: /^ops: must be an integer from 1 to \d+, got 0$/ },
    { what: 'fractional ops', config: { ...defaultConfig(), ops: 2.5 }, field: 'ops', message: /got 2\.5$/ },
    { what: 'more ops than the shared count holds', config: { ...defaultConfig(), ops: 2 ** 31 }, field: 'ops', message: /^ops: must be an integer from 1 to 1073741824, got 2147483648$/ },
    { what: 'seconds -1', config: { ...defaultConfig(), seconds: -1 }, field: 'seconds', message: /^seconds: must be a number greater than 0 and at most 3600, got -1$/ },
    { what: 'seconds 0', config: { ...defaultConfig(), seconds: 0 }, field: 'seconds', message: /got 0$/ },
    { what: 'seconds Infinity', config: { ...defaultConfig(), seconds: Infinity }, field: 'seconds', message: /got Infinity$/ },
    { what: 'no stop condition', config: { ...defaultConfig(), seconds: undefined }, field: 'seconds', message: /^seconds: or ops must be given/ },
    { what: 'watchdogMs 0', config: { ...defaultConfig(), watchdogMs: 0 }, field: 'watchdogMs', message: /^watchdogMs: must be an integer from 100 to 600000, got 0$/ },
    { what: 'memBytes not a page multiple', config: { ...defaultConfig(), memBytes: 64 * 1024 * 1024 + 1 }, field: 'memBytes', message: /got 67108865$/ },
    { what: 'a fractional cost', config: { ...defaultConfig(), costs: { trap: 1.5 } }, field: 'costs', message: /^costs: trap must be a whole number of cycles from 0 to \d+, got 1\.5$/ },
    { what: 'an unknown cost', config: { ...defaultConfig(), costs: { trapp: 5 } as unknown as MachineConfig['costs'] }, field: 'costs', message: /unknown cost "trapp"/ },
    { what: 'a fractional workload parameter', config: { ...defaultConfig(), workload: 'touch', params: { pages: 1.5 } }, field: '--param', message: /pages must be an integer from 1 to \d+, got 1\.5$/ },
  ])('refuses $what, naming the field', ({ config, field, message }) => {
    const e = refusal(config);
    expect(e.option).toBe(field);
    expect(e.message).toMatch(message);
  });

  it('completes a partial cost table with the defaults, as the CLI does a partial cost file', () => {
    const m = new Machine({ ...defaultConfig(), costs: { trap: 3000 } });
    expect(m.config.costs).toEqual({ ...defaultCostTable(), trap: 3000 });
  });
});

describe('judgeRun', () => {
  const workload = { workload: 'tlb_flush1', cpus: 32 };
  const clean = { exitStatus: 0, killed: 0, ops: 10, elapsedNs: 2e8 };

  it('passes a workload that exited cleanly and did work', () => {
    expect(judgeRun(workload, clean, 2)).toEqual({ passed: true, message: 'tlb_flush1: self-check passed' });
  });

  it('fails a workload run that completed no operations, saying so and why it may have happened', () => {
    const check = judgeRun(workload, { ...clean, ops: 0 }, 2);
    expect(check.passed).toBe(false);
    expect(check.message).toBe('tlb_flush1: completed no operations in 0.20 s of work; 32 vCPUs on 2 host cores may need more --seconds to get past boot');
    expect(judgeRun({ ...workload, cpus: 2 }, { ...clean, ops: 0 }, 2).message).toMatch(/give it more --seconds$/);
  });

  it('judges a program by its exit status alone (it counts no workload operations)', () => {
    const program = { ...workload, program: { name: 'p.elf', bytes: new Uint8Array(0), argv: ['p.elf'], envp: [] } };
    expect(judgeRun(program, { ...clean, ops: 0 }, 2).passed).toBe(true);
    expect(judgeRun(program, { ...clean, ops: 0, exitStatus: 3 }, 2).message).toBe('tlb_flush1: init exited with status 3');
  });

  it('names the workload\'s own FAIL line before anything else', () => {
    expect(judgeRun(workload, { ...clean, exitStatus: 1, failLine: 'FAIL: read back 1' }, 2)).toEqual({ passed: false, message: 'FAIL: read back 1' });
  });
});

describe('judgeRun and the --seconds limit', () => {
  it('says a program was killed at its --seconds limit rather than only its exit status', () => {
    const program = { workload: 'spin.elf', cpus: 1, seconds: 3, program: { name: 'spin.elf', bytes: new Uint8Array(0), argv: ['spin.elf'], envp: [] } };
    const check = judgeRun(program, { exitStatus: 137, killed: 0, ops: 0, elapsedNs: 3e9, killLine: 'init: killed: SIGKILL at the stop request' }, 2);
    expect(check).toEqual({ passed: false, message: 'spin.elf: killed at the --seconds limit (3 s) before it exited (status 137)' });
  });
});
