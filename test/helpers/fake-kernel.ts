/**
 * A single-threaded fake of the kernel context (src/kernel/context.ts KernelContext) for N CPUs,
 * so tests can step the TLB-flush protocol (src/kernel/tlbflush.ts) and the SMP call queues
 * (src/kernel/smp.ts) by hand, with no worker threads. vitest thread only.
 *
 * What is real and what is faked:
 * - REAL: one guest RAM (SharedArrayBuffer) and one machine block shared by every CPU, one
 *   KernelLayout, and per CPU its own VcpuHardware (TLB, MMU, local APIC), TlbFlusher, SmpCalls
 *   and VcpuWait (src/hw/wait.ts) — the emulator's own classes, unchanged. Page tables are real i386 tables in RAM
 *   (built with test/hw/helpers.ts), so TLB contents come from real walks.
 * - FAKED: the pv ops table is the native one (src/hv/native) wrapped by a recording backend
 *   through the real buildPvOps: every TLB op, CR3 write, flushTlbOthers and sendIpiMask is
 *   appended to that CPU's `calls` before it runs. And delivery: no thread ever polls an APIC.
 *
 * How delivery works (what makes every interleaving deterministic):
 * - sendIpiMask does what native does: it sets the vector in the target's IRR. Nothing takes it
 *   until the TEST says so: `cpu.takeInterrupts()` is that CPU reaching an interrupt boundary
 *   (the kernel's call-function handler then runs its call queue: smp.runQueue() and EOI, as in
 *   Kernel.buildIdt). User accesses go through `touch` (Mmu.translate), which does not poll.
 * - A CPU waiting for acknowledgements spins in its VcpuWait. The fake's spinner is a subclass of
 *   the real one whose pause() first runs the next step of a script the test gave with
 *   `k.schedule(step, step, ...)` (one shared FIFO: whichever CPU spins next runs the next
 *   step), then runs the REAL VcpuWait.pause() (which takes this CPU's own pending interrupts
 *   when IF is set: the rule that keeps two CPUs flushing each other deadlock-free).
 *   A step may make other CPUs take their interrupts, switch mm, start their own shootdown (a
 *   nested, truly interleaved initiator), or `cpu.spinOnce()`: one real pause() iteration of a
 *   CPU that is itself waiting further down the stack.
 * - A wait that cannot end throws FakeStuckError instead of spinning for ever: with no step left
 *   and no interrupt this CPU could take, nothing can change in a single thread. That is also
 *   what a deadlock, or a flush sent to a CPU the test did not expect, looks like here.
 * - flushTlbOthers can instead HOLD a shootdown (`cpu.flushOthers = 'hold'`): it records the
 *   request and returns, and `held.release()` later runs the real native_flush_tlb_others on the
 *   initiating CPU (call queues, IPI, wait) — a CPU delayed between its tlb_gen bump and its
 *   IPIs, so two flushes can reach a target in either order. (flushTlbMmRange has returned by
 *   then: the --check coherence checker, not used here, would count its flush done early.)
 * The spinner never reaches its clock checks (a wait ends or throws within a few pauses), and
 * its yield window is infinite, so there are no timing assumptions.
 *
 * Every construction detail is in createFakeKernel: if KernelContext changes shape, only this
 * file should need updating.
 */
