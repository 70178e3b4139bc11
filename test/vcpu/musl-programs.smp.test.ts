/**
 * Unmodified C programs linked against musl (guest/musl-tests, built by guest/musl/run-qemu.sh
 * into guest/build/musl-bin; .ci/run builds them on CI): every program prints the same stdout
 * and stderr and ends with the same status as it did under qemu-riscv32 (guest/musl-tests/expected),
 * at 1, 2 and 4 vCPUs on native and at 2 vCPUs on every backend (PVEMU_MUSL_MATRIX=full: every
 * backend at 1, 2 and 4). The programs qemu-user cannot run faithfully (guest/musl-tests/qemu-skip:
 * robust, oom) are held to Linux's documented behaviour instead.
 * Real vCPU workers. Without the build the tests are skipped, saying so.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { describeBackends } from '../../src/hv/registry.js';
import type { MachineConfig } from '../../src/machine/config.js';
import { runReport } from '../../src/report/build.js';
import { GUEST_DIR, elfConfig } from '../helpers/guest-programs.js';

const BIN = `${GUEST_DIR}build/musl-bin/`;
const EXPECTED = `${GUEST_DIR}musl-tests/expected/`;

/** Every program in guest/musl-tests: each must match, none is left out. */
const SUPPORTED = readdirSync(`${GUEST_DIR}musl-tests`).filter((f) => f.endsWith('.c')).map((f) => f.slice(0, -2)).sort();

const built = SUPPORTED.every((p) => existsSync(`${BIN}${p}`));
const missing = built ? '' : ' (skipped: guest/build/musl-bin is not built; run guest/musl/run-qemu.sh --build-only)';

function config(name: string, cpus: number, backend: string): MachineConfig {
  const cfg = elfConfig(name, new Uint8Array(readFileSync(`${BIN}${name}`)), cpus, backend);
  // A limit, so a hang fails the test instead of stalling the suite.
  cfg.seconds = 60;
  return cfg;
}

/** What qemu-riscv32 printed and how the program ended, as a shell shows it. */
function expected(name: string): { stdout: string; stderr: string; status: number } {
  return {
    stdout: readFileSync(`${EXPECTED}${name}.out`, 'utf8'),
    stderr: readFileSync(`${EXPECTED}${name}.err`, 'utf8'),
    status: Number(readFileSync(`${EXPECTED}${name}.status`, 'utf8').trim()),
  };
}

/**
 * The suite's slice: 1, 2 and 4 vCPUs on native, 2 on every other backend. PVEMU_MUSL_MATRIX=full
 * runs every backend at 1, 2 and 4 (about three times as long), the whole of issue 13's bar.
 */
const full = process.env['PVEMU_MUSL_MATRIX'] === 'full';
const runs: [string, number, string][] = SUPPORTED.flatMap((name) => describeBackends().flatMap((b) =>
  (full || b.name === 'native' ? [1, 2, 4] : [2]).map((cpus): [string, number, string] => [name, cpus, b.name])));

describe('musl-linked C programs against qemu-riscv32', () => {
  it.skipIf(!built).each(runs)(`%s at %i vCPUs on %s: stdout, stderr and exit status as under qemu-riscv32${missing}`, async (name, cpus, backend) => {
    const report = await runReport(config(name, cpus, backend));
    expect({ stdout: report.program?.stdout, stderr: report.program?.stderr, status: report.exitStatus }).toEqual(expected(name));
  });
});
