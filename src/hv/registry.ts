/**
 * The hypervisor backends pvemu knows, by name. Any thread (workers look their backend up here).
 */
import type { Backend } from './backend.js';
import { nativeBackend } from './native/index.js';
import { xenBackend } from './xen/index.js';
import { vmiBackend } from './vmi/index.js';
import { shadowBackend } from './shadow/index.js';
import { kvmBackend, kvmNoPvFlushBackend } from './kvm/index.js';

export const backends: Readonly<Record<string, Backend>> = Object.freeze({
  native: nativeBackend,
  xen: xenBackend,
  vmi: vmiBackend,
  shadow: shadowBackend,
  kvm: kvmBackend,
  'kvm-nopvflush': kvmNoPvFlushBackend,
});

export interface BackendInfo {
  name: string;
  description: string;
}

export function describeBackends(): BackendInfo[] {
  return Object.values(backends).map((b) => ({ name: b.name, description: b.description }));
}

export function findBackend(name: string): Backend | undefined {
  return Object.hasOwn(backends, name) ? backends[name] : undefined;
}
