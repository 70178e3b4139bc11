/** Native pv_init_ops: nothing to patch, nothing to set up beyond the hardware defaults. vCPU worker. */
import type { BackendContext } from '../backend.js';
import type { PvInitOps } from '../../pv/ops.js';
import { formatBytes } from '../../hw/memory.js';
import { nativeInfo } from './info.js';

export function nativeInit(ctx: BackendContext): PvInitOps {
  const { hw } = ctx;
  return {
    patch: () => undefined,
    archSetup: () => {},
    memorySetup: () => ({
      usableBytes: hw.ram.size,
      description: `BIOS-provided physical RAM map: 0x00000000 - 0x${hw.ram.size.toString(16).padStart(8, '0')} (usable, ${formatBytes(hw.ram.size)})`,
    }),
    postAllocatorInit: () => {},
    banner: () => `Booting paravirtualized kernel on ${nativeInfo.name}`,
  };
}
