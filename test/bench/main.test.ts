/**
 * The bench runner's executable (dist/bench/main.js), spawned as `npm run bench` runs it: an
 * unknown case is one line naming the known ones, and exit status 2.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const BENCH = fileURLToPath(new URL('../../dist/bench/main.js', import.meta.url));

describe('bench runner', () => {
  it('refuses an unknown case with one line on stderr naming the cases, and nothing on stdout', () => {
    const r = spawnSync(process.execPath, [BENCH, 'bogus'], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^bench: unknown case "bogus"; cases are ipi, shootdown, .*\(npm run bench -- --help\)\n$/);
  });
});
