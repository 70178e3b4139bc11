import { describe, expect, it } from 'vitest';
import { GuestRam, MIN_RAM_BYTES } from '../../src/hw/memory.js';
import { PAGE_SIZE } from '../../src/hw/paging.js';
import { pfn } from '../../src/hw/types.js';

/** Guest RAM with every byte set to 0xa5, so a zeroed byte stands out. */
function dirtyRam(): GuestRam {
  const ram = GuestRam.allocate(MIN_RAM_BYTES);
  ram.bytes.fill(0xa5);
  return ram;
}

describe('GuestRam', () => {
  it('zeroFrame clears every byte of its frame and no byte of the frames beside it', () => {
    const ram = dirtyRam();
    ram.zeroFrame(pfn(7));
    const base = 7 * PAGE_SIZE;
    expect(ram.bytes.subarray(base, base + PAGE_SIZE).every((b) => b === 0)).toBe(true);
    expect(ram.bytes[base - 1]).toBe(0xa5);
    expect(ram.bytes[base + PAGE_SIZE]).toBe(0xa5);
  });

  it('zeroFrame clears the last frame of RAM without reaching past it', () => {
    const ram = dirtyRam();
    const last = ram.frames - 1;
    ram.zeroFrame(pfn(last));
    expect(ram.bytes.subarray(last * PAGE_SIZE).every((b) => b === 0)).toBe(true);
    expect(ram.bytes[last * PAGE_SIZE - 1]).toBe(0xa5);
  });

  it('copyFrame copies one frame exactly and leaves the source as it was', () => {
    const ram = dirtyRam();
    for (let i = 0; i < PAGE_SIZE; i++) ram.bytes[3 * PAGE_SIZE + i] = i * 31;
    ram.copyFrame(pfn(3), pfn(9));
    for (let i = 0; i < PAGE_SIZE; i++) expect(ram.bytes[9 * PAGE_SIZE + i]).toBe((i * 31) & 0xff);
    expect(ram.bytes[9 * PAGE_SIZE - 1]).toBe(0xa5);
    expect(ram.bytes[10 * PAGE_SIZE]).toBe(0xa5);
    expect(ram.bytes[3 * PAGE_SIZE + 1]).toBe(31);
  });
});
