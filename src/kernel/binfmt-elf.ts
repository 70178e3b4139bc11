/**
 * binfmt_elf: the pure half of loading a static riscv32 ELF executable (Linux's
 * fs/binfmt_elf.c). `parseElf` validates the file and describes its PT_LOAD segments, entry
 * point and where its program headers land in memory (AT_PHDR); `buildInitialStack` lays out
 * argc, argv, envp, the auxiliary vector and their strings the way create_elf_tables does.
 * Mapping the segments into an mm and starting the task are exec's job, not this file's.
 *
 * Pure functions over byte arrays: no guest memory, no threads; they run wherever exec runs
 * (the main thread validating `--program`, or a vCPU worker).
 *
 * Accepted: ELFCLASS32, ELFDATA2LSB, EM_RISCV, ET_EXEC (static, non-PIE), soft-float ABI, no
 * RVE, and RVC only when the caller's CPU has the C extension. Rejected with a ConfigError
 * naming the file and the fault: anything else, truncated headers, PT_INTERP (a dynamically
 * linked program), segments outside the file, overlapping or sharing a page, below
 * MMAP_MIN_ADDR or reaching above USER_TOP, p_filesz > p_memsz, bad p_align, an entry point
 * outside the executable file-backed bytes.
 */
import { ConfigError } from '../lib/errors.js';
import { PAGE_SIZE, USER_TOP } from '../hw/paging.js';
import { vaddr, type Vaddr } from '../hw/types.js';
import { MMAP_MIN_ADDR } from './layout.js';
import { PROT_EXEC, PROT_READ, PROT_WRITE } from '../uapi/mman.js';

// ---- ELF constants (include/uapi/linux/elf.h, elf-em.h; the RISC-V psABI) -------------------

export const ELFCLASS32 = 1;
export const ELFCLASS64 = 2;
export const ELFDATA2LSB = 1;
export const ELFDATA2MSB = 2;
export const EV_CURRENT = 1;
export const ET_REL = 1;
export const ET_EXEC = 2;
export const ET_DYN = 3;
export const ET_CORE = 4;
export const EM_RISCV = 243;

export const PT_NULL = 0;
export const PT_LOAD = 1;
export const PT_DYNAMIC = 2;
export const PT_INTERP = 3;
export const PT_NOTE = 4;
export const PT_PHDR = 6;
export const PT_TLS = 7;
export const PT_GNU_STACK = 0x6474e551;
export const PT_RISCV_ATTRIBUTES = 0x70000003;

export const PF_X = 1;
export const PF_W = 2;
export const PF_R = 4;

/** e_flags: the file may contain compressed (C extension) instructions. */
export const EF_RISCV_RVC = 0x1;
/** e_flags: float ABI field (0 soft, 2 single, 4 double, 6 quad). */
export const EF_RISCV_FLOAT_ABI = 0x6;
/** e_flags: RV32E (16 registers, a different calling convention). */
export const EF_RISCV_RVE = 0x8;

/** sizeof(Elf32_Ehdr) and sizeof(Elf32_Phdr). */
export const ELF32_EHDR_SIZE = 52;
export const ELF32_PHDR_SIZE = 32;
/**
 * load_elf_phdrs refuses program header tables over ELF_MIN_ALIGN (one page) bytes: at most
 * 128 Elf32_Phdr.
 */
const PHDR_TABLE_MAX = PAGE_SIZE;

// ---- auxiliary vector (include/uapi/linux/auxvec.h) -------------------------------------------

export const AT_NULL = 0;
export const AT_PHDR = 3;
export const AT_PHENT = 4;
export const AT_PHNUM = 5;
export const AT_PAGESZ = 6;
export const AT_BASE = 7;
export const AT_FLAGS = 8;
export const AT_ENTRY = 9;
export const AT_UID = 11;
export const AT_EUID = 12;
export const AT_GID = 13;
export const AT_EGID = 14;
export const AT_CLKTCK = 17;
export const AT_HWCAP = 16;
export const AT_SECURE = 23;
export const AT_RANDOM = 25;
export const AT_EXECFN = 31;
export const AT_SYSINFO_EHDR = 33;

