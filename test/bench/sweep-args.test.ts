/**
 * The sweep's and merge's options: what parses, and the one-line error naming the option for
 * each kind of bad input. Unit tests, no workers.
 */
import { describe, expect, it } from 'vitest';
import { parseBenchArgs, type OptionName } from '../../bench/lib/args.js';
import { configError } from '../helpers/errors.js';

const SWEEP: readonly OptionName[] = ['backends', 'cpus', 'workloads', 'reps', 'seconds', 'ops', 'shard', 'out', 'json'];
const sweep = (argv: string[]) => parseBenchArgs(argv, 'sweep', SWEEP);
const merge = (argv: string[]) => parseBenchArgs(argv, 'merge', ['out', 'json'], 'DIR...');

describe('sweep options', () => {
  it('parse lists, counts, the shard and the output directory', () => {
    expect(sweep(['--backends', 'native,kvm', '--cpus=1,2,4,8', '--workloads', 'tlb_flush1,ebizzy', '--reps', '3', '--ops', '500', '--shard', '2/4', '--out', 'res'])).toEqual({
      backends: ['native', 'kvm'], cpus: [1, 2, 4, 8], workloads: ['tlb_flush1', 'ebizzy'], reps: 3, ops: 500, shard: { index: 2, count: 4 }, out: 'res',
    });
  });

  const bad: [string[], string, RegExp][] = [
    [['--backends', 'native,vmware'], '--backends', /unknown backend vmware; known: native, xen/],
    [['--backends', 'native,,kvm'], '--backends', /comma-separated list/],
    [['--workloads', 'tlb_flush9'], '--workloads', /unknown workload tlb_flush9; known: tlb_flush1/],
    [['--workloads', 'touch,touch'], '--workloads', /touch given twice/],
    [['--cpus', '0'], '--cpus', /from 1 to 64, got 0/],
    [['--cpus', '1,65'], '--cpus', /from 1 to 64, got 65/],
    [['--cpus', '2,2'], '--cpus', /2 given twice/],
    [['--cpus', '1,two'], '--cpus', /got two/],
    [['--reps', '0'], '--reps', /from 1 to 1000/],
    [['--shard', '0/3'], '--shard', /I\/N with 1 <= I <= N/],
    [['--shard', '4/3'], '--shard', /got 4\/3/],
    [['--shard', '2'], '--shard', /got 2$/],
    [['--ops', '10', '--seconds', '1'], '--seconds', /cannot be combined with --ops/],
    [['stray'], '"stray"', /unexpected argument/],
  ];
  for (const [argv, option, message] of bad) {
    it(`refuses ${argv.join(' ')} with one line naming ${option}`, () => {
      const err = configError(() => sweep(argv));
      expect(err.option).toBe(option);
      expect(err.message).toMatch(message);
      expect(err.message).not.toContain('\n');
    });
  }
});

describe('merge options', () => {
  it('take the input directories as positional arguments', () => {
    expect(merge(['a', '--out', 'm', 'b/c'])).toEqual({ out: 'm', inputs: ['a', 'b/c'] });
  });

  it('require at least one input', () => {
    const err = configError(() => merge(['--out', 'm']));
    expect(err.message).toBe('DIR...: missing (merge takes DIR... --out DIR, --json FILE)');
  });

  it('refuse a sweep option', () => {
    expect(configError(() => merge(['a', '--cpus', '2'])).message).toMatch(/^--cpus: not an option of merge/);
  });
});
