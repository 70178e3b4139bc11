/**
 * The built `pvemu` executable, end to end: exit statuses and the one-line error policy.
 * Spawns `node dist/src/cli/main.js` as a child process (the main thread of the test only waits).
 * `npm test` builds dist/ first (pretest); a missing build is a failure, not a skip.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
/** Per-spawn deadline, in ms: these commands fail or list before booting any machine. */
const SPAWN_TIMEOUT_MS = 20_000;
/** Deadline for a spawn that boots a machine: a 2000-op one-vCPU run takes well under a second. */
const RUN_TIMEOUT_MS = 60_000;

/**
 * Resolves once process `pid` catches SIGINT (Linux: its SigCgt mask in /proc), so a test's
 * Ctrl-C is not the default action that kills a Node still starting up on a loaded host. Where
 * there is no /proc, resolves at once.
 */
async function catchingSigint(pid: number): Promise<void> {
  const status = `/proc/${pid}/status`;
  const deadline = Date.now() + RUN_TIMEOUT_MS;
  while (existsSync(status) && Date.now() < deadline) {
    const caught = /^SigCgt:\s*([0-9a-f]+)$/m.exec(readFileSync(status, 'utf8'))?.[1];
    if (caught !== undefined && (BigInt(`0x${caught}`) & 2n) !== 0n) return; // bit 1: SIGINT (2)
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

function pvemu(...args: string[]): CliRun {
  return pvemuWithin(SPAWN_TIMEOUT_MS, ...args);
}

function pvemuWithin(timeoutMs: number, ...args: string[]): CliRun {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: timeoutMs });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Exactly one line, no stack frames. */
function expectOneLine(text: string): void {
  expect(text.endsWith('\n')).toBe(true);
  expect(text.slice(0, -1)).not.toContain('\n');
  expect(text).not.toMatch(/^\s+at /m);
}

describe('pvemu CLI', () => {
  beforeAll(() => {
    if (!existsSync(CLI)) {
      throw new Error(`${CLI} is missing: build first (npm test runs "npm run build" as pretest; the whole tree must compile)`);
    }
  });

  it('rejects --cpus 0 with one line and exit 2', () => {
    const r = pvemu('run', '--cpus', '0');
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('pvemu: --cpus: must be an integer from 1 to 64, got 0\n');
    expect(r.stdout).toBe('');
  }, SPAWN_TIMEOUT_MS + 5_000);

  it('rejects an unknown workload with one line naming the known ones', () => {
    const r = pvemu('run', '--workload', 'no_such_workload');
    expect(r.status).toBe(2);
    expectOneLine(r.stderr);
    expect(r.stderr).toMatch(/^pvemu: --workload: must be one of .*tlb_flush1.*, got no_such_workload\n$/);
  }, SPAWN_TIMEOUT_MS + 5_000);

  it('rejects an unknown command with one line and exit 2', () => {
    const r = pvemu('frobnicate');
    expect(r.status).toBe(2);
    expectOneLine(r.stderr);
    expect(r.stderr).toMatch(/^pvemu: frobnicate: unknown command/);
  }, SPAWN_TIMEOUT_MS + 5_000);

  it('prints its version (and the git commit, run from a checkout) for --version, -V and version', () => {
    for (const flag of ['--version', '-V', 'version']) {
      const r = pvemu(flag);
      expect(r.status).toBe(0);
      expectOneLine(r.stdout);
      expect(r.stdout).toMatch(/^pvemu \d+\.\d+\.\d+( \(commit [0-9a-f]{12}(, with uncommitted changes)?\))?\n$/);
    }
  });

  it('refuses a single-valued option given twice, with one line naming it', () => {
    const r = pvemu('run', '--cpus', '2', '--cpus', '3');
    expect(r.status).toBe(2);
    expectOneLine(r.stderr);
    expect(r.stderr).toBe('pvemu: --cpus: given twice; it takes one value\n');
  });

  it('refuses a stray word after help COMMAND', () => {
    const r = pvemu('help', 'run', 'extra');
    expect(r.status).toBe(2);
    expectOneLine(r.stderr);
    expect(r.stderr).toBe('pvemu: extra: unexpected argument (help takes at most one command)\n');
  });

  it('refuses an unwritable --json or --trace path before booting, with one line and exit 2', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pvemu-out-'));
    try {
      const file = join(dir, 'plain');
      writeFileSync(file, 'x');
      const json = pvemu('run', '--ops', '10', '--json', join(file, 'r.json'));
      expect(json.status).toBe(2);
      expectOneLine(json.stderr);
      expect(json.stderr).toMatch(/^pvemu: --json: cannot write ".*plain\/r\.json" \(ENOTDIR\)\n$/);
      expect(json.stdout).toBe('');
      const trace = pvemu('run', '--ops', '10', '--trace', join(dir, 'missing', 't.json'));
      expect(trace.status).toBe(2);
      expect(trace.stderr).toMatch(/^pvemu: --trace: directory ".*missing" does not exist\n$/);
      expect(existsSync(join(dir, 'missing'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes the JSON report to stdout for --json -, and the human report to stderr', () => {
    const r = pvemuWithin(RUN_TIMEOUT_MS, 'run', '--workload', 'touch', '--cpus', '1', '--ops', '200', '--json', '-');
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout) as { ops: number; selfCheck: { passed: boolean } };
    expect(report.ops).toBe(200);
    expect(report.selfCheck.passed).toBe(true);
    expect(r.stderr).toMatch(/self-check {2,}PASS: touch: self-check passed/);
  }, RUN_TIMEOUT_MS + 5_000);

  it('records where a report came from: pvemu version and commit, date, host and its load, CPU against wall, the whole configuration', () => {
    const r = pvemuWithin(RUN_TIMEOUT_MS, 'run', '--workload', 'touch', '--cpus', '1', '--ops', '200', '--check', '--json', '-');
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(report).toMatchObject({
      pvemu: { version: expect.stringMatching(/^\d+\.\d+\.\d+/) as unknown },
      date: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) as unknown,
      host: { node: process.version, cores: expect.any(Number) as unknown, cpuModel: expect.any(String) as unknown },
      hostUsage: {
        loadBefore: expect.any(Number) as unknown,
        loadAfter: expect.any(Number) as unknown,
        wallSeconds: expect.any(Number) as unknown,
        cpuSeconds: expect.any(Number) as unknown,
      },
      config: { check: true, trace: false, clock: 'host', costsGiven: false, ops: 200, params: expect.any(Object) as unknown, costs: expect.any(Object) as unknown },
    });
    // Run from this checkout: the commit it was built from.
    if (existsSync(join(process.cwd(), '.git'))) expect((report.pvemu as { commit?: string }).commit).toMatch(/^[0-9a-f]{40}$/);
    expect(r.stderr).toMatch(/^ {2}pvemu {2,}\d+\.\d+\.\d+.*, run at /m);
    expect(r.stderr).toMatch(/^ {2}host {2,}load average \d+\.\d\d before, \d+\.\d\d after; .*process CPU [\d.]+ s in [\d.]+ s wall/m);
    expect(r.stderr).toMatch(/^ {2}settings {2,}params .*check on, trace off, watchdog 5000 ms, clock host$/m);
  }, RUN_TIMEOUT_MS + 5_000);

  it('on SIGINT 1 s into a 5 s run, prints the partial report (marked interrupted, in JSON too) and exits 130', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pvemu-int-'));
    try {
      const json = join(dir, 'r.json');
      const child = spawn(process.execPath, [CLI, 'run', '--cpus', '2', '--seconds', '5', '--json', json], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      const started = Date.now();
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      // 1 s after pvemu listens for it: on a loaded host Node itself may take longer to start.
      await catchingSigint(child.pid!);
      setTimeout(() => child.kill('SIGINT'), 1000);
      const code = await exited;
      expect(code).toBe(130);
      expect(Date.now() - started).toBeLessThan(RUN_TIMEOUT_MS);
      expect(stdout).toMatch(/^ {2}interrupted +by SIGINT: a partial report, of the run until then$/m);
      expect(stderr).toMatch(/^pvemu: interrupted by SIGINT after \d+\.\d\d s of work; the report covers the run until then$/m);
      const report = JSON.parse(readFileSync(json, 'utf8')) as { interrupted?: { signal: string }; seconds: number };
      expect(report.interrupted).toEqual({ signal: 'SIGINT' });
      expect(report.seconds).toBeLessThan(5);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, RUN_TIMEOUT_MS + 5_000);

  it('lists backends and workloads', () => {
    const r = pvemu('list');
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^\s+native\s+\S/m);
    expect(r.stdout).toMatch(/^\s+tlb_flush1\s+\S/m);
  }, SPAWN_TIMEOUT_MS + 5_000);

  it('prints run usage with every option', () => {
    const r = pvemu('run', '--help');
    expect(r.status).toBe(0);
    for (const option of ['--backend', '--workload', '--cpus', '--mem', '--hz', '--seconds', '--ops', '--watchdog-ms', '--param', '--json']) {
      expect(r.stdout).toContain(option);
    }
  }, SPAWN_TIMEOUT_MS + 5_000);

  it('prints compare usage', () => {
    const r = pvemu('help', 'compare');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: pvemu compare/);
    for (const option of ['--backends', '--pcpus', '--cost', '--json']) expect(r.stdout).toContain(option);
  }, SPAWN_TIMEOUT_MS + 5_000);

  it('rejects --pcpus above --cpus with one line naming --pcpus', () => {
    const r = pvemu('run', '--cpus', '2', '--pcpus', '3');
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('pvemu: --pcpus: must be an integer from 1 to 2 (at most --cpus), got 3\n');
  }, SPAWN_TIMEOUT_MS + 5_000);

  it('rejects a missing --cost file with one line naming --cost', () => {
    const r = pvemu('run', '--cost', '/nonexistent/costs.json');
    expect(r.status).toBe(2);
    expectOneLine(r.stderr);
    expect(r.stderr).toMatch(/^pvemu: --cost: cannot read "\/nonexistent\/costs\.json": ENOENT/);
  }, SPAWN_TIMEOUT_MS + 5_000);

  describe('compare, end to end', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pvemu-cli-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    // Only native: the other backends are under construction, and this checks the command's
    // table and JSON, not a backend.
    it('runs native and prints one table and a JSON array of reports', () => {
      const json = join(dir, 'compare.json');
      const r = pvemuWithin(RUN_TIMEOUT_MS, 'compare', '--backends', 'native', '--workload', 'touch', '--cpus', '1', '--ops', '2000', '--json', json);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const lines = r.stdout.trimEnd().split('\n');
      // The table, which pvemu ran it, and a warning line only if the host was too busy to trust.
      expect(lines.length).toBeGreaterThanOrEqual(4);
      expect(lines.length).toBeLessThanOrEqual(5);
      expect(lines[3]).toMatch(/^\s+pvemu \d+\.\d+\.\d+.*, run at \d{4}-\d\d-\d\dT.*; host load average \d+\.\d\d before, \d+\.\d\d after$/);
      if (lines[4] !== undefined) expect(lines[4]).toMatch(/^warning: host-time figures \(ops\/s, host µs\) are unreliable for native \(native: /);
      expect(lines[0]).toMatch(/^workload touch, 1 vCPU, 2000 ops per backend \(256M RAM, 250 Hz; host /);
      expect(lines[1]).toMatch(/^\s+backend\s+ops\/s\s+shootdowns\s+IPIs\s+traps\s+hypercalls\s+cycles\/shootdown p50\s+host p50 µs\s+host p99 µs\s+self-check$/);
      expect(lines[2]).toMatch(/^\s+native\s+\d+\.\d\s+\d+\s+\d+\s+0\s+0\s+\d+\s+\d+\.\d\d\s+\d+\.\d\d\s+PASS: touch: self-check passed$/);

      const written: unknown = JSON.parse(readFileSync(json, 'utf8'));
      expect(Array.isArray(written)).toBe(true);
      expect(written).toHaveLength(1);
      expect(written).toEqual([
        expect.objectContaining({
          backend: 'native',
          workload: 'touch',
          cpus: 1,
          ops: 2000,
          selfCheck: { passed: true, message: 'touch: self-check passed' },
          hv: expect.objectContaining({ traps: 0, hypercalls: 0 }),
          shootdowns: expect.objectContaining({ modeledCycles: expect.objectContaining({ p50: expect.any(Number) }) }),
          modeledCycles: expect.any(Number),
          config: expect.objectContaining({ ops: 2000 }),
        }),
      ]);
    }, RUN_TIMEOUT_MS + 5_000);
  });
});
