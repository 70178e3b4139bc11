/**
 * The block compiler: a hot basic block of decoded RV32 slots becomes one JavaScript function,
 * which V8 then optimises like any other. Runs on the vCPU worker that executes the code
 * (RvCore compiles a block once the interpreter has entered it HOT_BLOCK times).
 *
 * A block starts at an entry slot and runs straight through conditional branches (each a side
 * exit: taken, it leaves; not taken, the block goes on — a superblock) to the first JAL or
 * JALR (included as its last instruction), the page's end, or MAX_BLOCK_INSNS instructions. It
 * stops before anything it leaves to the interpreter: ECALL, EBREAK, FENCE.I, counter CSRs,
 * illegal and misaligned-target encodings. A block whose first slot is one of those is not
 * compiled (HEAT_NEVER). LR/SC and AMOs call RvMemory's, as the interpreter does; a misaligned
 * one hands its slot back to the interpreter (EXIT_REDO), which raises SIGBUS. A block with a
 * branch or JAL back to its own first instruction loops by itself while a whole block more fits
 * the limit the core gives it (the instructions left in its slice). Every exit says in m.ran
 * how many instructions the block retired, and so does every call that may throw.
 *
 * The generated function, `(x, m, v, limit, e0, d) => next`, gets the hart's registers `x`, the
 * vCPU's RvMemory `m`, the page's virtual address `v` (a frame may be mapped at several
 * addresses, so pc-relative results are computed from v at run time), the end of its slice
 * `limit`, the instructions the chain retired before it `e0` (both counted from the
 * dispatcher's call) and its chain depth `d`. Chaining (chain.ts): at an exit to a slot of its
 * page, or to a page the page-entry cache holds, whose block is compiled, fits (or a poll
 * boundary taken there gives it a fresh slice) and the chain is not too deep, the block calls
 * that block and returns what it returns. A looping block goes round past its slice's end the
 * same way for up to LOOP_CALL_INSNS instructions per call, then returns to the dispatcher.
 * All counts (m.ran, fault points) are the chain's.
 * Loads and stores try the TLB's direct-mapped front inline (hw/fast-tlb.ts, the arrays closed
 * over from RvMemory.inlineView: a tag compare and a typed-array access) and call RvMemory's
 * full path otherwise. It keeps registers in locals, writes back the ones it changed before
 * any call that may throw and at its end, and returns:
 *   0..PAGE_SLOTS   the next slot in this page (PAGE_SLOTS: fell off the end — the PageEnd
 *                   sentinel sends the core to the next page)
 *   EXIT_PAGE       the next pc is m.nextPc, in another page
 *   EXIT_REDO       stopped before slot m.slot (a JALR to a misaligned target, a misaligned
 *                   LR/SC/AMO), which the interpreter must execute to raise the fault; slots
 *                   before it retired
 * Before each access that may fault it sets m.slot, so a GuestSegfault escaping the block names
 * the faulting instruction; nothing after the last write-back has changed a register. The
 * semantics are the interpreter's (core.ts), instruction for instruction; the tests run both on
 * the same programs. Two things take effect at the block's end rather than at the next
 * instruction, both within what RISC-V allows: a store into the running block's own code (the
 * block goes on with what it was compiled from; RISC-V promises nothing before FENCE.I), and a
 * TLB flush made by the page-fault handler of one of the block's own accesses (the block stays
 * in its page; a shootdown IPI is only taken between blocks anyway).
 *
 * The source is built only from integers the decoder produced (register numbers, immediates,
 * slot numbers), so guest code cannot inject JavaScript.
 */
import { InternalError } from '../lib/errors.js';
import { DECODED_STRIDE, Op, X_SINK } from './decode.js';
import { PAGE_SLOTS, type BlockFn, type CodePage } from './decode-cache.js';
import { mulDiv } from './muldiv.js';
import { FAST_TLB_MASK } from '../hw/fast-tlb.js';
import { RESV_BUCKET, RESV_MASK } from './layout.js';
import type { InlineMemory } from './memory.js';
import { AmoKind } from './reservation.js';
import { MAX_CHAIN_DEPTH, POLL_INTERVAL, type ChainContext } from './chain.js';

