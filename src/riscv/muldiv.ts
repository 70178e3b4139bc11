/**
 * The M extension's multiply-high, divide and remainder ops, with RISC-V's results for the
 * corner cases (it never traps): x / 0 = -1 (all ones unsigned), x % 0 = x,
 * INT_MIN / -1 = INT_MIN, INT_MIN % -1 = 0. Pure; used by the interpreter and compiled blocks.
 */
import { InternalError } from '../lib/errors.js';
import { Op } from './decode.js';

/** The high 32 bits of the unsigned 64-bit product a * b, in 16-bit pieces (no BigInt). */
export function mulhu(a: number, b: number): number {
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  const m1 = a1 * b0;
  const m2 = a0 * b1;
  const carry = (((a0 * b0) >>> 16) + (m1 & 0xffff) + (m2 & 0xffff)) >>> 16;
  return (a1 * b1 + (m1 >>> 16) + (m2 >>> 16) + carry) | 0;
}

/** MULH, MULHSU, MULHU, DIV, DIVU, REM or REMU (`op`) of a and b (int32 bit patterns). */
export function mulDiv(op: number, a: number, b: number): number {
  switch (op) {
    case Op.Mulhu: return mulhu(a, b);
    case Op.Mulh: return (mulhu(a, b) - (a < 0 ? b : 0) - (b < 0 ? a : 0)) | 0;
    case Op.Mulhsu: return (mulhu(a, b) - (a < 0 ? b : 0)) | 0;
    // (a / b) | 0 truncates toward zero and wraps INT_MIN / -1 = 2^31 to INT_MIN.
    case Op.Div: return b === 0 ? -1 : (a / b) | 0;
    case Op.Divu: return b === 0 ? -1 : ((a >>> 0) / (b >>> 0)) | 0;
    // % takes the dividend's sign, as REM does; INT_MIN % -1 is -0, which | 0 makes 0.
    case Op.Rem: return b === 0 ? a : (a % b) | 0;
    case Op.Remu: return b === 0 ? a : ((a >>> 0) % (b >>> 0)) | 0;
    default:
      throw new InternalError(`riscv: op ${op} is not an M-extension multiply or divide`);
  }
}
