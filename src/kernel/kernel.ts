/**
 * The guest kernel on one CPU: boot (start_kernel on the boot CPU, secondary bring-up on the
 * others), the interrupt table, and the scheduling loop. Written only against the pv ops — it
 * imports no backend. One Kernel per vCPU worker; they share everything through guest RAM.
 */
import { GuestSegfault, InternalError } from '../lib/errors.js';
import {
  APIC_DM_STARTUP, APIC_EOI, APIC_ICR, APIC_ICR2, CALL_FUNCTION_VECTOR, ERROR_APIC_VECTOR,
  INVALIDATE_TLB_VECTOR, LOCAL_TIMER_VECTOR, RESCHEDULE_VECTOR, SET_APIC_DEST_FIELD, SPURIOUS_APIC_VECTOR,
} from '../hw/apic.js';
import { PAGE_FAULT_VECTOR } from '../hw/cpu.js';
import { VcpuActivity } from '../hw/layout.js';
import { LARGE_PAGE_SIZE, PAGE_SIZE, PTE_G, PTE_P, PTE_RW, makeLargePde, makePte, PAGE_OFFSET } from '../hw/paging.js';
import type { Paddr, Pfn } from '../hw/types.js';
import type { FlushInfo, MmRef, GuestServices } from '../pv/ops.js';
import type { InterruptHandler } from '../hw/cpu.js';
import type { KernelContext } from './context.js';
import { FrameAllocator } from './frames.js';
import { FileSystem } from './fs/index.js';
import { Futexes } from './futex.js';
import { Exec } from './exec.js';
import { CallFunc, KGLOBALS, TASK, VMALLOC_START } from './layout.js';
import { AddressSpaces } from './mm.js';
import { PageTables } from './pgtable.js';
import { BLOCK, type ProgramLoader } from '../uapi/program.js';
import { EINTR, ERESTARTSYS } from '../uapi/errno.js';
import { exitedStatus, signaledStatus } from '../uapi/wait.js';
import { Scheduler, type TaskRun } from './sched.js';
import { SharedMemory } from './shmem.js';
import { SmpCalls } from './smp.js';
import { Lkdtm } from './lkdtm.js';
import { Syscalls } from './syscalls.js';
import { Signals } from './signal.js';
import { PageFaultHandler } from './fault.js';
import { OomKiller } from './oom.js';
import { THREAD_PAGES, Tasks } from './task.js';
import { TlbFlusher } from './tlbflush.js';
import { VmaTable } from './vma.js';
import { Vmalloc } from './vmalloc.js';
import { CPU_ONLINE_WAIT } from './sync.js';

/** Where an AP starts (the trampoline page of the STARTUP IPI, vector = page number). */
const TRAMPOLINE_VECTOR = 0x09;
/** The signal a fault nothing resolved kills its task with. */
const FAULT_SIGNAL = { SIGSEGV: 11, SIGBUS: 7, SIGKILL: 9 } as const;

export interface KernelOptions {
  hz: number;
  loader: ProgramLoader;
}

export class Kernel {
  readonly frames: FrameAllocator;
  readonly pt: PageTables;
  readonly vmas: VmaTable;
  readonly shmem: SharedMemory;
  readonly smp: SmpCalls;
  readonly flusher: TlbFlusher;
  readonly mms: AddressSpaces;
  readonly sched: Scheduler;
  readonly futex: Futexes;
  readonly tasks: Tasks;
  readonly syscalls: Syscalls;
  readonly signals: Signals;
  readonly faults: PageFaultHandler;
  readonly vmalloc: Vmalloc;
  readonly exec: Exec;
  readonly fs: FileSystem;
  private readonly idt: (InterruptHandler | undefined)[] = [];

  constructor(private readonly k: KernelContext, private readonly opts: KernelOptions) {
    this.frames = new FrameAllocator(k);
    this.pt = new PageTables(k, this.frames);
    this.vmas = new VmaTable(k);
    this.shmem = new SharedMemory(k, this.frames);
    this.smp = new SmpCalls(k);
    this.flusher = new TlbFlusher(k, this.smp);
    this.mms = new AddressSpaces(k, this.frames, this.pt, this.vmas, this.shmem, this.flusher);
    this.sched = new Scheduler(k, this.flusher);
    this.futex = new Futexes(k, this.sched);
    this.vmalloc = new Vmalloc(k, this.frames, this.flusher);
    this.fs = new FileSystem(k, this.frames, this.shmem, this.futex, this.mms);
    this.tasks = new Tasks(k, this.sched, this.mms, this.futex, this.vmalloc, this.fs);
    const lkdtm = new Lkdtm(k, this.mms, this.pt, this.vmas, this.frames, this.flusher);
    this.signals = new Signals(k, this.sched, this.futex, this.tasks, (what) => this.syscalls.countUnknown(what));
    this.syscalls = new Syscalls(k, this.sched, this.mms, this.tasks, this.futex, this.smp, lkdtm, this.fs, this.signals);
    this.syscalls.tickNs = 1e9 / opts.hz;
    this.exec = new Exec(k, this.mms);
    const oom = new OomKiller(k, this.tasks, this.mms);
    this.faults = new PageFaultHandler(k, this.frames, this.pt, this.vmas, this.shmem, this.flusher, () => this.currentMm(), (mm, retry) => oom.outOfMemory(mm, retry));
    this.smp.setHandler((func: CallFunc, info: FlushInfo) => this.flusher.handleCall(func, info));
    this.buildIdt();
  }

