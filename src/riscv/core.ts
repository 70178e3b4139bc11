/**
 * RvCore: one vCPU's RV32IMA user-mode execution engine, over that vCPU's MMU and TLB. Runs
 * only on the owning vCPU's worker (it holds the worker-local TLB, decode cache, compiled
 * blocks and LR reservation).
 *
 * Design
 * ------
 * - State split. A Hart (hart.ts) is one task's registers; RvCore is the vCPU's engine. The
 *   kernel keeps a Hart per task and calls `core.run(hart, budget)`; a context switch is
 *   running another Hart (nothing to copy; Hart.saveTo/restoreFrom exist for a kernel that
 *   keeps contexts in guest memory). Running a different Hart drops the LR reservation, as
 *   Linux's switch does.
 * - run(hart, budget) executes up to `budget` instructions, exactly, and says why it stopped
 *   (StopReason): Budget, Ecall (a7 = number, a0..a5 = arguments; the kernel performs the
 *   call and calls hart.finishSyscall), Ebreak, Fault (core.fault: signal, pc, instruction,
 *   address), or Interrupt (the pending-work hook asked to stop: a reschedule is due). ECALL,
 *   EBREAK and faults leave pc on the instruction that trapped, as sepc would; they do not
 *   retire (instret counts retired instructions only).
 * - Interrupts are taken between instructions: every POLL_INTERVAL instructions the core polls
 *   the vCPU's APIC pending word (the word the MMU's accessors poll) and calls the pending-work
 *   hook, which takes them (a shootdown IPI flushes this TLB there). A trap drops the LR
 *   reservation (Linux's ret_from_exception does it with a dummy SC).
 * - Fetch. The core executes from one code page at a time: entering a page, it translates pc
 *   with mmu.translate (the vCPU's TLB; a miss walks, a fault runs the kernel's page-fault
 *   handler, so code is demand-paged like data) and takes the frame's CodePage from the
 *   DecodeCache. It leaves the page on a branch out of it, on falling off its end and at each
 *   poll boundary, so it re-translates at least every POLL_INTERVAL instructions. The held
 *   translation is a one-entry instruction TLB, dropped whenever the TLB's flush generation,
 *   CR3 or the PCID changed (checked at poll boundaries and after every data access, which may
 *   have run the fault handler), so a shootdown of a code page applies from the next
 *   instruction. i386 paging has no NX bit: a fetch needs what a user read needs, P + US.
 * - Two tiers over one decoded form (decode-cache.ts): the interpreter (the switch below, the
 *   reference semantics) executes decoded slots and counts how often it enters each block; a
 *   block entered HOT_BLOCK times is compiled by jit.ts into a JavaScript function, which the
 *   dispatcher calls from then on when the slice has room for all of it (so budgets stay exact).
 *   A compiled block goes on into the next compiled block itself — in its page, or in another
 *   page the page-entry cache holds — taking poll boundaries on the way (chain.ts), so the
 *   dispatcher sees a chain of blocks as one call; it reports the instructions retired, the
 *   slice it ended in and the page it ended in.
 * - Page entry. A page entered before under the same translation, TLB flush generation and
 *   decode-cache state comes from the page-entry cache (chain.ts) without translating again.
 *   Both tiers make their data accesses through RvMemory (memory.ts), one implementation of the
 *   memory semantics: TLB, faults, misaligned emulation, code and reservation checks on stores.
 * - Decoded slots and blocks are per physical frame, revalidated against RAM after any TLB
 *   flush, CR3/PCID change, FENCE.I or remote icache flush; this core's own stores drop the
 *   slots they hit (and the page's blocks) at once.
 * - LR/SC and AMOs: reservation.ts. FENCE is a full barrier; FENCE.I moves the decode epoch.
 * - Counters: cycle is the emulated TSC (2 GHz nominal, src/hw/clock.ts), time is the pvclock's
 *   guest nanoseconds (timebase TIMEBASE_HZ = 1 GHz), instret is the hart's retired count.
 *
 * Use, from the kernel on a vCPU worker:
 *
 *   // main thread, once: new SharedArrayBuffer(riscvSharedBytes(cpus)), handed to every worker
 *   const core = RvCore.forHardware(hw, riscvShared, () => { hw.takeInterrupts(); return reschedDue(); });
 *   const hart = new Hart(entry, sp);                     // one per task, kept with the task
 *   switch (core.run(hart, budget)) {
 *     case StopReason.Ecall:  hart.finishSyscall(dispatch(hart.syscallNumber(), hart.syscallArg(0), ...)); break;
 *     case StopReason.Fault:  kill the task with core.fault.signal, reporting core.describeFault(); break;
 *     case StopReason.Ebreak: SIGTRAP; break;
 *     case StopReason.Budget: case StopReason.Interrupt: schedule, then run again;
 *   }
 *
 * A blocked system call leaves the hart stopped at its ECALL; finishSyscall with the wake-up
 * result later. core.clearReservation() on a context switch is optional (running another hart
 * does it), and RvCore.flushIcacheAll(riscvShared) implements riscv_flush_icache for all harts.
 */
