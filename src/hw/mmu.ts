/**
 * One vCPU's memory management unit: its TLB, the hardware walker and guest RAM, behind the
 * loads and stores a guest user-mode program makes. Runs only on the
 * owning vCPU's worker; the TLB it holds is that worker's alone (worker-local memory, so no other
 * thread can reach this object to call it).
 *
 * Every access, in order:
 *   1. Poll the vCPU's APIC pending word; if non-zero, call hooks.onPendingWork() (the vCPU
 *      takes its interrupts there, which may flush this TLB) before translating.
 *   2. TLB lookup under the current PCID. A hit whose flags allow the access (US for a read;
 *      US, RW and D for a write) gives the frame: the hit path ends here.
 *   3. Otherwise walk the page tables (a miss; a hit without permission, in case the PTE was
 *      upgraded; or a write hit on a clean page, the "dirty assist" that sets D). A successful
 *      walk fills the TLB and the access proceeds.
 *   4. A failed walk calls hooks.onPageFault(va, errorCode). If it returns, the access retries
 *      from step 2; if it throws (GuestSegfault), the exception leaves the access.
 *
 * Data accesses use plain typed-array reads and writes: races between guest threads on guest
 * data are the guest's business, as on real hardware. The atomic accesses (atomicLoad32 and
 * friends) use Atomics, for guest locks and counters shared between vCPUs.
 * Values are little-endian; load32 returns a signed int32 (`>>> 0` for unsigned), load8 and
 * load16 return zero-extended values.
 *
 * Cost: on Node 20 (V8 11.3) the poll's Atomics.load is a builtin call of several nanoseconds,
 * about as much as the rest of a TLB hit; it stays on every access because the vCPU must see an
 * IPI at the next access boundary, and a plain read of the shared word may legally be hoisted
 * out of a guest loop by the compiler, hiding the IPI for ever.
 *
 * Page faults are not counted here: the kernel's fault handler counts pageFaults and the kind
 * of fault it resolved. Walks are counted (tlbWalks), hits and misses by the TLB.
 */
import type { VirtualClock } from './virtual-clock.js';
import { GuestSegfault, InternalError } from '../lib/errors.js';
import type { VcpuCounters } from '../stats/counters.js';
import type { GuestRam } from './memory.js';
import { PAGE_SHIFT, PAGE_SIZE, PTE_D, PTE_G, PTE_RW, PTE_US } from './paging.js';
import { MAX_PCID, type Tlb } from './tlb.js';
import { FAST_TLB_MASK } from './fast-tlb.js';
import { WALK_MACHINE_CHECK, WalkResult, peekWalk, walk } from './walker.js';

export interface MmuHooks {
  /**
   * The APIC pending word was non-zero at an access boundary: take pending interrupts now.
   * May flush this MMU's TLB (a shootdown) or write CR3; the access translates afterwards.
   */
  onPendingWork(): void;
  /**
   * A user access to `va` faulted with x86 `errorCode` (PF_PROT | PF_WRITE | PF_USER). Return
   * after fixing the mapping to retry the access, or throw (GuestSegfault) to abandon it.
   */
  onPageFault(va: number, errorCode: number): void;
}

/**
 * The --check TLB coherence checker's view of the flush protocol (the vCPU implements it:
 * src/vcpu/coherence.ts, docs/coherence.md).
 */
export interface CoherenceSource {
  /** A walk that may fill the TLB is about to start. */
  beforeWalk(): void;
  /**
   * The fill mark of the entry the walk that just ended makes: for a user entry a point in the
   * change log's order read after the walk, for a `global` one the kernel's flush generation.
   */
  insertGen(global: boolean): number;
  /**
   * Nothing filled at or after this mark can be a violation yet: for a user entry the begin of
   * the newest completed flush of the loaded mm, for a global one the kernel's completed
   * generation (0: none).
   */
  completedGen(global: boolean): number;
  /**
   * Asked after a stale entry was seen: the completed flush that should have removed it (it
   * covers the page and began after the first change made since the entry's fill), or null when
   * none has completed yet — a change whose flush is still to come is legal on x86.
   */
  coveringFlush(global: boolean, va: number, insertGen: number): FlushCover | null;
  /**
   * Shadow paging, after a walk of the hypervisor's shadow filled a user entry for `va`: the
   * change-log number of the guest's last change of that page if it was stored and committed
   * before the walk began — so a correct shadow held it — else 0 (docs/coherence.md, "Shadow
   * fills").
   */
  settledChange(va: number): number;
  /** A violation was found (already counted in coherenceViolations). */
  report(v: CoherenceViolation): void;
}

