import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  AT_ENTRY,
  AT_EXECFN,
  AT_HWCAP,
  AT_NULL,
  AT_PAGESZ,
  AT_PHDR,
  AT_PHENT,
  AT_PHNUM,
  AT_RANDOM,
  EF_RISCV_RVC,
  HWCAP_RV32IMA,
  PT_INTERP,
  PT_LOAD,
  PT_NOTE,
  PT_RISCV_ATTRIBUTES,
  auxvFor,
  buildInitialStack,
  parseElf,
  type ElfImage,
  type InitialStack,
} from '../../src/kernel/binfmt-elf.js';
import { USER_TOP } from '../../src/hw/paging.js';
import { PROT_EXEC, PROT_READ, PROT_WRITE } from '../../src/uapi/mman.js';
import { configError } from '../helpers/errors.js';

/** The guest programs built by guest/Makefile and committed in guest/bin. */
const BIN = new URL('../../guest/bin/', import.meta.url);
const programs = readdirSync(BIN).filter((f) => f.endsWith('.elf')).sort();
const load = (file: string): Uint8Array => new Uint8Array(readFileSync(new URL(file, BIN)));

/** guest/rt/guest.ld links every program here, headers first. */
const TEXT_BASE = 0x00100000;

/**
 * The symbol table, read through the section headers: an independent path to _start and the
 * data symbols that parseElf (which looks only at program headers) never touches.
 */
function symbols(bytes: Uint8Array): Map<string, number> {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shoff = dv.getUint32(32, true);
  const shentsize = dv.getUint16(46, true);
  const shnum = dv.getUint16(48, true);
  const section = (i: number) => {
    const at = shoff + i * shentsize;
    return { type: dv.getUint32(at + 4, true), offset: dv.getUint32(at + 16, true), size: dv.getUint32(at + 20, true), link: dv.getUint32(at + 24, true) };
  };
  const SHT_SYMTAB = 2;
  const out = new Map<string, number>();
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    if (s.type !== SHT_SYMTAB) continue;
    const strtab = section(s.link);
    for (let at = s.offset; at < s.offset + s.size; at += 16) {
      const nameOff = strtab.offset + dv.getUint32(at, true);
      let end = nameOff;
      while (bytes[end] !== 0) end++;
      out.set(new TextDecoder().decode(bytes.subarray(nameOff, end)), dv.getUint32(at + 4, true));
    }
  }
  return out;
}

/** A copy of `bytes` with a little-endian word or half-word patched. */
function patched(bytes: Uint8Array, edits: readonly (readonly [offset: number, value: number, width: 2 | 4])[]): Uint8Array {
  const copy = bytes.slice();
  const dv = new DataView(copy.buffer);
  for (const [at, v, width] of edits) {
    if (width === 2) dv.setUint16(at, v, true);
    else dv.setUint32(at, v >>> 0, true);
  }
  return copy;
}

/** Byte offset of program header i's field (Elf32_Phdr: type, offset, vaddr, paddr, filesz, memsz, flags, align). */
const PH_FIELD = { type: 0, offset: 4, vaddr: 8, paddr: 12, filesz: 16, memsz: 20, flags: 24, align: 28 } as const;
function phField(bytes: Uint8Array, index: number, field: keyof typeof PH_FIELD): number {
  const phoff = new DataView(bytes.buffer, bytes.byteOffset).getUint32(28, true);
  return phoff + index * 32 + PH_FIELD[field];
}
function phIndex(bytes: Uint8Array, pred: (type: number, flags: number) => boolean): number {
  const dv = new DataView(bytes.buffer, bytes.byteOffset);
  const phnum = dv.getUint16(44, true);
  for (let i = 0; i < phnum; i++) {
    if (pred(dv.getUint32(phField(bytes, i, 'type'), true), dv.getUint32(phField(bytes, i, 'flags'), true))) return i;
  }
  throw new Error('no such program header');
}

