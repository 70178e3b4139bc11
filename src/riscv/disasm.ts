/**
 * A one-line disassembler for fault reports and test failures ("lw a0, 8(sp)"). Cold path;
 * any thread. It reuses the decoder, so what it prints is what the interpreter executes.
 */
import { DECODED_STRIDE, Op, X_SINK, decodeInto, opOf } from './decode.js';
import { REG_NAMES, rdOf } from './isa.js';

const MNEMONICS: Readonly<Partial<Record<Op, string>>> = {
  [Op.Lui]: 'lui', [Op.Auipc]: 'auipc', [Op.Jal]: 'jal', [Op.JalMisaligned]: 'jal', [Op.Jalr]: 'jalr',
  [Op.Beq]: 'beq', [Op.Bne]: 'bne', [Op.Blt]: 'blt', [Op.Bge]: 'bge', [Op.Bltu]: 'bltu', [Op.Bgeu]: 'bgeu',
  [Op.Lb]: 'lb', [Op.Lh]: 'lh', [Op.Lw]: 'lw', [Op.Lbu]: 'lbu', [Op.Lhu]: 'lhu',
  [Op.Sb]: 'sb', [Op.Sh]: 'sh', [Op.Sw]: 'sw',
  [Op.Addi]: 'addi', [Op.Slti]: 'slti', [Op.Sltiu]: 'sltiu', [Op.Xori]: 'xori', [Op.Ori]: 'ori',
  [Op.Andi]: 'andi', [Op.Slli]: 'slli', [Op.Srli]: 'srli', [Op.Srai]: 'srai',
  [Op.Add]: 'add', [Op.Sub]: 'sub', [Op.Sll]: 'sll', [Op.Slt]: 'slt', [Op.Sltu]: 'sltu', [Op.Xor]: 'xor',
  [Op.Srl]: 'srl', [Op.Sra]: 'sra', [Op.Or]: 'or', [Op.And]: 'and',
  [Op.Mul]: 'mul', [Op.Mulh]: 'mulh', [Op.Mulhsu]: 'mulhsu', [Op.Mulhu]: 'mulhu', [Op.Div]: 'div',
  [Op.Divu]: 'divu', [Op.Rem]: 'rem', [Op.Remu]: 'remu',
  [Op.LrW]: 'lr.w', [Op.ScW]: 'sc.w', [Op.AmoSwap]: 'amoswap.w', [Op.AmoAdd]: 'amoadd.w',
  [Op.AmoXor]: 'amoxor.w', [Op.AmoAnd]: 'amoand.w', [Op.AmoOr]: 'amoor.w', [Op.AmoMin]: 'amomin.w',
  [Op.AmoMax]: 'amomax.w', [Op.AmoMinu]: 'amominu.w', [Op.AmoMaxu]: 'amomaxu.w',
  [Op.Fence]: 'fence', [Op.FenceI]: 'fence.i', [Op.Ecall]: 'ecall', [Op.Ebreak]: 'ebreak',
};

const BRANCH_BY_FUNCT3 = ['beq', 'bne', '?', '?', 'blt', 'bge', 'bltu', 'bgeu'];
const COUNTERS: Readonly<Record<number, string>> = {
  0xc00: 'cycle', 0xc01: 'time', 0xc02: 'instret', 0xc80: 'cycleh', 0xc81: 'timeh', 0xc82: 'instreth',
};

const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;

/** "lw a0, 8(sp)" for `word`; "illegal 0x..." for what user mode may not execute. */
export function disassemble(word: number): string {
  const slot = new Int32Array(DECODED_STRIDE);
  decodeInto(word, slot, 0);
  const packed = slot[0]!;
  const imm = slot[1]!;
  const op = opOf(packed);
  const rdIndex = (packed >>> 8) & 63;
  const rd = REG_NAMES[rdIndex === X_SINK ? 0 : rdIndex]!;
  const rs1 = REG_NAMES[(packed >>> 16) & 31]!;
  const rs2 = REG_NAMES[(packed >>> 24) & 31]!;
  const m = MNEMONICS[op] ?? '?';
  switch (op) {
    case Op.Illegal:
    case Op.Undecoded:
    case Op.PageEnd:
      return `illegal ${hex(word)}`;
    case Op.Lui:
    case Op.Auipc:
      return `${m} ${rd}, ${hex(imm >>> 12)}`;
    case Op.Jal:
    case Op.JalMisaligned:
      return `${m} ${rd}, ${imm}`;
    case Op.Jalr:
    case Op.Lb: case Op.Lh: case Op.Lw: case Op.Lbu: case Op.Lhu:
      return `${m} ${rd}, ${imm}(${rs1})`;
    case Op.Sb: case Op.Sh: case Op.Sw:
      return `${m} ${rs2}, ${imm}(${rs1})`;
    case Op.Beq: case Op.Bne: case Op.Blt: case Op.Bge: case Op.Bltu: case Op.Bgeu:
      return `${m} ${rs1}, ${rs2}, ${imm}`;
    case Op.BranchMisaligned:
      return `${BRANCH_BY_FUNCT3[slot[3]!] ?? '?'} ${rs1}, ${rs2}, ${imm}`;
    case Op.Addi: case Op.Slti: case Op.Sltiu: case Op.Xori: case Op.Ori: case Op.Andi:
    case Op.Slli: case Op.Srli: case Op.Srai:
      return `${m} ${rd}, ${rs1}, ${imm}`;
    case Op.LrW:
      return `${m} ${rd}, (${rs1})`;
    case Op.ScW: case Op.AmoSwap: case Op.AmoAdd: case Op.AmoXor: case Op.AmoAnd: case Op.AmoOr:
    case Op.AmoMin: case Op.AmoMax: case Op.AmoMinu: case Op.AmoMaxu:
      return `${m} ${rd}, ${rs2}, (${rs1})`;
    case Op.Fence: case Op.FenceI: case Op.Ecall: case Op.Ebreak:
      return m;
    case Op.CsrRead:
      return `csrr ${REG_NAMES[rdOf(word)]}, ${COUNTERS[imm] ?? hex(imm)}`;
    default:
      // The R-type ALU and M ops.
      return `${m} ${rd}, ${rs1}, ${rs2}`;
  }
}
