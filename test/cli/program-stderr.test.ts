/**
 * A program's stderr (fd 2): `pvemu run` shows it on its own stderr, apart from the program's
 * stdout, and the JSON report carries it beside stdout. The built CLI on a hand-assembled
 * program written to a temporary file; real vCPU workers.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Asm, X } from '../../src/riscv/asm.js';
import { ELF_BASE, ELF_CODE_OFFSET, minimalElf } from '../helpers/guest-programs.js';

const CLI = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

/** write(fd, text) for each, then the system calls `unknown` (by number), then exit_group(3). */
function writer(lines: readonly [number, string][], unknown: readonly number[] = []): Uint8Array {
  const a = new Asm(ELF_BASE + ELF_CODE_OFFSET);
  lines.forEach(([fd, text], i) => a.li(X.a0, fd).la(X.a1, `s${i}`).li(X.a2, text.length).li(X.a7, 64).ecall());
  for (const nr of unknown) a.li(X.a7, nr).ecall();
  a.li(X.a0, 3).li(X.a7, 94).ecall();
  lines.forEach(([, text], i) => {
    a.label(`s${i}`);
    const bytes = new TextEncoder().encode(text.padEnd(Math.ceil(text.length / 4) * 4, '\0'));
    for (let w = 0; w < bytes.length; w += 4) a.word(bytes[w]! | (bytes[w + 1]! << 8) | (bytes[w + 2]! << 16) | (bytes[w + 3]! << 24));
  });
  return minimalElf([...a.assemble()]);
}

describe('a program\'s stderr', () => {
  it('goes to pvemu\'s stderr, not its stdout, and into the JSON report beside stdout', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pvemu-stderr-'));
    try {
      const elf = join(dir, 'both.elf');
      writeFileSync(elf, writer([[1, 'out line\n'], [2, 'err line\n']]));
      const json = join(dir, 'r.json');
      const r = spawnSync(process.execPath, [CLI, 'run', '--program', elf, '--cpus', '1', '--json', json], { encoding: 'utf8', timeout: 120_000 });
      expect(r.status).toBe(1); // exit status 3: the self-check fails
      expect(r.stdout.startsWith('out line\n')).toBe(true);
      expect(r.stdout).not.toContain('err line');
      expect(r.stderr.startsWith('err line\n')).toBe(true);
      const report = JSON.parse(readFileSync(json, 'utf8')) as { exitStatus: number; program: { stdout: string; stderr: string } };
      expect(report.exitStatus).toBe(3);
      expect(report.program).toEqual({ stdout: 'out line\n', stderr: 'err line\n' });
      expect(r.stderr).not.toContain('answered -ENOSYS');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is followed, at the end of the run, by one line listing the calls pvemu lacks', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pvemu-enosys-'));
    try {
      const elf = join(dir, 'asks.elf');
      writeFileSync(elf, writer([[1, 'hi\n']], [999, 999, 1000]));
      const r = spawnSync(process.execPath, [CLI, 'run', '--program', elf, '--cpus', '1'], { encoding: 'utf8', timeout: 120_000 });
      expect(r.stderr.match(/answered -ENOSYS/g)).toHaveLength(1);
      expect(r.stderr).toContain("pvemu: 3 calls answered -ENOSYS (not in pvemu's kernel): system call 999 ×2, system call 1000 ×1\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