/** Return value: the block left its page; the next pc is in m.nextPc. */
export const EXIT_PAGE = -1;
/** Return value: run slot m.slot in the interpreter (it faults there). */
export const EXIT_REDO = -2;
/**
 * Longest block. Long enough that straight-line code pays one dispatch per 64 instructions;
 * short enough that the budget check before a block (it runs only if the slice has room for all
 * of it) rarely sends the tail of a slice to the interpreter.
 */
export const MAX_BLOCK_INSNS = 64;
/**
 * A looping block goes round past its slice's end, taking the poll boundary itself (chain.ts),
 * only until the chain it runs in has retired this many instructions; then it returns to the
 * dispatcher (its exit back to its own start does not chain). Uncapped, a hot loop ran a run's
 * whole budget in one call, so V8 only ran it in on-stack-replacement code: the mips bench's
 * compute loop (a fresh core, 25 calls of 1M instructions) fell from ~1,470 to ~1,000 M instr/s.
 * Going on by chaining into a fresh call of itself instead made ebizzy's memcpy loop (49
 * instructions and 20 registers loaded per call) 20% slower in most runs.
 */
export const LOOP_CALL_INSNS = 8 * POLL_INTERVAL;
/**
 * Interpreted entries before a block is compiled. Building and parsing the source costs tens of
 * microseconds and V8 optimises the result only once it is warm itself, so code that runs a few
 * times is cheaper in the interpreter.
 */
export const HOT_BLOCK = 200;

export interface CompiledBlock {
  fn: BlockFn;
  /** Instructions in the block. */
  len: number;
  /** It ends with a branch or JAL back to its own first instruction and runs rounds in one call. */
  loop: boolean;
  /** The generated source (tests, debugging). */
  source: string;
}

/**
 * Whether the block entered at `start` branches or jumps back to `start` anywhere (a loop it
 * can run round by itself): the same walk compileBlock makes — through conditional branches,
 * to the first JAL, JALR, instruction the interpreter must run, page end or MAX_BLOCK_INSNS —
 * without emitting.
 */
function loopsToStart(page: CodePage, start: number, ram: Int32Array): boolean {
  const d = page.decoded;
  for (let slot = start; slot < PAGE_SLOTS && slot - start < MAX_BLOCK_INSNS; slot++) {
    page.ensureDecoded(slot, ram);
    const at = slot * DECODED_STRIDE;
    const op = (d[at]! & 0xff) as Op;
    if (interpreterOnly(op) || op === Op.Jalr) return false;
    if ((op === Op.Jal || BRANCH_CONDITIONS[op] !== undefined) && slot + d[at + 3]! === start) return true;
    if (op === Op.Jal) return false;
  }
  return false;
}

/** Whether the interpreter must run `op` (a block stops before it). */
function interpreterOnly(op: Op): boolean {
  switch (op) {
    case Op.Undecoded:
    case Op.Illegal:
    case Op.PageEnd:
    case Op.BranchMisaligned:
    case Op.JalMisaligned:
    case Op.Ecall:
    case Op.Ebreak:
    case Op.FenceI:
    case Op.CsrRead:
      return true;
    default:
      return false;
  }
}

/** A looping block's write-back, replaced by the stores of every register it changes. */
const WRITE_BACK_ALL = '/* write back all */';
/** Where the hit counter goes to F.hits: before anything that may throw, and at every exit. */
const HAND_OVER_HITS = '/* hand over hits */';
/** The block's length in a line written before it is known (source() fills it in). */
const BLOCK_LEN = '__BLOCK_LEN__';