/**
 * AT_HWCAP on riscv: one bit per single-letter extension, bit (letter - 'a')
 * (arch/riscv/include/uapi/asm/hwcap.h COMPAT_HWCAP_ISA_*).
 */
export const hwcapIsaBit = (letter: string): number => 1 << (letter.toLowerCase().charCodeAt(0) - 0x61);
/** AT_HWCAP for an RV32IMA CPU: I, M and A. */
export const HWCAP_RV32IMA = hwcapIsaBit('i') | hwcapIsaBit('m') | hwcapIsaBit('a');
/** AT_CLKTCK: USER_HZ, the unit of times(2), 100 on every Linux architecture. */
export const USER_HZ = 100;
/** AT_RANDOM's size in bytes. */
export const AT_RANDOM_BYTES = 16;
/**
 * The most argument and environment bytes (strings plus the pointer tables) an initial stack
 * may hold: Linux's old fixed ARG_MAX, MAX_ARG_PAGES (32) pages. Today's limit is a quarter of
 * RLIMIT_STACK; pvemu's stack mapping is small, so it keeps the old one.
 */
export const ARG_MAX_BYTES = 32 * PAGE_SIZE;

// ---- parseElf -----------------------------------------------------------------------------

/** One Elf32_Phdr as it is in the file. */
export interface ProgramHeader {
  readonly type: number;
  readonly offset: number;
  readonly vaddr: number;
  readonly paddr: number;
  readonly filesz: number;
  readonly memsz: number;
  /** PF_R | PF_W | PF_X. */
  readonly flags: number;
  readonly align: number;
}

/**
 * A PT_LOAD segment to map: file bytes [offset, offset + filesz) at [vaddr, vaddr + filesz),
 * then zeroes up to vaddr + memsz (the bss). Pages are [pageStart, pageEnd).
 */
export interface LoadSegment {
  /** Index of its program header, for messages. */
  readonly index: number;
  readonly vaddr: Vaddr;
  readonly memsz: number;
  readonly filesz: number;
  readonly offset: number;
  /** PROT_READ | PROT_WRITE | PROT_EXEC, from p_flags as Linux's make_prot does. */
  readonly prot: number;
  readonly readable: boolean;
  readonly writable: boolean;
  readonly executable: boolean;
  readonly align: number;
  /** First page the segment touches, and the end of its last page. */
  readonly pageStart: Vaddr;
  readonly pageEnd: Vaddr;
}

export interface ElfImage {
  readonly entry: Vaddr;
  /** e_flags (EF_RISCV_*). */
  readonly flags: number;
  readonly phoff: number;
  readonly phentsize: number;
  readonly phnum: number;
  readonly programHeaders: readonly ProgramHeader[];
  /** PT_LOAD segments with memsz > 0, by ascending vaddr (zero-sized ones map nothing). */
  readonly segments: readonly LoadSegment[];
  /**
   * Where the program header table is in memory, for AT_PHDR: inside the PT_LOAD whose file
   * bytes hold e_phoff (load_elf_binary since Linux 5.18), or 0 when no segment maps it.
   */
  readonly phdrAddr: Vaddr;
  /** The highest vaddr + memsz: where Linux starts the brk (after page alignment). */
  readonly end: Vaddr;
}

export interface ParseElfOptions {
  /** Names the file in error messages, e.g. `--program guest/bin/hello.elf`. */
  readonly name?: string;
  /** The CPU implements the C extension, so EF_RISCV_RVC files run (default false: RV32IMA). */
  readonly compressed?: boolean;
}

