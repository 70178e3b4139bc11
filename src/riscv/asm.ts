/**
 * A tiny RV32IMA assembler: one method per instruction, labels with forward references, and
 * the `li` pseudo-instruction. For tests, benchmarks and hand-made guest code (no parser: a
 * program is TypeScript calls). Pure; any thread.
 *
 *   const a = new Asm(0x10000);
 *   a.li(X.a0, 10).label('loop').addi(X.a0, X.a0, -1).bne(X.a0, X.zero, 'loop').ecall();
 *   const words = a.assemble();
 */
import { InternalError } from '../lib/errors.js';
import {
  AMO_ADD, AMO_AND, AMO_LR, AMO_MAX, AMO_MAXU, AMO_MIN, AMO_MINU, AMO_OR, AMO_SC, AMO_SWAP, AMO_XOR, CSRRC,
  CSRRCI, CSRRS, CSRRSI, CSRRW, CSRRWI, EBREAK_WORD, ECALL_WORD, OPC_AMO, OPC_AUIPC, OPC_BRANCH, OPC_JAL,
  OPC_JALR, OPC_LOAD, OPC_LUI, OPC_MISC_MEM, OPC_OP, OPC_OP_IMM, OPC_STORE, OPC_SYSTEM,
} from './isa.js';

/** Register numbers by ABI name: X.a0 === 10. */
export const X = Object.freeze({
  zero: 0, ra: 1, sp: 2, gp: 3, tp: 4, t0: 5, t1: 6, t2: 7,
  s0: 8, s1: 9, a0: 10, a1: 11, a2: 12, a3: 13, a4: 14, a5: 15,
  a6: 16, a7: 17, s2: 18, s3: 19, s4: 20, s5: 21, s6: 22, s7: 23,
  s8: 24, s9: 25, s10: 26, s11: 27, t3: 28, t4: 29, t5: 30, t6: 31,
});

const reg = (r: number): number => {
  if (!Number.isInteger(r) || r < 0 || r > 31) throw new InternalError(`asm: no register x${r}`);
  return r;
};

function signedImm(v: number, bits: number, what: string): number {
  const lo = -(2 ** (bits - 1));
  const hi = 2 ** (bits - 1) - 1;
  if (!Number.isInteger(v) || v < lo || v > hi) throw new InternalError(`asm: ${what} ${v} does not fit in ${bits} signed bits`);
  return v;
}

export const encR = (f7: number, rs2: number, rs1: number, f3: number, rd: number, opc: number): number =>
  ((f7 << 25) | (reg(rs2) << 20) | (reg(rs1) << 15) | (f3 << 12) | (reg(rd) << 7) | opc) >>> 0;
export const encI = (imm: number, rs1: number, f3: number, rd: number, opc: number): number =>
  (((signedImm(imm, 12, 'I immediate') & 0xfff) << 20) | (reg(rs1) << 15) | (f3 << 12) | (reg(rd) << 7) | opc) >>> 0;
export const encS = (imm: number, rs2: number, rs1: number, f3: number, opc: number): number => {
  const v = signedImm(imm, 12, 'S immediate');
  return ((((v >> 5) & 0x7f) << 25) | (reg(rs2) << 20) | (reg(rs1) << 15) | (f3 << 12) | ((v & 31) << 7) | opc) >>> 0;
};
export const encB = (offset: number, rs2: number, rs1: number, f3: number): number => {
  const v = signedImm(offset, 13, 'branch offset');
  if ((v & 1) !== 0) throw new InternalError(`asm: branch offset ${v} is odd`);
  return ((((v >> 12) & 1) << 31) | (((v >> 5) & 0x3f) << 25) | (reg(rs2) << 20) | (reg(rs1) << 15) | (f3 << 12) |
    (((v >> 1) & 0xf) << 8) | (((v >> 11) & 1) << 7) | OPC_BRANCH) >>> 0;
};
export const encU = (imm20: number, rd: number, opc: number): number => (((imm20 & 0xfffff) << 12) | (reg(rd) << 7) | opc) >>> 0;
export const encJ = (offset: number, rd: number): number => {
  const v = signedImm(offset, 21, 'jump offset');
  if ((v & 1) !== 0) throw new InternalError(`asm: jump offset ${v} is odd`);
  return ((((v >> 20) & 1) << 31) | (((v >> 1) & 0x3ff) << 21) | (((v >> 11) & 1) << 20) | (((v >> 12) & 0xff) << 12) |
    (reg(rd) << 7) | OPC_JAL) >>> 0;
};
/** An AMO word: funct5, aq, rl, rs2, rs1, funct3 010, rd. */
export const encAmo = (funct5: number, rd: number, rs2: number, rs1: number, aq = false, rl = false): number =>
  encR((funct5 << 2) | (aq ? 2 : 0) | (rl ? 1 : 0), rs2, rs1, 2, rd, OPC_AMO);