import { GuestSegfault, InternalError } from '../lib/errors.js';
import { readTsc } from '../hw/clock.js';
import type { VcpuHardware } from '../hw/cpu.js';
import type { GuestRam } from '../hw/memory.js';
import type { Mmu } from '../hw/mmu.js';
import type { Tlb } from '../hw/tlb.js';
import { DECODED_STRIDE, Op, decodeInto } from './decode.js';
import { FAST_TLB_MASK } from '../hw/fast-tlb.js';
import { DecodeCache, type FrameGens, HEAT_NEVER, PAGE_SLOTS, type CodePage } from './decode-cache.js';
import { SIGBUS, SIGILL, SIGKILL, SIGSEGV } from '../uapi/signal.js';
import { describeFault, type RvCause, type RvFault, type RvSignal } from './fault.js';
import type { Hart } from './hart.js';
import { CSR_CYCLE, CSR_CYCLEH, CSR_INSTRET, CSR_INSTRETH, CSR_TIME, CSR_TIMEH } from './isa.js';
import { EXIT_PAGE, HOT_BLOCK, compileBlock } from './jit.js';
import { ChainContext, POLL_INTERVAL } from './chain.js';
import type { VirtualClock } from '../hw/virtual-clock.js';
import { RV_CTL } from './layout.js';
import { RvMemory, type InlineMemory } from './memory.js';
import { mulDiv } from './muldiv.js';
import { AmoKind, Reservations } from './reservation.js';

export const enum StopReason {
  /** The budget ran out; run again to continue. */
  Budget = 0,
  /** ECALL: perform the system call (hart.syscallNumber(), syscallArg) and finishSyscall. */
  Ecall = 1,
  /** EBREAK: a breakpoint (SIGTRAP for a task without a debugger). */
  Ebreak = 2,
  /** An exception nothing resolved: core.fault says what; the task dies with its signal. */
  Fault = 3,
  /** The pending-work hook took interrupts and asked the run to stop (a reschedule is due). */
  Interrupt = 4,
}

export { POLL_INTERVAL } from './chain.js';
/** The `time` CSR counts guest nanoseconds from the pvclock: a 1 GHz timebase. */
export const TIMEBASE_HZ = 1_000_000_000;

const TWO32 = 4294967296;
const OFFSET_MASK = 0xfff;

export interface RvCoreOptions {
  cpu: number;
  /** vCPUs in the machine: sizes the RISC-V block. */
  cpus: number;
  ram: GuestRam;
  mmu: Mmu;
  tlb: Tlb;
  /** The RISC-V block (layout.ts), shared by every vCPU. */
  shared: SharedArrayBuffer;
  /** The word array and index of this vCPU's APIC pending word (polled between instructions). */
  pollWords: Int32Array;
  pollIndex: number;
  /** Guest nanoseconds for the time CSR (the vCPU's PvclockReader); -1 before it is published. */
  clock: { read(): number };
  /**
   * Called at an instruction boundary when the pending word is non-zero: take the pending
   * interrupts. Return true to end the run with StopReason.Interrupt (a reschedule is due).
   */
  onPendingWork(): boolean;
  /** Interpreted entries before a block is compiled (default HOT_BLOCK; 0: never compile). */
  hotBlock?: number;
  /** The kernel's per-frame free counts, when it keeps them (decode-cache.ts FrameGens). */
  frameGens?: FrameGens;
  /**
   * --clock virtual: the vCPU's clock, advanced by the instructions retired at every poll
   * boundary and at the end of each run; LR, SC and AMOs are synchronisation points on it.
   * Compiled blocks then take no poll boundary themselves (chain.ts). Absent: host time.
   */
  vclock?: VirtualClock | null;
}

/** What the engine did, for reports and tests. */
export interface RvCoreStats {
  blocksCompiled: number;
  /** Block entries that found no room left in the slice and were interpreted instead. */
  blocksDeferred: number;
  codePages: number;
  revalidations: number;
  slotsDropped: number;
  /** Poll boundaries compiled blocks passed themselves, without returning to the dispatcher (chain.ts). */
  chainedPolls: number;
}

/**
 * The signal a fault the kernel could not resolve becomes: SIGBUS for a machine check or a file
 * mapping past its end, SIGKILL when the OOM killer chose the faulting process, SIGSEGV for the rest.
 */
function faultSignal(e: GuestSegfault): RvSignal {
  return e.signal === 'SIGBUS' ? SIGBUS : e.signal === 'SIGKILL' ? SIGKILL : SIGSEGV;
}

