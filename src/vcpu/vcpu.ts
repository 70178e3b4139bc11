/**
 * One virtual CPU, worker side: hardware, pv ops, guest kernel, and the run loop. Runs on its
 * own worker thread (one piscina task that returns only when the machine stops).
 *
 * The run loop is a small state machine: Booting -> Running -> Finished. Running executes the
 * kernel's scheduling loop in slices of SLICE_MS and yields to the event loop between slices,
 * so comlink control messages are answered; nothing on the IPI or flush path waits for that.
 */
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { InternalError, MachineAbortedError, PvemuError } from '../lib/errors.js';
import { ActivityPublisher, describeVcpu } from '../hw/activity.js';
import { hostNowNs } from '../lib/host-clock.js';
import { schedStatSince, threadSchedStat, type ThreadSchedStat } from '../lib/host-usage.js';
import { VcpuHardware } from '../hw/cpu.js';
import { ApicBus } from '../hw/apic.js';
import { MACHINE_CTL, RunState, VCPU_BLOCK, VcpuActivity, WaitKind, vcpuBase } from '../hw/layout.js';
import { GuestRam } from '../hw/memory.js';
import { findBackend } from '../hv/registry.js';
import { VcpuParking } from './park.js';
import type { KernelContext, MachinePort } from '../kernel/context.js';
import type { TaskRun } from '../kernel/sched.js';
import { Kernel } from '../kernel/kernel.js';
import { KernelLayout } from '../kernel/layout.js';
import { buildPvOps } from '../hv/bind.js';
import { unlentGuestServices, type PvOps } from '../pv/ops.js';
import { snapshotCounters, VcpuCounters } from '../stats/counters.js';
import { LatencyHistogram } from '../stats/histogram.js';
import type { VcpuStatsSnapshot } from '../stats/snapshot.js';
import { TraceBuffer } from '../stats/trace-buffer.js';
import { startProgram } from '../workloads/harness.js';
import { findWorkload } from '../workloads/registry.js';
import { SIGKILL } from '../uapi/signal.js';
import { Sys, type SyscallEntry, type WorkMeter } from '../workloads/sys.js';
import type { Workload } from '../workloads/workload.js';
import type { ProgramLoader } from '../uapi/program.js';
import { RvCore } from '../riscv/core.js';
import { RvPrograms } from './rv-program.js';
import type { ConsoleChunk, VcpuExit, VcpuFailure, VcpuTaskArgs } from './task-args.js';
import { CoherenceChecker, recordingChanges } from './coherence.js';
import { ChangeLog } from './change-log.js';
import { SPIN_BEFORE_SLEEP_TURN_DEDICATED_MS, SPIN_BEFORE_YIELD_OVERCOMMITTED_MS, TakeWhileWaiting, VcpuWait, type WaitSite } from '../hw/wait.js';
import { PartyClock } from '../hw/vtime.js';
import { vtimePartyName, vtimeParties } from '../hw/virtual-clock.js';
import { STOP_REQUEST_KILL, injectedOn } from './task-args.js';
import { Entropy } from '../lib/prng.js';

/** Run-loop slice: how long the vCPU runs guest work before it lets its event loop breathe. */
const SLICE_MS = 5;
/** Longest single halt: bounded so a lost doorbell could never stall a CPU past one slice. */
const HALT_MS = SLICE_MS;

type VcpuState = 'booting' | 'running' | 'finished';

/** An application processor waiting for its STARTUP IPI from the boot CPU. */
const STARTUP_WAIT: WaitSite = {
  kind: WaitKind.Startup,
  take: TakeWhileWaiting.Nothing,
  describe: (target) => `for its STARTUP IPI from cpu ${target}`,
};

