/**
 * riscv32 ELF programs as pvemu's init (src/vcpu/rv-program.ts, src/kernel/exec.ts): every
 * single-threaded case of guest/expected/cases.tsv prints what qemu-riscv32 printed and exits
 * with its status; the SMP workloads pass their self-check at 1, 2 and 4 vCPUs on every
 * backend; a fault kills its process with a line naming pc, instruction and address while its
 * parent goes on. Real vCPU workers from the build output.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { describeBackends } from '../../src/hv/registry.js';
import { Machine } from '../../src/machine/machine.js';
import { Asm, X } from '../../src/riscv/asm.js';
import { ELF_BASE, ELF_CODE_OFFSET, GUEST_DIR, expectedOutput, guestCases, elfConfig, minimalElf, programConfig } from '../helpers/guest-programs.js';
import { runReport } from '../../src/report/build.js';

const single = guestCases().filter((c) => c.threads === 0);
const hasQemu = spawnSync('qemu-riscv32', ['-version'], { encoding: 'utf8' }).status === 0;

describe('guest programs under pvemu match qemu-riscv32', () => {
  for (const c of [...single, ...guestCases().filter((g) => g.name === 'exit_status')]) {
    it(`${c.name}: stdout and exit status ${c.exit} equal guest/expected (qemu's)`, async () => {
      const report = await runReport(programConfig(c.program, c.args, 1, 'native', c.env));
      expect(report.program?.stdout).toBe(expectedOutput(c.name));
      expect(report.exitStatus).toBe(c.exit);
      expect(report.selfCheck.passed).toBe(c.exit === 0);
    });
  }

  it.skipIf(!hasQemu)(`live: each single-threaded case prints and exits as qemu-riscv32 does now${hasQemu ? '' : ' (skipped: qemu-riscv32 not installed; apt-get install qemu-user)'}`, async () => {
    for (const c of single) {
      const env = Object.fromEntries(c.env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
      const q = spawnSync('qemu-riscv32', [`bin/${c.program}`, ...c.args], { cwd: GUEST_DIR, env, encoding: 'utf8', timeout: 60_000 });
      const report = await runReport(programConfig(c.program, c.args, 1, 'native', c.env));
      expect({ name: c.name, out: report.program?.stdout, status: report.exitStatus }).toEqual({ name: c.name, out: q.stdout, status: q.status });
    }
  });
});

/** The SMP workloads with small -n: tlb_flush1 on every backend, the others on backends in turn. */
const SMP = [
  { program: 'tlb_flush1.elf', args: ['-n', '40'] },
  { program: 'tlb_flush2.elf', args: ['-n', '40'] },
  { program: 'tlb_flush3.elf', args: ['-n', '40', '-r', '4'] },
  { program: 'ebizzy.elf', args: ['-n', '20', '-c', '4', '-k', '16'] },
];
const backends = describeBackends().map((b) => b.name);

describe('SMP guest workloads pass their self-check', () => {
  SMP.forEach((w, wi) => {
    for (const cpus of [1, 2, 4]) {
      const on = wi === 0 ? backends : [backends[(wi + cpus) % backends.length]!];
      for (const backend of on) {
        it(`${w.program} -t ${cpus} at ${cpus} vCPU(s) on ${backend}: exit 0, self-check passed`, async () => {
          const report = await runReport(programConfig(w.program, ['-t', String(cpus), ...w.args], cpus, backend));
          expect(report.program?.stdout).toMatch(/self-check passed\n$/);
          expect(report.exitStatus).toBe(0);
          expect(report.selfCheck.passed).toBe(true);
          if (cpus > 1 && w.program.startsWith('tlb_flush')) expect(report.shootdowns.count).toBeGreaterThan(0);
          expect(report.ops).toBeGreaterThan(0); // instructions retired
        });
      }
    }
  });
});

/**
 * Threaded programs whose output does not depend on scheduling (pipes: ping-pong over pipes,
 * threads asleep in read and in ppoll) print what qemu printed, at 1, 2 and 4 vCPUs, on the
 * backends in turn.
 */