/** A completed flush that should have removed a stale entry. */
export interface FlushCover {
  /** Where it began in the checker's order (a user flush) or its generation (a kernel flush). */
  seq: number;
  /** Its range in bytes, [start, end), or the whole address space (both TLB_FLUSH_ALL, -1). */
  start: number;
  end: number;
  /** The vCPU that made it (-1: not recorded). */
  cpu: number;
}

/** A translation used after the shootdown that should have removed it completed. */
export interface CoherenceViolation {
  va: number;
  pcid: number;
  /** The TLB entry used: frame and effective flags. */
  cachedPfn: number;
  cachedFlags: number;
  /** What the page tables say now; -1 / 0 when va is not mapped. */
  currentPfn: number;
  currentFlags: number;
  /** The entry's fill mark, and the flush that should have removed it. */
  insertGen: number;
  flush: FlushCover;
  global: boolean;
  /**
   * Set when the entry was filled from a shadow page table out of step with the guest's: the
   * change-log number of the guest's committed change the shadow never took (`flush` is then
   * the page itself, cpu -1).
   */
  unsyncedChange?: number;
}

/**
 * Page faults one access may take before the MMU gives up. A legitimate access faults at most a
 * few times (not present, then write-protected for copy-on-write); a handler that returns
 * without fixing anything would otherwise loop forever.
 */
export const MAX_FAULTS_PER_ACCESS = 64;

/** TLB flags a user read needs. */
const READ_OK = PTE_US;
/** TLB flags a user write needs: writable, user, and already dirty (else a dirty assist). */
const WRITE_OK = PTE_US | PTE_RW | PTE_D;
const OFFSET_MASK = (1 << PAGE_SHIFT) - 1;
/**
 * Plain user accesses between two looks for pending work (an Atomics.load of the APIC pending
 * word): an interrupt waits at most this many accesses longer, a few hundred nanoseconds.
 */
export const POLL_EVERY = 32;

export class Mmu {
  /** CR3: guest-physical address of the current page directory. */
  cr3 = 0;
  /** The current PCID; always 0 while pcidEnabled is false. */
  pcid = 0;
  /** CR4.PCIDE: whether CR3 writes carry a PCID that tags TLB entries. */
  pcidEnabled = false;

  private readonly bytes: Uint8Array;
  private readonly i32: Int32Array;
  private readonly u16: Uint16Array;
  /**
   * Frames the guest may map: RAM below what the hypervisor reserved for itself (memorySetup's
   * usable size). A translation naming a frame at or above it is a machine check.
   */
  private guestFrames: number;
  private readonly walkOut = new WalkResult();
  /** Modelled cycles per page walk (references x walkRef cost), added at every walk. */
  walkCycles = 0;
  /**
   * --check is on. The only thing a TLB hit pays for the checker when it is off: one boolean
   * field test (see checkHit).
   */
  private checking = false;
  private checker: CoherenceSource | null = null;
  private readonly peekOut = new WalkResult();
  /**
   * Shadow paging (set by the backend at boot): the page directory of the guest's own tables,
   * which the hardware does not walk (it walks the hypervisor's shadow in CR3). With --check,
   * every user fill is compared with them (checkShadowFill); null: the hardware walks the
   * guest's tables.
   */
  guestTablesRoot: (() => number) | null = null;
  /** Plain accesses left before the next look for pending work (poll). */
  private pollCountdown = POLL_EVERY;
  /** --clock virtual: this vCPU's clock, which each poll advances by the accesses made (null: host time). */
  vclock: VirtualClock | null = null;
  /** The TLB's fast front (fast-tlb.ts), for the 32-bit hot paths. */
  private readonly fastRead: Int32Array;
  private readonly fastWrite: Int32Array;
  private readonly fastAddend: Int32Array;

