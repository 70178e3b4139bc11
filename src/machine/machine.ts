/**
 * A machine: guest RAM, the machine block, the clock, and one worker per vCPU. `run()` boots
 * it, runs the workload to its stop condition, and collects every vCPU's statistics and the
 * end-of-run conservation laws. Main thread.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { CoherenceError, ConfigError, ConservationError, InternalError, MachineAbortedError, PvemuError, SelfCheckError, WatchdogError } from '../lib/errors.js';
import { MACHINE_CTL, RunState, machineBlockBytes } from '../hw/layout.js';
import { GuestRam, MAX_RAM_BYTES, MIN_RAM_BYTES } from '../hw/memory.js';
import { waitPolicy, type WaitPolicy } from '../hw/wait.js';
import { parseElf } from '../kernel/binfmt-elf.js';
import { KernelLayout } from '../kernel/layout.js';
import { findBackend } from '../hv/registry.js';
import { defaultCostTable, mergeCostTable } from '../hw/cost.js';
import { OvercommitScheduler, SCHED_SLICE_MS, SCHED_TICK_MS } from './sched/scheduler.js';
import { VirtualTimekeeper } from './vtime-keeper.js';
import { changeLogBytes } from '../vcpu/change-log.js';
import { sumCounters } from '../stats/counters.js';
import type { VcpuStatsSnapshot } from '../stats/snapshot.js';
import { findWorkload } from '../workloads/registry.js';
import { validateParams } from '../workloads/params.js';
import type { VcpuExit, VcpuFailure, VcpuTaskArgs } from '../vcpu/task-args.js';
import type { SyscallCost } from '../kernel/syscalls.js';
import { initVtime, vtimeBytes } from '../hw/vtime.js';
import { vtimeParties } from '../hw/virtual-clock.js';
import { TSC_KHZ } from '../hw/clock.js';
import { MachineClock } from './clock.js';
import { checkConservation, conservationViolations, readGuestFrames, type ConservationReport } from './conservation.js';
import { checkExecArgs } from './program-args.js';
import { MachineWatchdog } from './watchdog.js';
import { MAX_CPUS } from '../lib/limits.js';
import { HostUsageMeter } from '../lib/host-usage.js';
import { CLOCK_MODES, MAX_HZ, MAX_OPS, MAX_RUN_SECONDS, MAX_SEED, MAX_WATCHDOG_MS, MIN_HZ, MIN_WATCHDOG_MS, VIRTUAL_QUANTUM_CYCLES, VIRTUAL_SYNC_SLACK_CYCLES, checkMode, runSeed, type MachineConfig } from './config.js';
import type { RunResult, SelfCheckResult } from './result.js';
import { VcpuHandle } from './vcpu-handle.js';
import { vcpuWorkerPath } from './worker-entry.js';
import { riscvSharedBytes } from '../riscv/layout.js';
import { describeViolation } from '../vcpu/coherence.js';
import { MAX_TRACE_EVENTS, defaultTraceEvents, flowSlotBytes, type VcpuTrace } from '../stats/trace-buffer.js';
import { PAGE_SIZE } from '../hw/paging.js';
import { STOP_REQUEST_KILL } from '../vcpu/task-args.js';

/**
 * How often the main thread looks for the end of boot, in ms: a few timer ticks, small beside
 * any --seconds a run is given, and cheap (one Atomics.load).
 */
const BOOT_POLL_MS = 5;

/**
 * The run's wait policy (src/hw/wait.ts), computed once: --watchdog-ms, and whether the vCPUs
 * outnumber the physical CPUs they may use (--pcpus, or the host's cores).
 */
export function waitPolicyFor(cfg: Pick<MachineConfig, 'cpus' | 'pcpus' | 'watchdogMs'>, hostCpus = availableParallelism()): WaitPolicy {
  return waitPolicy({ cpus: cfg.cpus, pcpus: cfg.pcpus ?? cfg.cpus, hostCpus, watchdogMs: cfg.watchdogMs });
}

