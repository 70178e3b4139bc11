/**
 * Guest physical memory: one SharedArrayBuffer, 4 KiB frames, shared by every vCPU worker and
 * the main thread. Created on the main thread; each worker wraps the same buffer.
 *
 * Guest data (a workload's loads and stores) is accessed with plain typed-array reads and
 * writes: the guest's own races are the guest's business, as on real hardware. Everything the
 * emulator uses to order things (page-table entries, kernel locks, queues) goes through
 * Atomics on `i32`, in the modules that own those words.
 */
import { ConfigError } from '../lib/errors.js';
import { PAGE_SHIFT, PAGE_SIZE } from './paging.js';
import type { Paddr, Pfn } from './types.js';

/** Default guest RAM: 256 MiB, ample for every workload and program pvemu ships at 64 vCPUs. */
export const DEFAULT_RAM_BYTES = 256 * 1024 * 1024;
/** Smallest RAM the kernel can boot in: its reserved area plus room for a workload. */
export const MIN_RAM_BYTES = 16 * 1024 * 1024;
/**
 * Largest RAM: the kernel direct-maps all of RAM at 0xC0000000 with 4 MiB pages and keeps
 * 0xF0000000 and up for vmalloc, so RAM must fit below that (Linux's lowmem limit, 768 MiB).
 */
export const MAX_RAM_BYTES = 768 * 1024 * 1024;

/**
 * A page of zeros in ordinary (unshared) memory, the source zeroFrame copies. On Node 20,
 * `fill(0)` over a SharedArrayBuffer-backed Uint8Array stores byte by byte (about 1.3 µs a
 * frame here, cache-warm) where `set()` from an unshared array is a block copy (about 0.25
 * µs): a fifth of a demand-zero fault's cost.
 */
const ZERO_PAGE = new Uint8Array(PAGE_SIZE);

export class GuestRam {
  readonly bytes: Uint8Array;
  readonly i32: Int32Array;
  readonly size: number;
  readonly frames: number;

  constructor(readonly sab: SharedArrayBuffer) {
    this.bytes = new Uint8Array(sab);
    this.i32 = new Int32Array(sab);
    this.size = sab.byteLength;
    this.frames = this.size >>> PAGE_SHIFT;
  }

  /** Main thread: allocate guest RAM, or fail with a ConfigError naming --mem. */
  static allocate(bytes: number): GuestRam {
    if (!Number.isInteger(bytes) || bytes % PAGE_SIZE !== 0) {
      throw new ConfigError('--mem', `must be a whole number of 4 KiB pages, got ${bytes} bytes`);
    }
    if (bytes < MIN_RAM_BYTES || bytes > MAX_RAM_BYTES) {
      throw new ConfigError('--mem', `must be between 16M and 768M, got ${formatBytes(bytes)}`);
    }
    let sab: SharedArrayBuffer;
    try {
      sab = new SharedArrayBuffer(bytes);
    } catch {
      throw new ConfigError('--mem', `cannot allocate ${formatBytes(bytes)} of guest RAM on this host`);
    }
    return new GuestRam(sab);
  }

  /** Word index in `i32` of a 4-byte-aligned physical address. */
  static wordIndex(pa: Paddr | number): number {
    return pa >>> 2;
  }

  frameAddr(frame: Pfn): Paddr {
    return (frame * PAGE_SIZE) as Paddr;
  }

  /** Zero one frame (a demand-zero fault, a fresh page table). Caller owns the frame. */
  zeroFrame(frame: Pfn): void {
    this.bytes.set(ZERO_PAGE, frame * PAGE_SIZE);
  }

  /** Copy one frame to another (copy-on-write). Caller owns `to`. */
  copyFrame(from: Pfn, to: Pfn): void {
    this.bytes.copyWithin(to * PAGE_SIZE, from * PAGE_SIZE, from * PAGE_SIZE + PAGE_SIZE);
  }
}

export function formatBytes(bytes: number): string {
  if (bytes % (1024 * 1024 * 1024) === 0) return `${bytes / (1024 * 1024 * 1024)}G`;
  if (bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)}M`;
  if (bytes % 1024 === 0) return `${bytes / 1024}K`;
  return `${bytes}`;
}
