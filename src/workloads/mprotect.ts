/**
 * The `mprotect` workload: thread 0 flips a shared region between read-only and read-write with
 * mprotect; every other thread keeps storing into it (and reading it back). A store that
 * succeeds after mprotect(PROT_READ) returned means a writable TLB entry survived the shootdown.
 * Guest code: runs on the vCPU worker of each task. The toggler/prober protocol is in probe.ts.
 */
import { PAGE_SIZE } from '../hw/paging.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../uapi/mman.js';
import { FAULT, makeProbeWorkload } from './probe.js';
import type { Sys } from './sys.js';
import type { Workload } from './workload.js';

/**
 * Each thread stores at its own byte of every page (8 bytes apart, after a 64-byte gap), so a
 * read-back shows exactly what this thread stored. Thread indices stay below MAX_THREADS (96):
 * 64 + 96 × 8 < 4096.
 */
const slotOffset = (index: number): number => 64 + index * 8;

export const mprotectWorkload: Workload = makeProbeWorkload({
  name: 'mprotect',
  description: 'thread 0 toggles a shared region read-only/read-write with mprotect while the others store into it',
  // 16 pages: a ranged flush, under the 33-page full-flush ceiling.
  defaultPages: 16,
  closedAccess: 'write after mprotect(PROT_READ) returned',
  faultsLabel: 'roFaults',
  map(sys: Sys, len: number): number {
    const region = sys.mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    if (region < 0) return region;
    // Touch every page so mprotect changes present PTEs (and a shootdown has entries to kill).
    for (let va = region; va < region + len; va += PAGE_SIZE) sys.store8(va, 0);
    return region;
  },
  close(sys: Sys, region: number, len: number): number {
    return sys.mprotect(region, len, PROT_READ);
  },
  open(sys: Sys, region: number, len: number): number {
    return sys.mprotect(region, len, PROT_READ | PROT_WRITE);
  },
  access(sys: Sys, va: number, index: number, token: number): number {
    const at = va + slotOffset(index);
    const stored = sys.tryStore8(at, token);
    // Reading is allowed in every phase: a fault here kills the thread, as it should.
    const seen = sys.load8(at);
    return stored ? seen : FAULT;
  },
  expected(_cycle: number, _page: number, token: number): number {
    return token;
  },
});