export class Machine {
  private handles: VcpuHandle[] = [];
  /** The machine block of the run under way (interrupt() stops it). */
  private words: Int32Array | undefined;
  /** The signal interrupt() was given, if it was. */
  private interruptedBy: string | undefined;
  /** MachineConfig.trace: what the vCPUs recorded in the last run that completed. */
  private recorded: VcpuTrace[] | undefined;

  /** The configuration as given, its cost table completed with the defaults. */
  readonly config: MachineConfig;

  constructor(config: MachineConfig) {
    validate(config);
    this.config = config.costs === undefined ? config : { ...config, costs: mergeCostTable(config.costs, 'costs') };
  }

  /**
   * Boot, run the workload, and return what every vCPU counted, with the conservation laws
   * checked (src/report/build.ts shapes it into the report). Throws a CoherenceError if --check
   * found a TLB entry used after its shootdown completed (before any other failure: a broken
   * flush protocol may crash the guest too), a PvemuError if a vCPU failed, and a
   * ConservationError if a conservation law does not hold at the end.
   */
  async run(): Promise<RunResult> {
    const usage = new HostUsageMeter();
    const { result, conservation } = await this.execute();
    return { ...result, host: usage.finish(), conservation, ...(this.interruptedBy !== undefined ? { interrupted: this.interruptedBy } : {}) };
  }

  /**
   * Stop the run early, as --seconds would (Ctrl-C, SIGTERM): the workload stops at its next
   * check and a program is killed; run() then returns what was done so far, its result marked
   * interrupted by `signal`. Before run(), it stops the run as soon as it starts.
   */
  interrupt(signal: string): void {
    if (this.interruptedBy !== undefined) return;
    this.interruptedBy = signal;
    // Not built yet: execute() sees interruptedBy as it starts the machine.
    if (this.words === undefined) return;
    // ORDERING: pairs with the workload's stopRequested() and vCPU 0's Atomics.load of runState.
    Atomics.compareExchange(this.words, MACHINE_CTL.runState, RunState.Running, RunState.StopRequested);
  }

  /** Live statistics from every vCPU (comlink; answered between run slices). */
  snapshot(): Promise<VcpuStatsSnapshot[]> {
    return Promise.all(this.handles.map((h) => h.snapshot()));
  }

  /**
   * MachineConfig.trace: each vCPU's events from the last run (index = CPU id), for
   * src/report/trace.ts; undefined if tracing was off or no run completed.
   */
  trace(): VcpuTrace[] | undefined {
    return this.recorded;
  }

