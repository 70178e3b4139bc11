import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/lib/errors.js';
import { parseBenchArgs } from '../../bench/lib/args.js';
import { loadCase } from '../../bench/cases/load.js';
import { soakCase } from '../../bench/cases/soak.js';

const parseLoad = (...argv: string[]): ReturnType<typeof parseBenchArgs> => parseBenchArgs(argv, 'load', loadCase.options);
const parseSoak = (...argv: string[]): ReturnType<typeof parseBenchArgs> => parseBenchArgs(argv, 'soak', soakCase.options);

/** The ConfigError message parsing `argv` throws. */
function refusal(parse: () => unknown): string {
  try {
    parse();
  } catch (e) {
    if (e instanceof ConfigError) return e.message;
    throw e;
  }
  throw new Error('no ConfigError');
}

describe('load and soak options', () => {
  it('parse comma-separated vCPU counts, backends and workloads in the order given', () => {
    expect(parseLoad('--cpus', '64,8', '--backends=kvm,native', '--workloads', 'idle,touch', '--seconds', '1.5', '--pcpus', '0'))
      .toEqual({ cpus: [64, 8], backends: ['kvm', 'native'], workloads: ['idle', 'touch'], seconds: 1.5, pcpus: 0 });
  });

  it('take fractional minutes for a soak', () => {
    expect(parseSoak('--minutes', '0.2')).toEqual({ minutes: 0.2 });
  });

  it('refuse bad lists and values with one line naming the option', () => {
    expect(refusal(() => parseLoad('--cpus', '0'))).toBe('--cpus: must be an integer from 1 to 64, got 0');
    expect(refusal(() => parseLoad('--cpus', '4,,8'))).toMatch(/^--cpus: must be a comma-separated list/);
    expect(refusal(() => parseLoad('--cpus', '4,4'))).toBe('--cpus: 4 given twice');
    expect(refusal(() => parseLoad('--workloads', 'touch,nope'))).toMatch(/^--workloads: unknown workload nope; known: tlb_flush1, /);
    expect(refusal(() => parseLoad('--backends', 'native,bochs'))).toMatch(/^--backends: unknown backend bochs/);
    expect(refusal(() => parseLoad('--pcpus', '65'))).toBe('--pcpus: must be an integer from 0 to 64, got 65');
    expect(refusal(() => parseSoak('--minutes', '-1'))).toMatch(/^--minutes: /);
    expect(refusal(() => parseSoak('--minutes', '1441'))).toMatch(/^--minutes: must be a number above 0 and at most 1440/);
  });

  it('keep --minutes to the soak', () => {
    expect(refusal(() => parseLoad('--minutes', '1'))).toMatch(/^--minutes: not an option of load/);
  });
});