  /**
   * Lend the backends the kernel code and data their pv ops use (GuestServices), as Linux's
   * native pv_ops point straight at kernel functions: no hop through the vCPU.
   */
  lendServices(guest: GuestServices): void {
    guest.nativeFlushTlbOthers = this.flusher.nativeFlushTlbOthers.bind(this.flusher);
    guest.pgdOf = this.mms.pgd.bind(this.mms);
  }

  private currentMm(): MmRef {
    return this.sched.current?.mm ?? (0 as MmRef);
  }

  private buildIdt(): void {
    const { ops, counters } = this.k;
    const eoi = (): void => ops.apic.apicWrite(APIC_EOI, 0);
    this.idt[PAGE_FAULT_VECTOR] = (_v, errorCode) => {
      this.smp.runDeferredFlushes(); // the ackBeforeFlush fault's flushes (no-op without it)
      this.faults.handle(errorCode);
    };
    this.idt[LOCAL_TIMER_VECTOR] = () => {
      counters.timerInterrupts++;
      this.tasks.accountTick(this.sched.current);
      this.signals.tick();
      this.sched.tick((run) => this.futex.expire(run));
      eoi();
    };
    this.idt[RESCHEDULE_VECTOR] = () => {
      this.sched.drainWakeList();
      this.sched.needResched = true;
      eoi();
    };
    const callFunction: InterruptHandler = () => {
      this.smp.runQueue();
      eoi();
    };
    this.idt[CALL_FUNCTION_VECTOR] = callFunction;
    this.idt[INVALIDATE_TLB_VECTOR] = callFunction;
    this.idt[ERROR_APIC_VECTOR] = eoi;
    this.idt[SPURIOUS_APIC_VECTOR] = () => {};
  }

  /** start_kernel on the boot CPU: memory, kernel page tables, interrupts, APs, init. */
  bootPrimary(): void {
    const { ops, i32, layout, ram, cpus } = this.k;
    const memory = ops.init.memorySetup();
    this.k.machine.console(`${ops.init.banner()}\n${memory.description}\n`);
    ops.init.archSetup();
    this.frames.bootInit(memory.usableBytes >>> 12);
    // swapper_pg_dir: RAM direct-mapped at PAGE_OFFSET with 4 MiB global pages; the vmalloc
    // area's page tables preallocated, so every directory shares them (shared kernel PMD).
    const swapper = layout.swapperPgDir as Paddr;
    const swapperPfn = (swapper >>> 12) as Pfn;
    ops.mmu.pagetableSetupStart(swapperPfn);
    for (let pa = 0; pa < ram.size; pa += LARGE_PAGE_SIZE) {
      const pdep = (swapper + ((PAGE_OFFSET + pa) >>> 22) * 4) as Paddr;
      ops.mmu.setPmd(pdep, makeLargePde((pa >>> 12) as Pfn, PTE_P | PTE_RW | PTE_G));
    }
    for (let i = 0; i < layout.vmallocPtFrames; i++) {
      const pdep = (swapper + ((VMALLOC_START >>> 22) + i) * 4) as Paddr;
      ops.mmu.setPmd(pdep, makePte((layout.vmallocPtFrame + i) as Pfn, PTE_P | PTE_RW));
    }
    ops.mmu.pagetableSetupDone(swapperPfn);
    Atomics.store(i32, layout.kglobals + KGLOBALS.swapperPgDir, swapper);
    Atomics.store(i32, layout.kglobals + KGLOBALS.nextTid, 1);
    ops.mmu.writeCr3(swapper);
    ops.init.postAllocatorInit();
    this.cpuInit();
    ops.apic.setupBootClock(this.opts.hz);
    this.markOnline();
    // smp_init: wake each AP with a STARTUP IPI and wait for it to come online.
    for (let ap = 1; ap < cpus; ap++) {
      ops.apic.startupIpiHook(ap, TRAMPOLINE_VECTOR << 12, 0);
      ops.apic.apicWrite(APIC_ICR2, SET_APIC_DEST_FIELD(ap));
      ops.apic.apicWrite(APIC_ICR, APIC_DM_STARTUP | TRAMPOLINE_VECTOR);
      this.waitOnline(ap);
    }
    this.fs.bootInit();
    const mm = this.mms.alloc();
    if (mm === 0) throw new InternalError('cpu 0: no memory for init\'s address space');
    if (!this.tasks.createInit(mm)) throw new InternalError('cpu 0: no task slot or kernel stack for init');
    ops.irq.irqEnable();
  }