export class RvCore {
  /** Why the last run stopped with StopReason.Fault (null otherwise). */
  fault: RvFault | null = null;
  readonly decodeCache: DecodeCache;
  readonly reservations: Reservations;
  readonly memory: RvMemory;
  /** The memory arrays compiled blocks access inline (jit.ts). */
  private readonly inline: InlineMemory;

  private readonly mmu: Mmu;
  private readonly tlb: Tlb;
  private readonly shared: Int32Array;
  private readonly ram32: Int32Array;
  private readonly pollWords: Int32Array;
  private readonly pollIndex: number;
  private readonly clock: { read(): number };
  private readonly onPendingWork: () => boolean;
  private readonly vclock: VirtualClock | null;
  private readonly hotBlock: number;
  private lastHart: Hart | null = null;
  /** What the decode-cache epoch was last synchronised with. */
  private seenTlbGen = -1;
  private seenCr3 = -1;
  private seenPcid = -1;
  /** Block chaining's slice window and page-entry cache (chain.ts); holds seenIcacheGen. */
  private readonly chain: ChainContext;
  private blocksCompiled = 0;
  private blocksDeferred = 0;

  constructor(opts: RvCoreOptions) {
    const hot = opts.hotBlock ?? HOT_BLOCK;
    if (!Number.isInteger(hot) || hot < 0 || hot >= HEAT_NEVER) {
      throw new InternalError(`RvCore: hotBlock must be an integer from 0 to ${HEAT_NEVER - 1}, got ${hot}`);
    }
    this.hotBlock = hot === 0 ? HEAT_NEVER : hot;
    this.mmu = opts.mmu;
    this.tlb = opts.tlb;
    this.shared = new Int32Array(opts.shared);
    this.ram32 = opts.ram.i32;
    this.pollWords = opts.pollWords;
    this.pollIndex = opts.pollIndex;
    this.clock = opts.clock;
    this.onPendingWork = opts.onPendingWork;
    this.decodeCache = new DecodeCache(opts.ram.i32, opts.ram.frames, opts.frameGens ?? null);
    this.reservations = new Reservations(this.shared, opts.ram.i32, opts.cpu, opts.cpus);
    this.memory = new RvMemory(opts.mmu, opts.ram, this.decodeCache, this.reservations);
    this.inline = this.memory.inlineView();
    this.vclock = opts.vclock ?? null;
    this.memory.vclock = this.vclock;
    this.chain = new ChainContext(opts.tlb, this.decodeCache, opts.pollWords, opts.pollIndex, this.shared, this.vclock !== null);
    // ORDERING: pairs with flushIcacheAll's Atomics.add: flushes before this core existed are moot.
    this.chain.seenIcacheGen = Atomics.load(this.shared, RV_CTL.icacheGen);
  }

  /** A core over one vCPU's hardware, polling its APIC and reading its pvclock. */
  static forHardware(hw: VcpuHardware, shared: SharedArrayBuffer, onPendingWork: () => boolean, hotBlock?: number, frameGens?: FrameGens): RvCore {
    return new RvCore({
      cpu: hw.cpu, cpus: hw.cpus, ram: hw.ram, mmu: hw.mmu, tlb: hw.tlb, shared,
      pollWords: hw.machineWords, pollIndex: hw.apic.pendingIndex, clock: hw.pvclock, onPendingWork, vclock: hw.vclock,
      ...(hotBlock === undefined ? {} : { hotBlock }),
      ...(frameGens === undefined ? {} : { frameGens }),
    });
  }

  /**
   * Remote FENCE.I (riscv_flush_icache for every hart): every core revalidates its code pages
   * at its next poll boundary (within POLL_INTERVAL instructions). Any thread.
   */
  static flushIcacheAll(shared: SharedArrayBuffer): void {
    // ORDERING: pairs with each core's Atomics.load of icacheGen at its poll boundary; stores
    // made before this call are visible to a core that sees the new generation.
    Atomics.add(new Int32Array(shared), RV_CTL.icacheGen, 1);
  }

  /** Drop this vCPU's LR reservation (the kernel switches tasks or enters a trap). */
  clearReservation(): void {
    this.reservations.clear();
  }

  /** The last fault as one line (pc, instruction, address), or '' if the last run did not fault. */
  describeFault(): string {
    return this.fault === null ? '' : describeFault(this.fault);
  }

  stats(): RvCoreStats {
    return {
      blocksCompiled: this.blocksCompiled,
      blocksDeferred: this.blocksDeferred,
      codePages: this.decodeCache.size,
      revalidations: this.decodeCache.revalidations,
      slotsDropped: this.decodeCache.slotsDropped,
      chainedPolls: this.chain.polls,
    };
  }

