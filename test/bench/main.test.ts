/**
 * The bench runner's executable (dist/bench/main.js), spawned as `npm run bench` runs it: an
 * unknown case is one line naming the known ones, and exit status 2.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

  it('refuses an unwritable --json or sweep --out before any run, with one line and exit 2', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pvemu-bench-out-'));
    try {
      const file = join(dir, 'plain');
      writeFileSync(file, 'x');
      const json = spawnSync(process.execPath, [BENCH, 'tlb', '--json', join(file, 'r.json')], { encoding: 'utf8', timeout: 20_000 });
      expect(json.status).toBe(2);
      expect(json.stderr).toMatch(/^bench tlb: --json: .*ENOTDIR.*\n$/);
      const out = spawnSync(process.execPath, [BENCH, 'sweep', '--cpus', '1', '--out', join(file, 'out')], { encoding: 'utf8', timeout: 20_000 });
      expect(out.status).toBe(2);
      expect(out.stderr).toMatch(/^bench sweep: --out: cannot create directory ".*plain\/out": .*ENOTDIR/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
