/**
 * The raw outcome of one machine run, before it is shaped into a Report. Main thread.
 */
import type { SyscallCost } from '../kernel/syscalls.js';
import type { VcpuStatsSnapshot } from '../stats/snapshot.js';
import type { ConservationReport } from './conservation.js';
import type { CoherenceViolationReport } from '../vcpu/task-args.js';
import type { HostUsage } from '../lib/host-usage.js';

export interface SelfCheckResult {
  /** True when the workload's own result check passed. */
  passed: boolean;
  /** What was checked, or what failed. */
  message: string;
}

export interface RunResult {
  /** Host nanoseconds from the workload's start barrier to its last operation. */
  elapsedNs: number;
  /** One snapshot per vCPU, index = CPU id. */
  perCpu: VcpuStatsSnapshot[];
  selfCheck: SelfCheckResult;
  /** Guest exit_group status of the workload's init task. */
  exitStatus: number;
  /** Guest console output (the write system call, and kernel messages), in order. */
  console: string;
  /** What the guest wrote to fd 1 alone: a program's stdout. */
  stdout?: string;
  /** What the guest wrote to fd 2: a program's stderr (assert and perror messages). */
  stderr?: string;
  /** System calls answered -ENOSYS (by number) and unknown operations of known calls ("futex op 7"), with counts (absent: none). */
  unknownSyscalls?: Record<string, number>;
  /** What each system call number cost, summed over the vCPUs (Syscalls.costs), by number. */
  syscallCosts?: Record<string, SyscallCost>;
  /** --check: the first violations described by the vCPUs (absent or empty: none). */
  violations?: CoherenceViolationReport[];
  /** The conservation laws at the end (set by Machine.run, which throws when one fails). */
  conservation?: ConservationReport;
  /**
   * The host over the whole run, boot to power-off: wall and process CPU time, load before and
   * after (set by Machine.run; absent on results made by hand).
   */
  host?: HostUsage;
  /** The run was stopped early by this signal (Machine.interrupt): the figures cover it until then. */
  interrupted?: string;
}