type Target = string | number;

interface Fixup {
  /** Word to patch. */
  index: number;
  label: string;
  /** Added to the label's address. */
  addend: number;
  /** Offsets are from this word's address (the instruction itself, or a la's auipc). */
  baseIndex: number;
  encode: (offset: number) => number;
}

export class Asm {
  private readonly words: number[] = [];
  private readonly labels = new Map<string, number>();
  private readonly fixups: Fixup[] = [];

  constructor(readonly origin = 0) {
    if ((origin & 3) !== 0) throw new InternalError(`asm: origin 0x${origin.toString(16)} is not 4-byte aligned`);
  }

  /** Address of the next instruction. */
  get pc(): number {
    return (this.origin + this.words.length * 4) >>> 0;
  }

  label(name: string): this {
    if (this.labels.has(name)) throw new InternalError(`asm: label ${name} defined twice`);
    this.labels.set(name, this.pc);
    return this;
  }

  /** Address of a defined label. */
  addressOf(name: string): number {
    const at = this.labels.get(name);
    if (at === undefined) throw new InternalError(`asm: label ${name} is not defined`);
    return at;
  }

  /** Emit a raw 32-bit word (data, or an encoding the methods do not make). */
  word(w: number): this {
    this.words.push(w >>> 0);
    return this;
  }

  /** Pad with `nop`s up to `address`. */
  padTo(address: number): this {
    if (address < this.pc || (address & 3) !== 0) throw new InternalError(`asm: cannot pad to 0x${address.toString(16)} from 0x${this.pc.toString(16)}`);
    while (this.pc < address) this.nop();
    return this;
  }

  private target(t: Target, encode: (offset: number) => number): this {
    if (typeof t === 'number') return this.word(encode(t));
    this.fixups.push({ index: this.words.length, label: t, addend: 0, baseIndex: this.words.length, encode });
    return this.word(0);
  }