/** Builds one block's source: register locals, write-backs, exits. */
class BlockWriter {
  readonly lines: string[] = [];
  private readonly used = new Set<number>();
  private readonly dirty = new Set<number>();
  /** Every register the block changes anywhere. */
  private readonly changed = new Set<number>();
  /** The block has an inline load or store (and so a hit counter `h`). */
  accesses = false;
  /** Instructions in the block, known once it is compiled (BLOCK_LEN in the lines). */
  length = 0;

  /**
   * A block that loops on itself: a register changed late in one round is stale in x early in
   * the next, so every write-back writes all the registers the block changes anywhere
   * (WRITE_BACK_ALL, filled in by source()).
   */
  constructor(private readonly loop: boolean, private readonly start: number) {}

  /**
   * Before a call that may throw: the slot it is for and the instructions retired so far (the
   * rounds before, and this round's slots before it), for the core's fault recovery.
   */
  faultPoint(slot: number): void {
    this.lines.push(`m.slot = ${slot};`, `m.ran = ex + ${slot - this.start};`);
  }

  /** The expression reading register r. */
  get(r: number): string {
    if (r === 0) return '0';
    this.used.add(r);
    return `r${r}`;
  }

  /** Assign `expr` (an int32 expression) to rd; x0 (the sink) discards it. */
  set(rd: number, expr: string): void {
    if (rd === X_SINK || rd === 0) return;
    this.used.add(rd);
    this.dirty.add(rd);
    this.changed.add(rd);
    this.lines.push(`r${rd} = ${expr};`);
  }

  /**
   * Write changed registers back to x (before a call that may throw, and at every exit).
   * `keep`: they stay marked changed (an exit on one arm of a branch; the other arm needs them).
   */
  writeBack(keep = false): void {
    // The inline accesses' TLB hits, counted in a local and handed over here (if it has any).
    this.lines.push(HAND_OVER_HITS);
    if (this.loop) {
      this.lines.push(WRITE_BACK_ALL);
      return;
    }
    for (const r of this.dirty) this.lines.push(`x[${r}] = r${r};`);
    if (!keep) this.dirty.clear();
  }

  /**
   * Write back, then leave for slot `slot` of this page or, outside it, another page, having
   * retired `ran` instructions in this round.
   */
  exitToSlot(slot: number, ran: number, keep = false): void {
    this.writeBack(keep);
    this.lines.push(`m.ran = ex + ${ran};`);
    if (slot === this.start && this.loop) {
      // A looping block's way back to its own start after its rounds: to the dispatcher (see
      // LOOP_CALL_INSNS).
      this.lines.push(`return ${slot};`);
    } else if (slot >= 0 && slot < PAGE_SLOTS) {
      this.lines.push(chainInPage(`${slot}`, ran), `return ${slot};`);
    } else if (slot === PAGE_SLOTS) {
      // Off the page's end: on into the next page's block, or the PageEnd sentinel sends the
      // core there.
      this.lines.push('{', `const t = (v + ${slot * 4}) | 0;`, chainToPage('t', ran), '}', `return ${slot};`);
    } else {
      this.lines.push('{', `const t = (v + ${slot * 4}) | 0;`, chainToPage('t', ran), 'm.nextPc = t;', '}', `return ${EXIT_PAGE};`);
    }
  }

  source(): string {
    const decls = [...this.used].sort((a, b) => a - b).map((r) => `r${r} = x[${r}]`);
    const all = [...this.changed].sort((a, b) => a - b).map((r) => `x[${r}] = r${r};`).join(' ');
    const hits = this.accesses ? 'F.hits += h; h = 0;' : '';
    const body = this.lines.map((l) => (l === WRITE_BACK_ALL ? all : l === HAND_OVER_HITS ? hits : l.split(BLOCK_LEN).join(String(this.length))));
    return (decls.length > 0 ? [`let ${decls.join(', ')};`] : []).concat(body).join('\n');
  }
}

