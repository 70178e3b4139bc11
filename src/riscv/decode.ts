/**
 * The RV32IMA decoder: one 32-bit instruction word into the interpreter's pre-decoded form.
 * Pure; runs on the vCPU worker that executes the code (RvCore decodes lazily, the first time
 * a slot of a code page is executed).
 *
 * A decoded slot is DECODED_STRIDE Int32 words:
 *
 *   [0] op | rd << 8 | rs1 << 16 | rs2 << 24     (rd = 32 when the instruction writes x0:
 *                                                  register 32 is a sink nobody reads, so
 *                                                  x0 stays zero without a store per step)
 *   [1] immediate: I/S/U value, branch or jump byte offset, shift amount, or CSR number
 *   [2] the raw instruction word (checked against RAM when a page is revalidated; reports)
 *   [3] branch and JAL: the offset in slots (imm >> 2); a misaligned branch: its funct3
 *
 * What decodes, and what is illegal (SIGILL): every RV32I, M and A encoding, FENCE (its fm,
 * rs1 and rd fields are ignored, as the base ISA requires for forward compatibility; so are
 * FENCE.TSO and PAUSE, which are FENCE encodings), FENCE.I (Zifencei; imm, rs1 and rd
 * ignored likewise), ECALL, EBREAK, and the Zicsr ops on the six unprivileged counters when
 * they only read (CSRRS/CSRRC with rs1 = x0, CSRRSI/CSRRCI with uimm = 0). Everything else is
 * illegal in user mode: compressed encodings (no C extension), RV64-only widths, reserved
 * funct fields, LR.W with rs2 != 0, privileged SYSTEM ops (xRET, WFI, SFENCE.VMA), any write
 * to a counter (they are read-only), and every other CSR (no F/D, no hpmcounters).
 */
import {
  AMO_ADD, AMO_AND, AMO_LR, AMO_MAX, AMO_MAXU, AMO_MIN, AMO_MINU, AMO_OR, AMO_SC, AMO_SWAP, AMO_WIDTH_W,
  AMO_XOR, CSRRC, CSRRCI, CSRRS, CSRRSI, CSR_CYCLE, CSR_CYCLEH, CSR_INSTRET, CSR_INSTRETH, CSR_TIME,
  CSR_TIMEH, EBREAK_WORD, ECALL_WORD, FUNCT7_ALT, FUNCT7_BASE, FUNCT7_MULDIV, MISC_FENCE, MISC_FENCE_I,
  OPC_AMO, OPC_AUIPC, OPC_BRANCH, OPC_JAL, OPC_JALR, OPC_LOAD, OPC_LUI, OPC_MISC_MEM, OPC_OP, OPC_OP_IMM,
  OPC_STORE, OPC_SYSTEM, funct3Of, funct7Of, immB, immI, immJ, immS, immU, opcodeOf, rdOf, rs1Of, rs2Of,
} from './isa.js';

/** The interpreter's operations. 0 must stay Undecoded: a fresh page is all zeroes. */
export const enum Op {
  Undecoded = 0,
  Illegal,
  Lui, Auipc, Jal, Jalr,
  Beq, Bne, Blt, Bge, Bltu, Bgeu,
  /** A branch whose target is not 4-byte aligned: SIGBUS if taken (funct3 in slot word 3). */
  BranchMisaligned,
  /** A JAL whose target is not 4-byte aligned: always SIGBUS. */
  JalMisaligned,
  Lb, Lh, Lw, Lbu, Lhu,
  Sb, Sh, Sw,
  Addi, Slti, Sltiu, Xori, Ori, Andi, Slli, Srli, Srai,
  Add, Sub, Sll, Slt, Sltu, Xor, Srl, Sra, Or, And,
  Mul, Mulh, Mulhsu, Mulhu, Div, Divu, Rem, Remu,
  LrW, ScW, AmoSwap, AmoAdd, AmoXor, AmoAnd, AmoOr, AmoMin, AmoMax, AmoMinu, AmoMaxu,
  Fence, FenceI, Ecall, Ebreak,
  /** Read a counter CSR (the CSR number in the immediate). */
  CsrRead,
  /** The slot after a page's last instruction: execution falls through to the next page. */
  PageEnd,
}

/** Int32 words per decoded slot. */
export const DECODED_STRIDE = 4;
/** The register index that stands for x0 as a destination. */
export const X_SINK = 32;

const pack = (op: Op, rd: number, rs1: number, rs2: number): number =>
  op | ((rd === 0 ? X_SINK : rd) << 8) | (rs1 << 16) | (rs2 << 24);

