/**
 * Test harness for src/riscv: one or more vCPUs' hardware (VcpuHardware: MMU, TLB, APIC poll
 * word, pvclock) over one 16 MiB RAM, hand-built i386 page tables, an IDT whose page-fault
 * entry either kills (GuestSegfault, as the kernel does outside any VMA) or runs a test's own
 * fixer (demand paging), and an RvCore per vCPU. vitest thread only; no workers.
 *
 * ENGINES names the two execution tiers the tests run every program on: the interpreter alone
 * (hotBlock 0) and compiled blocks from the first entry (hotBlock 1).
 */
import { GuestSegfault } from '../../src/lib/errors.js';
import { PAGE_FAULT_VECTOR, VcpuHardware } from '../../src/hw/cpu.js';
import { machineBlockBytes } from '../../src/hw/layout.js';
import { PAGE_SIZE, PTE_P, PTE_RW, PTE_US } from '../../src/hw/paging.js';
import type { InterruptHandler } from '../../src/hw/cpu.js';
import { Asm } from '../../src/riscv/asm.js';
import { RvCore, StopReason } from '../../src/riscv/core.js';
import { Hart } from '../../src/riscv/hart.js';
import { riscvSharedBytes } from '../../src/riscv/layout.js';
import { VcpuCounters } from '../../src/stats/counters.js';
import { PageTables, smallRam } from '../hw/helpers.js';

export const USER_RW = PTE_P | PTE_RW | PTE_US;
export const USER_RO = PTE_P | PTE_US;

/** Where test programs live, and a data area. */
export const CODE = 0x0001_0000;
export const DATA = 0x0040_0000;

export const ENGINES = [
  { name: 'interpreter', hotBlock: 0 },
  { name: 'compiled blocks', hotBlock: 1 },
] as const;
export type Engine = (typeof ENGINES)[number];

/** A page fault the test resolves, or undefined to let it kill the task (SIGSEGV). */
export type FaultFixer = (cpu: number, va: number, errorCode: number) => boolean;

export class RvMachine {
  readonly pt: PageTables;
  readonly hw: VcpuHardware[] = [];
  readonly cores: RvCore[] = [];
  readonly shared = new SharedArrayBuffer(riscvSharedBytes(4));
  /** Calls of each core's pending-work hook. */
  readonly pendingCalls: number[] = [];
  /** What each core's pending-work hook returns (true: stop the run). */
  stopOnPending = false;
  /** Run by a core's pending-work hook (an interrupt handler), then the pending word is cleared. */
  onPending: ((cpu: number) => void) | undefined;
  fixer: FaultFixer | undefined;
  /** Page faults delivered, per cpu. */
  readonly faults: [number, number][][] = [];
  /** Frames for data pages come from here up (the page-table builder starts at 1024). */
  private nextFrame = 0x100;

  constructor(cpus = 1, hotBlock = 0) {
    const ram = smallRam();
    this.pt = new PageTables(ram);
    const machineWords = new Int32Array(new SharedArrayBuffer(machineBlockBytes(cpus)));
    for (let cpu = 0; cpu < cpus; cpu++) {
      const hw = new VcpuHardware({ cpu, cpus, ram, machineWords, counters: new VcpuCounters() });
      const idt: (InterruptHandler | undefined)[] = [];
      this.faults.push([]);
      idt[PAGE_FAULT_VECTOR] = (_vector, errorCode) => {
        const va = hw.cr2;
        this.faults[cpu]!.push([va, errorCode]);
        if (this.fixer === undefined || !this.fixer(cpu, va, errorCode)) throw new GuestSegfault(va, errorCode);
      };
      hw.loadIdt(idt);
      hw.mmu.writeCr3(this.pt.pd);
      this.hw.push(hw);
      this.pendingCalls.push(0);
      this.cores.push(RvCore.forHardware(hw, this.shared, () => {
        this.pendingCalls[cpu]!++;
        this.onPending?.(cpu);
        Atomics.store(hw.machineWords, hw.apic.pendingIndex, 0);
        return this.stopOnPending;
      }, hotBlock));
    }
  }

  get ram(): PageTables['ram'] {
    return this.pt.ram;
  }

  /** A fresh zeroed frame. */
  frame(): number {
    const f = this.nextFrame++;
    this.ram.zeroFrame(f as never);
    return f;
  }

  /** Make an interrupt pending on `cpu` (its APIC pending word, as a sender sets it). */
  kick(cpu: number): void {
    const hw = this.hw[cpu]!;
    Atomics.store(hw.machineWords, hw.apic.pendingIndex, 1);
  }

  /** Map the page at `va` to a fresh frame (or `frame`); returns the frame. */
  map(va: number, flags = USER_RW, frame = this.frame()): number {
    this.pt.map(va, frame, flags);
    return frame;
  }

  /** Physical address backing `va` in the page tables (no TLB involved). */
  paOf(va: number): number {
    const pte = this.pt.read(this.pt.pteAddr(va));
    return ((pte & ~(PAGE_SIZE - 1)) >>> 0) + (va & (PAGE_SIZE - 1));
  }

  /** Write `words` at `va` (through the page tables, not the TLB), mapping pages as needed. */
  poke(va: number, words: ArrayLike<number>, flags = USER_RW): void {
    for (let k = 0; k < words.length; k++) {
      const at = (va + 4 * k) >>> 0;
      const pte = this.pt.read(this.pt.pteAddr(at));
      if ((pte & PTE_P) === 0) this.map(at & ~(PAGE_SIZE - 1), flags);
      this.ram.i32[this.paOf(at) >>> 2] = words[k]!;
    }
  }

  peek(va: number): number {
    return this.ram.i32[this.paOf(va) >>> 2]!;
  }

  /** Assemble and load a program at its origin; returns the assembler (for labels). */
  load(a: Asm, flags = USER_RW): Asm {
    this.poke(a.origin, a.assemble(), flags);
    return a;
  }

  /** Run `hart` on `cpu` until it stops for any reason but the budget (or `maxSteps` runs). */
  runToStop(hart: Hart, cpu = 0, budget = 1000, maxSteps = 10_000): StopReason {
    for (let k = 0; k < maxSteps; k++) {
      const r = this.cores[cpu]!.run(hart, budget);
      if (r !== StopReason.Budget) return r;
    }
    throw new Error(`hart at pc 0x${hart.pc.toString(16)} still running after ${maxSteps} runs of ${budget}`);
  }
}

/** A program at CODE: build it with `f`, load it, and return a hart at its start. */
export function program(m: RvMachine, f: (a: Asm) => void, origin = CODE): { hart: Hart; asm: Asm } {
  const asm = new Asm(origin);
  f(asm);
  m.load(asm);
  return { hart: new Hart(origin), asm };
}

/** Run a program that ends with ECALL; returns its hart (fails the test on any other stop). */
export function runProgram(m: RvMachine, f: (a: Asm) => void, setup?: (h: Hart) => void): Hart {
  const { hart } = program(m, f);
  setup?.(hart);
  const r = m.runToStop(hart);
  if (r !== StopReason.Ecall) {
    throw new Error(`program stopped with reason ${r} at pc 0x${hart.pc.toString(16)}: ${m.cores[0]!.describeFault()}`);
  }
  return hart;
}
