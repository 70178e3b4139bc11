/**
 * Native pv_irq_ops: cli/sti/pushf/popf on EFLAGS.IF, and hlt on the local APIC's doorbell.
 * Enabling interrupts takes any that are pending at once, as sti does after one instruction.
 * vCPU worker.
 */
import type { BackendContext } from '../backend.js';
import { X86_EFLAGS_IF, type PvIrqOps } from '../../pv/ops.js';

export function nativeIrq(ctx: BackendContext): PvIrqOps {
  const { hw } = ctx;
  const enable = (): void => {
    hw.interruptsEnabled = true;
    hw.takeInterrupts();
  };
  return {
    initIrq: () => {
      // Accept every priority class.
      hw.apic.write(0x80 /* APIC_TASKPRI */, 0);
    },
    saveFl: () => (hw.interruptsEnabled ? X86_EFLAGS_IF : 0),
    restoreFl: (flags) => {
      if ((flags & X86_EFLAGS_IF) !== 0) enable();
      else hw.interruptsEnabled = false;
    },
    irqDisable: () => { hw.interruptsEnabled = false; },
    irqEnable: enable,
    safeHalt: (timeoutMs) => {
      // sti; hlt — interrupts that arrive between the two are not lost: halt returns at once
      // when the IRR is non-empty (LocalApic.halt's protocol).
      hw.interruptsEnabled = true;
      hw.takeInterrupts();
      hw.counters.halts++;
      hw.apic.halt(timeoutMs);
      hw.takeInterrupts();
    },
    halt: (timeoutMs) => {
      hw.counters.halts++;
      hw.apic.halt(timeoutMs);
      hw.takeInterrupts();
    },
  };
}