export class Vcpu implements WorkMeter, MachinePort {
  readonly hw: VcpuHardware;
  readonly ops: PvOps;
  readonly kernel: Kernel;
  readonly counters = new VcpuCounters();
  readonly histograms = {
    shootdown: new LatencyHistogram(),
    flushHandler: new LatencyHistogram(),
    smpCall: new LatencyHistogram(),
    shootdownCycles: new LatencyHistogram(),
  };
  private readonly activity: ActivityPublisher;
  /** The overcommit scheduler's parking (--pcpus below the vCPU count), else null. */
  private readonly parking: VcpuParking | null;
  /** This vCPU's kernel spin-waits and its wait for the STARTUP IPI (src/hw/wait.ts). */
  private readonly wait: VcpuWait;
  private readonly words: Int32Array;
  private readonly consoleOut: ConsoleChunk[] = [];
  private state: VcpuState = 'booting';
  /** The program's --seconds limit was enforced (enforceProgramTimeLimit). */
  private limitEnforced = false;
  private workStartNs = 0;
  private workEndNs = 0;
  /** This worker thread's scheduler statistics as run() began (the snapshot reports what it got since). */
  private schedAtStart: ThreadSchedStat | undefined;
  /**
   * Virtual time: why this vCPU never got its first turn (the machine aborted, or the watchdog
   * fired, while the constructor waited), rethrown inside run() so that it is reported as a
   * vCPU failure like any other: thrown from the constructor, it would reach the main thread
   * as a plain Error (structured clone drops the class) ahead of the failure that caused it.
   */
  private failedBeforeRun: PvemuError | undefined;
  /** --check: the coherence checker fed by this vCPU's MMU, else null. */
  private readonly checker: CoherenceChecker | null = null;
  /** --trace: this vCPU's event recorder, else null. */
  private readonly trace: TraceBuffer | null;

  constructor(private readonly args: VcpuTaskArgs) {
    const backend = findBackend(args.backend);
    // A --program run names its workload after the program; there is no registered one.
    const workload = findWorkload(args.workload);
    if (backend === undefined || (workload === undefined && args.program === undefined)) {
      throw new PvemuError(`cpu ${args.cpu}: unknown backend ${args.backend} or workload ${args.workload}`);
    }
    const ram = new GuestRam(args.ram);
    this.words = new Int32Array(args.machine);
    this.trace = args.trace === undefined ? null : new TraceBuffer(args.cpu, args.trace.events, new Int32Array(args.trace.flowSlots));
    this.hw = new VcpuHardware({
      cpu: args.cpu, cpus: args.cpus, ram, machineWords: this.words, counters: this.counters, costs: args.costs,
      trace: this.trace,
      ...(args.vtime !== undefined
        ? { virtualTime: { party: this.firstTurn(args.vtime), runCycles: args.vtime.runCycles, keeper: args.cpus } }
        : {}),
    });
    this.activity = this.hw.activity;
    // Virtual time: the trace's spans are on the vCPU's modelled clock, as its histograms are.
    const traceClock = this.hw.vclock;
    if (this.trace !== null && traceClock !== null) this.trace.useVirtualClock(() => traceClock.nowNs / 1e6);
    // Installed before any boundary can take an HV_PARK kick (the scheduler may kick at boot).
    this.parking = args.pcpus < args.cpus ? new VcpuParking(this.hw, new VcpuWait(this.hw, args.wait)) : null;
    this.parking?.install();
    this.wait = new VcpuWait(this.hw, args.wait);
    // The kernel lends native_flush_tlb_others and mm->pgd to the backend once it exists.
    const guest = unlentGuestServices();
    const faults = {
      ...(injectedOn(args.inject.kvmSkipFlushOnLoadCpu, args.cpu) ? { skipFlushOnLoad: true } : {}),
      ...(args.inject.xenIgnoreMailboxCpu === args.cpu ? { ignoreFlushMailbox: true } : {}),
      ...(injectedOn(args.inject.xenSkipFlushOnResumeCpu, args.cpu) ? { skipFlushOnResume: true } : {}),
      ...(injectedOn(args.inject.shadowSkipSyncCpu, args.cpu) ? { skipShadowSync: true } : {}),
    };
    const bound = buildPvOps(backend, { hw: this.hw, guest, hvState: args.hvState, wait: args.wait, faults });
    const layout = new KernelLayout(ram.size);
    // --check: the coherence checker, and the change log it judges by (every user PTE change
    // is announced to it through the ops the kernel calls).
    const changeLog = args.checkLog === undefined ? null : new ChangeLog(args.checkLog, args.cpu);
    if (args.check !== 'off') {
      if (changeLog === null) throw new InternalError(`cpu ${args.cpu}: --check without the change log`);
      this.checker = new CoherenceChecker(ram.i32, layout, args.cpu, changeLog, args.check === 'stop');
      this.hw.mmu.enableCheck(this.checker);
    }
    this.ops = changeLog === null ? bound : recordingChanges(bound, changeLog, layout);
    const ctx: KernelContext = {
      machine: this,
      cpu: args.cpu,
      cpus: args.cpus,
      ops: this.ops,
      ram,
      i32: ram.i32,
      layout,
      counters: this.counters,
      spinner: this.wait,
      activity: this.activity,
      user: this.hw.mmu,
      histograms: this.histograms,
      cost: this.hw.cost,
      trace: this.trace,
      nowMs: this.hw.vclock === null ? () => performance.now() : () => this.hw.vclock!.nowNs / 1e6,
      work: this.hw.vclock === null ? () => {} : (key) => this.hw.vclock!.step(this.hw.cost.table[key]),
      entropy: new Entropy(args.seed, args.cpu),
      flushRecorder: this.checker,
    };
    if (args.inject.dropIpisCpu === args.cpu) this.hw.apic.loseCallIpis(args.inject.dropIpisAfter ?? 0);
    if (args.inject.dropFlushesCpu === args.cpu) {
      this.hw.tlb.dropFlushes = true;
      this.hw.tlb.dropAfter = args.inject.dropFlushesAfter ?? 0;
    }
    const entry = { syscall: this.syscallEntry() };
    this.kernel = new Kernel(ctx, { hz: args.hz, loader: this.programLoader(entry, workload, ctx.layout.frameGens) });
    this.kernel.lendServices(guest);
    // Signal handlers run on a user stack: riscv32 programs have one, TypeScript programs do not.
    this.kernel.signals.handlersRun = args.program !== undefined;
    if (args.inject.noAckCpu === args.cpu) this.kernel.smp.neverAcknowledge = true;
    if (injectedOn(args.inject.ackBeforeFlushCpu, args.cpu)) this.kernel.smp.ackBeforeFlush = true;
    if (injectedOn(args.inject.lazyNoGenCheckCpu, args.cpu)) this.kernel.flusher.lazySwitchSkipsGenCheck = true;
    if (injectedOn(args.inject.firstPageFlushCpu, args.cpu)) this.kernel.flusher.firstPageOnly = true;
  }

