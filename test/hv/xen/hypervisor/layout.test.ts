/** The Xen hypervisor's hvState layout holds as src/hv/xen/hypervisor/layout.ts draws it. */
import { describe, expect, it } from 'vitest';
import { FRAME, PGT_count_mask, PGT_l1_page_table, PGT_l2_page_table, PGT_pinned, PGT_TYPE_MASK, PGT_writable_page, XEN_CTL, XEN_RESERVED_FRAMES, XEN_VCPU, XenLayout } from '../../../../src/hv/xen/hypervisor/layout.js';
import { xenBackend } from '../../../../src/hv/xen/index.js';

describe('Xen hvState layout', () => {
  it('puts the control block first, one 64-byte line per vCPU next, then one FRAME per RAM frame', () => {
    const l = new XenLayout(64 * 1024 * 1024, 4);
    expect(XEN_CTL.WORDS % 16).toBe(0);
    expect(XEN_VCPU.WORDS).toBe(16);
    expect(l.vcpuBase(0)).toBe(XEN_CTL.WORDS);
    expect(l.vcpuBase(3) - l.vcpuBase(2)).toBe(XEN_VCPU.WORDS);
    expect(l.frameTable).toBe(l.vcpuBase(4));
    expect(l.frameBase(10) - l.frameBase(9)).toBe(FRAME.WORDS);
    expect(l.words).toBe(l.frameBase(l.ramFrames));
    expect(xenBackend.stateBytes!(64 * 1024 * 1024, 4)).toBe(l.words * 4);
  });

  it('gives each lock its own holder word, every control word distinct and inside the control block', () => {
    const fields = Object.entries(XEN_CTL).filter(([k]) => k !== 'WORDS' && k !== 'NAME').map(([, o]) => o as number);
    expect(new Set(fields).size).toBe(fields.length);
    expect(Math.max(...fields)).toBeLessThan(XEN_CTL.WORDS);
    expect(XEN_CTL.lockHolder).not.toBe(XEN_CTL.lock);
    expect(XEN_CTL.pinLockHolder).not.toBe(XEN_CTL.pinLock);
  });

  it('leaves the guest every frame but the reserved ones at the top', () => {
    const l = new XenLayout(16 * 1024 * 1024, 1);
    expect(l.ramFrames).toBe(4096);
    expect(l.usableFrames).toBe(4096 - XEN_RESERVED_FRAMES);
  });

  it('packs type, pinned flag and count into disjoint bits of type_info, the types distinct', () => {
    expect(PGT_TYPE_MASK & PGT_pinned).toBe(0);
    expect(PGT_TYPE_MASK & PGT_count_mask).toBe(0);
    expect(PGT_pinned & PGT_count_mask).toBe(0);
    expect(new Set([0, PGT_l1_page_table, PGT_l2_page_table, PGT_writable_page]).size).toBe(4);
    for (const t of [PGT_l1_page_table, PGT_l2_page_table, PGT_writable_page]) expect(t & ~PGT_TYPE_MASK).toBe(0);
    expect(PGT_TYPE_MASK | PGT_pinned | PGT_count_mask).toBeGreaterThan(0); // bit 31 unused: words stay positive
  });
});