describe('deterministic threaded guest programs match qemu-riscv32', () => {
  const cases = guestCases().filter((c) => c.threads > 0 && c.name === 'pipes');
  cases.forEach((c) => {
    [1, 2, 4].forEach((cpus, i) => {
      const backend = backends[(i * 2) % backends.length]!;
      it(`${c.name} at ${cpus} vCPU(s) on ${backend}: stdout equals guest/expected (qemu's), exit ${c.exit}`, async () => {
        const report = await runReport(programConfig(c.program, c.args, cpus, backend, c.env));
        expect(report.program?.stdout).toBe(expectedOutput(c.name));
        expect(report.exitStatus).toBe(c.exit);
      });
    });
  });
});

describe('a faulting riscv32 program', () => {
  it('is killed with SIGSEGV naming pc, instruction and address, while its parent runs on and reaps it', async () => {
    const SYS_clone = 220;
    const SYS_wait4 = 260;
    const SYS_write = 64;
    const SYS_exit_group = 94;
    const SIGCHLD = 17;
    const msg = new TextEncoder().encode('parent: child reaped\n');
    const a = new Asm(ELF_BASE + ELF_CODE_OFFSET);
    a.li(X.a7, SYS_clone).li(X.a0, SIGCHLD).mv(X.a1, X.sp).li(X.a2, 0).li(X.a3, 0).li(X.a4, 0).ecall()
      .beqz(X.a0, 'child')
      .mv(X.s0, X.a0)
      .li(X.a7, SYS_wait4).li(X.a0, -1).li(X.a1, 0).li(X.a2, 0).li(X.a3, 0).ecall()
      .bne(X.a0, X.s0, 'fail')
      .li(X.a7, SYS_write).li(X.a0, 1).la(X.a1, 'msg').li(X.a2, msg.length).ecall()
      .li(X.a7, SYS_exit_group).li(X.a0, 0).ecall()
      .label('fail').li(X.a7, SYS_exit_group).li(X.a0, 3).ecall()
      .label('child').sw(X.zero, 0, X.zero)
      .label('msg');
    const code = [...a.assemble()];
    const childPc = ELF_BASE + ELF_CODE_OFFSET + (code.length - 1) * 4;
    const machine = new Machine(elfConfig('fork-fault', minimalElf(code, msg), 2));
    const result = await machine.run();
    expect(result.stdout).toBe('parent: child reaped\n');
    expect(result.exitStatus).toBe(0);
    expect(result.console).toContain(`killed: SIGSEGV (store/AMO page fault) at pc 0x${childPc.toString(16)}: sw zero, 0(zero)`);
    expect(result.console).toContain('address 0x0');
    // The killed task fails the run's self-check, not the machine.
    expect(result.selfCheck.passed).toBe(false);
    expect(result.perCpu.reduce((n, s) => n + s.counters.tasksKilled, 0)).toBe(1);
  });
});

describe('a riscv32 program under --seconds', () => {
  it('is killed with SIGKILL (exit 137) when the time limit is reached, and the self-check fails', async () => {
    const cfg = programConfig('tlb_flush1.elf', ['-t', '2', '-n', '100000000'], 2);
    cfg.seconds = 0.5;
    const result = await new Machine(cfg).run();
    expect(result.exitStatus).toBe(137);
    expect(result.console).toContain('killed: SIGKILL at the stop request');
    expect(result.selfCheck).toEqual({ passed: false, message: 'tlb_flush1.elf: killed at the --seconds limit (0.5 s) before it exited (status 137)' });
  });

  it('is killed at the limit even when all its threads sleep (a futex wait nobody wakes)', async () => {
    const SYS_futex_time64 = 422;
    const a = new Asm(ELF_BASE + ELF_CODE_OFFSET)
      .addi(X.a0, X.sp, -16).sw(X.zero, 0, X.a0).li(X.a1, 0).li(X.a2, 0).li(X.a3, 0).li(X.a7, SYS_futex_time64).ecall()
      .li(X.a0, 0).li(X.a7, 94).ecall();
    const cfg = elfConfig('sleeper', minimalElf([...a.assemble()]), 2);
    cfg.seconds = 0.3;
    const result = await new Machine(cfg).run();
    expect(result.exitStatus).toBe(137);
    expect(result.console).toContain('killed: SIGKILL at the stop request');
  });
});
