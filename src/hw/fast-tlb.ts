/**
 * A direct-mapped front for one vCPU's TLB, QEMU softmmu's design: for the RV32 data accesses,
 * a tag compare and an add instead of the set-associative lookup. Entry i (va page number mod
 * FAST_TLB_ENTRIES) holds the page base its translation is for, separately for reads and
 * writes, and the addend that turns that page's virtual addresses into guest-physical ones.
 * An access compares `va & (page mask | alignment bits)` with the tag, so a misaligned access
 * never matches and takes the slow path that handles it.
 *
 * It caches only what the TLB itself holds under the current PCID: the TLB (tlb.ts) clears an
 * entry whenever it inserts, evicts or flushes that page, and everything on every full, PCID or
 * global flush and every CR3 write (mmu.ts), so a hit here is exactly a hit there — and is
 * counted as one, in bulk (`hits`, drained into the counters by Tlb.drainFastHits). Filled
 * only after a translation through the TLB succeeded with the permission the access needed (a
 * write entry only when the TLB entry allows writing and is dirty). Under --check it is never
 * filled, so the coherence checker sees every translation. Worker-local; no Atomics.
 */

/** Entries; a power of two. 256 pages cover 1 MiB of working set. */
export const FAST_TLB_ENTRIES = 256;
export const FAST_TLB_MASK = FAST_TLB_ENTRIES - 1;
/** A tag no access can match: every real tag has its low 12 bits clear. */
const INVALID = -1;

export class FastTlb {
  /** Page base (va & ~0xfff) of each entry's read translation, or INVALID. */
  readonly readTag = new Int32Array(FAST_TLB_ENTRIES).fill(INVALID);
  /** Page base of each entry's write translation, or INVALID. */
  readonly writeTag = new Int32Array(FAST_TLB_ENTRIES).fill(INVALID);
  /** Guest-physical page base minus virtual page base: pa = va + addend (mod 2^32). */
  readonly addend = new Int32Array(FAST_TLB_ENTRIES);
  /** Hits taken here since the last drain. */
  hits = 0;
  /** False under --check (and in tests that want every lookup through the TLB). */
  enabled = true;

  /** Record that `va` translates to `pa` with read (and, if `write`, write) permission. */
  fill(va: number, pa: number, write: boolean): void {
    if (!this.enabled) return;
    const i = (va >>> 12) & FAST_TLB_MASK;
    const tag = va & ~0xfff;
    if (this.readTag[i] !== tag) this.writeTag[i] = INVALID;
    this.readTag[i] = tag;
    this.addend[i] = ((pa & ~0xfff) - tag) | 0;
    if (write) this.writeTag[i] = tag;
  }

  /** Forget the page `vpn` (va >>> 12). */
  clearPage(vpn: number): void {
    const i = vpn & FAST_TLB_MASK;
    if ((this.readTag[i]! >>> 12) === (vpn >>> 0)) {
      this.readTag[i] = INVALID;
      this.writeTag[i] = INVALID;
    }
  }

  /** Forget everything. */
  clearAll(): void {
    this.readTag.fill(INVALID);
    this.writeTag.fill(INVALID);
  }
}
