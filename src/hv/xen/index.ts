/** The Xen-style direct-paging backend (being built). */
import type { Backend } from '../backend.js';

export const xenBackend: Backend = Object.freeze({
  name: 'xen',
  description: 'Xen PV direct paging: validated mmu_update/update_va_mapping, 32-entry multicall batching, hypervisor remote flush',
  create: () => ({}),
});