/**
 * Source that continues, `ran` instructions into this round, into the compiled block at slot
 * `slot` (an expression) of this page, without returning to the dispatcher (chain.ts): if there
 * is one, the chain is not too deep, the block fits the slice (or a poll boundary taken here
 * gives it a fresh one) and the TLB was not flushed since the dispatcher entered the page. The
 * registers are written back and m.ran set before it. Otherwise it falls through to the exit.
 */
function chainInPage(slot: string, ran: number): string {
  return `if (d < ${MAX_CHAIN_DEPTH}) { const nb = B[${slot}]; if (nb !== undefined) { const nl = L[${slot}];
if (ex + ${ran} + nl > limit) limit = K.extend(limit, ex + ${ran}, nl);
if (ex + ${ran} + nl <= limit && K.tlb.generation === K.pageGen) return nb(x, m, v, limit, ex + ${ran}, d + 1); } }`;
}

/**
 * Source that continues into the compiled block at pc `target` (an expression) in another page,
 * when the page-entry cache (chain.ts) holds a current entry for that page: the fetch is a
 * fast-TLB hit, counted as one, and the chain records the page it now runs in (K.pageVa, K.page)
 * for the core. Otherwise it falls through to the exit.
 */
function chainToPage(target: string, ran: number): string {
  return `if (d < ${MAX_CHAIN_DEPTH} && K.tlb.generation === K.pageGen) { const nv = ${target} & ~0xfff; const np = K.lookup(nv);
if (np !== undefined) { const ns = (${target} & 0xfff) >>> 2; const nb = np.blocks[ns]; if (nb !== undefined) { const nl = np.blockLen[ns];
if (ex + ${ran} + nl > limit) limit = K.extend(limit, ex + ${ran}, nl);
if (ex + ${ran} + nl <= limit) { F.hits++; K.pageVa = nv; K.page = np; return nb(x, m, nv, limit, ex + ${ran}, d + 1); } } } }`;
}

const BRANCH_CONDITIONS: Readonly<Partial<Record<Op, (a: string, b: string) => string>>> = {
  [Op.Beq]: (a, b) => `${a} === ${b}`,
  [Op.Bne]: (a, b) => `${a} !== ${b}`,
  [Op.Blt]: (a, b) => `${a} < ${b}`,
  [Op.Bge]: (a, b) => `${a} >= ${b}`,
  [Op.Bltu]: (a, b) => `(${a} >>> 0) < (${b} >>> 0)`,
  [Op.Bgeu]: (a, b) => `(${a} >>> 0) >= (${b} >>> 0)`,
};

const LOADS: Readonly<Partial<Record<Op, string>>> = {
  [Op.Lw]: 'ld32', [Op.Lh]: 'ld16', [Op.Lhu]: 'ld16u', [Op.Lb]: 'ld8', [Op.Lbu]: 'ld8u',
};
const STORES: Readonly<Partial<Record<Op, string>>> = { [Op.Sw]: 'st32', [Op.Sh]: 'st16', [Op.Sb]: 'st8' };

/** The AmoKind RvMemory.amo takes for each AMO. */
const AMO_KINDS: Readonly<Partial<Record<Op, AmoKind>>> = {
  [Op.AmoSwap]: AmoKind.Swap, [Op.AmoAdd]: AmoKind.Add, [Op.AmoXor]: AmoKind.Xor, [Op.AmoAnd]: AmoKind.And, [Op.AmoOr]: AmoKind.Or,
  [Op.AmoMin]: AmoKind.Min, [Op.AmoMax]: AmoKind.Max, [Op.AmoMinu]: AmoKind.Minu, [Op.AmoMaxu]: AmoKind.Maxu,
};

