/** --check on the command line: src/cli/options.ts and usage.ts. Pure, vitest thread only. */
import { describe, expect, it } from 'vitest';
import { parseCompareOptions, parseRunOptions } from '../../src/cli/options.js';
import { compareUsage, runUsage } from '../../src/cli/usage.js';
import { ConfigError } from '../../src/lib/errors.js';

describe('--check', () => {
  it('turns the coherence checker on for run and compare, and is off by default', () => {
    expect(parseRunOptions(['--check', '--ops', '10']).config.check).toBe(true);
    expect(parseRunOptions(['--ops', '10']).config.check).toBeUndefined();
    expect(parseCompareOptions(['--backends', 'native,xen', '--check']).config.check).toBe(true);
  });

  it('takes =count to count every violation instead of stopping at the first, in run and compare', () => {
    expect(parseRunOptions(['--check=count', '--ops', '10']).config.check).toBe('count');
    expect(parseCompareOptions(['--check=count']).config.check).toBe('count');
  });

  it('takes no other value, in one line naming --check and what it takes', () => {
    expect(() => parseRunOptions(['--check=yes'])).toThrow(ConfigError);
    expect(() => parseRunOptions(['--check=yes'])).toThrow(/^--check: takes no value, or =count to count every violation instead of stopping at the first; got yes$/);
  });

  it('is documented in both usages, with =count', () => {
    for (const usage of [runUsage(), compareUsage()]) {
      expect(usage).toContain('--check ');
      expect(usage).toContain('--check=count');
    }
  });
});
