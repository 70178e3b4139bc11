/** The VMI-style backend (being built). */
import type { Backend } from '../backend.js';

export const vmiBackend: Backend = Object.freeze({
  name: 'vmi',
  description: 'VMI ROM: PTE writes followed by trapping UpdatePxE notifies, deferrable to the next flush; native IPIs with trapping ICR writes',
  create: () => ({}),
});