const MACHINES: Readonly<Record<number, string>> = {
  3: 'i386',
  8: 'MIPS',
  20: 'PowerPC',
  21: 'PowerPC64',
  40: 'ARM',
  62: 'x86-64',
  183: 'AArch64',
  243: 'RISC-V',
  258: 'LoongArch',
};

const ELF_TYPES: Readonly<Record<number, string>> = {
  [ET_REL]: 'ET_REL (a relocatable object, not linked)',
  [ET_DYN]: 'ET_DYN (a position-independent executable or shared object; link with -static -no-pie)',
  [ET_CORE]: 'ET_CORE (a core dump)',
};

/** Hex for addresses and sizes; a sum past 4 GiB stays as it is, so the message shows the overflow. */
const hex = (n: number): string => `0x${(n < 0 ? n >>> 0 : n).toString(16)}`;
const isPowerOfTwo = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;
const pageDown = (a: number): number => Math.floor(a / PAGE_SIZE) * PAGE_SIZE;
const pageUp = (a: number): number => Math.ceil(a / PAGE_SIZE) * PAGE_SIZE;
/** Rounds a user address down to 16 bytes in double arithmetic (`& ~15` is int32, negative above 2 GiB). */
const align16Down = (a: number): number => a - (a % 16);

/** Validates a static riscv32 executable and describes what exec must map. */
export function parseElf(bytes: Uint8Array, options: ParseElfOptions = {}): ElfImage {
  const name = options.name ?? 'ELF file';
  const reject = (why: string): never => {
    throw new ConfigError(name, why);
  };
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (at: number): number => dv.getUint16(at, true);
  const u32 = (at: number): number => dv.getUint32(at, true);

  // e_ident: what kind of file this is, before anything is read at a width.
  if (bytes.length < 4 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) {
    const got = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    reject(`not an ELF file (starts ${got || 'empty'}, an ELF file starts 7f 45 4c 46)`);
  }
  if (bytes.length < 16) reject(`truncated: ${bytes.length} bytes, shorter than e_ident`);
  const cls = bytes[4]!;
  if (cls === ELFCLASS64) reject('ELFCLASS64 (a 64-bit file): only ELFCLASS32 riscv32 executables run here');
  if (cls !== ELFCLASS32) reject(`EI_CLASS ${cls} is invalid, expected ELFCLASS32 (1)`);
  const data = bytes[5]!;
  if (data === ELFDATA2MSB) reject('ELFDATA2MSB (big-endian): riscv32 is little-endian, expected ELFDATA2LSB');
  if (data !== ELFDATA2LSB) reject(`EI_DATA ${data} is invalid, expected ELFDATA2LSB (1)`);
  if (bytes[6] !== EV_CURRENT) reject(`EI_VERSION ${bytes[6]!}, expected EV_CURRENT (1)`);
  if (bytes.length < ELF32_EHDR_SIZE) {
    reject(`truncated: ${bytes.length} bytes, shorter than the ${ELF32_EHDR_SIZE}-byte ELF32 header`);
  }

  const type = u16(16);
  if (type !== ET_EXEC) reject(ELF_TYPES[type] ?? `e_type ${type}, expected ET_EXEC (2)`);
  const machine = u16(18);
  if (machine !== EM_RISCV) {
    const what = MACHINES[machine];
    reject(`e_machine ${machine}${what ? ` (${what})` : ''}, expected EM_RISCV (243)`);
  }
  if (u32(20) !== EV_CURRENT) reject(`e_version ${u32(20)}, expected EV_CURRENT (1)`);
  const entry = u32(24);
  const phoff = u32(28);
  const flags = u32(36);
  const phentsize = u16(42);
  const phnum = u16(44);

  if (flags & EF_RISCV_RVE) reject('e_flags has EF_RISCV_RVE (RV32E): the emulated CPU is RV32I with 32 registers');
  if (flags & EF_RISCV_FLOAT_ABI) {
    reject(`e_flags float ABI ${(flags & EF_RISCV_FLOAT_ABI) >>> 1} (hard float): the emulated CPU has no F/D; build with -mabi=ilp32`);
  }
  if (flags & EF_RISCV_RVC && !options.compressed) {
    reject('e_flags has EF_RISCV_RVC (compressed instructions): the emulated CPU has no C extension; build with -march=rv32ima');
  }

  // Program headers (load_elf_phdrs).
  if (phentsize !== ELF32_PHDR_SIZE) reject(`e_phentsize ${phentsize}, expected ${ELF32_PHDR_SIZE} (sizeof(Elf32_Phdr))`);
  if (phnum === 0) reject('e_phnum is 0: no program headers, nothing to load');
  if (phnum * ELF32_PHDR_SIZE > PHDR_TABLE_MAX) {
    reject(`e_phnum ${phnum}: the program header table is over ${PHDR_TABLE_MAX} bytes`);
  }
  if (phoff + phnum * ELF32_PHDR_SIZE > bytes.length) {
    reject(`truncated: program headers at ${hex(phoff)}..${hex(phoff + phnum * ELF32_PHDR_SIZE)} run past the end of the ${bytes.length}-byte file`);
  }
  const programHeaders: ProgramHeader[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * ELF32_PHDR_SIZE;
    programHeaders.push({
      type: u32(at),
      offset: u32(at + 4),
      vaddr: u32(at + 8),
      paddr: u32(at + 12),
      filesz: u32(at + 16),
      memsz: u32(at + 20),
      flags: u32(at + 24),
      align: u32(at + 28),
    });
  }

  const interp = programHeaders.find((p) => p.type === PT_INTERP);
  if (interp) {
    const path = interpreterPath(bytes, interp);
    reject(`PT_INTERP: dynamically linked${path ? ` (interpreter ${path})` : ''}; only static executables run (link with -static)`);
  }

  const segments: LoadSegment[] = [];
  programHeaders.forEach((p, index) => {
    if (p.type !== PT_LOAD) return;
    const seg = `program header ${index} (PT_LOAD at ${hex(p.vaddr)})`;
    if (p.filesz > p.memsz) reject(`${seg}: p_filesz ${hex(p.filesz)} exceeds p_memsz ${hex(p.memsz)}`);
    if (p.offset + p.filesz > bytes.length) {
      reject(`${seg}: file bytes ${hex(p.offset)}..${hex(p.offset + p.filesz)} lie outside the ${bytes.length}-byte file`);
    }
    if (p.align > 1) {
      if (!isPowerOfTwo(p.align)) reject(`${seg}: p_align ${hex(p.align)} is not a power of two`);
      // The ELF spec: loadable segments have p_vaddr congruent to p_offset modulo p_align.
      if ((p.vaddr - p.offset) % p.align !== 0) {
        reject(`${seg}: p_vaddr ${hex(p.vaddr)} and p_offset ${hex(p.offset)} are not congruent modulo p_align ${hex(p.align)}`);
      }
    }
    if (p.memsz === 0) return;
    if (p.vaddr < MMAP_MIN_ADDR) reject(`${seg}: starts below mmap_min_addr ${hex(MMAP_MIN_ADDR)} (page zero stays unmapped)`);
    const end = p.vaddr + p.memsz; // a double: no 32-bit wrap-around hides an overflow
    if (end > USER_TOP) reject(`${seg}: reaches ${hex(end)}${end > 0xffffffff ? ' (past 4 GiB)' : ''}, above the user address limit ${hex(USER_TOP)}`);
    const prot = (p.flags & PF_R ? PROT_READ : 0) | (p.flags & PF_W ? PROT_WRITE : 0) | (p.flags & PF_X ? PROT_EXEC : 0);
    segments.push({
      index,
      vaddr: vaddr(p.vaddr),
      memsz: p.memsz,
      filesz: p.filesz,
      offset: p.offset,
      prot,
      readable: (prot & PROT_READ) !== 0,
      writable: (prot & PROT_WRITE) !== 0,
      executable: (prot & PROT_EXEC) !== 0,
      align: p.align,
      pageStart: vaddr(pageDown(p.vaddr)),
      pageEnd: vaddr(pageUp(end)),
    });
  });
  if (!programHeaders.some((p) => p.type === PT_LOAD)) reject('no PT_LOAD segment: nothing to load');
  if (segments.length === 0) reject('every PT_LOAD segment is empty (p_memsz 0): nothing to load');

  // Overlap. exec maps whole pages with one protection each, so two segments may not even
  // share a page (GNU ld keeps them apart by at least max-page-size).
  segments.sort((a, b) => a.vaddr - b.vaddr);
  for (let i = 1; i < segments.length; i++) {
    const a = segments[i - 1]!;
    const b = segments[i]!;
    const range = (s: LoadSegment): string => `${hex(s.vaddr)}..${hex(s.vaddr + s.memsz)}`;
    if (a.vaddr + a.memsz > b.vaddr) {
      reject(`program headers ${a.index} and ${b.index}: PT_LOAD segments overlap (${range(a)} and ${range(b)})`);
    }
    if (a.pageEnd > b.pageStart) {
      reject(`program headers ${a.index} and ${b.index}: PT_LOAD segments ${range(a)} and ${range(b)} share the page at ${hex(b.pageStart)}; each page is mapped with one protection`);
    }
  }

  // The entry point: an instruction from the file, in an executable segment.
  const ialign = options.compressed ? 2 : 4;
  const text = segments.find((s) => s.executable && entry >= s.vaddr && entry < s.vaddr + s.filesz);
  if (!text) reject(`e_entry ${hex(entry)} is not in the file bytes of an executable PT_LOAD segment`);
  if (entry % ialign !== 0) reject(`e_entry ${hex(entry)} is not ${ialign}-byte aligned`);

  let phdrAddr = 0;
  for (const p of programHeaders) {
    if (p.type === PT_LOAD && p.offset <= phoff && phoff < p.offset + p.filesz) phdrAddr = phoff - p.offset + p.vaddr;
  }
  const end = Math.max(...segments.map((s) => s.vaddr + s.memsz));

  return {
    entry: vaddr(entry),
    flags,
    phoff,
    phentsize,
    phnum,
    programHeaders,
    segments,
    phdrAddr: vaddr(phdrAddr),
    end: vaddr(end),
  };
}