  private async execute(): Promise<{ result: RunResult; conservation: ConservationReport }> {
    const cfg = this.config;
    const ram = GuestRam.allocate(cfg.memBytes);
    const machineSab = new SharedArrayBuffer(machineBlockBytes(cfg.cpus));
    const words = new Int32Array(machineSab);
    this.words = words;
    const backend = findBackend(cfg.backend)!;
    const hvState = new SharedArrayBuffer(Math.max(8, backend.stateBytes?.(cfg.memBytes, cfg.cpus) ?? 0));
    const costs = cfg.costs === undefined ? defaultCostTable() : mergeCostTable(cfg.costs, 'costs');
    // --trace: the flow-slot block pairs each IPI's send with its handling (trace-buffer.ts).
    const trace = cfg.trace === true
      ? { flowSlots: new SharedArrayBuffer(flowSlotBytes(cfg.cpus)), events: cfg.traceEvents ?? defaultTraceEvents(cfg.cpus) }
      : undefined;
    this.recorded = undefined;
    // A riscv32 program: its vCPUs' RvCores share the RISC-V block; --seconds is its time limit.
    const program = cfg.program === undefined
      ? undefined
      : { image: cfg.program, riscvShared: new SharedArrayBuffer(riscvSharedBytes(cfg.cpus)), timeLimited: cfg.seconds !== undefined };
    Atomics.store(words, MACHINE_CTL.runState, RunState.Running);
    // An interrupt that came while the machine was being built stops it as soon as it runs.
    if (this.interruptedBy !== undefined) Atomics.store(words, MACHINE_CTL.runState, RunState.StopRequested);
    const virtual = cfg.clock === 'virtual';
    const clock = new MachineClock(words, cfg.cpus, Math.floor(1000 / cfg.hz), virtual);
    // --check: the change log every vCPU's checker judges by (its chunks materialise as used).
    const checkLog = checkMode(cfg) === 'off' ? undefined : new SharedArrayBuffer(changeLogBytes());
    // One wait policy for the whole run: every vCPU, backend and the main thread's watchdog wait by it.
    const wait = waitPolicyFor(cfg);
    const watchdog = new MachineWatchdog(words, cfg.cpus, wait);
    // Virtual time: the turn order's block, the turn with vCPU 0, and the main thread's
    // timekeeper as its last party; the run ends --seconds of modelled time after boot, which
    // the timekeeper plays (src/machine/vtime-keeper.ts).
    let vtime: VcpuTaskArgs['vtime'];
    let keeper: VirtualTimekeeper | undefined;
    if (virtual) {
      const sab = new SharedArrayBuffer(vtimeBytes(vtimeParties(cfg.cpus)));
      initVtime(sab, vtimeParties(cfg.cpus));
      // As in host time: no end for --ops, nor for a program without --seconds (it runs until it exits).
      const timed = cfg.ops === undefined && (program === undefined || program.timeLimited);
      const runCycles = timed ? Math.round((cfg.seconds ?? 2) * TSC_KHZ * 1000) : 0;
      vtime = { sab, quantum: VIRTUAL_QUANTUM_CYCLES, syncSlack: VIRTUAL_SYNC_SLACK_CYCLES, runCycles };
      keeper = new VirtualTimekeeper(sab, words, {
        cpus: cfg.cpus, quantum: VIRTUAL_QUANTUM_CYCLES, syncSlack: VIRTUAL_SYNC_SLACK_CYCLES,
        watchdogMs: wait.watchdogMs, watchdogNote: wait.watchdogNote, tickCycles: SCHED_TICK_MS * TSC_KHZ,
      });
    }
    // The hypervisor's scheduler, only when overcommitted: without --pcpus every vCPU runs. In
    // virtual time the timekeeper ticks it in modelled time.
    const overcommitted = cfg.pcpus !== undefined && cfg.pcpus < cfg.cpus;
    const scheduler = overcommitted ? new OvercommitScheduler(words, cfg.cpus, cfg.pcpus!, SCHED_SLICE_MS, SCHED_TICK_MS, keeper ?? null) : undefined;
    if (keeper !== undefined && scheduler !== undefined) keeper.schedule(scheduler);
    const pool = new Piscina({
      filename: vcpuWorkerPath(),
      minThreads: cfg.cpus,
      maxThreads: cfg.cpus,
      concurrentTasksPerWorker: 1,
      idleTimeout: 1000,
    });
    let stopTimer: NodeJS.Timeout | undefined;
    let bootPoll: NodeJS.Timeout | undefined;
    // Virtual time: the timekeeper's turns, from before the first vCPU runs until the last leaves.
    // A failure of its own (its watchdog) aborts the machine, so the vCPUs leave their waits too.
    let keeperFailure: unknown;
    const keeperDone = keeper?.run().catch((e: unknown) => {
      if (e instanceof MachineAbortedError) return;
      keeperFailure = e;
      // ORDERING: every vCPU waiting for its turn polls runState (PartyClock's look).
      Atomics.store(words, MACHINE_CTL.runState, RunState.Aborted);
    });
    try {
      clock.start();
      watchdog.start();
      // Before the workers start: those without a CPU park at their first boundary. In virtual
      // time the timekeeper makes the ticks, in modelled time.
      if (virtual) scheduler?.begin(0);
      else scheduler?.start();
      this.handles = [];
      for (let cpu = 0; cpu < cfg.cpus; cpu++) {
        this.handles.push(new VcpuHandle(pool, {
          cpu,
          cpus: cfg.cpus,
          ram: ram.sab,
          machine: machineSab,
          hvState,
          costs,
          pcpus: cfg.pcpus ?? cfg.cpus,
          backend: cfg.backend,
          workload: cfg.workload,
          params: cfg.params ?? {},
          ops: cfg.ops ?? 0,
          hz: cfg.hz,
          seed: runSeed(cfg),
          wait,
          inject: cfg.inject ?? {},
          check: checkMode(cfg),
          ...(checkLog !== undefined ? { checkLog } : {}),
          ...(trace !== undefined ? { trace } : {}),
          ...(program !== undefined ? { program } : {}),
          ...(vtime !== undefined ? { vtime } : {}),
        }));
      }
      // A program runs until it exits unless --seconds limits it.
      if (!virtual && cfg.ops === undefined && (program === undefined || program.timeLimited)) {
        // --seconds is the workload's time, so the clock starts once the guest has booted:
        // bringing up 64 vCPU workers takes seconds on a 2-core host, and a timer started here
        // would stop a many-vCPU run before its workload began.
        bootPoll = setInterval(() => {
          // ORDERING: pairs with vCPU 0's Atomics.store of bootDone after bootPrimary.
          if (Atomics.load(words, MACHINE_CTL.bootDone) === 0) return;
          clearInterval(bootPoll);
          stopTimer = setTimeout(() => {
            // ORDERING: pairs with the workload's stopRequested() Atomics.load of runState.
            Atomics.compareExchange(words, MACHINE_CTL.runState, RunState.Running, RunState.StopRequested);
          }, (cfg.seconds ?? 2) * 1000);
        }, BOOT_POLL_MS);
      }
      const exits = await Promise.race([
        Promise.all(this.handles.map((h) => h.exit.catch((e: unknown) => workerCrash(e, words)))),
        watchdog.tripped,
      ]);
      await keeperDone;
      // Kept even if the run failed below: a trace of a failing run is what one wants to read.
      if (trace !== undefined) this.recorded = exits.map((e, cpu) => e.trace ?? emptyTrace(cpu));
      if (keeperFailure !== undefined) throw keeperFailure;
      const result = this.collect(exits, words);
      // Every worker has returned: guest memory is final.
      const totals = sumCounters(result.perCpu.map((c) => c.counters));
      const hvLaws = backend.audit?.(hvState, cfg.memBytes, cfg.cpus, totals) ?? [];
      const conservation = checkConservation(result.perCpu, readGuestFrames(ram.i32, new KernelLayout(ram.size)), hvLaws);
      if (!conservation.ok) {
        throw new ConservationError(`conservation violated (${cfg.backend}, ${cfg.workload}, ${cfg.cpus} vCPUs): ${conservationViolations(conservation).join('; ')}`);
      }
      return { result, conservation };
    } finally {
      if (bootPoll !== undefined) clearInterval(bootPoll);
      if (stopTimer !== undefined) clearTimeout(stopTimer);
      watchdog.stop();
      scheduler?.stop();
      clock.stop();
      for (const h of this.handles) h.close();
      await pool.destroy();
    }
  }