  /**
   * Execute up to `budget` instructions of `hart`. Returns why it stopped; hart.pc is the next
   * instruction to execute (for Ecall, Ebreak and Fault: the instruction that trapped).
   */
  run(hart: Hart, budget: number): StopReason {
    if (!Number.isInteger(budget) || budget < 1) {
      throw new InternalError(`RvCore.run: budget must be a positive integer, got ${budget}`);
    }
    if (hart !== this.lastHart) {
      this.reservations.clear();
      this.lastHart = hart;
    }
    this.fault = null;
    const x = hart.x;
    const mmu = this.mmu;
    const tlb = this.tlb;
    const mem = this.memory;
    const ram32 = this.ram32;
    const dc = this.decodeCache;
    const hot = this.hotBlock;
    const fast = tlb.fast;
    const fastRead = fast.readTag;
    const fastAddend = fast.addend;
    const chain = this.chain;

    let pc = hart.pc | 0;
    /** Instructions not yet handed to a slice. */
    let left = budget;
    /** Instructions left in the current slice (between two polls). */
    let n = 0;
    let reason = StopReason.Budget;
    /** The slot executing, and its first word in the page's decoded array. */
    let i = 0;
    let s = 0;
    /** While a compiled block runs: its entry slot (-1: none runs). */
    let blockStart = -1;
    /** While a compiled block runs: the instructions left in the run (n + left) when it was called. */
    let callTotal = 0;

    /** Virtual time: instructions of this run (on the budget's scale) already given to the clock. */
    let accounted = 0;
    const vclock = this.vclock;

    outer: for (;;) {
      if (n === 0) {
        // A poll boundary.
        if (left === 0) break;
        if (vclock !== null && budget - left > accounted) {
          // Virtual time: what the slice retired moves the clock (and may hand the turn over).
          vclock.instructions(budget - left - accounted);
          accounted = budget - left;
        }
        // ORDERING: pairs with the APIC senders' Atomics.or of the pending word (as the MMU's
        // poll does), so onPendingWork finds what they posted.
        if (Atomics.load(this.pollWords, this.pollIndex) !== 0) {
          hart.pc = pc >>> 0;
          hart.instret += budget - left;
          budget = left;
          accounted = 0;
          // An interrupt is a trap: the reservation does not survive it.
          this.reservations.clear();
          if (this.onPendingWork()) {
            reason = StopReason.Interrupt;
            break;
          }
        }
        // ORDERING: pairs with flushIcacheAll's Atomics.add (a remote FENCE.I).
        const icacheGen = Atomics.load(this.shared, RV_CTL.icacheGen);
        if (icacheGen !== chain.seenIcacheGen) {
          chain.seenIcacheGen = icacheGen;
          dc.newEpoch();
        }
        n = left < POLL_INTERVAL ? left : POLL_INTERVAL;
        left -= n;
        chain.slice++;
      }

      // Enter the code page of pc.
      if ((pc & 3) !== 0) {
        // Only a bad initial pc gets here: jumps check their targets.
        this.raise(SIGBUS, 'instruction address misaligned', pc, null, pc, 0);
        reason = StopReason.Fault;
        break;
      }
      let pageVa = pc & ~OFFSET_MASK;
      this.syncEpoch();
      // The page-entry cache first (chain.ts): a page entered before under the same
      // translation, TLB generation and decode-cache state needs neither again.
      let cp = chain.lookup(pageVa);
      if (cp === undefined) {
        let pa: number;
        try {
          // Instruction fetch: the TLB's fast front first (a fetch needs read permission only:
          // i386 paging has no NX), as a data load would.
          const fi = (pc >>> 12) & FAST_TLB_MASK;
          if (pageVa === fastRead[fi]) {
            fast.hits++;
            pa = (pc + fastAddend[fi]!) >>> 0;
          } else {
            pa = mmu.translate(pc, false);
            fast.fill(pc, pa, false);
          }
        } catch (e) {
          if (!(e instanceof GuestSegfault)) throw e;
          this.raise(faultSignal(e), 'instruction page fault', pc, null, e.address, e.errorCode, e.mapped);
          reason = StopReason.Fault;
          break;
        }
        // The translation may have run the page-fault handler, which may have flushed.
        this.syncEpoch();
        cp = dc.enter(pa >>> 12);
        chain.fill(pageVa, cp);
      } else {
        fast.hits++;
      }
      let page = cp.decoded;
      let blocks = cp.blocks;
      let blockLens = cp.blockLen;
      let heat = cp.heat;
      let pbase = cp.frame * PAGE_SLOTS;
      const gen = tlb.generation;
      chain.pageGen = gen;
      i = (pc & OFFSET_MASK) >>> 2;

      try {
        block: for (;;) {
          // A block entry at slot i: run its compiled block if there is one and it fits.
          if (n === 0) {
            pc = (pageVa + (i << 2)) | 0;
            continue outer;
          }
          const fn = blocks[i];
          if (fn !== undefined) {
            const len = blockLens[i]!;
            if (len > n && len <= n + left) {
              // The block would straddle a poll boundary: poll now and start a fresh slice
              // with it (an interrupt comes no later; the budget is exact). Borrowing just
              // enough for one pass instead would leave looping blocks a round per call.
              left += n;
              n = 0;
              pc = (pageVa + (i << 2)) | 0;
              continue outer;
            }
            if (len <= n) {
              blockStart = i;
              // The block may leave by a side exit, loop while a whole pass more fits the
              // slice, or chain into further blocks, in this page or others, taking poll
              // boundaries on the way (chain.ts): mem.ran says how many instructions they
              // retired, chain.sliceEnd where the slice they ended in ends, and chain.pageVa
              // the page the last of them ran in, whose slot `next` is.
              callTotal = n + left;
              chain.sliceEnd = n;
              chain.runEnd = callTotal;
              chain.pageVa = pageVa;
              chain.page = cp;
              const next = fn(x, mem, pageVa, n, 0, 0);
              n = chain.sliceEnd - mem.ran;
              left = callTotal - chain.sliceEnd;
              blockStart = -1;
              if (chain.pageVa !== pageVa) {
                cp = chain.page!;
                pageVa = chain.pageVa;
                page = cp.decoded;
                blocks = cp.blocks;
                blockLens = cp.blockLen;
                heat = cp.heat;
                pbase = cp.frame * PAGE_SLOTS;
              }
              if (next >= 0) {
                i = next;
                if (tlb.generation !== gen) {
                  pc = (pageVa + (i << 2)) | 0;
                  continue outer;
                }
                continue block;
              }
              if (next === EXIT_PAGE) {
                pc = mem.nextPc;
                continue outer;
              }
              // EXIT_REDO: the slots before mem.slot retired (counted in mem.ran); interpret
              // mem.slot (it faults).
              i = mem.slot;
            } else {
              this.blocksDeferred++;
            }
          } else if (hot !== HEAT_NEVER && heat[i]! < hot && ++heat[i]! >= hot) {
            this.compile(cp, i);
            continue block;
          }

          // Interpret from slot i through the next control transfer.
          for (;;) {
            if (n === 0) {
              pc = (pageVa + (i << 2)) | 0;
              continue outer;
            }
            n--;
            s = i * DECODED_STRIDE;
            const w = page[s]!;
            switch (w & 0xff) {
              case Op.Undecoded:
                decodeInto(ram32[pbase + i]!, page, s);
                n++;
                break;
              case Op.PageEnd:
                // Fell off the end of the page: go on at the next one. The sentinel is not an
                // instruction and does not count.
                n++;
                pc = (pageVa + (PAGE_SLOTS << 2)) | 0;
                continue outer;

              // --- U and J types ---
              case Op.Lui:
                x[(w >>> 8) & 63] = page[s + 1]!;
                i++;
                break;
              case Op.Auipc:
                x[(w >>> 8) & 63] = pageVa + (i << 2) + page[s + 1]!;
                i++;
                break;
              case Op.Jal: {
                x[(w >>> 8) & 63] = pageVa + (i << 2) + 4;
                const t = i + page[s + 3]!;
                if (t >= 0 && t < PAGE_SLOTS) {
                  i = t;
                  continue block;
                }
                pc = (pageVa + (t << 2)) | 0;
                continue outer;
              }
              case Op.Jalr: {
                const target = (x[(w >>> 16) & 31]! + page[s + 1]!) & ~1;
                if ((target & 2) !== 0) {
                  n++;
                  pc = (pageVa + (i << 2)) | 0;
                  this.raise(SIGBUS, 'instruction address misaligned', pc, page[s + 2]!, target, 0);
                  reason = StopReason.Fault;
                  break outer;
                }
                x[(w >>> 8) & 63] = pageVa + (i << 2) + 4;
                if (((target ^ pageVa) & ~OFFSET_MASK) === 0) {
                  i = (target & OFFSET_MASK) >>> 2;
                  continue block;
                }
                pc = target;
                continue outer;
              }

              // --- branches: taken or not, the next slot is a block entry ---
              case Op.Beq:
              case Op.Bne:
              case Op.Blt:
              case Op.Bge:
              case Op.Bltu:
              case Op.Bgeu: {
                const a = x[(w >>> 16) & 31]!;
                const b = x[w >>> 24]!;
                let taken: boolean;
                switch (w & 0xff) {
                  case Op.Beq: taken = a === b; break;
                  case Op.Bne: taken = a !== b; break;
                  case Op.Blt: taken = a < b; break;
                  case Op.Bge: taken = a >= b; break;
                  case Op.Bltu: taken = a >>> 0 < b >>> 0; break;
                  default: taken = a >>> 0 >= b >>> 0; break;
                }
                if (!taken) {
                  i++;
                  continue block;
                }
                const t = i + page[s + 3]!;
                if (t >= 0 && t < PAGE_SLOTS) {
                  i = t;
                  continue block;
                }
                pc = (pageVa + (t << 2)) | 0;
                continue outer;
              }
              case Op.BranchMisaligned:
              case Op.JalMisaligned:
                if (misalignedTaken(w, page[s + 3]!, x)) {
                  n++;
                  pc = (pageVa + (i << 2)) | 0;
                  this.raise(SIGBUS, 'instruction address misaligned', pc, page[s + 2]!, pc + page[s + 1]!, 0);
                  reason = StopReason.Fault;
                  break outer;
                }
                i++;
                continue block;

              // --- loads and stores (RvMemory; a flush behind them re-enters the page) ---
              case Op.Lw:
                x[(w >>> 8) & 63] = mem.ld32((x[(w >>> 16) & 31]! + page[s + 1]!) | 0);
                i++;
                if (tlb.generation !== gen) { pc = (pageVa + (i << 2)) | 0; continue outer; }
                break;
              case Op.Lh:
                x[(w >>> 8) & 63] = mem.ld16((x[(w >>> 16) & 31]! + page[s + 1]!) | 0);
                i++;
                if (tlb.generation !== gen) { pc = (pageVa + (i << 2)) | 0; continue outer; }
                break;
              case Op.Lhu:
                x[(w >>> 8) & 63] = mem.ld16u((x[(w >>> 16) & 31]! + page[s + 1]!) | 0);
                i++;
                if (tlb.generation !== gen) { pc = (pageVa + (i << 2)) | 0; continue outer; }
                break;
              case Op.Lb:
                x[(w >>> 8) & 63] = mem.ld8((x[(w >>> 16) & 31]! + page[s + 1]!) | 0);
                i++;
                if (tlb.generation !== gen) { pc = (pageVa + (i << 2)) | 0; continue outer; }
                break;
              case Op.Lbu:
                x[(w >>> 8) & 63] = mem.ld8u((x[(w >>> 16) & 31]! + page[s + 1]!) | 0);
                i++;
                if (tlb.generation !== gen) { pc = (pageVa + (i << 2)) | 0; continue outer; }
                break;
              case Op.Sw:
                mem.st32((x[(w >>> 16) & 31]! + page[s + 1]!) | 0, x[w >>> 24]!);
                i++;
                if (tlb.generation !== gen) { pc = (pageVa + (i << 2)) | 0; continue outer; }
                break;
              case Op.Sh:
                mem.st16((x[(w >>> 16) & 31]! + page[s + 1]!) | 0, x[w >>> 24]!);
                i++;
                if (tlb.generation !== gen) { pc = (pageVa + (i << 2)) | 0; continue outer; }
                break;
              case Op.Sb:
                mem.st8((x[(w >>> 16) & 31]! + page[s + 1]!) | 0, x[w >>> 24]!);
                i++;
                if (tlb.generation !== gen) { pc = (pageVa + (i << 2)) | 0; continue outer; }
                break;

              // --- OP-IMM ---
              case Op.Addi:
                x[(w >>> 8) & 63] = x[(w >>> 16) & 31]! + page[s + 1]!;
                i++;
                break;
              case Op.Slti:
                x[(w >>> 8) & 63] = x[(w >>> 16) & 31]! < page[s + 1]! ? 1 : 0;
                i++;
                break;
              case Op.Sltiu:
                x[(w >>> 8) & 63] = x[(w >>> 16) & 31]! >>> 0 < page[s + 1]! >>> 0 ? 1 : 0;
                i++;
                break;
              case Op.Xori:
                x[(w >>> 8) & 63] = x[(w >>> 16) & 31]! ^ page[s + 1]!;
                i++;
                break;
              case Op.Ori:
                x[(w >>> 8) & 63] = x[(w >>> 16) & 31]! | page[s + 1]!;
                i++;
                break;
              case Op.Andi:
                x[(w >>> 8) & 63] = x[(w >>> 16) & 31]! & page[s + 1]!;
                i++;
                break;
              case Op.Slli:
                x[(w >>> 8) & 63] = x[(w >>> 16) & 31]! << page[s + 1]!;
                i++;
                break;
              case Op.Srli:
                x[(w >>> 8) & 63] = x[(w >>> 16) & 31]! >>> page[s + 1]!;
                i++;
                break;
              case Op.Srai:
                x[(w >>> 8) & 63] = x[(w >>> 16) & 31]! >> page[s + 1]!;
                i++;
                break;

              // --- OP (JavaScript shifts use the low 5 bits of the count, as RV32's do) ---
              case Op.Add:
                x[(w >>> 8) & 63] = x[(w >>> 16) & 31]! + x[w >>> 24]!;
                i++;
                break;
              case Op.Sub:
                x[(w >>> 8) & 63] = x[(w >>> 16) & 31]! - x[w >>> 24]!;
                i++;
                break;
              case Op.Sll:
                x[(w >>> 8) & 63] = x[(w >>> 16) & 31]! << x[w >>> 24]!;
                i++;
                break;
              case Op.Slt:
                x[(w >>> 8) & 63] = x[(w >>> 16) & 31]! < x[w >>> 24]! ? 1 : 0;
                i++;
                break;
              case Op.Sltu:
                x[(w >>> 8) & 63] = x[(w >>> 16) & 31]! >>> 0 < x[w >>> 24]! >>> 0 ? 1 : 0;
                i++;
                break;
              case Op.Xor:
                x[(w >>> 8) & 63] = x[(w >>> 16) & 31]! ^ x[w >>> 24]!;
                i++;
                break;
              case Op.Srl:
                x[(w >>> 8) & 63] = x[(w >>> 16) & 31]! >>> x[w >>> 24]!;
                i++;
                break;
              case Op.Sra:
                x[(w >>> 8) & 63] = x[(w >>> 16) & 31]! >> x[w >>> 24]!;
                i++;
                break;
              case Op.Or:
                x[(w >>> 8) & 63] = x[(w >>> 16) & 31]! | x[w >>> 24]!;
                i++;
                break;
              case Op.And:
                x[(w >>> 8) & 63] = x[(w >>> 16) & 31]! & x[w >>> 24]!;
                i++;
                break;

              // --- M ---
              case Op.Mul:
                x[(w >>> 8) & 63] = Math.imul(x[(w >>> 16) & 31]!, x[w >>> 24]!);
                i++;
                break;
              case Op.Mulh:
              case Op.Mulhsu:
              case Op.Mulhu:
              case Op.Div:
              case Op.Divu:
              case Op.Rem:
              case Op.Remu:
                x[(w >>> 8) & 63] = mulDiv(w & 0xff, x[(w >>> 16) & 31]!, x[w >>> 24]!);
                i++;
                break;

              // --- A: aligned only; SIGBUS otherwise ---
              case Op.LrW:
              case Op.ScW:
              case Op.AmoSwap:
              case Op.AmoAdd:
              case Op.AmoXor:
              case Op.AmoAnd:
              case Op.AmoOr:
              case Op.AmoMin:
              case Op.AmoMax:
              case Op.AmoMinu:
              case Op.AmoMaxu: {
                const va = x[(w >>> 16) & 31]! | 0;
                if ((va & 3) !== 0) {
                  n++;
                  pc = (pageVa + (i << 2)) | 0;
                  this.raise(SIGBUS, 'store/AMO address misaligned', pc, page[s + 2]!, va, 0);
                  reason = StopReason.Fault;
                  break outer;
                }
                x[(w >>> 8) & 63] = this.atomic(w & 0xff, va, x[w >>> 24]!);
                i++;
                if (tlb.generation !== gen) { pc = (pageVa + (i << 2)) | 0; continue outer; }
                break;
              }

              // --- MISC-MEM and SYSTEM ---
              case Op.Fence:
                mem.fence();
                i++;
                break;
              case Op.FenceI:
                // Everything this core runs from now on must match RAM: move the epoch and
                // re-enter the page, which revalidates it (and every other page on entry).
                dc.newEpoch();
                i++;
                pc = (pageVa + (i << 2)) | 0;
                continue outer;
              case Op.CsrRead:
                x[(w >>> 8) & 63] = this.readCounter(page[s + 1]!, hart, budget - left - n - 1);
                i++;
                break;
              case Op.Ecall:
                n++;
                pc = (pageVa + (i << 2)) | 0;
                reason = StopReason.Ecall;
                break outer;
              case Op.Ebreak:
                n++;
                pc = (pageVa + (i << 2)) | 0;
                reason = StopReason.Ebreak;
                break outer;
              case Op.Illegal:
                n++;
                pc = (pageVa + (i << 2)) | 0;
                this.raise(SIGILL, 'illegal instruction', pc, page[s + 2]!, pc, 0);
                reason = StopReason.Fault;
                break outer;
              default:
                throw new InternalError(`riscv: decoded slot holds unknown op ${w & 0xff} (raw 0x${(page[s + 2]! >>> 0).toString(16)})`);
            }
          }
        }
      } catch (e) {
        if (!(e instanceof GuestSegfault)) throw e;
        if (blockStart >= 0) {
          // A compiled block faulted at mem.slot of the page the chain was running in: what
          // the chain retired before is in mem.ran.
          n = chain.sliceEnd - mem.ran;
          left = callTotal - chain.sliceEnd;
          if (chain.pageVa !== pageVa) {
            pageVa = chain.pageVa;
            page = chain.page!.decoded;
          }
          i = mem.slot;
          s = i * DECODED_STRIDE;
          blockStart = -1;
        } else {
          // The interpreted instruction at slot i faulted before changing a register.
          n++;
        }
        pc = (pageVa + (i << 2)) | 0;
        const store = isStoreLike(page[s]! & 0xff);
        this.raise(faultSignal(e), store ? 'store/AMO page fault' : 'load page fault', pc, page[s + 2]!, e.address, e.errorCode, e.mapped);
        reason = StopReason.Fault;
        break;
      }
    }

    hart.pc = pc >>> 0;
    hart.instret += budget - left - n;
    if (vclock !== null && budget - left - n > accounted) vclock.instructions(budget - left - n - accounted);
    if (reason !== StopReason.Budget) this.reservations.clear();
    // The fast TLB front's hits join the TLB's count here, once per run.
    tlb.drainFastHits();
    return reason;
  }

