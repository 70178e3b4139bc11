/** Native pv_info: bare hardware. */
import type { PvInfo } from '../../pv/ops.js';

export const nativeInfo: PvInfo = Object.freeze({
  name: 'bare hardware',
  paravirtEnabled: false,
  kernelRpl: 0,
  sharedKernelPmd: true,
});