/** Inline loads: the tag mask (page bits and the alignment bits that must be 0) and the read. */
const INLINE_LOADS: Readonly<Partial<Record<Op, { mask: number; read: string }>>> = {
  [Op.Lw]: { mask: 0xfffff003 | 0, read: 'R32[(a + AD[f]) >>> 2]' },
  [Op.Lh]: { mask: 0xfffff001 | 0, read: 'R16[(a + AD[f]) >>> 1]' },
  [Op.Lhu]: { mask: 0xfffff001 | 0, read: '(R16[(a + AD[f]) >>> 1] & 0xffff)' },
  [Op.Lb]: { mask: 0xfffff000 | 0, read: 'R8[(a + AD[f]) >>> 0]' },
  [Op.Lbu]: { mask: 0xfffff000 | 0, read: 'RB[(a + AD[f]) >>> 0]' },
};
/** Inline stores: the tag mask, the typed array, and how the byte address becomes its index. */
const INLINE_STORES: Readonly<Partial<Record<Op, { mask: number; write: string; shift: string }>>> = {
  [Op.Sw]: { mask: 0xfffff003 | 0, write: 'R32', shift: ' >>> 2' },
  [Op.Sh]: { mask: 0xfffff001 | 0, write: 'R16', shift: ' >>> 1' },
  [Op.Sb]: { mask: 0xfffff000 | 0, write: 'RB', shift: '' },
};

/**
 * Compile the block entered at `start` of `page` (slots decoded on the way from `ram`).
 * Returns null when the first slot is an op the interpreter must run.
 */