describe('parseElf on the committed guest programs', () => {
  it('finds the guest programs the Makefile builds', () => {
    expect(programs).toEqual(expect.arrayContaining(['hello.elf', 'alu.elf', 'args.elf', 'tlb_flush1.elf', 'ebizzy.elf']));
  });

  for (const file of programs) {
    it(`${file}: entry is _start, text R+X at the link address holds the headers, data R+W above it`, () => {
      const bytes = load(file);
      const image = parseElf(bytes, { name: file });
      const syms = symbols(bytes);
      expect(image.entry).toBe(syms.get('_start'));
      expect(image.segments.length).toBe(2);
      const [text, data] = image.segments as [ElfImage['segments'][0], ElfImage['segments'][0]];
      expect(text.vaddr).toBe(TEXT_BASE);
      expect(text.offset).toBe(0);
      expect(text.prot).toBe(PROT_READ | PROT_EXEC);
      expect(text.filesz).toBe(text.memsz);
      expect(data.prot).toBe(PROT_READ | PROT_WRITE);
      expect(data.vaddr).toBeGreaterThanOrEqual(text.pageEnd);
      expect(data.memsz).toBeGreaterThanOrEqual(data.filesz);
      // AT_PHDR: the table is mapped inside the text segment, right after the ELF header.
      expect(image.phdrAddr).toBe(TEXT_BASE + image.phoff);
      expect(image.phoff).toBe(52);
      expect(image.phentsize).toBe(32);
      expect(image.end).toBe(data.vaddr + data.memsz);
      expect(image.end).toBeLessThanOrEqual(syms.get('_end')!);
      expect(image.end).toBeLessThanOrEqual(0x08000000); // below the brk area
      // Non-loadable headers (PT_RISCV_ATTRIBUTES) are described but not loaded.
      expect(image.programHeaders.filter((p) => p.type === PT_LOAD).length).toBe(2);
      expect(image.programHeaders.some((p) => p.type === PT_RISCV_ATTRIBUTES)).toBe(true);
    });
  }

  it('loadstore.elf: .data bytes come from the file at the segment offset, .bss is memsz beyond filesz', () => {
    const bytes = load('loadstore.elf');
    const image = parseElf(bytes);
    const syms = symbols(bytes);
    const data = image.segments.find((s) => s.writable)!;
    const pattern = syms.get('pattern')!;
    const zeroed = syms.get('zeroed')!;
    expect(pattern).toBeGreaterThanOrEqual(data.vaddr);
    expect(pattern + 32).toBeLessThanOrEqual(data.vaddr + data.filesz);
    const at = data.offset + (pattern - data.vaddr);
    expect(Array.from(bytes.subarray(at, at + 4))).toEqual([0x81, 0x7f, 0x00, 0xff]); // tests/loadstore.c
    // The 256-byte zeroed array lies in the bss: mapped, but not in the file.
    expect(zeroed).toBeGreaterThanOrEqual(data.vaddr + data.filesz);
    expect(zeroed + 256).toBeLessThanOrEqual(data.vaddr + data.memsz);
  });

  it('a segment\'s pages cover it: pageStart and pageEnd are the enclosing 4 KiB boundaries', () => {
    const image = parseElf(load('amo.elf'));
    for (const s of image.segments) {
      expect(s.pageStart % 4096).toBe(0);
      expect(s.pageEnd % 4096).toBe(0);
      expect(s.pageStart).toBeLessThanOrEqual(s.vaddr);
      expect(s.pageEnd).toBeGreaterThanOrEqual(s.vaddr + s.memsz);
      expect(s.pageEnd - (s.vaddr + s.memsz)).toBeLessThan(4096);
    }
  });
});

