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

  it('takes no value', () => {
    expect(() => parseRunOptions(['--check=yes'])).toThrow(ConfigError);
    expect(() => parseRunOptions(['--check=yes'])).toThrow(/--check.*takes no value/);
  });

  it('is documented in both usages', () => {
    expect(runUsage()).toContain('--check');
    expect(compareUsage()).toContain('--check');
  });
});