export function compileBlock(page: CodePage, start: number, ram: Int32Array, mem: InlineMemory, chain: ChainContext): CompiledBlock | null {
  const d = page.decoded;
  const loop = loopsToStart(page, start, ram);
  const b = new BlockWriter(loop, start);
  if (loop) b.lines.push('round: for (;;) {');
  /** Back to `start` for another round, `ran` instructions into this one, if the limit has room for a whole block more. */
  const roundAgain = (ran: number): void => {
    // Past its slice's end, a round may take the poll boundary itself (chain.ts) and go on,
    // until the call has retired LOOP_CALL_INSNS instructions: see there.
    b.lines.push(`if (ex + ${ran} + ${BLOCK_LEN} > limit && ex < ${LOOP_CALL_INSNS}) limit = K.extend(limit, ex + ${ran}, ${BLOCK_LEN});`);
    b.lines.push(`if (ex + ${ran} + ${BLOCK_LEN} <= limit) { ex += ${ran}; continue round; }`);
  };
  let slot = start;
  let ended = false;
  while (!ended) {
    if (slot === PAGE_SLOTS || slot - start === MAX_BLOCK_INSNS) {
      // The PageEnd sentinel is no instruction: a block cannot start there.
      if (slot === start) return null;
      b.exitToSlot(slot, slot - start);
      break;
    }
    page.ensureDecoded(slot, ram);
    const at = slot * DECODED_STRIDE;
    const w = d[at]!;
    const op = (w & 0xff) as Op;
    if (interpreterOnly(op)) {
      if (slot === start) return null;
      b.exitToSlot(slot, slot - start);
      break;
    }
    const rd = (w >>> 8) & 63;
    const s1 = (w >>> 16) & 31;
    const s2 = w >>> 24;
    const imm = d[at + 1]!;
    const off = slot * 4;
    // Register operands are read only by the ops that have them (elsewhere those bits are
    // immediate bits), so a block loads just the registers it uses.
    const rs1 = (): string => b.get(s1);
    const rs2 = (): string => b.get(s2);
    switch (op) {
      case Op.Lui: b.set(rd, `${imm}`); break;
      case Op.Auipc: b.set(rd, `(v + ${off + imm}) | 0`); break;
      case Op.Addi: b.set(rd, `(${rs1()} + ${imm}) | 0`); break;
      case Op.Slti: b.set(rd, `${rs1()} < ${imm} ? 1 : 0`); break;
      case Op.Sltiu: b.set(rd, `(${rs1()} >>> 0) < ${imm >>> 0} ? 1 : 0`); break;
      case Op.Xori: b.set(rd, `${rs1()} ^ ${imm}`); break;
      case Op.Ori: b.set(rd, `${rs1()} | ${imm}`); break;
      case Op.Andi: b.set(rd, `${rs1()} & ${imm}`); break;
      case Op.Slli: b.set(rd, `${rs1()} << ${imm}`); break;
      case Op.Srli: b.set(rd, `(${rs1()} >>> ${imm}) | 0`); break;
      case Op.Srai: b.set(rd, `${rs1()} >> ${imm}`); break;
      case Op.Add: b.set(rd, `(${rs1()} + ${rs2()}) | 0`); break;
      case Op.Sub: b.set(rd, `(${rs1()} - ${rs2()}) | 0`); break;
      case Op.Sll: b.set(rd, `${rs1()} << ${rs2()}`); break;
      case Op.Slt: b.set(rd, `${rs1()} < ${rs2()} ? 1 : 0`); break;
      case Op.Sltu: b.set(rd, `(${rs1()} >>> 0) < (${rs2()} >>> 0) ? 1 : 0`); break;
      case Op.Xor: b.set(rd, `${rs1()} ^ ${rs2()}`); break;
      case Op.Srl: b.set(rd, `(${rs1()} >>> ${rs2()}) | 0`); break;
      case Op.Sra: b.set(rd, `${rs1()} >> ${rs2()}`); break;
      case Op.Or: b.set(rd, `${rs1()} | ${rs2()}`); break;
      case Op.And: b.set(rd, `${rs1()} & ${rs2()}`); break;
      case Op.Mul: b.set(rd, `Math.imul(${rs1()}, ${rs2()})`); break;
      case Op.Mulh: case Op.Mulhsu: case Op.Mulhu:
      case Op.Div: case Op.Divu: case Op.Rem: case Op.Remu:
        b.set(rd, `mulDiv(${op}, ${rs1()}, ${rs2()})`);
        break;
      case Op.Fence:
        b.lines.push('m.fence();');
        break;
      case Op.Lw: case Op.Lh: case Op.Lhu: case Op.Lb: case Op.Lbu: {
        // The fast TLB front inline (memory.ts does the same): a tag compare that includes the
        // alignment bits, then a typed-array read; anything else is RvMemory's full path,
        // with the registers written back first since it may fault.
        const { mask, read } = INLINE_LOADS[op]!;
        b.accesses = true;
        b.lines.push(`a = (${rs1()} + ${imm}) | 0;`, `f = (a >>> 12) & ${FAST_TLB_MASK};`, `if ((a & ${mask}) === RT[f]) {`, 'h++;');
        if (rd === X_SINK) b.lines.push(`${read};`);
        else b.lines.push(`r${rd} = ${read};`);
        b.lines.push('} else {');
        b.writeBack(true);
        b.faultPoint(slot);
        // A load into x0 still performs the access (it may fault).
        if (rd === X_SINK) b.lines.push(`m.${LOADS[op]!}(a);`);
        else b.lines.push(`r${rd} = m.${LOADS[op]!}(a);`);
        b.lines.push('}');
        if (rd !== X_SINK) b.set(rd, `r${rd}`);
        break;
      }
      case Op.Sw: case Op.Sh: case Op.Sb: {
        const { mask, write, shift } = INLINE_STORES[op]!;
        const value = rs2();
        b.accesses = true;
        b.lines.push(`a = (${rs1()} + ${imm}) | 0;`, `f = (a >>> 12) & ${FAST_TLB_MASK};`, `p = (a + AD[f]) >>> 0;`);
        // The fast path needs a write entry, a frame without code and a bucket without
        // reservations (memory.ts's store checks); otherwise RvMemory's store does it all.
        b.lines.push(`if ((a & ${mask}) === WT[f] && CF[p >>> 12] === 0 && SH[H0 + ((p >>> 2) & ${RESV_MASK}) * ${RESV_BUCKET.WORDS}] === 0) {`);
        b.lines.push('h++;', `${write}[p${shift}] = ${value};`, '} else {');
        b.writeBack(true);
        b.faultPoint(slot);
        b.lines.push(`m.${STORES[op]!}(a, ${value});`, '}');
        break;
      }
      case Op.LrW: case Op.ScW: case Op.AmoSwap: case Op.AmoAdd: case Op.AmoXor: case Op.AmoAnd:
      case Op.AmoOr: case Op.AmoMin: case Op.AmoMax: case Op.AmoMinu: case Op.AmoMaxu: {
        // RvMemory's LR/SC and AMOs, the interpreter's own (reservation.ts semantics); a
        // misaligned address goes back to the interpreter, which raises SIGBUS there.
        b.lines.push(`a = ${rs1()} | 0;`, 'if ((a & 3) !== 0) {');
        b.writeBack(true);
        b.faultPoint(slot);
        b.lines.push(`return ${EXIT_REDO};`, '}');
        const call = op === Op.LrW ? 'm.lrW(a)' : op === Op.ScW ? `m.scW(a, ${rs2()})` : `m.amo(${AMO_KINDS[op]!}, a, ${rs2()})`;
        b.writeBack(true);
        b.faultPoint(slot);
        if (rd === X_SINK) b.lines.push(`${call};`);
        else b.set(rd, call);
        break;
      }
      case Op.Jal:
        b.set(rd, `(v + ${off + 4}) | 0`);
        if (slot + d[at + 3]! === start) roundAgain(slot - start + 1);
        b.exitToSlot(slot + d[at + 3]!, slot - start + 1);
        ended = true;
        break;
      case Op.Jalr: {
        // The target is computed from rs1 before rd is written (rd may be rs1).
        b.lines.push(`const t = (${rs1()} + ${imm}) & ~1;`, 'if ((t & 2) !== 0) {');
        b.writeBack(true);
        b.faultPoint(slot);
        b.lines.push(`return ${EXIT_REDO};`, '}');
        b.set(rd, `(v + ${off + 4}) | 0`);
        b.writeBack();
        const ran = slot - start + 1;
        b.lines.push(`m.ran = ex + ${ran};`, 'if (((t ^ v) & ~0xfff) === 0) {', 'const ts = (t & 0xfff) >>> 2;', chainInPage('ts', ran), 'return ts;', '}');
        b.lines.push(chainToPage('t', ran), 'm.nextPc = t;', `return ${EXIT_PAGE};`);
        ended = true;
        break;
      }
      case Op.Beq: case Op.Bne: case Op.Blt: case Op.Bge: case Op.Bltu: case Op.Bgeu:
        // A side exit: the taken branch leaves (or, back to the start, goes round again while
        // the limit allows, registers staying in locals); the block goes on with the next slot.
        b.lines.push(`if (${BRANCH_CONDITIONS[op]!(rs1(), rs2())}) {`);
        if (slot + d[at + 3]! === start) roundAgain(slot - start + 1);
        b.exitToSlot(slot + d[at + 3]!, slot - start + 1, true);
        b.lines.push('}');
        break;
      default:
        throw new InternalError(`riscv jit: op ${op} reached the block compiler`);
    }
    slot++;
  }
  if (loop) b.lines.push('}');
  b.length = slot - start;
  const source = `let a = 0, f = 0, p = 0, h = 0, ex = e0;\n${b.source()}`;
  const factory = new Function(
    'mulDiv', 'F', 'RT', 'WT', 'AD', 'R32', 'R16', 'R8', 'RB', 'CF', 'SH', 'H0', 'K', 'B', 'L',
    // Named for its frame and entry slot, so a profile tells the blocks apart.
    `return function rv32Block_f${page.frame}_s${start}(x, m, v, limit, e0, d) {\n${source}\n};`,
  ) as (md: typeof mulDiv, ...arrays: unknown[]) => BlockFn;
  const fn = factory(
    mulDiv, mem.fast, mem.readTag, mem.writeTag, mem.addend, mem.ram32, mem.ram16, mem.ram8, mem.bytes, mem.codeFrames, mem.shared, mem.holders0,
    chain, page.blocks, page.blockLen,
  );
  return { fn, len: slot - start, loop, source };
}
