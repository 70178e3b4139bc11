import { describe, expect, it } from 'vitest';
import { auditXen } from '../../../../src/hv/xen/hypervisor/audit.js';
import { FRAME, PGT_l1_page_table, PGT_l2_page_table, PGT_pinned, XEN_VCPU, XenLayout } from '../../../../src/hv/xen/hypervisor/layout.js';
import { VcpuCounters, snapshotCounters } from '../../../../src/stats/counters.js';

const RAM = 4 * 1024 * 1024;
const CPUS = 2;

function state(): { layout: XenLayout; sab: SharedArrayBuffer; words: Int32Array } {
  const layout = new XenLayout(RAM, CPUS);
  const sab = new SharedArrayBuffer(layout.bytes);
  return { layout, sab, words: new Int32Array(sab) };
}

function totals(pins: number, unpins: number): ReturnType<typeof snapshotCounters> {
  const c = snapshotCounters(new VcpuCounters());
  c.pins = pins;
  c.unpins = unpins;
  return c;
}

describe('auditXen', () => {
  it('holds for swapper_pg_dir pinned with one linked table, and empty mailboxes', () => {
    const { layout, sab, words } = state();
    words[layout.frameBase(10) + FRAME.typeInfo] = PGT_l2_page_table | PGT_pinned | 1;
    words[layout.frameBase(11) + FRAME.typeInfo] = PGT_l1_page_table | PGT_pinned | 2;
    const laws = auditXen(sab, RAM, CPUS, totals(9, 7));
    expect(laws.map((l) => l.ok)).toEqual([true, true]);
    expect(laws[0]!.text).toBe('xen pins 9 - unpins 7 = 2 pinned (swapper_pg_dir and 1 of its tables)');
  });

  it('fails on a pin no unpin matched (a leaked address space)', () => {
    const { layout, sab, words } = state();
    words[layout.frameBase(10) + FRAME.typeInfo] = PGT_l2_page_table | PGT_pinned | 1;
    words[layout.frameBase(20) + FRAME.typeInfo] = PGT_l2_page_table | PGT_pinned | 1;
    const [pins] = auditXen(sab, RAM, CPUS, totals(2, 0));
    expect(pins!.ok).toBe(false);
    expect(pins!.text).toContain('2 directories pinned, expected 1');
  });

  it('fails when the counters and the frame table disagree, or a pinned table is linked from nowhere', () => {
    const { layout, sab, words } = state();
    words[layout.frameBase(10) + FRAME.typeInfo] = PGT_l2_page_table | PGT_pinned | 1;
    expect(auditXen(sab, RAM, CPUS, totals(3, 1))[0]!.ok).toBe(false);
    words[layout.frameBase(12) + FRAME.typeInfo] = PGT_l1_page_table | PGT_pinned | 1;
    const [pins] = auditXen(sab, RAM, CPUS, totals(2, 0));
    expect(pins!.ok).toBe(false);
    expect(pins!.text).toContain('1 pinned tables no directory links');
  });

  it('fails on a flush request posted and never served, naming the vCPU', () => {
    const { layout, sab, words } = state();
    words[layout.frameBase(10) + FRAME.typeInfo] = PGT_l2_page_table | PGT_pinned | 1;
    words[layout.vcpuBase(1) + XEN_VCPU.postSeq] = 5;
    words[layout.vcpuBase(1) + XEN_VCPU.doneSeq] = 4;
    const [, mailboxes] = auditXen(sab, RAM, CPUS, totals(1, 0));
    expect(mailboxes!.ok).toBe(false);
    expect(mailboxes!.text).toContain('cpu 1 posted 5, served 4');
  });
});
