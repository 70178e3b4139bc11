/** Native pv_misc_ops: lazy mode is a no-op on bare hardware (every PTE store is immediate). */
import type { PvMiscOps } from '../../pv/ops.js';

export function nativeMisc(): PvMiscOps {
  return {
    enterLazyMmu: () => {},
    leaveLazyMmu: () => {},
    enterLazyCpu: () => {},
    leaveLazyCpu: () => {},
    flushLazy: () => {},
  };
}