import { TlbFlusher } from '../../src/kernel/tlbflush.js';
import { SmpCalls } from '../../src/kernel/smp.js';
import { VcpuWait, type WaitSite } from '../../src/hw/wait.js';
import type { KernelContext, MachinePort } from '../../src/kernel/context.js';
import { Entropy } from '../../src/lib/prng.js';
import { CSD, CSD_FLAG_LOCK, KGLOBALS, KernelLayout, MM, PERCPU, VMALLOC_START, type CallFunc } from '../../src/kernel/layout.js';
import { PAGE_OFFSET, LARGE_PAGE_SIZE, PAGE_SIZE, PTE_G, PTE_P, PTE_RW, PTE_US, makeLargePde, makePte } from '../../src/hw/paging.js';
import { VcpuHardware } from '../../src/hw/cpu.js';
import { APIC_EOI, CALL_FUNCTION_VECTOR, INVALIDATE_TLB_VECTOR } from '../../src/hw/apic.js';
import { machineBlockBytes } from '../../src/hw/layout.js';
import { GuestRam, MIN_RAM_BYTES } from '../../src/hw/memory.js';
import type { Paddr, Pfn, Vaddr } from '../../src/hw/types.js';
import { buildPvOps } from '../../src/hv/bind.js';
import { CpuMask } from '../../src/pv/cpumask.js';
import type { FlushInfo, MmRef, PvOps } from '../../src/pv/ops.js';
import type { InterruptHandler } from '../../src/hw/cpu.js';
import type { Backend } from '../../src/hv/backend.js';
import { VcpuCounters } from '../../src/stats/counters.js';
import { LatencyHistogram } from '../../src/stats/histogram.js';
import { PageTables } from '../hw/helpers.js';
import { testGuest, testWaitPolicy } from './hardware.js';

/** Flags of a user data page. */
export const USER_RW = PTE_P | PTE_RW | PTE_US;
/** Flags of a kernel (vmalloc-area) page: global, supervisor only. */
export const KERNEL_GLOBAL = PTE_P | PTE_RW | PTE_G;

/** One recorded pv op call, in the order the CPU made it. */
export type PvCall =
  | { readonly op: 'writeCr3'; readonly pd: number }
  | { readonly op: 'activateMm'; readonly prev: number; readonly next: number }
  | { readonly op: 'flushTlbUser' }
  | { readonly op: 'flushTlbKernel' }
  | { readonly op: 'flushTlbSingle'; readonly va: number }
  | { readonly op: 'flushTlbOthers'; readonly targets: readonly number[]; readonly info: Readonly<FlushInfo>; readonly held: boolean }
  | { readonly op: 'sendIpiMask'; readonly targets: readonly number[]; readonly vector: number };

/** A function this CPU ran from its call queue (what the call-queue handler was given). */
export interface HandledCall {
  readonly func: CallFunc;
  readonly src: number;
  readonly info: Readonly<FlushInfo>;
}

/** A shootdown a CPU in 'hold' mode recorded instead of sending. */
export interface HeldFlush {
  readonly from: number;
  readonly targets: readonly number[];
  readonly info: Readonly<FlushInfo>;
  /** Send it now: the real native_flush_tlb_others on the initiating CPU (queues, IPIs, wait). */
  release(): void;
}

/** A wait that can never end in a single thread: no scripted step left, no interrupt to take. */
export class FakeStuckError extends Error {
  override readonly name = 'FakeStuckError';
}

/** A user address space: an mm_struct in the kernel's MM table and a real page directory. */
export interface AddressSpace {
  readonly mm: MmRef;
  readonly pgd: Paddr;
  /** Map (or remap) the user page at `va` to `frame` (a plain PTE store, as native set_pte). */
  map(va: number, frame: number, flags?: number): void;
}

export interface FakeCpu {
  readonly id: number;
  readonly ctx: KernelContext;
  readonly hw: VcpuHardware;
  readonly flusher: TlbFlusher;
  readonly smp: SmpCalls;
  readonly counters: VcpuCounters;
  /** Every recorded pv op call since construction or clearCalls(). */
  readonly calls: PvCall[];
  /** Every call-queue function this CPU ran. */
  readonly handled: HandledCall[];
  /** Shootdowns held in 'hold' mode, oldest first. */
  readonly held: HeldFlush[];
  /** 'native': flushTlbOthers runs native_flush_tlb_others at once; 'hold': see HeldFlush. */
  flushOthers: 'native' | 'hold';
  /** The TLB ops among `calls`: flushTlbUser, flushTlbKernel, flushTlbSingle. */
  localFlushes(): PvCall[];
  clearCalls(): void;
  /** This CPU reaches an interrupt boundary: it takes every pending IPI (runs its call queue). */
  takeInterrupts(): void;
  /** One iteration of the REAL wait loop body of this CPU, which must be waiting further down the stack. */
  spinOnce(): void;
  /** switch_mm to `as`, or to init_mm (swapper_pg_dir) for null. */
  switchMm(as: AddressSpace | null): void;
  /** The idle task keeps the mm loaded and goes lazy. */
  enterLazy(): void;
  /** A user read of `va` through this CPU's MMU (TLB, else a walk that fills it): the frame it used. */
  touch(va: number): number;
  /** A supervisor read of a kernel address through the TLB: the frame it used. */
  touchKernel(va: number): number;
  /** Whether this CPU's TLB holds a translation of `va` (under its current PCID). */
  cached(va: number): boolean;
  /** Vectors pending in this CPU's IRR. */
  pendingVectors(): number[];
  /** PERCPU state. */
  readonly loadedMm: MmRef;
  readonly localGen: number;
  readonly isLazy: boolean;
  /** Head of this CPU's call queue (0: empty). */
  readonly callQueueHead: number;
  /** Whether this CPU's call_single_data for `target` is still locked (request in flight). */
  csdLocked(target: number): boolean;
}