describe('parseElf rejects malformed and foreign files with the reason', () => {
  const hello = load('hello.elf');
  const text = phIndex(hello, (t, f) => t === PT_LOAD && (f & 1) !== 0);
  const data = phIndex(hello, (t, f) => t === PT_LOAD && (f & 1) === 0);
  const attrs = phIndex(hello, (t) => t === PT_RISCV_ATTRIBUTES);
  const rejects = (bytes: Uint8Array, pattern: RegExp): void => {
    const err = configError(() => parseElf(bytes, { name: '--program bad.elf' }));
    expect(err.message).toMatch(/^--program bad\.elf: /);
    expect(err.message).toMatch(pattern);
  };

  it('accepts the unmodified file (so each rejection below is due to its one change)', () => {
    expect(parseElf(hello).segments.length).toBe(2);
  });

  it('a file that is not ELF, or is empty', () => {
    rejects(new TextEncoder().encode('#!/bin/sh\necho hi\n'), /not an ELF file \(starts 23 21 2f 62/);
    rejects(new Uint8Array(0), /not an ELF file \(starts empty/);
  });

  it('ELFCLASS64, big-endian and a bad EI_VERSION', () => {
    rejects(patched(hello, [[4, 2, 2]]), /ELFCLASS64 \(a 64-bit file\)/);
    const be = hello.slice();
    be[5] = 2;
    rejects(be, /ELFDATA2MSB \(big-endian\)/);
    const v = hello.slice();
    v[6] = 0;
    rejects(v, /EI_VERSION 0/);
  });

  it('another architecture, named', () => {
    rejects(patched(hello, [[18, 62, 2]]), /e_machine 62 \(x86-64\), expected EM_RISCV \(243\)/);
    rejects(patched(hello, [[18, 183, 2]]), /AArch64/);
  });

  it('ET_DYN (PIE), ET_REL and unknown types', () => {
    rejects(patched(hello, [[16, 3, 2]]), /ET_DYN .*-static -no-pie/);
    rejects(patched(hello, [[16, 1, 2]]), /ET_REL/);
    rejects(patched(hello, [[16, 9, 2]]), /e_type 9, expected ET_EXEC/);
  });

  it('a truncated ELF header and truncated program headers', () => {
    rejects(hello.subarray(0, 30), /truncated: 30 bytes, shorter than the 52-byte ELF32 header/);
    rejects(hello.subarray(0, 52 + 40), /truncated: program headers at 0x34\.\.0x94 run past the end of the 92-byte file/);
  });

  it('a wrong e_phentsize, no program headers, or too many', () => {
    rejects(patched(hello, [[42, 56, 2]]), /e_phentsize 56, expected 32/);
    rejects(patched(hello, [[44, 0, 2]]), /e_phnum is 0/);
    rejects(patched(hello, [[44, 200, 2]]), /e_phnum 200: the program header table is over 4096 bytes/);
  });

  it('hard-float, RV32E and compressed-instruction files; RVC is accepted when the CPU has C', () => {
    rejects(patched(hello, [[36, 0x4, 4]]), /float ABI 2 \(hard float\).*-mabi=ilp32/);
    rejects(patched(hello, [[36, 0x8, 4]]), /EF_RISCV_RVE/);
    rejects(patched(hello, [[36, EF_RISCV_RVC, 4]]), /EF_RISCV_RVC .*no C extension/);
    expect(parseElf(patched(hello, [[36, EF_RISCV_RVC, 4]]), { compressed: true }).flags).toBe(EF_RISCV_RVC);
  });

  it('PT_INTERP: a dynamically linked program, with its interpreter named', () => {
    // Point the attributes header at a NUL-terminated path written over the section name table.
    const path = '/lib/ld-linux-riscv32-ilp32.so.1\0';
    const bytes = hello.slice();
    const at = bytes.length - path.length;
    bytes.set(new TextEncoder().encode(path), at);
    rejects(
      patched(bytes, [[phField(hello, attrs, 'type'), PT_INTERP, 4], [phField(hello, attrs, 'offset'), at, 4], [phField(hello, attrs, 'filesz'), path.length, 4]]),
      /PT_INTERP: dynamically linked \(interpreter \/lib\/ld-linux-riscv32-ilp32\.so\.1\); only static executables run/,
    );
  });

  it('a segment whose file bytes lie outside the file', () => {
    rejects(patched(hello, [[phField(hello, text, 'offset'), 0x10000, 4], [phField(hello, text, 'vaddr'), 0x110000, 4]]), /file bytes 0x10000\.\..* lie outside the \d+-byte file/);
  });

  it('p_filesz greater than p_memsz', () => {
    rejects(patched(hello, [[phField(hello, data, 'filesz'), 0x100, 4], [phField(hello, data, 'memsz'), 0x10, 4]]), /p_filesz 0x100 exceeds p_memsz 0x10/);
  });

  it('overlapping segments, and segments sharing a page', () => {
    const textVaddr = parseElf(hello).segments[0]!.vaddr;
    rejects(patched(hello, [[phField(hello, data, 'vaddr'), textVaddr + 0x100, 4], [phField(hello, data, 'align'), 16, 4]]), /PT_LOAD segments overlap \(0x100000\.\.0x[0-9a-f]+ and 0x100100\.\./);
    const textEnd = textVaddr + parseElf(hello).segments[0]!.memsz;
    const next = Math.ceil(textEnd / 16) * 16; // same page as the text's last bytes
    rejects(patched(hello, [[phField(hello, data, 'vaddr'), next, 4], [phField(hello, data, 'align'), 16, 4]]), /share the page at 0x101000; each page is mapped with one protection/);
  });

  it('segments reaching above USER_TOP, wrapping past 4 GiB, or starting below mmap_min_addr', () => {
    rejects(patched(hello, [[phField(hello, data, 'vaddr'), USER_TOP - 0x1000, 4], [phField(hello, data, 'memsz'), 0x2000, 4]]), /reaches 0xc0001000, above the user address limit 0xc0000000/);
    rejects(patched(hello, [[phField(hello, data, 'vaddr'), 0xfffff000, 4], [phField(hello, data, 'memsz'), 0x2000, 4]]), /reaches 0x100001000 \(past 4 GiB\)/);
    rejects(patched(hello, [[phField(hello, text, 'vaddr'), 0, 4]]), /starts below mmap_min_addr 0x10000/);
  });

  it('bad alignment: p_align not a power of two, or p_vaddr and p_offset not congruent', () => {
    rejects(patched(hello, [[phField(hello, text, 'align'), 0x1001, 4]]), /p_align 0x1001 is not a power of two/);
    rejects(patched(hello, [[phField(hello, text, 'align'), 0x200000, 4]]), /p_vaddr 0x100000 and p_offset 0x0 are not congruent modulo p_align 0x200000/);
  });

  it('an entry point outside the executable file bytes, or misaligned', () => {
    const dataVaddr = parseElf(hello).segments[1]!.vaddr;
    rejects(patched(hello, [[24, dataVaddr, 4]]), /e_entry 0x102000 is not in the file bytes of an executable PT_LOAD segment/);
    rejects(patched(hello, [[24, parseElf(hello).entry + 2, 4]]), /e_entry 0x[0-9a-f]+ is not 4-byte aligned/);
  });

  it('no PT_LOAD segment at all', () => {
    rejects(patched(hello, [[phField(hello, text, 'type'), PT_NOTE, 4], [phField(hello, data, 'type'), PT_NOTE, 4]]), /no PT_LOAD segment/);
  });
});

describe('buildInitialStack', () => {
  const random = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);
  const auxv = { phdr: 0x100034, phent: 32, phnum: 3, entry: 0x100094, hwcap: HWCAP_RV32IMA };

  /** Reads the stack back the way a program's start-up code does. */
  function decode(st: InitialStack, top: number) {
    const dv = new DataView(st.bytes.buffer);
    const word = (addr: number): number => {
      expect(addr).toBeGreaterThanOrEqual(st.sp);
      expect(addr + 4).toBeLessThanOrEqual(top);
      return dv.getUint32(addr - st.sp, true);
    };
    const string = (addr: number): string => {
      let end = addr - st.sp;
      while (st.bytes[end] !== 0) end++;
      return new TextDecoder().decode(st.bytes.subarray(addr - st.sp, end));
    };
    let w: number = st.sp;
    const argc = word(w);
    w += 4;
    const argv: string[] = [];
    for (let i = 0; i < argc; i++, w += 4) argv.push(string(word(w)));
    expect(word(w)).toBe(0);
    w += 4;
    const envp: string[] = [];
    for (; word(w) !== 0; w += 4) envp.push(string(word(w)));
    w += 4;
    const aux: [number, number][] = [];
    for (;; w += 8) {
      aux.push([word(w), word(w + 4)]);
      if (word(w) === AT_NULL) break;
    }
    return { argc, argv, envp, aux, auxMap: new Map(aux), string };
  }

  it('lays out argc, argv, envp and the auxiliary vector so start-up code reads them back', () => {
    const top = 0xbfff0000;
    const st = buildInitialStack({ stackTop: top, argv: ['guest/bin/args.elf', 'one', 'two words', 'ü'], envp: ['A=1', 'LANG=C'], random, auxv, execfn: 'guest/bin/args.elf' });
    expect(st.sp % 16).toBe(0);
    expect(st.sp + st.bytes.length).toBe(top);
    const d = decode(st, top);
    expect(d.argc).toBe(4);
    expect(d.argv).toEqual(['guest/bin/args.elf', 'one', 'two words', 'ü']);
    expect(d.envp).toEqual(['A=1', 'LANG=C']);
    expect(d.aux[d.aux.length - 1]).toEqual([AT_NULL, 0]);
    expect(d.auxMap.get(AT_PHDR)).toBe(0x100034);
    expect(d.auxMap.get(AT_PHENT)).toBe(32);
    expect(d.auxMap.get(AT_PHNUM)).toBe(3);
    expect(d.auxMap.get(AT_ENTRY)).toBe(0x100094);
    expect(d.auxMap.get(AT_PAGESZ)).toBe(4096);
    expect(d.auxMap.get(AT_HWCAP)).toBe((1 << 0) | (1 << 8) | (1 << 12)); // A, I, M
    expect(d.string(d.auxMap.get(AT_EXECFN)!)).toBe('guest/bin/args.elf');
    const r = d.auxMap.get(AT_RANDOM)!;
    expect(Array.from(st.bytes.subarray(r - st.sp, r - st.sp + 16))).toEqual(Array.from(random));
    // Above the tables: random bytes, then the strings, then the NULL word at the very top.
    expect(r).toBeGreaterThanOrEqual(st.auxvAddr + d.aux.length * 8);
    expect(st.argvAddr).toBe(st.sp + 4);
    expect(st.envpAddr).toBe(st.argvAddr + 4 * (d.argc + 1));
    expect(st.auxvAddr).toBe(st.envpAddr + 4 * (d.envp.length + 1));
    expect(new DataView(st.bytes.buffer).getUint32(st.bytes.length - 4, true)).toBe(0);
  });

  it('places the strings as Linux does: argv then envp then the exec filename, ascending, below a NULL word at the top', () => {
    // Hand-derived for stackTop 0x10000000, argv ["a"], no envp (fs/binfmt_elf.c create_elf_tables):
    //   0x0ffffffc  NULL word          0x0ffffffa  "a" (execfn)     0x0ffffff8  "a" (argv[0])
    //   0x0ffffff0  align 16           0x0fffffe0  16 random bytes
    //   auxv: 17 pairs = 136 bytes -> 0x0fffff58; items argc, argv[0], NULL, NULL = 16 bytes
    //   -> 0x0fffff48, rounded down to 16 -> sp = 0x0fffff40; auxv at 0x0fffff50.
    const st = buildInitialStack({ stackTop: 0x10000000, argv: ['a'], envp: [], random, auxv });
    expect<number>(st.sp).toBe(0x0fffff40);
    expect(st.bytes.length).toBe(0xc0);
    expect<number>(st.argvAddr).toBe(0x0fffff44);
    expect<number>(st.envpAddr).toBe(0x0fffff4c);
    expect<number>(st.auxvAddr).toBe(0x0fffff50);
    expect<number>(st.randomAddr).toBe(0x0fffffe0);
    expect<number>(st.execfnAddr).toBe(0x0ffffffa);
    const dv = new DataView(st.bytes.buffer);
    const at = (addr: number): number => dv.getUint32(addr - st.sp, true);
    expect(at(0x0fffff40)).toBe(1);
    expect(at(0x0fffff44)).toBe(0x0ffffff8);
    expect(at(0x0fffff48)).toBe(0);
    expect(at(0x0fffff4c)).toBe(0);
    // Linux's order: AT_HWCAP, AT_PAGESZ, AT_CLKTCK, AT_PHDR, ... AT_RANDOM, AT_EXECFN, AT_NULL.
    expect(st.auxv.map(([k]) => k)).toEqual([16, 6, 17, 3, 4, 5, 7, 8, 9, 11, 12, 13, 14, 23, 25, 31, 0]);
    expect(at(0x0fffff50)).toBe(AT_HWCAP);
    expect(at(0x0fffff50 + 14 * 8)).toBe(AT_RANDOM);
    expect(at(0x0fffff50 + 14 * 8 + 4)).toBe(0x0fffffe0);
    expect(at(0x0fffff50 + 16 * 8)).toBe(AT_NULL);
    expect(Array.from(st.bytes.subarray(0x0ffffff8 - st.sp))).toEqual([0x61, 0, 0x61, 0, 0, 0, 0, 0]);
  });

  it('keeps sp 16-byte aligned for every argument count and string length', () => {
    for (let n = 1; n <= 9; n++) {
      for (let len = 0; len <= 17; len += 3) {
        const argv = Array.from({ length: n }, (_, i) => 'x'.repeat(len + i));
        const envp = Array.from({ length: (n * 7) % 4 }, (_, i) => `E${i}=${'y'.repeat(len)}`);
        const st = buildInitialStack({ stackTop: 0x7fff0000, argv, envp, random, auxv });
        expect(st.sp % 16).toBe(0);
        const d = decode(st, 0x7fff0000);
        expect(d.argv).toEqual(argv);
        expect(d.envp).toEqual(envp);
      }
    }
  });

  it('takes AT_PHDR, AT_PHNUM and AT_ENTRY from a parsed program', () => {
    const image = parseElf(load('args.elf'));
    const st = buildInitialStack({ stackTop: 0xbffff000, argv: ['args.elf'], envp: [], random, auxv: auxvFor(image, HWCAP_RV32IMA) });
    const aux = new Map(st.auxv);
    expect(aux.get(AT_PHDR)).toBe(image.phdrAddr);
    expect(aux.get(AT_PHNUM)).toBe(image.phnum);
    expect(aux.get(AT_ENTRY)).toBe(image.entry);
  });

  it('rejects a misaligned or too-high stack top, an empty argv, NUL in a string, wrong random size, too much', () => {
    const base = { argv: ['p'], envp: [], random, auxv };
    expect(configError(() => buildInitialStack({ ...base, stackTop: 0x10000008 })).message).toMatch(/^stack top: must be 16-byte aligned/);
    expect(configError(() => buildInitialStack({ ...base, stackTop: USER_TOP + 0x1000 })).message).toMatch(/at most 0xc0000000/);
    expect(configError(() => buildInitialStack({ ...base, stackTop: 0x10000000, argv: [] })).message).toMatch(/^argv: must hold at least the program name/);
    expect(configError(() => buildInitialStack({ ...base, stackTop: 0x10000000, envp: ['A=\0'] })).message).toMatch(/^envp\[0\]: must not contain a NUL/);
    expect(configError(() => buildInitialStack({ ...base, stackTop: 0x10000000, random: new Uint8Array(8) })).message).toMatch(/^AT_RANDOM: needs 16 bytes, got 8/);
    expect(configError(() => buildInitialStack({ ...base, stackTop: 0x10000000, argv: ['p', 'z'.repeat(200_000)] })).message).toMatch(/^argv and envp: need \d+ bytes of initial stack, more than the 131072 allowed/);
  });
});