  /**
   * How tasks start: the riscv32 program's loader (--program) or the workload's harness. The
   * kernel calls it only after construction, when this.kernel exists.
   */
  private programLoader(entry: SyscallEntry, workload: Workload | undefined, frameGensBase: number): ProgramLoader {
    const program = this.args.program;
    if (program === undefined) {
      if (workload === undefined) throw new InternalError(`cpu ${this.args.cpu}: no workload and no program to run`);
      const harness = { workload, cpus: this.args.cpus, params: this.args.params, ops: this.args.ops, seed: this.args.seed ?? 0 };
      return (_tid, userSp) => startProgram(new Sys(entry, this.hw.mmu, this), userSp, harness);
    }
    const { riscvShared } = program;
    // The kernel counts frame frees, so the decode cache revalidates a page only when its frame
    // was reused, not after every TLB flush.
    const core = RvCore.forHardware(this.hw, riscvShared, () => {
      this.hw.takeInterrupts();
      return this.kernel.sched.needResched;
    }, undefined, { words: this.hw.ram.i32, base: frameGensBase });
    let programs: RvPrograms | null = null;
    return (tid, userSp, kernelStackTop) => {
      if (programs === null) {
        const k = this.kernel;
        k.syscalls.flushIcache = () => RvCore.flushIcacheAll(riscvShared);
        const services = {
          sched: k.sched,
          exec: k.exec,
          console: (text: string) => this.console(text),
          taskKilled: () => { this.counters.tasksKilled++; },
          fatalSignal: (run: TaskRun, signal: number) => k.tasks.fatalSignal(run, signal),
          signals: k.signals,
        };
        programs = new RvPrograms(core, entry, services, this.hw.mmu, this, program.image);
      }
      return programs.load(tid, userSp, kernelStackTop);
    };
  }