  /** Secondary CPU bring-up, after its STARTUP IPI. */
  bootSecondary(): void {
    const { ops, i32, layout } = this.k;
    ops.mmu.writeCr3(Atomics.load(i32, layout.kglobals + KGLOBALS.swapperPgDir) as Paddr);
    this.cpuInit();
    ops.apic.setupSecondaryClock(this.opts.hz);
    this.markOnline();
    ops.irq.irqEnable();
  }

  private cpuInit(): void {
    const { ops } = this.k;
    ops.cpu.loadGdt();
    ops.cpu.loadIdt(this.idt);
    ops.irq.initIrq();
    ops.time.timeInit();
  }

  private markOnline(): void {
    const { i32, layout, cpu } = this.k;
    // ORDERING: pairs with waitOnline's Atomics.load on the boot CPU.
    Atomics.or(i32, layout.kglobals + KGLOBALS.onlineMask + (cpu >>> 5), 1 << (cpu & 31));
  }

  private waitOnline(ap: number): void {
    const { i32, layout, spinner } = this.k;
    const word = layout.kglobals + KGLOBALS.onlineMask + (ap >>> 5);
    const bit = 1 << (ap & 31);
    spinner.begin(CPU_ONLINE_WAIT, ap);
    while ((Atomics.load(i32, word) & bit) === 0) spinner.pause();
    spinner.end();
  }

  /**
   * Run tasks (or idle) until `untilMs` (performance.now() time) or the machine stops.
   * `stopped` is polled between steps.
   */
  runUntil(untilMs: number, now: () => number, stopped: () => boolean, haltMs: number): void {
    const { activity } = this.k;
    let steps = 0;
    while (!stopped()) {
      this.sched.drainWakeList();
      if (this.signals.timerDue) this.signals.runTimers();
      const run = this.sched.pickNext();
      if (run === null) {
        const left = untilMs - now();
        if (left <= 0) return;
        this.sched.idle(Math.min(left, haltMs));
        continue;
      }
      // Published only when it changes; the scheduler's own few instructions count as the task's.
      activity.set(VcpuActivity.User);
      this.step(run);
      // Steps are short (one loop iteration of a guest thread): look at the clock every few.
      if ((++steps & 15) === 0 && now() >= untilMs) return;
    }
  }

  /** Resume one task until it yields, blocks or ends. */
  private step(run: TaskRun): void {
    if (this.tasks.killed(run) && !run.exiting) {
      run.exiting = true;
      run.exitCode = 0;
    }
    if (run.exiting) {
      this.finish(run, run.exitCode);
      return;
    }
    try {
      if (run.thread === null) {
        const tb = this.k.layout.taskBase(run.slot);
        const kernelStackTop = (this.k.i32[tb + TASK.kernelStack]! >>> 0) + THREAD_PAGES * PAGE_SIZE;
        run.thread = this.opts.loader(run.tid, this.taskUserSp(run), kernelStackTop);
      }
      const r = run.thread.next(run.resume);
      run.resume = 0;
      if (r.done === true) {
        // A program's return value is its exit code.
        this.finish(run, exitedStatus(r.value));
      } else if (run.exiting) {
        this.finish(run, run.exitCode);
      } else if (r.value === BLOCK) {
        // A task a group kill marked, or with a signal to take, does not go to sleep: the kill
        // and the sender woke only the tasks they saw Sleeping. ORDERING: these loads follow the
        // Sleeping store the call made (prepareToSleep); they pair with Tasks.killTasks' store
        // of killed and Signals.wakeSignal's store of the flag, each before its load of state.
        const killed = this.tasks.killed(run);
        if ((killed || this.signals.pending(run)) && this.sched.cancelSleep(run, killed ? -EINTR : -ERESTARTSYS)) this.futex.unqueue(run.slot);
        else this.sched.blocked(run);
      }
    } catch (e) {
      if (!(e instanceof GuestSegfault)) throw e;
      // The task took a fault nothing could resolve: SIGSEGV (or SIGBUS) kills it; the machine goes on.
      this.k.counters.tasksKilled++;
      this.k.machine.console(`task ${run.tid}: killed: ${e.message}\n`);
      this.finish(run, signaledStatus(FAULT_SIGNAL[e.signal]));
    }
  }

  private taskUserSp(run: TaskRun): number {
    return this.k.i32[this.k.layout.taskBase(run.slot) + TASK.userSp]!;
  }

  private finish(run: TaskRun, code: number): void {
    this.signals.exitItimer(run);
    if (run.thread !== null) {
      const t = run.thread;
      run.thread = null;
      try {
        t.return(code);
      } catch (e) {
        if (!(e instanceof GuestSegfault)) throw e;
      }
    }
    this.tasks.doExit(run, code);
  }
}
