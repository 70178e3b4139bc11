/**
 * The bench runner's executable (dist/bench/main.js), spawned as `npm run bench` runs it: an
 * unknown case is one line naming the known ones, and exit status 2; its JSON says where its
 * figures came from; a sweep stopped by SIGINT keeps the rows that finished.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import type { SweepResult } from '../../bench/lib/sweep-result.js';

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

  it('records in its JSON which pvemu ran the case and how much of the host it got', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pvemu-bench-json-'));
    try {
      const json = join(dir, 'r.json');
      const ok = spawnSync(process.execPath, [BENCH, 'sweep', '--cpus', '1', '--backends', 'native', '--workloads', 'touch', '--ops', '100', '--out', join(dir, 's'), '--json', json], { encoding: 'utf8', timeout: 120_000 });
      expect(ok.stderr).not.toMatch(/FAILED/);
      expect(ok.status).toBe(0);
      expect(ok.stdout).toMatch(/^ {2}code {2}pvemu \d+\.\d+\.\d+/m);
      expect(ok.stdout).toMatch(/^host {4}load average \d+\.\d\d before, \d+\.\d\d after; .*process CPU [\d.]+ s in [\d.]+ s wall/m);
      const report = JSON.parse(readFileSync(json, 'utf8')) as { host: { pvemu: { version: string } }; usage: Record<string, number> };
      expect(report.host.pvemu.version).toMatch(/^\d+\.\d+\.\d+/);
      expect(report.usage).toMatchObject({ loadBefore: expect.any(Number), loadAfter: expect.any(Number), wallSeconds: expect.any(Number), cpuSeconds: expect.any(Number) });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 150_000);

  it('on SIGINT during a sweep, writes the rows that finished (JSON the schema accepts, chart, page), lists the rest as missing, and exits 130', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pvemu-bench-int-'));
    try {
      const out = join(dir, 'out');
      // Two runs of 2 s each; the signal comes as the second begins, so the first has finished.
      const child = spawn(process.execPath, [BENCH, 'sweep', '--cpus', '1', '--backends', 'native,kvm', '--workloads', 'tlb_flush1', '--seconds', '2', '--out', out],
        { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      let sent = false;
      child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
      const status = await new Promise<number | null>((resolve) => {
        child.stderr.on('data', (d: Buffer) => {
          stderr += d.toString();
          // Once: a second SIGINT means "quit at once".
          if (!sent && stderr.includes('backend kvm')) {
            sent = true;
            child.kill('SIGINT');
          }
        });
        child.on('exit', (code) => resolve(code));
      });
      expect(stderr).toMatch(/bench sweep: interrupted by SIGINT; the figures above cover the runs that finished/);
      expect(status).toBe(130);
      const schema = JSON.parse(readFileSync(new URL('../../bench/schema/sweep.schema.json', import.meta.url), 'utf8')) as object;
      const validate = new Ajv2020.default({ strict: true, strictRequired: false }).compile(schema);
      const result = JSON.parse(readFileSync(join(out, 'sweep.json'), 'utf8')) as SweepResult;
      expect(validate(result)).toBe(true);
      expect(result.interrupted).toEqual({ signal: 'SIGINT' });
      expect(result.rows.map((r) => r.backend)).toEqual(['native']);
      expect(result.missing.map((r) => r.backend)).toEqual(['kvm']);
      expect(existsSync(join(out, 'sweep.svg'))).toBe(true);
      expect(existsSync(join(out, 'index.html'))).toBe(true);
      expect(stdout).toMatch(/interrupted by SIGINT: 1 of 2 runs finished; the 1 left are listed as missing/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
