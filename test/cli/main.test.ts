/**
 * The built `pvemu` executable, end to end: exit statuses and the one-line error policy.
 * Spawns `node dist/src/cli/main.js` as a child process (the main thread of the test only waits).
 * `npm test` builds dist/ first (pretest); a missing build is a failure, not a skip.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
/** Per-spawn deadline, in ms: these commands fail or list before booting any machine. */
const SPAWN_TIMEOUT_MS = 20_000;

interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

function pvemu(...args: string[]): CliRun {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: SPAWN_TIMEOUT_MS });
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
});