  /** Move the decode-cache epoch if the TLB was flushed or CR3/PCID changed since last time. */
  private syncEpoch(): void {
    // With frame reuse tracked, the decode cache checks each frame itself.
    if (this.decodeCache.tracksReuse) return;
    const g = this.tlb.generation;
    const cr3 = this.mmu.cr3;
    const pcid = this.mmu.pcid;
    if (g !== this.seenTlbGen || cr3 !== this.seenCr3 || pcid !== this.seenPcid) {
      this.seenTlbGen = g;
      this.seenCr3 = cr3;
      this.seenPcid = pcid;
      this.decodeCache.newEpoch();
    }
  }

  private compile(cp: CodePage, slot: number): void {
    const block = compileBlock(cp, slot, this.ram32, this.inline, this.chain);
    if (block === null) {
      cp.heat[slot] = HEAT_NEVER;
      return;
    }
    cp.blocks[slot] = block.fn;
    cp.blockLen[slot] = block.len;
    cp.compiled++;
    this.blocksCompiled++;
  }

  private raise(signal: RvSignal, cause: RvCause, pc: number, insn: number | null, addr: number, errorCode: number, mapped = false): void {
    this.fault = { signal, cause, pc: pc >>> 0, insn, addr: addr >>> 0, errorCode, mapped };
  }