  /**
   * The system-call entry the workload's programs call: the kernel's dispatch, or, with
   * MachineConfig.inject.throwOnSyscallCpu naming this vCPU, a dispatch that throws once
   * `throwAfterSyscalls` calls have completed (a crash test's vCPU bug).
   */
  private syscallEntry(): (n: number, a0: number, a1: number, a2: number, a3: number, a4: number, a5: number) => number {
    const dispatch = (n: number, a0: number, a1: number, a2: number, a3: number, a4: number, a5: number): number =>
      this.kernel.syscalls.dispatch(n, a0, a1, a2, a3, a4, a5);
    const inject = this.args.inject;
    if (inject.throwOnSyscallCpu !== this.args.cpu) return dispatch;
    let left = inject.throwAfterSyscalls ?? 0;
    return (n, a0, a1, a2, a3, a4, a5) => {
      if (left-- > 0) return dispatch(n, a0, a1, a2, a3, a4, a5);
      // Published as the kernel's entry would, so the failure names this call.
      this.activity.syscall(n);
      const text = `cpu ${this.args.cpu}: injected fault in system call ${n}`;
      if (inject.throwKind === 'plain') throw new Error(text); // deliberately not a PvemuError: the unforeseen-bug path
      throw new InternalError(text);
    };
  }

  /** The whole life of this vCPU. Never throws: a failure aborts the machine and is returned. */
  async run(): Promise<VcpuExit> {
    this.schedAtStart = threadSchedStat();
    try {
      if (this.failedBeforeRun !== undefined) throw this.failedBeforeRun;
      this.activity.set(VcpuActivity.Booting);
      // Virtual time: the vCPU holds its turn since it was built (firstTurn); its TSC is its clock.
      this.hw.vclock?.start();
      if (this.args.cpu === 0) {
        this.kernel.bootPrimary();
        // ORDERING: after every AP came online and init exists; pairs with the Machine's poll
        // of bootDone, which starts the --seconds clock from here, not from worker creation.
        Atomics.store(this.words, MACHINE_CTL.bootDone, 1);
        this.hw.vclock?.bootDone();
      } else {
        await this.waitForStartup();
      }
      this.state = 'running';
      this.activity.set(VcpuActivity.Kernel);
      // The run loop's slices end on this vCPU's clock: host time, or in virtual time the
      // modelled one, so that what the loop does between slices (parking when descheduled, a
      // program's kill at the stop request) happens at the same point on every run.
      const vclock = this.hw.vclock;
      const clockMs = vclock === null ? () => performance.now() : () => vclock.nowNs / 1e6;
      while (this.state === 'running') {
        this.activity.heartbeat();
        // A slice boundary is a boundary too: a kick taken nowhere else still parks us here.
        this.parking?.parkIfDescheduled();
        const until = clockMs() + SLICE_MS;
        this.kernel.runUntil(until, clockMs, () => this.machineStopped(), HALT_MS);
        this.enforceProgramTimeLimit();
        if (this.machineStopped()) this.state = 'finished';
        else await yieldToEventLoop();
      }
      // Interrupts sent before the power-off are in our IRR (they precede the runState store
      // that stopped us): take them, so every IPI sent is also handled.
      if (Atomics.load(this.words, MACHINE_CTL.runState) === RunState.Shutdown) {
        this.hw.interruptsEnabled = true;
        this.hw.vclock?.reachArrival();
        this.hw.takeInterrupts();
      }
      this.hw.vclock?.finish();
      this.activity.set(VcpuActivity.Finished);
      return { stats: this.snapshot(), console: this.consoleOut, ...this.violations(), ...this.traceExit(), ...this.unknownSyscalls() };
    } catch (e) {
      const failure = this.describeFailure(e);
      this.abortMachine();
      // The others leave their waits for the turn on the abort; hand it on for those already due.
      if (this.hw.vclock?.party.hasTurn === true) this.hw.vclock.finish();
      this.activity.set(VcpuActivity.Finished);
      return { stats: this.snapshot(), console: this.consoleOut, failure, ...this.violations(), ...this.traceExit() };
    }
  }