  constructor(
    ram: GuestRam,
    readonly tlb: Tlb,
    private readonly counters: VcpuCounters,
    private readonly pollWords: Int32Array,
    private readonly pollIndex: number,
    private readonly hooks: MmuHooks,
  ) {
    if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
      // Typed arrays use host byte order; the guest is little-endian x86.
      throw new InternalError('pvemu needs a little-endian host: guest RAM is read through typed arrays');
    }
    this.bytes = ram.bytes;
    this.i32 = ram.i32;
    this.u16 = new Uint16Array(ram.sab);
    this.guestFrames = ram.frames;
    this.fastRead = tlb.fast.readTag;
    this.fastWrite = tlb.fast.writeTag;
    this.fastAddend = tlb.fast.addend;
  }

  /** The hypervisor's memory map: frames from `frames` up are not the guest's (boot, once). */
  setGuestFrames(frames: number): void {
    this.guestFrames = Math.min(this.guestFrames, frames);
  }

  /**
   * A user access whose translation names memory the guest does not have — a frame past the end
   * of RAM or one the hypervisor reserved, or a page table there. Hardware raises a machine
   * check; Linux's handler kills the consuming task with SIGBUS (BUS_MCEERR_AR). Counted.
   */
  private machineCheck(va: number, errorCode: number, what: string): never {
    this.counters.machineChecks++;
    throw new GuestSegfault(va, errorCode, 'SIGBUS', `machine check: ${what} outside guest RAM`);
  }

  /** Turn the coherence checker on (--check): every TLB hit is compared with the page tables. */
  enableCheck(source: CoherenceSource): void {
    this.tlb.enableGenerations();
    this.checker = source;
    this.checking = true;
    // The checker must see every translation used: nothing may bypass the TLB lookup.
    this.tlb.fast.enabled = false;
    this.tlb.fast.clearAll();
  }

  /**
   * The checker, on a TLB hit that gave `pfn` for `va` (tlb.hitFlags still the entry's flags):
   * a violation is an entry that grants more than the current page tables (another frame, a
   * write they forbid, a user access they forbid, or any access to an unmapped page) and that a
   * completed flush should have removed (CoherenceSource.coveringFlush). Weaker entries, and
   * entries made stale by a change whose flush has not completed (it may not even have begun: a
   * COW fault writes the PTE, then flushes), are legal on x86.
   */
  private checkHit(va: number, pfn: number): void {
    const checker = this.checker!;
    const flags = this.tlb.hitFlags;
    const global = (flags & PTE_G) !== 0;
    const gen = this.tlb.hitGen(va >>> PAGE_SHIFT, this.pcid);
    // The cheap test first: no flush that could cover a change since the fill has completed.
    // Then the tables: a flush seen complete here had its PTE changes made before it began, so
    // the walk below sees them (or newer ones).
    const completed = checker.completedGen(global);
    if (gen < 0 || gen >= completed) return;
    const out = this.peekOut;
    const present = peekWalk(this.i32, this.cr3, va, out);
    if (!grantsMore(pfn, flags, present, out)) return;
    const flush = checker.coveringFlush(global, va >>> 0, gen);
    if (flush === null) return;
    this.counters.coherenceViolations++;
    checker.report({
      va: va >>> 0,
      pcid: this.pcid,
      cachedPfn: pfn,
      cachedFlags: flags,
      currentPfn: present ? out.pfn : -1,
      currentFlags: present ? out.flags : 0,
      insertGen: gen,
      flush,
      global,
    });
  }

  /**
   * The checker under shadow paging, after a walk of the shadow filled the user entry `filled`
   * for `va`: the entry must not grant more than the guest's own tables unless the guest's last
   * change of the page was still being made as the walk ran (docs/coherence.md, "Shadow fills").
   * The guest's tables are read after the walk, the change log after them: a change stored
   * between the walk and this read was announced before its store, so the log shows it.
   */
  private checkShadowFill(va: number, filled: WalkResult, root: number): void {
    if ((filled.flags & PTE_G) !== 0) return;
    const out = this.peekOut;
    const present = peekWalk(this.i32, root, va, out);
    if (!grantsMore(filled.pfn, filled.flags, present, out)) return;
    const checker = this.checker!;
    const change = checker.settledChange(va >>> 0);
    if (change === 0) return;
    this.counters.coherenceViolations++;
    const page = (va & ~OFFSET_MASK) >>> 0;
    checker.report({
      va: va >>> 0,
      pcid: this.pcid,
      cachedPfn: filled.pfn,
      cachedFlags: filled.flags,
      currentPfn: present ? out.pfn : -1,
      currentFlags: present ? out.flags : 0,
      insertGen: this.tlb.hitGen(va >>> PAGE_SHIFT, this.pcid),
      flush: { seq: change, start: page, end: page + PAGE_SIZE, cpu: -1 },
      global: false,
      unsyncedChange: change,
    });
  }

  /** Before a walk that may fill the TLB (checker on): snapshot the generations. */
  private beforeWalk(): void {
    if (this.checker !== null) this.checker.beforeWalk();
  }

  /** The insert generation for an entry with `flags` (0 with the checker off). */
  private insertGen(flags: number): number {
    return this.checker === null ? 0 : this.checker.insertGen((flags & PTE_G) !== 0);
  }

  /**
   * MOV to CR3. Without PCID: switch to page directory `pd` and drop every non-global TLB entry.
   * With PCID: switch to (pd, pcid) and drop that PCID's non-global entries unless `noFlush`
   * (CR3 bit 63), so a PCID's entries survive a switch away and back.
   */
  writeCr3(pd: number, pcid = 0, noFlush = false): void {
    if ((pd & OFFSET_MASK) !== 0 || pd < 0 || pd >= this.bytes.length) {
      throw new InternalError(`CR3 write: page directory 0x${(pd >>> 0).toString(16)} is not a page-aligned RAM address`);
    }
    if (this.pcidEnabled) {
      if (!Number.isInteger(pcid) || pcid < 0 || pcid > MAX_PCID) {
        throw new InternalError(`CR3 write: PCID must be an integer from 0 to ${MAX_PCID}, got ${pcid}`);
      }
      if (!noFlush) this.tlb.flushPcid(pcid, true);
    } else {
      if (pcid !== 0 || noFlush) {
        throw new InternalError(`CR3 write with PCID ${pcid}${noFlush ? ' and no-flush' : ''} while PCID is disabled`);
      }
      this.tlb.flushAll(true);
    }
    this.cr3 = pd;
    this.pcid = pcid;
    // The fast front holds one address space's translations: a switch (even without a flush,
    // which keeps the old PCID's entries in the TLB) empties it.
    this.tlb.fast.clearAll();
  }

  /** INVLPG: drop the TLB entry for `va` under the current PCID and any global entry for it. */
  invlpg(va: number): void {
    this.tlb.flushSingle(va, this.pcid);
  }

  /**
   * The guest-physical byte address a user-mode access to `va` would use, faulting and filling
   * the TLB as the access would. Does not poll for pending work: kernel callers
   * (copy_from_user-style reads) are not at a guest access boundary.
   */
  translate(va: number, write: boolean): number {
    const pfn = this.tlb.lookup(va >>> PAGE_SHIFT, this.pcid);
    const need = write ? WRITE_OK : READ_OK;
    if (pfn >= 0 && (this.tlb.hitFlags & need) === need) {
      if (this.checking) this.checkHit(va, pfn);
      return (pfn << PAGE_SHIFT) | (va & OFFSET_MASK);
    }
    return this.translateSlow(va, write);
  }

  load8(va: number): number {
    if (--this.pollCountdown === 0) this.poll();
    return this.bytes[this.translateRead(va)];
  }

  load16(va: number): number {
    if (--this.pollCountdown === 0) this.poll();
    if ((va & 1) !== 0) return this.loadBytes(va, 2);
    return this.u16[this.translateRead(va) >>> 1];
  }

  /**
   * Hot path: aligned 32-bit user load. A poll every POLL_EVERY accesses, then the TLB's fast
   * front (a tag compare: the entry is one the TLB holds with read permission), else the TLB.
   */
  load32(va: number): number {
    if (--this.pollCountdown === 0) this.poll();
    const i = (va >>> PAGE_SHIFT) & FAST_TLB_MASK;
    if ((va & 0xfffff003) === this.fastRead[i]) {
      this.counters.tlbHits++;
      return this.i32[(va + this.fastAddend[i]!) >>> 2];
    }
    if ((va & 3) !== 0) return this.loadBytes(va, 4);
    return this.i32[this.translateFill(va, false) >>> 2];
  }

  store8(va: number, value: number): void {
    if (--this.pollCountdown === 0) this.poll();
    this.bytes[this.translateWrite(va)] = value;
  }

  store16(va: number, value: number): void {
    if (--this.pollCountdown === 0) this.poll();
    if ((va & 1) !== 0) return this.storeBytes(va, 2, value);
    this.u16[this.translateWrite(va) >>> 1] = value;
  }

  /** Hot path: aligned 32-bit user store. A poll every POLL_EVERY accesses, the fast front (write entries only), else the TLB. */
  store32(va: number, value: number): void {
    if (--this.pollCountdown === 0) this.poll();
    const i = (va >>> PAGE_SHIFT) & FAST_TLB_MASK;
    if ((va & 0xfffff003) === this.fastWrite[i]) {
      this.counters.tlbHits++;
      this.i32[(va + this.fastAddend[i]!) >>> 2] = value;
      return;
    }
    if ((va & 3) !== 0) return this.storeBytes(va, 4, value);
    this.i32[this.translateFill(va, true) >>> 2] = value;
  }

  /** translate, then record the translation in the TLB's fast front. */
  private translateFill(va: number, write: boolean): number {
    const pa = this.translate(va, write);
    this.tlb.fast.fill(va, pa, write);
    return pa;
  }

  /** Sequentially consistent 32-bit load of an aligned guest word (guest locks, flags). */
  atomicLoad32(va: number): number {
    this.poll();
    // ORDERING: pairs with other vCPUs' atomicStore32 / cmpxchg32 / atomicAdd32 on this word.
    return Atomics.load(this.i32, this.atomicIndex(va, false));
  }

  atomicStore32(va: number, value: number): void {
    this.poll();
    // ORDERING: pairs with other vCPUs' atomicLoad32 / cmpxchg32 on this word (guest release).
    Atomics.store(this.i32, this.atomicIndex(va, true), value);
  }

  /** LOCK CMPXCHG: store `replacement` if the word equals `expected`; returns the old value. */
  cmpxchg32(va: number, expected: number, replacement: number): number {
    this.poll();
    // ORDERING: pairs with other vCPUs' atomic accesses to this word (guest lock acquire).
    // It needs write permission even when the compare fails, as x86's locked cycle does.
    return Atomics.compareExchange(this.i32, this.atomicIndex(va, true), expected, replacement);
  }

  /** LOCK XADD: add `delta`, returning the old value. */
  atomicAdd32(va: number, delta: number): number {
    this.poll();
    // ORDERING: pairs with other vCPUs' atomic accesses to this word (guest counters).
    return Atomics.add(this.i32, this.atomicIndex(va, true), delta);
  }

  /**
   * Supervisor-mode 32-bit store: the kernel writing its own 4 KiB-mapped memory (vmalloc area)
   * through the TLB, where the entries are global. There is no fixup for a kernel fault: one is
   * a kernel bug, reported as an oops (InternalError).
   */
  kernelStore32(va: number, value: number): void {
    const need = PTE_RW | PTE_D;
    const pfn = this.tlb.lookup(va >>> PAGE_SHIFT, this.pcid);
    if (pfn >= 0 && (this.tlb.hitFlags & need) === need) {
      if (this.checking) this.checkHit(va, pfn);
      this.i32[(pfn << (PAGE_SHIFT - 2)) | ((va & OFFSET_MASK) >>> 2)] = value;
      return;
    }
    const out = this.walkOut;
    this.counters.tlbWalks++;
    this.beforeWalk();
    if (!walk(this.i32, this.cr3, va, true, false, out)) {
      throw new InternalError(`kernel oops: supervisor write to va 0x${(va >>> 0).toString(16)} faulted (error code ${out.errorCode})`);
    }
    this.tlb.insert(va, this.pcid, out.pfn, out.flags, out.large, this.insertGen(out.flags));
    this.i32[(out.pfn << (PAGE_SHIFT - 2)) | ((va & OFFSET_MASK) >>> 2)] = value;
  }

  /**
   * Supervisor-mode 32-bit load from the kernel's own 4 KiB-mapped memory (vmalloc area), the
   * read side of kernelStore32: copy_thread's saved registers on a kernel stack. A fault is a
   * kernel bug (InternalError).
   */
  kernelLoad32(va: number): number {
    const pfn = this.tlb.lookup(va >>> PAGE_SHIFT, this.pcid);
    if (pfn >= 0) {
      if (this.checking) this.checkHit(va, pfn);
      return this.i32[(pfn << (PAGE_SHIFT - 2)) | ((va & OFFSET_MASK) >>> 2)]!;
    }
    const out = this.walkOut;
    this.counters.tlbWalks++;
    this.beforeWalk();
    if (!walk(this.i32, this.cr3, va, false, false, out)) {
      throw new InternalError(`kernel oops: supervisor read of va 0x${(va >>> 0).toString(16)} faulted (error code ${out.errorCode})`);
    }
    this.tlb.insert(va, this.pcid, out.pfn, out.flags, out.large, this.insertGen(out.flags));
    return this.i32[(out.pfn << (PAGE_SHIFT - 2)) | ((va & OFFSET_MASK) >>> 2)]!;
  }

  /**
   * Look for pending work (an interrupt): every POLL_EVERY plain accesses (countdown), and
   * before every atomic access (guest locks and flags, which spin loops wait on).
   */
  private poll(): void {
    const vclock = this.vclock;
    if (vclock !== null) {
      // Virtual time: the accesses since the last poll (POLL_EVERY from the countdown; from an
      // atomic access, the plain ones before it and itself) are the work that moves the clock,
      // and an atomic access is a synchronisation point.
      if (this.pollCountdown === 0) vclock.accesses(POLL_EVERY);
      else vclock.atomicAccess(POLL_EVERY - this.pollCountdown + 1);
    }
    this.pollCountdown = POLL_EVERY;
    // ORDERING: pairs with the APIC senders' Atomics.or of the pending word (src/hw/apic.ts),
    // after which what they posted is visible to onPendingWork.
    if (Atomics.load(this.pollWords, this.pollIndex) !== 0) this.hooks.onPendingWork();
  }

  private translateRead(va: number): number {
    const pfn = this.tlb.lookup(va >>> PAGE_SHIFT, this.pcid);
    if (pfn >= 0 && (this.tlb.hitFlags & READ_OK) !== 0) {
      if (this.checking) this.checkHit(va, pfn);
      return (pfn << PAGE_SHIFT) | (va & OFFSET_MASK);
    }
    return this.translateSlow(va, false);
  }

  private translateWrite(va: number): number {
    const pfn = this.tlb.lookup(va >>> PAGE_SHIFT, this.pcid);
    if (pfn >= 0 && (this.tlb.hitFlags & WRITE_OK) === WRITE_OK) {
      if (this.checking) this.checkHit(va, pfn);
      return (pfn << PAGE_SHIFT) | (va & OFFSET_MASK);
    }
    return this.translateSlow(va, true);
  }

  /**
   * Word index for an atomic access. Atomics must be aligned (no split locks): a misaligned one
   * raises SIGBUS as RISC-V's misaligned-AMO exception does, which a kernel access through a
   * user pointer (a clone tid pointer, a futex word) turns into -EFAULT.
   */
  private atomicIndex(va: number, write: boolean): number {
    if ((va & 3) !== 0) {
      throw new GuestSegfault(va, 0, 'SIGBUS', 'misaligned atomic access');
    }
    return this.translate(va, write) >>> 2;
  }

  /**
   * Steps 3 and 4 of the header: the first TLB lookup failed or lacked permission. Walk, fill
   * the TLB and return the physical address; on a fault, let the kernel fix it and retry.
   */
  private translateSlow(va: number, write: boolean): number {
    const out = this.walkOut;
    const need = write ? WRITE_OK : READ_OK;
    for (let faults = 0; faults <= MAX_FAULTS_PER_ACCESS; faults++) {
      if (faults > 0) {
        // Retry from the TLB: the fault handler may have flushed it or changed CR3.
        const pfn = this.tlb.lookup(va >>> PAGE_SHIFT, this.pcid);
        if (pfn >= 0 && (this.tlb.hitFlags & need) === need) {
          if (this.checking) this.checkHit(va, pfn);
          return (pfn << PAGE_SHIFT) | (va & OFFSET_MASK);
        }
      }
      this.counters.tlbWalks++;
      this.counters.modeledCycles += this.walkCycles;
      this.beforeWalk();
      if (walk(this.i32, this.cr3, va, write, true, out)) {
        if (out.pfn >= this.guestFrames) this.machineCheck(va, out.errorCode, `frame 0x${out.pfn.toString(16)}`);
        this.tlb.insert(va, this.pcid, out.pfn, out.flags, out.large, this.insertGen(out.flags));
        const root = this.checking && this.guestTablesRoot !== null ? this.guestTablesRoot() : -1;
        if (root >= 0) this.checkShadowFill(va, out, root);
        return (out.pfn << PAGE_SHIFT) | (va & OFFSET_MASK);
      }
      if ((out.errorCode & WALK_MACHINE_CHECK) !== 0) this.machineCheck(va, out.errorCode, 'a page table');
      if (faults === MAX_FAULTS_PER_ACCESS) break;
      this.hooks.onPageFault(va >>> 0, out.errorCode);
    }
    throw new InternalError(
      `${write ? 'write' : 'read'} of va 0x${(va >>> 0).toString(16)} faulted ${MAX_FAULTS_PER_ACCESS} times: ` +
        `the page-fault handler returns without fixing the mapping (last error code ${out.errorCode})`,
    );
  }

  /**
   * A misaligned load of `size` bytes (2 or 4), possibly crossing a page: translate the first
   * and the last byte's pages, then assemble the value byte by byte, little-endian.
   */
  private loadBytes(va: number, size: number): number {
    const first = this.translate(va, false);
    const pageEnd = OFFSET_MASK + 1 - (va & OFFSET_MASK);
    const second = size > pageEnd ? this.translate((va + pageEnd) >>> 0, false) : first + pageEnd;
    let value = 0;
    for (let i = 0; i < size; i++) {
      const pa = i < pageEnd ? first + i : second + (i - pageEnd);
      value |= this.bytes[pa] << (8 * i);
    }
    return size === 4 ? value : value >>> 0;
  }

  /**
   * A misaligned store of `size` bytes, possibly crossing a page. Both pages are translated
   * (and may fault) before any byte is written, so a fault on the second page leaves memory
   * unchanged, as x86's restartable instructions do.
   */
  private storeBytes(va: number, size: number, value: number): void {
    const first = this.translate(va, true);
    const pageEnd = OFFSET_MASK + 1 - (va & OFFSET_MASK);
    const second = size > pageEnd ? this.translate((va + pageEnd) >>> 0, true) : first + pageEnd;
    for (let i = 0; i < size; i++) {
      const pa = i < pageEnd ? first + i : second + (i - pageEnd);
      this.bytes[pa] = value >>> (8 * i);
    }
  }
}

/**
 * Whether a translation to `pfn` with `flags` grants more than the page tables' entry in `now`
 * (`present` false: none): another frame, a write they forbid, a user access they forbid, or
 * any access to an unmapped page. Weaker is legal: the access faults and the kernel fixes it.
 */
function grantsMore(pfn: number, flags: number, present: boolean, now: WalkResult): boolean {
  return (
    !present ||
    now.pfn !== pfn ||
    ((flags & PTE_RW) !== 0 && (now.flags & PTE_RW) === 0) ||
    ((flags & PTE_US) !== 0 && (now.flags & PTE_US) === 0)
  );
}
