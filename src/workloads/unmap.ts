/**
 * The `munmap` workload: thread 0 unmaps a region and maps it again at the same address
 * (MAP_FIXED), filling it with a per-cycle pattern; every other thread keeps reading it. A read
 * that succeeds after munmap returned went through a stale TLB entry to a freed frame; a read of
 * the mapped region that does not show this cycle's pattern went to an old frame. Guest code:
 * runs on the vCPU worker of each task. The toggler/prober protocol is in probe.ts.
 */
import { PAGE_SIZE } from '../hw/paging.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../uapi/mman.js';
import { FAULT, makeProbeWorkload } from './probe.js';
import type { Sys } from './sys.js';
import type { Workload } from './workload.js';

/**
 * Byte 0 of page `page` in cycle `cycle`: non-zero (a fresh zero page cannot pass for it),
 * different from the previous cycle's, and different between pages of one cycle (pages ≤ 255),
 * so a stale entry to a freed frame that was reused for another page still shows.
 */
const patternByte = (cycle: number, page: number): number => 1 + ((cycle + page) % 255);

function fill(sys: Sys, region: number, len: number, cycle: number): void {
  for (let k = 0; k * PAGE_SIZE < len; k++) sys.store8(region + k * PAGE_SIZE, patternByte(cycle, k));
}

export const unmapWorkload: Workload = makeProbeWorkload({
  name: 'munmap',
  description: 'thread 0 unmaps a shared region and maps it back (MAP_FIXED) while the others read it',
  // 4 pages: a small ranged flush per munmap (will-it-scale's unmaps are as small).
  defaultPages: 4,
  closedAccess: 'read after munmap returned',
  faultsLabel: 'unmappedFaults',
  map(sys: Sys, len: number): number {
    const region = sys.mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    if (region < 0) return region;
    fill(sys, region, len, 0);
    return region;
  },
  close(sys: Sys, region: number, len: number): number {
    return sys.munmap(region, len);
  },
  open(sys: Sys, region: number, len: number, cycle: number): number {
    const r = sys.mmap(region, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
    // MAP_FIXED must give exactly the address asked for; anything else goes back as the error.
    if (r !== region) return r;
    fill(sys, region, len, cycle);
    return 0;
  },
  access(sys: Sys, va: number): number {
    return sys.tryLoad8(va) ?? FAULT;
  },
  expected(cycle: number, page: number): number {
    return patternByte(cycle, page);
  },
});