  /**
   * A riscv32 program runs until it exits; at a stop request (its --seconds limit, or the run
   * interrupted) the boot vCPU sends every task SIGKILL (exit 137), once, whether it runs or
   * sleeps, forked children and orphans included.
   */
  private enforceProgramTimeLimit(): void {
    if (this.args.cpu !== 0 || this.args.program === undefined || this.limitEnforced) return;
    // ORDERING: pairs with the main thread's compareExchange of runState to StopRequested.
    if (Atomics.load(this.words, MACHINE_CTL.runState) !== RunState.StopRequested) return;
    this.limitEnforced = true;
    this.console(`init: killed: SIGKILL ${STOP_REQUEST_KILL}\n`);
    // Every process, not only init's: a forked child or an orphan would keep the machine running.
    this.kernel.tasks.killAll(SIGKILL);
  }

  private unknownSyscalls(): Pick<VcpuExit, 'unknownSyscalls' | 'syscallCosts'> {
    const { unknown, costs } = this.kernel.syscalls;
    return {
      ...(unknown.size === 0 ? {} : { unknownSyscalls: [...unknown] }),
      ...(costs.size === 0 ? {} : { syscallCosts: [...costs] }),
    };
  }

  private traceExit(): Pick<VcpuExit, 'trace'> {
    return this.trace === null ? {} : { trace: this.trace.export() };
  }

  private violations(): Pick<VcpuExit, 'violations'> {
    return this.checker === null || this.checker.described.length === 0 ? {} : { violations: this.checker.described };
  }

  /** An AP sleeps until the boot CPU's STARTUP IPI, then brings itself up. */
  private async waitForStartup(): Promise<void> {
    const wait = this.wait;
    wait.begin(STARTUP_WAIT, 0);
    while (this.hw.apic.startupVector() < 0) {
      if (this.machineStopped()) throw new MachineAbortedError(`cpu ${this.args.cpu}: machine stopped before bring-up`);
      wait.look();
      this.hw.apic.waitForStartup(HALT_MS);
      await yieldToEventLoop();
    }
    wait.end();
    this.hw.apic.acceptStartup();
    this.counters.ipisHandled = this.hw.apic.ipisAccepted;
    this.kernel.bootSecondary();
  }

  /**
   * --clock virtual: this vCPU's party in the turn order, waiting by the run's wait policy,
   * once it holds its first turn. Everything the vCPU builds after this (hardware, kernel,
   * backend, the RISC-V core) is built in turn: building reads memory that other vCPUs write once
   * they run (the decode cache's FENCE.I generation, the hypervisor's tables), so built in host
   * time beside them it would depend on how far they had got.
   */
  private firstTurn(vtime: NonNullable<VcpuTaskArgs['vtime']>): PartyClock {
    const party = this.party(vtime);
    try {
      party.begin();
    } catch (e) {
      // Built out of turn from here on: the run is over before it started, nothing it builds runs.
      if (!(e instanceof PvemuError)) throw e;
      this.failedBeforeRun = e;
    }
    return party;
  }

  private party(vtime: NonNullable<VcpuTaskArgs['vtime']>): PartyClock {
    const { cpu, cpus, wait } = this.args;
    // The party waits for its first turn before this vCPU's hardware exists: it keeps its own
    // handles on the machine block for the watchdog's message and the heartbeat.
    const bus = new ApicBus(this.words, cpus);
    const activity = new ActivityPublisher(this.words, cpu);
    return new PartyClock(vtime.sab, vtimeParties(cpus), cpu, {
      quantum: vtime.quantum,
      syncSlack: vtime.syncSlack,
      // With a host core per vCPU the next party is running and takes the turn within a spin;
      // overcommitted, give the core away sooner.
      spinMs: wait.overcommitted ? SPIN_BEFORE_YIELD_OVERCOMMITTED_MS : SPIN_BEFORE_SLEEP_TURN_DEDICATED_MS,
      watchdogMs: wait.watchdogMs,
      watchdogNote: wait.watchdogNote,
      name: (p) => vtimePartyName(p, cpus),
      describe: (p) => (p < cpus ? describeVcpu(this.words, bus, p) : 'the main thread'),
      aborted: () => Atomics.load(this.words, MACHINE_CTL.runState) === RunState.Aborted,
      heartbeat: () => activity.heartbeat(),
    });
  }

