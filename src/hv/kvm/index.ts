/** The KVM-style backend (being built). */
import type { Backend } from '../backend.js';

export const kvmBackend: Backend = Object.freeze({
  name: 'kvm',
  description: 'KVM with two-dimensional paging: plain PTE stores, PV TLB flush via steal-time preempted byte, PV send-IPI, PV EOI',
  create: () => ({}),
});