/** PT_INTERP's path, if its bytes are in the file and NUL-terminated. */
function interpreterPath(bytes: Uint8Array, p: ProgramHeader): string | undefined {
  if (p.filesz < 2 || p.offset + p.filesz > bytes.length || bytes[p.offset + p.filesz - 1] !== 0) return undefined;
  return new TextDecoder().decode(bytes.subarray(p.offset, p.offset + p.filesz - 1));
}

// ---- buildInitialStack --------------------------------------------------------------------

/** The auxiliary vector entries that come from the program and the CPU. */
export interface AuxvValues {
  /** AT_PHDR: ElfImage.phdrAddr. */
  readonly phdr: number;
  /** AT_PHENT: sizeof(Elf32_Phdr). */
  readonly phent: number;
  /** AT_PHNUM: e_phnum. */
  readonly phnum: number;
  /** AT_ENTRY: e_entry. */
  readonly entry: number;
  /** AT_HWCAP: ISA letters the CPU implements (HWCAP_RV32IMA). */
  readonly hwcap: number;
  /** AT_SYSINFO_EHDR: where the vDSO is mapped; absent, no vDSO is announced. */
  readonly sysinfoEhdr?: number;
}

/** The AT_PHDR/AT_PHENT/AT_PHNUM/AT_ENTRY values for a parsed image. */
export function auxvFor(image: ElfImage, hwcap: number): AuxvValues {
  return { phdr: image.phdrAddr, phent: image.phentsize, phnum: image.phnum, entry: image.entry, hwcap };
}

