/**
 * Running real machines from tests: worker threads from the build output, a generous watchdog
 * (tests must pass on a slow, busy 2-core host), small RAM so many runs fit.
 */
import { defaultConfig, type MachineConfig } from '../../src/machine/config.js';
import type { Report } from '../../src/report/types.js';
import { runReport } from '../../src/report/build.js';

export interface RunOptions {
  ops?: number;
  seconds?: number;
  params?: Record<string, number>;
  memBytes?: number;
  hz?: number;
}

export function testConfig(workload: string, cpus: number, opts: RunOptions = {}): MachineConfig {
  const cfg: MachineConfig = {
    ...defaultConfig(),
    workload,
    cpus,
    memBytes: opts.memBytes ?? 64 * 1024 * 1024,
    hz: opts.hz ?? 250,
    watchdogMs: 30_000,
    params: opts.params ?? {},
  };
  delete cfg.seconds;
  if (opts.seconds !== undefined) cfg.seconds = opts.seconds;
  else cfg.ops = opts.ops ?? 2000;
  return cfg;
}

export function runWorkload(workload: string, cpus: number, opts: RunOptions = {}): Promise<Report> {
  return runReport(testConfig(workload, cpus, opts));
}