const BRANCH_OPS: readonly (Op | undefined)[] = [Op.Beq, Op.Bne, undefined, undefined, Op.Blt, Op.Bge, Op.Bltu, Op.Bgeu];
const LOAD_OPS: readonly (Op | undefined)[] = [Op.Lb, Op.Lh, Op.Lw, undefined, Op.Lbu, Op.Lhu, undefined, undefined];
const STORE_OPS: readonly (Op | undefined)[] = [Op.Sb, Op.Sh, Op.Sw];
const OP_IMM_OPS: readonly Op[] = [Op.Addi, Op.Slli, Op.Slti, Op.Sltiu, Op.Xori, Op.Srli, Op.Ori, Op.Andi];
const OP_BASE_OPS: readonly Op[] = [Op.Add, Op.Sll, Op.Slt, Op.Sltu, Op.Xor, Op.Srl, Op.Or, Op.And];
const OP_MULDIV_OPS: readonly Op[] = [Op.Mul, Op.Mulh, Op.Mulhsu, Op.Mulhu, Op.Div, Op.Divu, Op.Rem, Op.Remu];
const AMO_OPS: ReadonlyMap<number, Op> = new Map([
  [AMO_LR, Op.LrW], [AMO_SC, Op.ScW], [AMO_SWAP, Op.AmoSwap], [AMO_ADD, Op.AmoAdd], [AMO_XOR, Op.AmoXor],
  [AMO_AND, Op.AmoAnd], [AMO_OR, Op.AmoOr], [AMO_MIN, Op.AmoMin], [AMO_MAX, Op.AmoMax],
  [AMO_MINU, Op.AmoMinu], [AMO_MAXU, Op.AmoMaxu],
]);
const COUNTER_CSRS: ReadonlySet<number> = new Set([CSR_CYCLE, CSR_TIME, CSR_INSTRET, CSR_CYCLEH, CSR_TIMEH, CSR_INSTRETH]);

/**
 * Decode `word` into slot `at` (a word index, a multiple of DECODED_STRIDE) of `out`.
 * Never throws: an encoding user mode may not execute decodes as Op.Illegal.
 */
export function decodeInto(word: number, out: Int32Array, at: number): void {
  const w = word | 0;
  out[at + 2] = w;
  out[at + 3] = 0;
  const rd = rdOf(w);
  const rs1 = rs1Of(w);
  const rs2 = rs2Of(w);
  const f3 = funct3Of(w);
  const f7 = funct7Of(w);
  let op: Op = Op.Illegal;
  let imm = 0;
  switch (opcodeOf(w)) {
    case OPC_LUI:
      op = Op.Lui;
      imm = immU(w);
      break;
    case OPC_AUIPC:
      op = Op.Auipc;
      imm = immU(w);
      break;
    case OPC_JAL:
      imm = immJ(w);
      op = (imm & 3) === 0 ? Op.Jal : Op.JalMisaligned;
      out[at + 3] = imm >> 2;
      break;
    case OPC_JALR:
      if (f3 === 0) {
        op = Op.Jalr;
        imm = immI(w);
      }
      break;
    case OPC_BRANCH: {
      const b = BRANCH_OPS[f3];
      if (b !== undefined) {
        imm = immB(w);
        if ((imm & 3) === 0) {
          op = b;
          out[at + 3] = imm >> 2;
        } else {
          op = Op.BranchMisaligned;
          out[at + 3] = f3;
        }
      }
      break;
    }
    case OPC_LOAD: {
      const l = LOAD_OPS[f3];
      if (l !== undefined) {
        op = l;
        imm = immI(w);
      }
      break;
    }
    case OPC_STORE: {
      const s = STORE_OPS[f3];
      if (s !== undefined) {
        op = s;
        imm = immS(w);
      }
      break;
    }
    case OPC_OP_IMM:
      imm = immI(w);
      if (f3 === 1) {
        // SLLI: imm[11:5] must be 0 (a shamt[5] bit is RV64-only).
        if (f7 === FUNCT7_BASE) op = Op.Slli;
        imm = rs2;
      } else if (f3 === 5) {
        if (f7 === FUNCT7_BASE) op = Op.Srli;
        else if (f7 === FUNCT7_ALT) op = Op.Srai;
        imm = rs2;
      } else {
        op = OP_IMM_OPS[f3] ?? Op.Illegal;
      }
      break;
    case OPC_OP:
      if (f7 === FUNCT7_BASE) op = OP_BASE_OPS[f3] ?? Op.Illegal;
      else if (f7 === FUNCT7_MULDIV) op = OP_MULDIV_OPS[f3] ?? Op.Illegal;
      else if (f7 === FUNCT7_ALT && f3 === 0) op = Op.Sub;
      else if (f7 === FUNCT7_ALT && f3 === 5) op = Op.Sra;
      break;
    case OPC_AMO:
      if (f3 === AMO_WIDTH_W) {
        const a = AMO_OPS.get(f7 >>> 2);
        if (a !== undefined && (a !== Op.LrW || rs2 === 0)) op = a;
      }
      break;
    case OPC_MISC_MEM:
      if (f3 === MISC_FENCE) op = Op.Fence;
      else if (f3 === MISC_FENCE_I) op = Op.FenceI;
      break;
    case OPC_SYSTEM:
      if (w === ECALL_WORD) op = Op.Ecall;
      else if (w === EBREAK_WORD) op = Op.Ebreak;
      else if (isCounterRead(w)) {
        op = Op.CsrRead;
        imm = w >>> 20;
      }
      break;
    default:
      break;
  }
  if (op === Op.Illegal) {
    out[at] = Op.Illegal;
    out[at + 1] = 0;
    return;
  }
  out[at] = pack(op, rd, rs1, rs2);
  out[at + 1] = imm;
}

/** A Zicsr op on a counter CSR that reads it and writes nothing. */
function isCounterRead(w: number): boolean {
  const csr = w >>> 20;
  if (!COUNTER_CSRS.has(csr)) return false;
  const f3 = funct3Of(w);
  // rs1 is a register for CSRRS/CSRRC and a 5-bit immediate for the I forms: zero means no write.
  const src = rs1Of(w);
  return (f3 === CSRRS || f3 === CSRRC || f3 === CSRRSI || f3 === CSRRCI) && src === 0;
}

/** The op a slot's first word encodes. */
export const opOf = (packed: number): Op => (packed & 0xff) as Op;