  // --- RV32I ---
  lui(rd: number, imm20: number): this { return this.word(encU(imm20, rd, OPC_LUI)); }
  auipc(rd: number, imm20: number): this { return this.word(encU(imm20, rd, OPC_AUIPC)); }
  jal(rd: number, t: Target): this { return this.target(t, (o) => encJ(o, rd)); }
  jalr(rd: number, rs1: number, imm = 0): this { return this.word(encI(imm, rs1, 0, rd, OPC_JALR)); }
  beq(rs1: number, rs2: number, t: Target): this { return this.target(t, (o) => encB(o, rs2, rs1, 0)); }
  bne(rs1: number, rs2: number, t: Target): this { return this.target(t, (o) => encB(o, rs2, rs1, 1)); }
  blt(rs1: number, rs2: number, t: Target): this { return this.target(t, (o) => encB(o, rs2, rs1, 4)); }
  bge(rs1: number, rs2: number, t: Target): this { return this.target(t, (o) => encB(o, rs2, rs1, 5)); }
  bltu(rs1: number, rs2: number, t: Target): this { return this.target(t, (o) => encB(o, rs2, rs1, 6)); }
  bgeu(rs1: number, rs2: number, t: Target): this { return this.target(t, (o) => encB(o, rs2, rs1, 7)); }
  lb(rd: number, imm: number, rs1: number): this { return this.word(encI(imm, rs1, 0, rd, OPC_LOAD)); }
  lh(rd: number, imm: number, rs1: number): this { return this.word(encI(imm, rs1, 1, rd, OPC_LOAD)); }
  lw(rd: number, imm: number, rs1: number): this { return this.word(encI(imm, rs1, 2, rd, OPC_LOAD)); }
  lbu(rd: number, imm: number, rs1: number): this { return this.word(encI(imm, rs1, 4, rd, OPC_LOAD)); }
  lhu(rd: number, imm: number, rs1: number): this { return this.word(encI(imm, rs1, 5, rd, OPC_LOAD)); }
  sb(rs2: number, imm: number, rs1: number): this { return this.word(encS(imm, rs2, rs1, 0, OPC_STORE)); }
  sh(rs2: number, imm: number, rs1: number): this { return this.word(encS(imm, rs2, rs1, 1, OPC_STORE)); }
  sw(rs2: number, imm: number, rs1: number): this { return this.word(encS(imm, rs2, rs1, 2, OPC_STORE)); }
  addi(rd: number, rs1: number, imm: number): this { return this.word(encI(imm, rs1, 0, rd, OPC_OP_IMM)); }
  slti(rd: number, rs1: number, imm: number): this { return this.word(encI(imm, rs1, 2, rd, OPC_OP_IMM)); }
  sltiu(rd: number, rs1: number, imm: number): this { return this.word(encI(imm, rs1, 3, rd, OPC_OP_IMM)); }
  xori(rd: number, rs1: number, imm: number): this { return this.word(encI(imm, rs1, 4, rd, OPC_OP_IMM)); }
  ori(rd: number, rs1: number, imm: number): this { return this.word(encI(imm, rs1, 6, rd, OPC_OP_IMM)); }
  andi(rd: number, rs1: number, imm: number): this { return this.word(encI(imm, rs1, 7, rd, OPC_OP_IMM)); }
  slli(rd: number, rs1: number, sh: number): this { return this.word(encR(0, shamt(sh), rs1, 1, rd, OPC_OP_IMM)); }
  srli(rd: number, rs1: number, sh: number): this { return this.word(encR(0, shamt(sh), rs1, 5, rd, OPC_OP_IMM)); }
  srai(rd: number, rs1: number, sh: number): this { return this.word(encR(0x20, shamt(sh), rs1, 5, rd, OPC_OP_IMM)); }
  add(rd: number, rs1: number, rs2: number): this { return this.word(encR(0, rs2, rs1, 0, rd, OPC_OP)); }
  sub(rd: number, rs1: number, rs2: number): this { return this.word(encR(0x20, rs2, rs1, 0, rd, OPC_OP)); }
  sll(rd: number, rs1: number, rs2: number): this { return this.word(encR(0, rs2, rs1, 1, rd, OPC_OP)); }
  slt(rd: number, rs1: number, rs2: number): this { return this.word(encR(0, rs2, rs1, 2, rd, OPC_OP)); }
  sltu(rd: number, rs1: number, rs2: number): this { return this.word(encR(0, rs2, rs1, 3, rd, OPC_OP)); }
  xor(rd: number, rs1: number, rs2: number): this { return this.word(encR(0, rs2, rs1, 4, rd, OPC_OP)); }
  srl(rd: number, rs1: number, rs2: number): this { return this.word(encR(0, rs2, rs1, 5, rd, OPC_OP)); }
  sra(rd: number, rs1: number, rs2: number): this { return this.word(encR(0x20, rs2, rs1, 5, rd, OPC_OP)); }
  or(rd: number, rs1: number, rs2: number): this { return this.word(encR(0, rs2, rs1, 6, rd, OPC_OP)); }
  and(rd: number, rs1: number, rs2: number): this { return this.word(encR(0, rs2, rs1, 7, rd, OPC_OP)); }
  /** FENCE pred, succ (4-bit IORW sets; default rw,rw). */
  fence(pred = 0b0011, succ = 0b0011): this { return this.word((((pred << 4) | succ) << 20 | OPC_MISC_MEM) >>> 0); }
  fenceI(): this { return this.word(encI(0, 0, 1, 0, OPC_MISC_MEM)); }
  ecall(): this { return this.word(ECALL_WORD); }
  ebreak(): this { return this.word(EBREAK_WORD); }

  // --- Zicsr ---
  csrrw(rd: number, csr: number, rs1: number): this { return this.word(csrWord(csr, rs1, CSRRW, rd)); }
  csrrs(rd: number, csr: number, rs1: number): this { return this.word(csrWord(csr, rs1, CSRRS, rd)); }
  csrrc(rd: number, csr: number, rs1: number): this { return this.word(csrWord(csr, rs1, CSRRC, rd)); }
  csrrwi(rd: number, csr: number, uimm: number): this { return this.word(csrWord(csr, uimm, CSRRWI, rd)); }
  csrrsi(rd: number, csr: number, uimm: number): this { return this.word(csrWord(csr, uimm, CSRRSI, rd)); }
  csrrci(rd: number, csr: number, uimm: number): this { return this.word(csrWord(csr, uimm, CSRRCI, rd)); }

  // --- M ---
  mul(rd: number, rs1: number, rs2: number): this { return this.word(encR(1, rs2, rs1, 0, rd, OPC_OP)); }
  mulh(rd: number, rs1: number, rs2: number): this { return this.word(encR(1, rs2, rs1, 1, rd, OPC_OP)); }
  mulhsu(rd: number, rs1: number, rs2: number): this { return this.word(encR(1, rs2, rs1, 2, rd, OPC_OP)); }
  mulhu(rd: number, rs1: number, rs2: number): this { return this.word(encR(1, rs2, rs1, 3, rd, OPC_OP)); }
  div(rd: number, rs1: number, rs2: number): this { return this.word(encR(1, rs2, rs1, 4, rd, OPC_OP)); }
  divu(rd: number, rs1: number, rs2: number): this { return this.word(encR(1, rs2, rs1, 5, rd, OPC_OP)); }
  rem(rd: number, rs1: number, rs2: number): this { return this.word(encR(1, rs2, rs1, 6, rd, OPC_OP)); }
  remu(rd: number, rs1: number, rs2: number): this { return this.word(encR(1, rs2, rs1, 7, rd, OPC_OP)); }

