/**
 * PVEMU_STRACE=1 (src/kernel/syscalls.ts): every system call of a guest program, with its
 * arguments and result, on the console — and `pvemu run` prints the console on stderr. Real
 * vCPU workers (they inherit the environment) and the built CLI.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { GUEST_DIR } from '../helpers/guest-programs.js';

const CLI = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

describe('PVEMU_STRACE', () => {
  it('logs each system call with its arguments and result, and pvemu run prints the log on stderr', () => {
    const r = spawnSync(process.execPath, [CLI, 'run', '--program', `${GUEST_DIR}bin/hello.elf`, '--cpus', '1'], {
      encoding: 'utf8', timeout: 120_000, env: { ...process.env, PVEMU_STRACE: '1' },
    });
    expect(r.status).toBe(0);
    // hello writes its line (write = 64 to fd 1) and exits (exit_group = 94).
    expect(r.stderr).toMatch(/^\[tid 1\] 64\(0x1, 0x[0-9a-f]+, 0x[0-9a-f]+, .*\) = \d+$/m);
    expect(r.stderr).toMatch(/^\[tid 1\] 94\(0x0, /m);
  });

  it('logs nothing without it', () => {
    const env = { ...process.env };
    delete env['PVEMU_STRACE'];
    const r = spawnSync(process.execPath, [CLI, 'run', '--program', `${GUEST_DIR}bin/hello.elf`, '--cpus', '1'], { encoding: 'utf8', timeout: 120_000, env });
    expect(r.status).toBe(0);
    expect(r.stderr).not.toContain('[tid ');
  });
});
