/**
 * Native pv_apic_ops: register reads and writes go straight to the local APIC; send_IPI_mask is
 * one ICR write per destination (Linux's send_IPI_mask_sequence). vCPU worker.
 */
import type { BackendContext } from '../backend.js';
import type { PvApicOps } from '../../pv/ops.js';
import {
  APIC_BUS_HZ, APIC_EOI, APIC_LVT_TIMER_PERIODIC, APIC_LVTT, APIC_TDCR, APIC_TMICT, LOCAL_TIMER_VECTOR,
} from '../../hw/apic.js';

/**
 * setup_boot_clock / setup_secondary_clock: program the LAPIC timer, periodic at `hz`, through
 * `write` (so a backend whose APIC writes exit charges each of them).
 */
export function armLapicTimer(write: (reg: number, value: number) => void, hz: number): void {
  write(APIC_TDCR, 1);
  write(APIC_LVTT, LOCAL_TIMER_VECTOR | APIC_LVT_TIMER_PERIODIC);
  write(APIC_TMICT, Math.round(APIC_BUS_HZ / hz));
}

export function nativeApic(ctx: BackendContext): PvApicOps {
  const { hw } = ctx;
  const write = (reg: number, value: number): void => {
    const sent = hw.apic.write(reg, value);
    if (sent !== 0) {
      hw.counters.ipisSent += sent;
      hw.cost.charge('ipiSend', sent);
    } else if (reg === APIC_EOI) {
      hw.cost.charge('eoi');
    }
  };
  const armTimer = (hz: number): void => armLapicTimer(write, hz);
  return {
    apicWrite: write,
    apicRead: (reg) => hw.apic.read(reg),
    // send_IPI_mask_sequence: ICR2 then ICR per destination (LocalApic.sendFixed does both).
    sendIpiMask: (mask, vector) => {
      let sent = 0;
      for (let c = mask.next(0); c >= 0; c = mask.next(c + 1)) sent += hw.apic.sendFixed(c, vector);
      if (sent !== 0) {
        hw.counters.ipisSent += sent;
        hw.cost.charge('ipiSend', sent);
      }
    },
    setupBootClock: armTimer,
    setupSecondaryClock: armTimer,
    startupIpiHook: () => {},
  };
}
