/**
 * The RISC-V block: one SharedArrayBuffer beside guest RAM holding what the vCPUs' RV32
 * interpreters share — the remote instruction-cache flush generation, a FENCE word per vCPU and
 * the LR/SC reservation table. Every word is declared here once. Created on the main thread
 * (riscvSharedBytes), wrapped by each vCPU's RvCore. Pure offsets; any thread.
 *
 *   RISC-V block (Int32 words)
 *   +-----------------------------+  0
 *   | RV_CTL                      |  icacheGen, padding to a 64-byte line
 *   +-----------------------------+  RV_CTL.WORDS
 *   | fence line, cpu 0           |  one 64-byte line per vCPU: the word its FENCE locks
 *   | fence line, cpu 1           |
 *   | ...                         |
 *   +-----------------------------+  resvBase(cpus)
 *   | RESV_BUCKET 0: gen, holders |  RESV_BUCKETS buckets; a word-aligned physical
 *   | RESV_BUCKET 1               |  address pa hashes to bucket (pa >>> 2) & RESV_MASK
 *   | ...                         |
 *   +-----------------------------+  riscvSharedBytes(cpus) / 4
 *
 * The reservation protocol over these words is in reservation.ts.
 */
import { defineStruct } from '../hw/struct.js';

export const RV_CTL = defineStruct(
  'riscv_ctl',
  {
    /**
     * Remote FENCE.I: bumped (Atomics.add) by flushIcacheAll, the riscv_flush_icache system
     * call's IPI-free stand-in; every RvCore compares it at each interrupt-poll boundary and
     * revalidates its decoded code pages when it moved.
     */
    icacheGen: 1,
  },
  16,
);

/** Words per vCPU fence line: one 64-byte cache line, so vCPUs' FENCEs do not share a line. */
export const FENCE_LINE_WORDS = 16;

/** One reservation bucket: a generation that every store to a reserved granule bumps, and a holder count. */
export const RESV_BUCKET = defineStruct('riscv_resv_bucket', {
  /** Bumped by a store, AMO or successful SC to any granule hashing here while holders > 0. */
  gen: 1,
  /** Harts whose reservation hashes here (LR adds one, SC or a dropped reservation subtracts). */
  holders: 1,
});

/**
 * Reservation buckets, a power of two. 4096 buckets cover 16 KiB of distinct words before two
 * words share a bucket; a shared bucket only makes an SC fail spuriously (which RISC-V
 * permits), or a store pay one Atomics.add while the other word is reserved.
 */
export const RESV_BUCKETS = 4096;
export const RESV_MASK = RESV_BUCKETS - 1;

/** Word index of cpu's fence word. */
export function fenceWord(cpu: number): number {
  return RV_CTL.WORDS + cpu * FENCE_LINE_WORDS;
}

/** Word index of the first reservation bucket, for a machine of `cpus` vCPUs. */
export function resvBase(cpus: number): number {
  return RV_CTL.WORDS + cpus * FENCE_LINE_WORDS;
}

/** Bytes of the RISC-V block for `cpus` vCPUs. */
export function riscvSharedBytes(cpus: number): number {
  return (resvBase(cpus) + RESV_BUCKETS * RESV_BUCKET.WORDS) * 4;
}
