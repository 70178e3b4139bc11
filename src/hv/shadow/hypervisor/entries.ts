/**
 * Loads and stores of page-table entries in guest RAM as the shadow MMU does them: the guest's
 * entries (which the kernel stores concurrently) and the shadow's (which other vCPUs' walkers
 * read and set A/D in concurrently). Every access is an Atomics operation; this module names
 * what each pairs with. Any vCPU worker.
 */
import type { Paddr } from '../../../hw/types.js';

/** A guest page-table entry. */
export function loadGuestEntry(ram: Int32Array, addr: Paddr): number {
  // ORDERING: pairs with the kernel's Atomics.store / exchange of guest entries (the native
  // setPte / pteClear the shadow backend wraps): a store that precedes its sync is seen here.
  return Atomics.load(ram, addr >>> 2);
}

/** A shadow entry, A and D as the hardware left them. */
export function loadShadowEntry(ram: Int32Array, addr: Paddr): number {
  // ORDERING: pairs with the walker's compareExchange setting A/D in shadow entries, and with
  // storeShadowEntry on other vCPUs (under the shadow lock).
  return Atomics.load(ram, addr >>> 2);
}

export function storeShadowEntry(ram: Int32Array, addr: Paddr, value: number): void {
  // ORDERING: pairs with the walker's Atomics.load of shadow entries (src/hw/walker.ts): a
  // walk after this store sees the new entry; a walk that loaded the old one and tries to set
  // A/D fails its compareExchange and restarts.
  Atomics.store(ram, addr >>> 2, value);
}

/** Store a shadow entry and return the one it replaced, with the A/D bits the walker set. */
export function exchangeShadowEntry(ram: Int32Array, addr: Paddr, value: number): number {
  // ORDERING: as storeShadowEntry; the exchange cannot lose an A/D update (a walker's
  // compareExchange either lands before it, and is returned, or fails and restarts).
  return Atomics.exchange(ram, addr >>> 2, value);
}