  private collect(exits: VcpuExit[], words: Int32Array): RunResult {
    // A coherence violation comes first: a broken flush protocol may well crash the guest or
    // fail its self-check afterwards, and the violation is the cause.
    const violations = exits.flatMap((e) => e.violations ?? []);
    const violationCount = exits.reduce((n, e) => n + e.stats.counters.coherenceViolations, 0);
    if (violationCount > 0) {
      const first = violations[0];
      throw new CoherenceError(
        `TLB coherence check (${this.config.backend}, ${this.config.workload}, ${this.config.cpus} vCPUs): ` +
          `${violationCount} violation(s)${first !== undefined ? `; first: ${describeViolation(first)}` : ''}`,
      );
    }
    const failures = exits.map((e) => e.failure).filter((f): f is VcpuFailure => f !== undefined);
    if (failures.length > 0) throw failureError(firstCause(failures, words));
    const perCpu = exits.map((e) => e.stats);
    const start = Math.min(...perCpu.map((s) => s.workStartNs).filter((t) => t > 0));
    const end = Math.max(...perCpu.map((s) => s.workEndNs));
    const chunks = exits.flatMap((e) => e.console).sort((a, b) => a.atNs - b.atNs);
    const consoleText = chunks.map((c) => c.text).join('');
    const unknown: Record<string, number> = {};
    for (const [nr, n] of exits.flatMap((e) => e.unknownSyscalls ?? [])) unknown[nr] = (unknown[nr] ?? 0) + n;
    const syscallCosts: Record<string, SyscallCost> = {};
    for (const [nr, c] of exits.flatMap((e) => e.syscallCosts ?? [])) {
      const sum = (syscallCosts[nr] ??= { calls: 0, hypercalls: 0, hypercallEntries: 0, traps: 0, modeledCycles: 0 });
      sum.calls += c.calls;
      sum.hypercalls += c.hypercalls;
      sum.hypercallEntries += c.hypercallEntries;
      sum.traps += c.traps;
      sum.modeledCycles += c.modeledCycles;
    }
    const exitStatus = Atomics.load(words, MACHINE_CTL.exitStatus);
    const lines = consoleText.split('\n');
    const failLine = lines.find((l) => l.startsWith('FAIL:'));
    // A task killed by a fault it did not catch never finished its work: the run failed.
    const killed = perCpu.reduce((n, s) => n + s.counters.tasksKilled, 0);
    const killLine = lines.find((l) => l.includes(': killed: '));
    const ops = perCpu.reduce((n, s) => n + s.counters.ops, 0);
    const elapsedNs = Number.isFinite(start) && end > start ? end - start : 0;
    return {
      elapsedNs,
      perCpu,
      exitStatus,
      console: consoleText,
      stdout: chunks.filter((c) => c.fd === 1).map((c) => c.text).join(''),
      stderr: chunks.filter((c) => c.fd === 2).map((c) => c.text).join(''),
      ...(Object.keys(unknown).length > 0 ? { unknownSyscalls: unknown } : {}),
      ...(Object.keys(syscallCosts).length > 0 ? { syscallCosts } : {}),
      ...(checkMode(this.config) !== 'off' ? { violations } : {}),
      selfCheck: judgeRun(this.config, { exitStatus, killed, ops, elapsedNs, failLine, killLine }),
    };
  }
}

