/** Native pv_cpu_ops: privileged instructions act on this vCPU's hardware directly. vCPU worker. */
import type { BackendContext } from '../backend.js';
import type { PvCpuOps } from '../../pv/ops.js';
import { X86_CR4_PCIDE, X86_CR4_PGE } from '../../hw/cpu.js';
import { readTsc } from '../../hw/clock.js';
import { PvemuError } from '../../lib/errors.js';

export const MSR_IA32_TSC = 0x10;
export const MSR_IA32_APICBASE = 0x1b;
/** APIC base MSR: default base 0xFEE00000, enabled (bit 11), BSP flag (bit 8) on CPU 0. */
const APIC_BASE_DEFAULT = 0xfee00000 | (1 << 11);

/** CPUID.1 feature bits pvemu's CPU reports. */
const CPUID1_EDX = (1 << 3) /* PSE */ | (1 << 4) /* TSC */ | (1 << 5) /* MSR */ | (1 << 9) /* APIC */ | (1 << 13); /* PGE */
const CPUID1_ECX_PCID = 1 << 17;
const CPUID1_ECX_HYPERVISOR = 1 << 31;

/** A general-protection fault: rdmsr/wrmsr of an MSR the CPU does not have. */
export class GeneralProtectionFault extends PvemuError {
  override readonly name = 'GeneralProtectionFault';
}

function vendorWords(vendor: string): [number, number, number] {
  const w = (i: number): number =>
    vendor.charCodeAt(i) | (vendor.charCodeAt(i + 1) << 8) | (vendor.charCodeAt(i + 2) << 16) | (vendor.charCodeAt(i + 3) << 24);
  return [w(0), w(4), w(8)];
}

export function nativeCpu(ctx: BackendContext, paravirt = false): PvCpuOps {
  const { hw } = ctx;
  const [vb, vd, vc] = vendorWords('GenuinePvemu');
  return {
    readCr0: () => hw.cr0,
    writeCr0: (value) => { hw.cr0 = value | 0; },
    readCr4: () => hw.cr4,
    writeCr4: (value) => {
      const old = hw.cr4;
      hw.cr4 = value | 0;
      // Toggling PGE flushes the whole TLB, global entries included (the SDM's way to drop them).
      if (((old ^ value) & X86_CR4_PGE) !== 0) hw.tlb.flushAllIncludingGlobal();
      hw.mmu.pcidEnabled = (value & X86_CR4_PCIDE) !== 0;
    },
    cpuid: (leaf) => {
      switch (leaf) {
        case 0: return [1, vb, vc, vd];
        case 1: return [0x000306a0, hw.cpu << 24, CPUID1_ECX_PCID | (paravirt ? CPUID1_ECX_HYPERVISOR : 0), CPUID1_EDX];
        default: return [0, 0, 0, 0];
      }
    },
    readMsr: (msr) => {
      switch (msr) {
        case MSR_IA32_TSC: return readTsc();
        case MSR_IA32_APICBASE: return (APIC_BASE_DEFAULT | (hw.cpu === 0 ? 1 << 8 : 0)) >>> 0;
        default: throw new GeneralProtectionFault(`cpu ${hw.cpu}: rdmsr of unknown MSR 0x${msr.toString(16)}`);
      }
    },
    writeMsr: (msr) => {
      if (msr !== MSR_IA32_APICBASE) {
        throw new GeneralProtectionFault(`cpu ${hw.cpu}: wrmsr of unknown MSR 0x${msr.toString(16)}`);
      }
    },
    readTsc: () => readTsc(),
    wbinvd: () => {},
    loadGdt: () => {},
    loadIdt: (table) => hw.loadIdt(table),
  };
}