export interface FakeKernel {
  readonly cpus: readonly FakeCpu[];
  readonly ram: GuestRam;
  readonly layout: KernelLayout;
  readonly i32: Int32Array;
  cpu(id: number): FakeCpu;
  /** Append steps to the shared script: each spin of a waiting CPU runs the next one. */
  schedule(...steps: (() => void)[]): void;
  /** Steps not yet run. */
  readonly stepsLeft: number;
  /** Make each CPU in order take its pending interrupts (a convenient step body). */
  takeInterrupts(...cpus: number[]): void;
  createAddressSpace(): AddressSpace;
  /** A fresh data frame (zeroed), distinct from every other frame the fake hands out. */
  allocFrame(): number;
  /** Map (frame > 0) or unmap (frame 0) the kernel page at `va` in the shared vmalloc page tables. */
  mapKernel(va: number, frame: number): void;
  /** mm->context.tlb_gen. */
  tlbGen(mm: MmRef): number;
  /** mm_cpumask as CPU ids. */
  cpumask(mm: MmRef): number[];
  readonly kernelTlbGen: number;
  readonly kernelCompletedGen: number;
}

export interface FakeKernelOptions {
  cpus: number;
}

/** Data frames start here; page tables below it, from the first frame after the kernel's data. */
const FIRST_DATA_FRAME = 2048;
/** Frames each address space's page tables may use (directory and page tables). */
const FRAMES_PER_ADDRESS_SPACE = 32;
/** A wait may spin without a scripted step this many times (each takes pending interrupts). */
const MAX_IDLE_SPINS = 4;

/** The real VcpuWait, with the script run at each pause and stuck waits reported. */
class ScriptedSpinner extends VcpuWait {
  private waiting = false;
  private waitKind = 0;
  private waitTarget = 0;
  private idleSpins = 0;

  constructor(
    private readonly cpuHw: VcpuHardware,
    private readonly nextStep: () => (() => void) | undefined,
  ) {
    // No watchdog and no yielding: a wait here ends or throws within a few pauses.
    super(cpuHw, { watchdogMs: Number.POSITIVE_INFINITY, watchdogNote: 'no limit', overcommitted: false, spinBeforeYieldMs: Number.POSITIVE_INFINITY });
  }

  override begin(site: WaitSite, target: number): void {
    this.waiting = true;
    this.waitKind = site.kind;
    this.waitTarget = target;
    this.idleSpins = 0;
    super.begin(site, target);
  }

  override end(): void {
    this.waiting = false;
    super.end();
  }

  /** Every pause (pause() and a wait on a word) runs the script's next step first. */
  override pauseOn(words: Int32Array | null, index: number, mask: number): void {
    const step = this.nextStep();
    if (step !== undefined) {
      step();
    } else {
      const hw = this.cpuHw;
      const canTake = hw.interruptsEnabled && hw.apic.hasPending();
      if (!canTake || ++this.idleSpins > MAX_IDLE_SPINS) {
        throw new FakeStuckError(
          `cpu ${hw.cpu} waits (wait kind ${this.waitKind}, target ${this.waitTarget}) with no scripted step left and ` +
            `${canTake ? 'pending interrupts it does not take' : 'no interrupt it could take'}: it would spin for ever`,
        );
      }
    }
    super.pauseOn(words, index, mask);
  }