  // --- A (address in rs1, as `lr.w rd, (rs1)`; aq and rl are the ordering bits) ---
  lrW(rd: number, rs1: number, aq = false, rl = false): this { return this.word(encAmo(AMO_LR, rd, 0, rs1, aq, rl)); }
  scW(rd: number, rs2: number, rs1: number, aq = false, rl = false): this { return this.word(encAmo(AMO_SC, rd, rs2, rs1, aq, rl)); }
  amoswapW(rd: number, rs2: number, rs1: number, aq = false, rl = false): this { return this.word(encAmo(AMO_SWAP, rd, rs2, rs1, aq, rl)); }
  amoaddW(rd: number, rs2: number, rs1: number, aq = false, rl = false): this { return this.word(encAmo(AMO_ADD, rd, rs2, rs1, aq, rl)); }
  amoxorW(rd: number, rs2: number, rs1: number, aq = false, rl = false): this { return this.word(encAmo(AMO_XOR, rd, rs2, rs1, aq, rl)); }
  amoandW(rd: number, rs2: number, rs1: number, aq = false, rl = false): this { return this.word(encAmo(AMO_AND, rd, rs2, rs1, aq, rl)); }
  amoorW(rd: number, rs2: number, rs1: number, aq = false, rl = false): this { return this.word(encAmo(AMO_OR, rd, rs2, rs1, aq, rl)); }
  amominW(rd: number, rs2: number, rs1: number, aq = false, rl = false): this { return this.word(encAmo(AMO_MIN, rd, rs2, rs1, aq, rl)); }
  amomaxW(rd: number, rs2: number, rs1: number, aq = false, rl = false): this { return this.word(encAmo(AMO_MAX, rd, rs2, rs1, aq, rl)); }
  amominuW(rd: number, rs2: number, rs1: number, aq = false, rl = false): this { return this.word(encAmo(AMO_MINU, rd, rs2, rs1, aq, rl)); }
  amomaxuW(rd: number, rs2: number, rs1: number, aq = false, rl = false): this { return this.word(encAmo(AMO_MAXU, rd, rs2, rs1, aq, rl)); }

  // --- pseudo-instructions ---
  nop(): this { return this.addi(0, 0, 0); }
  mv(rd: number, rs: number): this { return this.addi(rd, rs, 0); }
  j(t: Target): this { return this.jal(0, t); }
  ret(): this { return this.jalr(0, 1, 0); }
  beqz(rs: number, t: Target): this { return this.beq(rs, 0, t); }
  bnez(rs: number, t: Target): this { return this.bne(rs, 0, t); }
  /** rd = address of `label` + addend, pc-relative (auipc + addi), so code can move. */
  la(rd: number, label: string, addend = 0): this {
    const base = this.words.length;
    const hi = (offset: number): number => (offset - ((offset << 20) >> 20)) >>> 12;
    this.fixups.push({ index: base, label, addend, baseIndex: base, encode: (o) => encU(hi(o), rd, OPC_AUIPC) });
    this.fixups.push({ index: base + 1, label, addend, baseIndex: base, encode: (o) => encI((o << 20) >> 20, rd, 0, rd, OPC_OP_IMM) });
    return this.word(0).word(0);
  }
  /** Load any 32-bit constant: addi alone when it fits in 12 bits, else lui (+ addi). */
  li(rd: number, value: number): this {
    const v = value | 0;
    if (v >= -2048 && v <= 2047) return this.addi(rd, 0, v);
    const lo = (v << 20) >> 20;
    const hi = ((v - lo) >>> 12) & 0xfffff;
    this.lui(rd, hi);
    return lo === 0 ? this : this.addi(rd, rd, lo);
  }

  /** The program: words in order, every label reference resolved. */
  assemble(): Uint32Array {
    for (const f of this.fixups) {
      const at = this.labels.get(f.label);
      if (at === undefined) throw new InternalError(`asm: reference to undefined label ${f.label}`);
      this.words[f.index] = f.encode((at + f.addend - (this.origin + f.baseIndex * 4)) | 0);
    }
    return Uint32Array.from(this.words);
  }
}

function shamt(sh: number): number {
  if (!Number.isInteger(sh) || sh < 0 || sh > 31) throw new InternalError(`asm: shift amount ${sh} is not 0..31`);
  return sh;
}

function csrWord(csr: number, src: number, f3: number, rd: number): number {
  if (!Number.isInteger(csr) || csr < 0 || csr > 0xfff) throw new InternalError(`asm: no CSR 0x${csr.toString(16)}`);
  return ((csr << 20) | (reg(src) << 15) | (f3 << 12) | (reg(rd) << 7) | OPC_SYSTEM) >>> 0;
}