/** What a run's end says about it, for judgeRun. */
export interface RunOutcome {
  /** init's exit status (machine_power_off). */
  exitStatus: number;
  /** Tasks killed by a fault they did not catch. */
  killed: number;
  /** Operations the workload counted. */
  ops: number;
  elapsedNs: number;
  /** The first "FAIL:" line a workload printed, and the first line a kill printed. */
  failLine?: string | undefined;
  killLine?: string | undefined;
}

/**
 * The run's self-check: init exited 0, no task was killed, and — for a workload — it completed at
 * least one operation: a run that was all boot (too short, or too many vCPUs for the host)
 * measured nothing and must not pass. A program's work is its own to judge (its exit status).
 */
export function judgeRun(cfg: Pick<MachineConfig, 'workload' | 'program' | 'cpus' | 'seconds'>, o: RunOutcome, hostCpus = availableParallelism()): SelfCheckResult {
  if (o.exitStatus === 0 && o.killed === 0 && (cfg.program !== undefined || o.ops > 0)) {
    return { passed: true, message: `${cfg.workload}: self-check passed` };
  }
  if (o.failLine !== undefined) return { passed: false, message: o.failLine };
  if (cfg.program !== undefined && cfg.seconds !== undefined && o.killLine?.includes(STOP_REQUEST_KILL) === true) {
    return { passed: false, message: `${cfg.workload}: killed at the --seconds limit (${cfg.seconds ?? '?'} s) before it exited (status ${o.exitStatus})` };
  }
  if (o.killed > 0) return { passed: false, message: `${o.killed} task(s) killed; ${o.killLine ?? ''}` };
  if (o.exitStatus !== 0) return { passed: false, message: `${cfg.workload}: init exited with status ${o.exitStatus}` };
  const hint = cfg.cpus > hostCpus
    ? `${cfg.cpus} vCPUs on ${hostCpus} host cores may need more --seconds to get past boot`
    : 'give it more --seconds';
  return { passed: false, message: `${cfg.workload}: completed no operations in ${(o.elapsedNs / 1e9).toFixed(2)} s of work; ${hint}` };
}