  /** One real pause() of a CPU waiting further down the stack (no script step). */
  spinOnce(): void {
    if (!this.waiting) throw new Error(`cpu ${this.cpuHw.cpu} is not waiting: spinOnce means nothing here`);
    super.pauseOn(null, 0, 0);
  }
}

function copyInfo(info: FlushInfo): FlushInfo {
  return { mm: info.mm, start: info.start, end: info.end, newTlbGen: info.newTlbGen, freedTables: info.freedTables };
}

export function createFakeKernel(opts: FakeKernelOptions): FakeKernel {
  const ncpus = opts.cpus;
  const ram = new GuestRam(new SharedArrayBuffer(MIN_RAM_BYTES));
  const i32 = ram.i32;
  const machineWords = new Int32Array(new SharedArrayBuffer(machineBlockBytes(ncpus)));
  const layout = new KernelLayout(ram.size);
  const swapper = layout.swapperPgDir as Paddr;

  // What Kernel.bootPrimary sets up that the flush code reads: swapper_pg_dir with the direct
  // map (4 MiB global pages) and the preallocated, shared vmalloc page tables.
  for (let pa = 0; pa < ram.size; pa += LARGE_PAGE_SIZE) {
    Atomics.store(i32, (swapper >>> 2) + ((PAGE_OFFSET + pa) >>> 22), makeLargePde((pa >>> 12) as Pfn, PTE_P | PTE_RW | PTE_G));
  }
  for (let i = 0; i < layout.vmallocPtFrames; i++) {
    Atomics.store(i32, (swapper >>> 2) + (VMALLOC_START >>> 22) + i, makePte((layout.vmallocPtFrame + i) as Pfn, PTE_P | PTE_RW));
  }
  Atomics.store(i32, layout.kglobals + KGLOBALS.swapperPgDir, swapper);

  const script: (() => void)[] = [];
  const nextStep = (): (() => void) | undefined => script.shift();
  const machine: MachinePort = {
    powerOff: (status) => { throw new Error(`fake kernel: powerOff(${status}) was not expected`); },
    console: () => {},
  };

  const cpus: FakeCpu[] = [];
  for (let id = 0; id < ncpus; id++) cpus.push(createCpu(id));

  function createCpu(id: number): FakeCpu {
    const counters = new VcpuCounters();
    const hw = new VcpuHardware({ cpu: id, cpus: ncpus, ram, machineWords, counters });
    const activity = hw.activity;
    const spinner = new ScriptedSpinner(hw, nextStep);
    const calls: PvCall[] = [];
    const handled: HandledCall[] = [];
    const held: HeldFlush[] = [];
    // Bound once the flusher exists, as the vCPU lends native_flush_tlb_others to the backend.
    let flusher: TlbFlusher | undefined;
    const guest = testGuest({
      nativeFlushTlbOthers: (mask: CpuMask, info: FlushInfo): void => {
        if (flusher === undefined) throw new Error('fake kernel: flushTlbOthers before the flusher exists');
        flusher.nativeFlushTlbOthers(mask, info);
      },
    });
    // The per-CPU delivery mode, read by the recording flushTlbOthers at each call.
    const mode: { flushOthers: 'native' | 'hold' } = { flushOthers: 'native' };
    const recording: Backend = {
      name: 'recording',
      description: 'native ops, each call recorded first; flushTlbOthers may be held',
      create: (_ctx, native) => ({
        mmu: {
          writeCr3: (pd) => { calls.push({ op: 'writeCr3', pd }); native.mmu.writeCr3(pd); },
          activateMm: (prev, next) => { calls.push({ op: 'activateMm', prev, next }); native.mmu.activateMm(prev, next); },
          flushTlbUser: () => { calls.push({ op: 'flushTlbUser' }); native.mmu.flushTlbUser(); },
          flushTlbKernel: () => { calls.push({ op: 'flushTlbKernel' }); native.mmu.flushTlbKernel(); },
          flushTlbSingle: (va) => { calls.push({ op: 'flushTlbSingle', va }); native.mmu.flushTlbSingle(va); },
          flushTlbOthers: (mask, info) => {
            const targets = mask.toArray().map(Number);
            const copy = copyInfo(info);
            const hold = mode.flushOthers === 'hold';
            calls.push({ op: 'flushTlbOthers', targets, info: copy, held: hold });
            if (!hold) {
              native.mmu.flushTlbOthers(mask, info);
              return;
            }
            let released = false;
            held.push({
              from: id,
              targets,
              info: copy,
              release: () => {
                if (released) throw new Error(`cpu ${id}: held flush released twice`);
                released = true;
                native.mmu.flushTlbOthers(CpuMask.of(...targets), copyInfo(copy));
              },
            });
          },
        },
        apic: {
          sendIpiMask: (mask, vector) => {
            calls.push({ op: 'sendIpiMask', targets: mask.toArray().map(Number), vector });
            native.apic.sendIpiMask(mask, vector);
          },
        },
      }),
    };
    const ops: PvOps = buildPvOps(recording, { hw, guest, hvState: new SharedArrayBuffer(0), wait: testWaitPolicy() });
    const ctx: KernelContext = {
      machine,
      cpu: id,
      cpus: ncpus,
      ops,
      ram,
      i32,
      layout,
      counters,
      spinner,
      activity,
      user: hw.mmu,
      histograms: {
        shootdown: new LatencyHistogram(),
        flushHandler: new LatencyHistogram(),
        smpCall: new LatencyHistogram(),
        shootdownCycles: new LatencyHistogram(),
      },
      cost: hw.cost,
      trace: null,
      nowMs: () => performance.now(),
      work: () => {},
      entropy: new Entropy(0, id),
      flushRecorder: null,
    };
    const smp = new SmpCalls(ctx);
    const fl = new TlbFlusher(ctx, smp);
    flusher = fl;
    // As Kernel's constructor wires it, plus a record of what ran.
    smp.setHandler((func, info, src) => {
      handled.push({ func, src, info: copyInfo(info) });
      fl.handleCall(func, info);
    });
    // As Kernel.buildIdt: both call-function vectors run the call queue, then EOI. Any other
    // vector has no entry, so an unexpected interrupt fails loudly.
    const callFunction: InterruptHandler = () => {
      smp.runQueue();
      ops.apic.apicWrite(APIC_EOI, 0);
    };
    const idt: (InterruptHandler | undefined)[] = [];
    idt[CALL_FUNCTION_VECTOR] = callFunction;
    idt[INVALIDATE_TLB_VECTOR] = callFunction;
    // As bootSecondary: swapper_pg_dir in CR3, the IDT, the APIC, interrupts on.
    ops.mmu.writeCr3(swapper);
    ops.cpu.loadIdt(idt);
    ops.irq.initIrq();
    ops.irq.irqEnable();
    calls.length = 0;

    const pc = layout.percpuBase(id);
    return {
      id,
      ctx,
      hw,
      flusher: fl,
      smp,
      counters,
      calls,
      handled,
      held,
      get flushOthers(): 'native' | 'hold' { return mode.flushOthers; },
      set flushOthers(value: 'native' | 'hold') { mode.flushOthers = value; },
      localFlushes: () => calls.filter((c) => c.op === 'flushTlbUser' || c.op === 'flushTlbKernel' || c.op === 'flushTlbSingle'),
      clearCalls: () => { calls.length = 0; },
      takeInterrupts: () => hw.takeInterrupts(),
      spinOnce: () => spinner.spinOnce(),
      switchMm: (as: AddressSpace | null) => fl.switchMm(as?.mm ?? (0 as MmRef), as?.pgd ?? swapper),
      enterLazy: () => fl.enterLazy(),
      touch: (va: number) => hw.mmu.translate(va, false) >>> 12,
      touchKernel: (va: number) => {
        hw.mmu.kernelLoad32(va);
        return hw.tlb.lookup(va >>> 12, hw.mmu.pcid);
      },
      cached: (va: number) => hw.tlb.probe(va, hw.mmu.pcid),
      pendingVectors: () => hw.bus.pendingVectors(id),
      get loadedMm(): MmRef { return i32[pc + PERCPU.loadedMm]! as MmRef; },
      get localGen(): number { return i32[pc + PERCPU.loadedTlbGen]!; },
      get isLazy(): boolean { return Atomics.load(i32, pc + PERCPU.isLazy) !== 0; },
      get callQueueHead(): number { return Atomics.load(i32, pc + PERCPU.callQueue); },
      csdLocked: (target: number) =>
        (Atomics.load(i32, layout.csdBase(layout.csdIndex(id, target)) + CSD.flags) & CSD_FLAG_LOCK) !== 0,
    };
  }

  let nextData = FIRST_DATA_FRAME;
  let addressSpaces = 0;
  const allocFrame = (): number => {
    const frame = nextData++;
    ram.zeroFrame(frame as Pfn);
    return frame;
  };

  return {
    cpus,
    ram,
    layout,
    i32,
    cpu: (id) => {
      const c = cpus[id];
      if (c === undefined) throw new Error(`fake kernel has no cpu ${id}`);
      return c;
    },
    schedule: (...steps) => { script.push(...steps); },
    get stepsLeft() { return script.length; },
    takeInterrupts: (...ids) => { for (const c of ids) cpus[c]!.takeInterrupts(); },
    createAddressSpace: () => {
      const slot = addressSpaces++;
      const firstFrame = layout.firstFreeFrame + slot * FRAMES_PER_ADDRESS_SPACE;
      if (firstFrame + FRAMES_PER_ADDRESS_SPACE > FIRST_DATA_FRAME) throw new Error('fake kernel: too many address spaces');
      const tables = new PageTables(ram, firstFrame);
      // pgd_alloc: the kernel half copied from swapper_pg_dir (shared kernel page tables).
      for (let i = PAGE_OFFSET >>> 22; i < 1024; i++) {
        Atomics.store(i32, (tables.pd >>> 2) + i, Atomics.load(i32, (swapper >>> 2) + i));
      }
      const mm = layout.mmAddr(slot) as MmRef;
      const b = mm >>> 2;
      i32[b + MM.users] = 1;
      i32[b + MM.count] = 1;
      i32[b + MM.pgd] = tables.pd;
      i32[b + MM.id] = slot + 1;
      return {
        mm,
        pgd: tables.pd,
        map: (va, frame, flags = USER_RW) => { tables.map(va, frame, flags); },
      };
    },
    allocFrame,
    mapKernel: (va, frame) => {
      if (va < VMALLOC_START || va >= VMALLOC_START + layout.vmallocPtFrames * LARGE_PAGE_SIZE) {
        throw new Error(`fake kernel: 0x${(va >>> 0).toString(16)} is not in the vmalloc area`);
      }
      const table = layout.vmallocPtFrame + ((va - VMALLOC_START) >>> 22);
      const pte = table * PAGE_SIZE + ((va >>> 12) & 1023) * 4;
      Atomics.store(i32, pte >>> 2, frame === 0 ? 0 : makePte(frame as Pfn, KERNEL_GLOBAL));
    },
    tlbGen: (mm) => Atomics.load(i32, (mm >>> 2) + MM.tlbGen),
    cpumask: (mm) => new CpuMask(Atomics.load(i32, (mm >>> 2) + MM.cpumask), Atomics.load(i32, (mm >>> 2) + MM.cpumask + 1)).toArray().map(Number),
    get kernelTlbGen() { return Atomics.load(i32, layout.kglobals + KGLOBALS.kernelTlbGen); },
    get kernelCompletedGen() { return Atomics.load(i32, layout.kglobals + KGLOBALS.kernelCompletedGen); },
  };
}

/** A user virtual address `page` pages into the test's user area. */
export const userPage = (page: number): Vaddr => (0x0040_0000 + page * PAGE_SIZE) as Vaddr;
/** A kernel virtual address `page` pages into the vmalloc area. */
export const kernelPage = (page: number): Vaddr => ((VMALLOC_START + page * PAGE_SIZE) >>> 0) as Vaddr;
