/**
 * exec for init: load a parsed static riscv32 ELF image into the current task's address space
 * (Linux's load_elf_binary after the parsing binfmt-elf.ts does), map its user stack with the
 * initial argc/argv/envp/auxv, and set the heap after the program. Runs on the vCPU worker of
 * the task, with its mm loaded (the user accesses below go through this CPU's MMU, so the
 * pages are demand-faulted like any others).
 */
import { PAGE_SIZE } from '../hw/paging.js';
import type { MmRef } from '../pv/ops.js';
import { AT_RANDOM_BYTES, buildInitialStack, auxvFor, HWCAP_RV32IMA, type ElfImage } from './binfmt-elf.js';
import type { KernelContext } from './context.js';
import { uaccess } from './uaccess.js';
import type { AddressSpaces } from './mm.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_EXEC, PROT_READ, PROT_WRITE } from '../uapi/mman.js';
import { VDSO_BASE, vdsoImage } from './vdso.js';

/**
 * The top of the user stack: below PAGE_OFFSET with a gap (Linux's STACK_TOP leaves a guard
 * region too); far above the mmap area's usual allocations, which start at MMAP_BASE.
 */
export const STACK_TOP = 0xbf000000;
/**
 * The stack mapping's size: fixed (no MAP_GROWSDOWN expansion in this kernel). 512 KiB holds
 * the guest programs' main threads (their worker threads get mmap'd stacks of their own) and
 * the initial argument area (ARG_MAX_BYTES, 128 KiB).
 */
export const STACK_BYTES = 512 * 1024;

/** What exec needs besides the parsed image: the file's bytes and the argument vectors. */
export interface ExecRequest {
  image: ElfImage;
  bytes: Uint8Array;
  argv: readonly string[];
  envp: readonly string[];
}

/** Where the new program starts: its entry point and initial stack pointer. */
export interface ExecStart {
  entry: number;
  sp: number;
}

const pageUp = (a: number): number => Math.ceil(a / PAGE_SIZE) * PAGE_SIZE;

export class Exec {
  constructor(private readonly k: KernelContext, private readonly mms: AddressSpaces) {}

  /**
   * Map every PT_LOAD segment as a private anonymous VMA, copy its file bytes in (the rest,
   * bss included, is demand-zero), give it the segment's protection, start brk after the
   * highest segment, and map the stack. Returns the start, or -errno if a mapping failed.
   * elf_map maps file pages; pvemu has no page cache, so it copies, the way a nommu
   * kernel's binfmt_elf_fdpic does: the VMA is writable while the bytes go in, then
   * mprotect gives it the segment's protection.
   */
  load(mm: MmRef, req: ExecRequest): ExecStart | number {
    for (const seg of req.image.segments) {
      const start = seg.pageStart as number;
      const len = (seg.pageEnd as number) - start;
      const got = this.mms.mmap(mm, start, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
      if (got < 0) return got;
      const r = this.copyOut(seg.vaddr as number, req.bytes.subarray(seg.offset, seg.offset + seg.filesz));
      if (r < 0) return r;
      const p = this.mms.mprotect(mm, start, len, seg.prot);
      if (p < 0) return p;
    }
    this.mms.startBrk(mm, pageUp(req.image.end as number));
    const stackBase = STACK_TOP - STACK_BYTES;
    const got = this.mms.mmap(mm, stackBase, STACK_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (got < 0) return got;
    const vdso = this.mapVdso(mm);
    if (vdso < 0) return vdso;
    const stack = buildInitialStack({
      stackTop: STACK_TOP, argv: req.argv, envp: req.envp, random: this.atRandom(),
      auxv: { ...auxvFor(req.image, HWCAP_RV32IMA), sysinfoEhdr: VDSO_BASE },
    });
    const r = this.copyOut(stack.sp as number, stack.bytes);
    if (r < 0) return r;
    return { entry: req.image.entry as number, sp: stack.sp as number };
  }

  /** arch_setup_additional_pages: the vDSO page at VDSO_BASE, read and execute. */
  private mapVdso(mm: MmRef): number {
    const got = this.mms.mmap(mm, VDSO_BASE, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (got < 0) return got;
    const r = this.copyOut(VDSO_BASE, vdsoImage());
    if (r < 0) return r;
    return this.mms.mprotect(mm, VDSO_BASE, PAGE_SIZE, PROT_READ | PROT_EXEC);
  }

  /** AT_RANDOM's bytes: create_elf_tables takes them from get_random_bytes. */
  private atRandom(): Uint8Array {
    const bytes = new Uint8Array(AT_RANDOM_BYTES);
    this.k.entropy.fill(bytes);
    return bytes;
  }

  /** copy_to_user of `bytes` at `va`; zero bytes are skipped (fresh anonymous memory is zero). */
  private copyOut(va: number, bytes: Uint8Array): number {
    const { user } = this.k;
    return uaccess(() => {
      for (let i = 0; i < bytes.length; i++) {
        const b = bytes[i]!;
        if (b !== 0) user.store8(va + i, b);
      }
      return 0;
    });
  }
}