export interface InitialStackInput {
  /** The first byte above the stack mapping (16-byte aligned, at most USER_TOP). */
  readonly stackTop: number;
  /** argv[0] first; at least one entry. */
  readonly argv: readonly string[];
  readonly envp: readonly string[];
  /** AT_RANDOM's 16 bytes (the caller's randomness, so a test can fix them). */
  readonly random: Uint8Array;
  readonly auxv: AuxvValues;
  /** The path exec was given, for AT_EXECFN (default argv[0]). */
  readonly execfn?: string;
  /** Refuse images over this many bytes (default ARG_MAX_BYTES). */
  readonly maxBytes?: number;
}

export interface InitialStack {
  /** The user stack pointer at entry: points at argc, 16-byte aligned. */
  readonly sp: Vaddr;
  /** The bytes of [sp, stackTop), to copy into the stack mapping. */
  readonly bytes: Uint8Array;
  readonly argvAddr: Vaddr;
  readonly envpAddr: Vaddr;
  readonly auxvAddr: Vaddr;
  /** The 16 AT_RANDOM bytes. */
  readonly randomAddr: Vaddr;
  readonly execfnAddr: Vaddr;
  /** The auxiliary vector as written, (key, value) pairs ending with AT_NULL. */
  readonly auxv: readonly (readonly [number, number])[];
}

