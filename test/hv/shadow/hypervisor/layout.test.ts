/**
 * The shadow backend's state layout (src/hv/shadow/hypervisor/layout.ts): the diagram there holds — the
 * control block, then the per-RAM-frame maps, then the per-pool-frame arrays, nothing
 * overlapping — and the pool sits at the top of RAM, above what memory_setup reports.
 */
import { describe, expect, it } from 'vitest';
import { shadowBackend } from '../../../../src/hv/shadow/index.js';
import { MIN_SHADOW_POOL_FRAMES, SHADOW_CTL, ShadowLayout } from '../../../../src/hv/shadow/hypervisor/layout.js';
import { MAX_RAM_BYTES, MIN_RAM_BYTES } from '../../../../src/hw/memory.js';

describe('shadow state layout', () => {
  it('lays out the control block, the guest-frame maps and the pool arrays in order, back to back', () => {
    const l = new ShadowLayout(64 * 1024 * 1024, 4);
    const fields = Object.entries(SHADOW_CTL).filter(([k]) => k !== 'WORDS' && k !== 'NAME').map(([, o]) => o as number);
    expect(new Set(fields).size).toBe(fields.length);
    expect(Math.max(...fields)).toBeLessThan(SHADOW_CTL.WORDS);
    expect(l.pdOf).toBe(SHADOW_CTL.WORDS);
    expect(l.ptOf).toBe(l.pdOf + l.ramFrames);
    expect(l.freeStack).toBe(l.ptOf + l.ramFrames);
    expect(l.owner).toBe(l.freeStack + l.poolFrames);
    expect(l.ownerPde).toBe(l.owner + l.poolFrames);
    expect(l.loadedPd).toBe(l.ownerPde + l.poolFrames);
    expect(l.words).toBe(l.loadedPd + 4);
    expect(shadowBackend.stateBytes!(64 * 1024 * 1024, 4)).toBe(l.words * 4);
  });

  it('reserves 1/16 of RAM (at least 2.5 MiB) at the top for shadow tables', () => {
    for (const bytes of [MIN_RAM_BYTES, 64 * 1024 * 1024, 256 * 1024 * 1024, MAX_RAM_BYTES]) {
      const l = new ShadowLayout(bytes, 2);
      expect(l.poolFrames).toBe(Math.max(MIN_SHADOW_POOL_FRAMES, l.ramFrames / 16));
      expect(l.poolFirst + l.poolFrames).toBe(l.ramFrames);
      expect(l.usableBytes).toBe(bytes - l.poolFrames * 4096);
      expect(l.inPool(l.poolFirst)).toBe(true);
      expect(l.inPool(l.poolFirst - 1)).toBe(false);
      expect(l.inPool(l.ramFrames)).toBe(false);
    }
  });
});
