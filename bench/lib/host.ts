/**
 * The host a benchmark ran on, and the header every case prints first: figures mean little
 * without the CPU model, the core count, the Node version, the date and how busy the machine
 * was. Main thread.
 */
import * as os from 'node:os';
import { pvemuVersion, versionLine, type PvemuVersion } from '../../src/lib/version.js';

export interface BenchHost {
  /** Which pvemu ran the case: version, and the commit when run from a checkout. */
  pvemu: PvemuVersion;
  /** os.cpus()[0].model ("unknown" when the platform does not say). */
  cpuModel: string;
  /** Logical CPUs the OS reports (os.cpus().length). */
  cores: number;
  /** CPUs available to this process (os.availableParallelism); vCPUs beyond it overcommit. */
  availableParallelism: number;
  /** process.version, e.g. "v20.19.0". */
  node: string;
  platform: string;
  arch: string;
  /** 1-minute load average when the case started: other work on the host skews figures. */
  loadAvg1m: number;
  /** ISO 8601 start time of the case. */
  date: string;
}

export function benchHost(): BenchHost {
  const cpus = os.cpus();
  return {
    pvemu: pvemuVersion(),
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    availableParallelism: os.availableParallelism(),
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    loadAvg1m: os.loadavg()[0] ?? 0,
    date: new Date().toISOString(),
  };
}

/** The lines printed above a case's tables. */
export function hostHeader(caseName: string, description: string, host: BenchHost): string[] {
  return [
    `pvemu bench ${caseName}: ${description}`,
    `  code  ${versionLine(host.pvemu)}`,
    `  host  ${host.cpuModel}, ${host.cores} cores (${host.availableParallelism} available), ${host.platform}/${host.arch}, load avg ${host.loadAvg1m.toFixed(2)}`,
    `  node  ${host.node}`,
    `  date  ${host.date}`,
  ];
}