  /** LR.W, SC.W or an AMO at the aligned `va`; returns what rd gets. */
  private atomic(op: number, va: number, operand: number): number {
    const mem = this.memory;
    switch (op) {
      case Op.LrW: return mem.lrW(va);
      case Op.ScW: return mem.scW(va, operand);
      case Op.AmoSwap: return mem.amo(AmoKind.Swap, va, operand);
      case Op.AmoAdd: return mem.amo(AmoKind.Add, va, operand);
      case Op.AmoXor: return mem.amo(AmoKind.Xor, va, operand);
      case Op.AmoAnd: return mem.amo(AmoKind.And, va, operand);
      case Op.AmoOr: return mem.amo(AmoKind.Or, va, operand);
      case Op.AmoMin: return mem.amo(AmoKind.Min, va, operand);
      case Op.AmoMax: return mem.amo(AmoKind.Max, va, operand);
      case Op.AmoMinu: return mem.amo(AmoKind.Minu, va, operand);
      case Op.AmoMaxu: return mem.amo(AmoKind.Maxu, va, operand);
      default:
        throw new InternalError(`riscv: op ${op} is not an LR/SC or AMO`);
    }
  }

  /** A counter CSR; `retired` is what this run retired before the reading instruction. */
  private readCounter(csr: number, hart: Hart, retired: number): number {
    switch (csr) {
      case CSR_CYCLE: return low(readTsc());
      case CSR_CYCLEH: return high(readTsc());
      case CSR_TIME: return low(Math.max(0, this.clock.read()));
      case CSR_TIMEH: return high(Math.max(0, this.clock.read()));
      case CSR_INSTRET: return low(hart.instret + retired);
      case CSR_INSTRETH: return high(hart.instret + retired);
      default:
        throw new InternalError(`riscv: CSR 0x${csr.toString(16)} decoded as a counter`);
    }
  }
}

const low = (v: number): number => v % TWO32 | 0;
const high = (v: number): number => Math.floor(v / TWO32) | 0;

/** Whether a faulting op was a store (or SC/AMO), for the page-fault cause. */
function isStoreLike(op: number): boolean {
  return op === Op.Sb || op === Op.Sh || op === Op.Sw || (op >= Op.ScW && op <= Op.AmoMaxu);
}

/** Whether a misaligned-target branch (funct3 in `f3`) or JAL would be taken. */
function misalignedTaken(w: number, f3: number, x: Int32Array): boolean {
  if ((w & 0xff) === Op.JalMisaligned) return true;
  const a = x[(w >>> 16) & 31]!;
  const b = x[w >>> 24]!;
  switch (f3) {
    case 0: return a === b;
    case 1: return a !== b;
    case 4: return a < b;
    case 5: return a >= b;
    case 6: return a >>> 0 < b >>> 0;
    case 7: return a >>> 0 >= b >>> 0;
    default: return false;
  }
}