/**
 * The initial process stack, as create_elf_tables leaves it for riscv32 (no randomisation):
 *
 *   stackTop - 4   a NULL word (bprm->p starts one pointer below the top)
 *                  exec filename (AT_EXECFN), envp strings, argv strings — in ascending
 *                  address order argv[0] .. argv[n-1], envp[0] .. envp[m-1], filename
 *                  align down to 16 (arch_align_stack with no random offset)
 *                  16 AT_RANDOM bytes
 *                  (padding, so that sp is 16-byte aligned: STACK_ROUND)
 *                  auxv: (key, value) pairs, AT_NULL last
 *                  envp[0..m-1], NULL
 *                  argv[0..n-1], NULL
 *   sp             argc
 *
 * The auxiliary vector is Linux's generic list in its order: AT_HWCAP, AT_PAGESZ, AT_CLKTCK,
 * AT_PHDR, AT_PHENT, AT_PHNUM, AT_BASE (0: no interpreter), AT_FLAGS, AT_ENTRY, AT_UID,
 * AT_EUID, AT_GID, AT_EGID (root), AT_SECURE (0), AT_RANDOM, AT_EXECFN, after riscv's
 * ARCH_DLINFO's AT_SYSINFO_EHDR (the vDSO) when the caller maps one. The rest of ARCH_DLINFO
 * (cache geometry, AT_MINSIGSTKSZ), AT_HWCAP2 and the rseq entries are left out.
 */