function validate(cfg: MachineConfig): void {
  if (findBackend(cfg.backend) === undefined) throw new ConfigError('backend', `unknown backend ${cfg.backend}`);
  if (cfg.program === undefined) {
    const workload = findWorkload(cfg.workload);
    if (workload === undefined) throw new ConfigError('workload', `unknown workload ${cfg.workload}`);
    validateParams(workload, cfg.params ?? {});
  } else {
    if (cfg.ops !== undefined) throw new ConfigError('ops', 'cannot be used with a program: its own arguments set its work');
    // Here rather than in vCPU 0's exec, so a bad file or oversized argv/envp is a ConfigError before boot.
    const image = parseElf(cfg.program.bytes, { name: `program ${cfg.program.name}` });
    checkExecArgs(image, cfg.program.argv, cfg.program.envp, `program ${cfg.program.name}`);
  }
  if (!Number.isInteger(cfg.cpus) || cfg.cpus < 1 || cfg.cpus > MAX_CPUS) {
    throw new ConfigError('cpus', `must be an integer from 1 to ${MAX_CPUS}, got ${cfg.cpus}`);
  }
  if (cfg.pcpus !== undefined && (!Number.isInteger(cfg.pcpus) || cfg.pcpus < 1 || cfg.pcpus > cfg.cpus)) {
    throw new ConfigError('pcpus', `must be an integer from 1 to the vCPU count (${cfg.cpus}), got ${cfg.pcpus}`);
  }
  if (cfg.costs !== undefined) {
    if (typeof cfg.costs !== 'object' || cfg.costs === null || Array.isArray(cfg.costs)) {
      throw new ConfigError('costs', `must be an object of cost names to cycles, got ${String(cfg.costs)}`);
    }
    mergeCostTable(cfg.costs, 'costs');
  }
  if (cfg.ops !== undefined && (!Number.isSafeInteger(cfg.ops) || cfg.ops < 1 || cfg.ops > MAX_OPS)) {
    throw new ConfigError('ops', `must be an integer from 1 to ${MAX_OPS}, got ${cfg.ops}`);
  }
  if (cfg.ops === undefined && cfg.seconds === undefined && cfg.program === undefined) {
    throw new ConfigError('seconds', 'or ops must be given: a workload needs a stop condition');
  }
  if (cfg.seconds !== undefined && (typeof cfg.seconds !== 'number' || !Number.isFinite(cfg.seconds) || cfg.seconds <= 0 || cfg.seconds > MAX_RUN_SECONDS)) {
    throw new ConfigError('seconds', `must be a number greater than 0 and at most ${MAX_RUN_SECONDS}, got ${cfg.seconds}`);
  }
  if (!Number.isInteger(cfg.watchdogMs) || cfg.watchdogMs < MIN_WATCHDOG_MS || cfg.watchdogMs > MAX_WATCHDOG_MS) {
    throw new ConfigError('watchdogMs', `must be an integer from ${MIN_WATCHDOG_MS} to ${MAX_WATCHDOG_MS}, got ${cfg.watchdogMs}`);
  }
  if (!Number.isInteger(cfg.memBytes) || cfg.memBytes < MIN_RAM_BYTES || cfg.memBytes > MAX_RAM_BYTES || cfg.memBytes % PAGE_SIZE !== 0) {
    throw new ConfigError('memBytes', `must be a whole number of 4 KiB pages from ${MIN_RAM_BYTES} to ${MAX_RAM_BYTES}, got ${cfg.memBytes}`);
  }
  if (!Number.isInteger(cfg.hz) || cfg.hz < MIN_HZ || cfg.hz > MAX_HZ) {
    throw new ConfigError('hz', `must be an integer from ${MIN_HZ} to ${MAX_HZ}, got ${cfg.hz}`);
  }
  const inject = cfg.inject ?? {};
  for (const key of ['noAckCpu', 'throwOnSyscallCpu', 'dropFlushesCpu', 'dropIpisCpu', 'xenIgnoreMailboxCpu'] as const) {
    const cpu = inject[key];
    if (cpu !== undefined && (!Number.isInteger(cpu) || cpu < 0 || cpu >= cfg.cpus)) {
      throw new ConfigError(`inject.${key}`, `must be a vCPU id from 0 to ${cfg.cpus - 1}, got ${JSON.stringify(cpu)}`);
    }
  }
  for (const key of ['kvmSkipFlushOnLoadCpu', 'ackBeforeFlushCpu', 'lazyNoGenCheckCpu', 'firstPageFlushCpu', 'xenSkipFlushOnResumeCpu', 'shadowSkipSyncCpu'] as const) {
    const cpu = inject[key];
    if (cpu !== undefined && cpu !== 'all' && (!Number.isInteger(cpu) || cpu < 0 || cpu >= cfg.cpus)) {
      throw new ConfigError(`inject.${key}`, `must be a vCPU id from 0 to ${cfg.cpus - 1} or "all", got ${JSON.stringify(cpu)}`);
    }
  }
  for (const key of ['dropFlushesAfter', 'dropIpisAfter'] as const) {
    const after = inject[key];
    if (after !== undefined && (!Number.isInteger(after) || after < 0)) {
      throw new ConfigError(`inject.${key}`, `must be a non-negative integer, got ${after}`);
    }
  }
  if (cfg.clock !== undefined && !CLOCK_MODES.includes(cfg.clock)) {
    throw new ConfigError('clock', `must be one of ${CLOCK_MODES.join(', ')}, got ${JSON.stringify(cfg.clock)}`);
  }
  if (cfg.check !== undefined && cfg.check !== true && cfg.check !== false && cfg.check !== 'count') {
    throw new ConfigError('check', `must be true, false or "count", got ${JSON.stringify(cfg.check)}`);
  }
  if (cfg.seed !== undefined && (!Number.isInteger(cfg.seed) || cfg.seed < 0 || cfg.seed > MAX_SEED)) {
    throw new ConfigError('seed', `must be an integer from 0 to ${MAX_SEED}, got ${cfg.seed}`);
  }
  const events = cfg.traceEvents;
  if (events !== undefined && (!Number.isInteger(events) || events < 1 || events > MAX_TRACE_EVENTS)) {
    throw new ConfigError('traceEvents', `must be an integer from 1 to ${MAX_TRACE_EVENTS}, got ${events}`);
  }
  const after = inject.throwAfterSyscalls;
  if (after !== undefined && (!Number.isInteger(after) || after < 0)) {
    throw new ConfigError('inject.throwAfterSyscalls', `must be a non-negative integer, got ${after}`);
  }
}

