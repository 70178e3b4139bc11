/**
 * The vDSO every riscv32 program gets (arch/riscv/kernel/vdso): one page, an ELF image the
 * kernel maps into each new program and announces with AT_SYSINFO_EHDR. It carries what riscv
 * Linux's vDSO must: __vdso_rt_sigreturn, where a signal handler returns to (riscv has no
 * SA_RESTORER; setup_rt_frame points ra at it). The time calls of Linux's vDSO are left out —
 * without them libc makes the system calls, as it would on a kernel whose clocksource has no
 * vDSO mode. Runs anywhere; the image is built once per worker.
 */
import { PAGE_SIZE } from '../hw/paging.js';

/**
 * Where the vDSO is mapped: a fixed page in the gap between the stack's top (exec.ts STACK_TOP,
 * 0xbf000000) and PAGE_OFFSET. Linux places it near the mmap base with randomisation; a fixed
 * address keeps runs reproducible.
 */
export const VDSO_BASE = 0xbfc00000;
/** __vdso_rt_sigreturn's offset in the image. */
const RT_SIGRETURN_OFFSET = 0x80;
/** The address a handler returns to: `li a7, 139; ecall` (rt_sigreturn). */
export const VDSO_RT_SIGRETURN = VDSO_BASE + RT_SIGRETURN_OFFSET;

const EM_RISCV = 243;
const ET_DYN = 3;
const PT_LOAD = 1;
const PF_R = 4;
const PF_X = 1;
const SYS_RT_SIGRETURN = 139;
const REG_A7 = 17;

/** The image: ELF header, one PT_LOAD program header, the trampoline at RT_SIGRETURN_OFFSET. */
export function vdsoImage(): Uint8Array {
  const image = new Uint8Array(RT_SIGRETURN_OFFSET + 8);
  const v = new DataView(image.buffer);
  // e_ident: ELFCLASS32, ELFDATA2LSB, EV_CURRENT, ELFOSABI_NONE.
  image.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1, 0]);
  v.setUint16(16, ET_DYN, true);
  v.setUint16(18, EM_RISCV, true);
  v.setUint32(20, 1, true); // e_version
  v.setUint32(24, 0, true); // e_entry: none
  v.setUint32(28, 52, true); // e_phoff: right after the header
  v.setUint32(32, 0, true); // e_shoff: no sections
  v.setUint32(36, 0, true); // e_flags: soft-float ABI, as the programs
  v.setUint16(40, 52, true); // e_ehsize
  v.setUint16(42, 32, true); // e_phentsize
  v.setUint16(44, 1, true); // e_phnum
  // PT_LOAD covering the image at offset 0, read and execute.
  const ph = 52;
  v.setUint32(ph, PT_LOAD, true);
  v.setUint32(ph + 4, 0, true);
  v.setUint32(ph + 8, 0, true);
  v.setUint32(ph + 12, 0, true);
  v.setUint32(ph + 16, image.length, true);
  v.setUint32(ph + 20, image.length, true);
  v.setUint32(ph + 24, PF_R | PF_X, true);
  v.setUint32(ph + 28, PAGE_SIZE, true);
  // __vdso_rt_sigreturn: addi a7, zero, 139; ecall.
  v.setUint32(RT_SIGRETURN_OFFSET, (SYS_RT_SIGRETURN << 20) | (REG_A7 << 7) | 0x13, true);
  v.setUint32(RT_SIGRETURN_OFFSET + 4, 0x00000073, true);
  return image;
}