export function buildInitialStack(input: InitialStackInput): InitialStack {
  const { stackTop, argv, envp, random, auxv } = input;
  const maxBytes = input.maxBytes ?? ARG_MAX_BYTES;
  if (!Number.isInteger(stackTop) || stackTop % 16 !== 0 || stackTop <= 0 || stackTop > USER_TOP) {
    throw new ConfigError('stack top', `must be 16-byte aligned and at most ${hex(USER_TOP)}, got ${stackTop}`);
  }
  if (argv.length === 0) throw new ConfigError('argv', 'must hold at least the program name');
  if (random.length !== AT_RANDOM_BYTES) {
    throw new ConfigError('AT_RANDOM', `needs ${AT_RANDOM_BYTES} bytes, got ${random.length}`);
  }
  const encoder = new TextEncoder();
  const encode = (what: string, s: string): Uint8Array => {
    if (s.includes('\0')) throw new ConfigError(what, 'must not contain a NUL character');
    return encoder.encode(s);
  };
  const argvBytes = argv.map((s, i) => encode(`argv[${i}]`, s));
  const envpBytes = envp.map((s, i) => encode(`envp[${i}]`, s));
  const execfnBytes = encode('execfn', input.execfn ?? argv[0]!);

  // Strings, top down, as bprm->p moves: filename, then envp and argv from last to first.
  let p = stackTop - 4;
  p -= execfnBytes.length + 1;
  const execfnAddr = p;
  const envpAddrs: number[] = new Array<number>(envp.length);
  for (let i = envpBytes.length - 1; i >= 0; i--) {
    p -= envpBytes[i]!.length + 1;
    envpAddrs[i] = p;
  }
  const argvAddrs: number[] = new Array<number>(argv.length);
  for (let i = argvBytes.length - 1; i >= 0; i--) {
    p -= argvBytes[i]!.length + 1;
    argvAddrs[i] = p;
  }
  p = align16Down(p);
  p -= AT_RANDOM_BYTES;
  const randomAddr = p;

  const pairs: [number, number][] = [
    // riscv's ARCH_DLINFO comes first.
    ...(auxv.sysinfoEhdr !== undefined ? [[AT_SYSINFO_EHDR, auxv.sysinfoEhdr] as [number, number]] : []),
    [AT_HWCAP, auxv.hwcap],
    [AT_PAGESZ, PAGE_SIZE],
    [AT_CLKTCK, USER_HZ],
    [AT_PHDR, auxv.phdr],
    [AT_PHENT, auxv.phent],
    [AT_PHNUM, auxv.phnum],
    [AT_BASE, 0],
    [AT_FLAGS, 0],
    [AT_ENTRY, auxv.entry],
    [AT_UID, 0],
    [AT_EUID, 0],
    [AT_GID, 0],
    [AT_EGID, 0],
    [AT_SECURE, 0],
    [AT_RANDOM, randomAddr],
    [AT_EXECFN, execfnAddr],
    [AT_NULL, 0],
  ];
  // STACK_ADD(p, ei_index), then STACK_ROUND(sp, items): argc, argv + NULL, envp + NULL.
  const items = 1 + (argv.length + 1) + (envp.length + 1);
  const sp = align16Down(p - pairs.length * 2 * 4 - items * 4);
  if (sp < MMAP_MIN_ADDR || stackTop - sp > maxBytes) {
    throw new ConfigError('argv and envp', `need ${stackTop - sp} bytes of initial stack, more than the ${maxBytes} allowed`);
  }

  const bytes = new Uint8Array(stackTop - sp);
  const dv = new DataView(bytes.buffer);
  const put32 = (addr: number, v: number): void => dv.setUint32(addr - sp, v >>> 0, true);
  const putString = (addr: number, s: Uint8Array): void => bytes.set(s, addr - sp); // NUL: already 0
  putString(execfnAddr, execfnBytes);
  envpBytes.forEach((s, i) => putString(envpAddrs[i]!, s));
  argvBytes.forEach((s, i) => putString(argvAddrs[i]!, s));
  bytes.set(random, randomAddr - sp);

  let w = sp;
  put32(w, argv.length);
  w += 4;
  const argvAddr = w;
  for (const a of argvAddrs) {
    put32(w, a);
    w += 4;
  }
  w += 4; // NULL
  const envpAddr = w;
  for (const a of envpAddrs) {
    put32(w, a);
    w += 4;
  }
  w += 4; // NULL
  const auxvAddr = w;
  for (const [k, v] of pairs) {
    put32(w, k);
    put32(w + 4, v);
    w += 8;
  }

  return {
    sp: vaddr(sp),
    bytes,
    argvAddr: vaddr(argvAddr),
    envpAddr: vaddr(envpAddr),
    auxvAddr: vaddr(auxvAddr),
    randomAddr: vaddr(randomAddr),
    execfnAddr: vaddr(execfnAddr),
    auxv: pairs,
  };
}
