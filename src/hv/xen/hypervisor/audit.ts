/**
 * Xen's end-of-run laws (Backend.audit), read from the hypervisor state once every vCPU has
 * stopped and every guest address space is gone. Main thread.
 *
 *   1. Pins: pins − unpins (the counters, summed over vCPUs) = frames the frame table still says
 *      are pinned, and those are swapper_pg_dir and tables linked from it (its vmalloc-area
 *      tables), pinned at boot and never released: exactly one pinned directory, and no pinned
 *      table without a reference from a validated directory. Every address space pinned its
 *      directory and tables when first loaded and unpinned them in exit_mmap; a leaked pin would
 *      keep a dead table typed (and its frames referenced).
 *   2. Flush mailboxes: on every vCPU, the requests posted (postSeq) were all served (doneSeq)
 *      and no request is left owed (flushRequest = 0). Requests merge, so the law is about
 *      tickets, not about counts of flushes done (src/hv/xen/hypervisor/remote-flush.ts).
 */
import type { HypervisorLaw } from '../../backend.js';
import type { CounterSnapshot } from '../../../stats/counters.js';
import { FRAME, PGT_count_mask, PGT_l2_page_table, PGT_pinned, PGT_TYPE_MASK, XEN_VCPU, XenLayout } from './layout.js';


export function auditXen(hvState: SharedArrayBuffer, ramBytes: number, cpus: number, totals: CounterSnapshot): HypervisorLaw[] {
  const layout = new XenLayout(ramBytes, cpus);
  const words = new Int32Array(hvState);
  let pinned = 0;
  let directories = 0;
  let orphans = 0;
  for (let f = 0; f < layout.ramFrames; f++) {
    // ORDERING: every vCPU has stopped (their workers returned); these loads see their last stores.
    const ti = Atomics.load(words, layout.frameBase(f) + FRAME.typeInfo);
    if ((ti & PGT_pinned) === 0) continue;
    pinned++;
    if ((ti & PGT_TYPE_MASK) === PGT_l2_page_table) directories++;
    // A pinned table's count is its pin plus a reference per validated PDE naming it.
    else if ((ti & PGT_count_mask) < 2) orphans++;
  }
  const net = totals.pins - totals.unpins;
  const pins: HypervisorLaw = {
    text: `xen pins ${totals.pins} - unpins ${totals.unpins} = ${pinned} pinned (swapper_pg_dir and ${pinned - directories} of its tables)` +
      (directories !== 1 ? `: ${directories} directories pinned, expected 1` : '') +
      (orphans !== 0 ? `: ${orphans} pinned tables no directory links` : ''),
    ok: net === pinned && directories === 1 && orphans === 0,
  };
  let posted = 0;
  let served = 0;
  const owed: string[] = [];
  for (let c = 0; c < cpus; c++) {
    const base = layout.vcpuBase(c);
    const post = Atomics.load(words, base + XEN_VCPU.postSeq);
    const done = Atomics.load(words, base + XEN_VCPU.doneSeq);
    const request = Atomics.load(words, base + XEN_VCPU.flushRequest);
    posted += post;
    served += done;
    if (post !== done || request !== 0) owed.push(`cpu ${c} posted ${post}, served ${done}, owes 0x${(request >>> 0).toString(16)}`);
  }
  const mailboxes: HypervisorLaw = {
    text: owed.length === 0
      ? `xen flush requests posted ${posted} = served ${served}`
      : `xen flush requests not served: ${owed.join('; ')}`,
    ok: owed.length === 0,
  };
  return [pins, mailboxes];
}