  private machineStopped(): boolean {
    const s = Atomics.load(this.words, MACHINE_CTL.runState);
    return s === RunState.Shutdown || s === RunState.Aborted;
  }

  private abortMachine(): void {
    // ORDERING: the first failing CPU names itself; every waiter polls runState (VcpuWait.look).
    Atomics.compareExchange(this.words, MACHINE_CTL.abortCpu, 0, this.args.cpu + 1);
    Atomics.store(this.words, MACHINE_CTL.runState, RunState.Aborted);
    for (let c = 0; c < this.args.cpus; c++) this.hw.bus.ring(c);
  }

  private describeFailure(e: unknown): VcpuFailure {
    const b = vcpuBase(this.args.cpu);
    return {
      cpu: this.args.cpu,
      name: e instanceof Error ? e.name : 'Error',
      message: e instanceof Error ? e.message : String(e),
      tid: Atomics.load(this.words, b + VCPU_BLOCK.currentTid),
      lastSyscall: Atomics.load(this.words, b + VCPU_BLOCK.lastSyscall),
      ...(e instanceof PvemuError && !process.env.PVEMU_STACKS ? {} : { stack: e instanceof Error ? e.stack : undefined }),
    };
  }

  snapshot(): VcpuStatsSnapshot {
    const sched = schedStatSince(this.schedAtStart, threadSchedStat());
    return {
      cpu: this.args.cpu,
      counters: snapshotCounters(this.counters),
      shootdownLatency: this.histograms.shootdown.encode(),
      flushHandlerLatency: this.histograms.flushHandler.encode(),
      smpCallLatency: this.histograms.smpCall.encode(),
      shootdownCycles: this.histograms.shootdownCycles.encode(),
      ...(this.hw.vclock !== null ? { ipiDeliveryLatency: this.hw.vclock.delivery.encode() } : {}),
      stealNs: this.hw.pvclock.steal(),
      workStartNs: this.workStartNs,
      workEndNs: this.workEndNs,
      ...(sched !== undefined ? { sched } : {}),
    };
  }

  // --- MachinePort ---
  powerOff(status: number): void {
    Atomics.store(this.words, MACHINE_CTL.exitStatus, status);
    // ORDERING: exit status before the state change; the main thread reads it after seeing Shutdown.
    Atomics.compareExchange(this.words, MACHINE_CTL.runState, RunState.Running, RunState.Shutdown);
    Atomics.compareExchange(this.words, MACHINE_CTL.runState, RunState.StopRequested, RunState.Shutdown);
    for (let c = 0; c < this.args.cpus; c++) this.hw.bus.ring(c);
  }

  console(text: string, fd?: number): void {
    const atNs = this.nowNs();
    this.consoleOut.push(fd === undefined ? { atNs, text } : { atNs, text, fd });
  }

  // --- WorkMeter ---
  stopRequested(): boolean {
    return Atomics.load(this.words, MACHINE_CTL.runState) !== RunState.Running;
  }

  opsDone(n: number): void {
    this.counters.ops += n;
    // Virtual time: the loop around each operation has its price too (cost table: operation).
    this.hw.vclock?.step(n * this.hw.cost.table.operation);
  }

  markWorkStart(): void {
    if (this.workStartNs === 0) this.workStartNs = this.nowNs();
  }

  markWorkEnd(): void {
    this.workEndNs = Math.max(this.workEndNs, this.nowNs());
  }

  /**
   * The time work and console output are stamped with: host ns, or in virtual time this vCPU's
   * modelled ns since the machine started (so the report's elapsed time and ops/s are modelled).
   */
  private nowNs(): number {
    const vclock = this.hw.vclock;
    return vclock === null ? hostNowNs() : vclock.nowNs;
  }
}