/** A vCPU that returned no trace (it cannot happen with tracing on; kept total for the builder). */
function emptyTrace(cpu: number): VcpuTrace {
  const none = new Float64Array(0);
  const ints = new Int32Array(0);
  return { cpu, clockOffsetNs: 0, start: none, end: none, kind: ints, a: ints, b: ints, flow: ints, dropped: 0 };
}

/** A worker whose task rejected (it threw outside the vCPU's own guard): abort the machine. */
function workerCrash(e: unknown, words: Int32Array): VcpuExit {
  Atomics.store(words, MACHINE_CTL.runState, RunState.Aborted);
  throw e instanceof Error ? e : new InternalError(String(e));
}

/** The failure that started it: the CPU that aborted first, not those that saw the abort. */
function firstCause(failures: VcpuFailure[], words: Int32Array): VcpuFailure {
  const first = Atomics.load(words, MACHINE_CTL.abortCpu) - 1;
  return failures.find((f) => f.cpu === first && f.name !== 'MachineAbortedError')
    ?? failures.find((f) => f.name !== 'MachineAbortedError')
    ?? failures[0]!;
}

/** Rebuild the project's error class on the main thread (structured clone drops classes). */
function failureError(f: VcpuFailure): PvemuError {
  const where = `cpu ${f.cpu}${f.tid !== 0 ? `, task ${f.tid}` : ''}${f.lastSyscall >= 0 ? `, last syscall ${f.lastSyscall}` : ''}`;
  const message = `${f.message} (${where})${f.stack !== undefined ? `\n${f.stack}` : ''}`;
  switch (f.name) {
    case 'WatchdogError': return new WatchdogError(message);
    case 'MachineAbortedError': return new MachineAbortedError(message);
    case 'SelfCheckError': return new SelfCheckError(message);
    case 'ConfigError': return new InternalError(message);
    default: return new InternalError(`${f.name}: ${message}`);
  }
}
