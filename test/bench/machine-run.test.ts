/**
 * bench/lib/machine-run.ts's runMachine with a riscv32 program as init (what the `programs`
 * and `mips` cases run): the program gets its argv and envp, runs until it exits with no
 * default time limit, its --seconds is a limit rather than a length, and the report is the one
 * Machine.run gives. Real vCPU workers from the build output; one vCPU, a program that exits
 * at once.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { UNRELIABLE_NOTE, runMachine, runNotes } from '../../bench/lib/machine-run.js';
import type { ProgramImage } from '../../src/vcpu/task-args.js';
import { expectedOutput, GUEST_DIR } from '../helpers/guest-programs.js';

const args: ProgramImage = {
  name: 'args.elf',
  bytes: new Uint8Array(readFileSync(`${GUEST_DIR}bin/args.elf`)),
  argv: ['bin/args.elf', 'one', 'two'],
  envp: ['GREETING=hello', 'LANG=C'],
};

/** The run's notes but the one on host time, which a busy test host may well earn. */
function notesBesidesHost(outcome: Parameters<typeof runNotes>[0]): string[] {
  return runNotes(outcome).filter((n) => !n.includes(UNRELIABLE_NOTE));
}

describe('runMachine with a program', () => {
  it('runs it to its exit with its argv and envp, names the run after it, and logs its command line', async () => {
    const lines: string[] = [];
    const outcome = await runMachine({ cpus: 1, program: args, log: (line) => void lines.push(line) });
    // guest/expected/args.out: what qemu-riscv32 printed for `GREETING=hello LANG=C args.elf one two`.
    expect(outcome.report.program?.stdout).toBe(expectedOutput('args'));
    expect(outcome.report.exitStatus).toBe(0);
    expect(outcome.report.selfCheck.passed).toBe(true);
    expect(outcome.report.workload).toBe('args.elf');
    expect(outcome.report.backend).toBe('native');
    expect(outcome.report.config.seconds).toBeUndefined();
    expect(outcome.report.conservation?.ok).toBe(true);
    expect(outcome.requestedSeconds).toBeUndefined();
    expect(lines).toEqual(['bench: running args.elf one two on 1 vCPU until it exits\n']);
    expect(notesBesidesHost(outcome)).toEqual([]);
  });

  it('takes --seconds as a time limit: a program that exits sooner is not noted as ending early', async () => {
    const lines: string[] = [];
    const outcome = await runMachine({ cpus: 1, backend: 'kvm', seconds: 30, program: { ...args, envp: [] }, log: (line) => void lines.push(line) });
    expect(outcome.report.config.seconds).toBe(30);
    expect(outcome.report.backend).toBe('kvm');
    expect(outcome.report.program?.stdout).toContain('envc=0\n');
    expect(outcome.report.exitStatus).toBe(0);
    expect(notesBesidesHost(outcome)).toEqual([]);
    expect(lines).toEqual(['bench: running args.elf one two on 1 vCPU, backend kvm until it exits (at most 30 s)\n']);
  });
});
