/**
 * The shadow MMU lock: one mutex in hvState over every shadow structure (the pool, the guest ->
 * shadow maps, and the shadow entries' contents as the hypervisor decides them). A futex-style
 * mutex (Drepper, "Futexes are tricky", mutex 3): 0 free, 1 held, 2 held with possible waiters;
 * a waiter sleeps in Atomics.wait, so a holder the host descheduled does not make the others
 * burn their cores. Any vCPU worker; critical sections are short and never wait for another
 * vCPU (no IPIs, no interrupts taken inside), so the lock cannot take part in a deadlock.
 */
import { WatchdogError } from '../../errors.js';
import { SHADOW_CTL } from './layout.js';

/**
 * Loads of the lock word before sleeping: 1000, some 5-10 µs. Holders keep the lock for about a
 * microsecond, and a futex wake costs 30-90 µs on the hosts pvemu targets (DESIGN.md section 1),
 * so a short spin nearly always wins; the sleep is for a holder the host descheduled.
 */
const SPINS = 1000;
/** One sleep's bound, in ms: a missed wake-up (there should be none) costs at most this. */
const WAIT_MS = 5;
/**
 * A waiter gives up after this long, in ms, naming the holder. Holders keep the lock for
 * microseconds; 30 s means a holder died or looped, which is a bug to report, not wait out.
 */
export const SHADOW_LOCK_DEADLINE_MS = 30_000;

export class ShadowLock {
  constructor(private readonly hv: Int32Array) {}

  /** Take the lock for `cpu`. */
  acquire(cpu: number): void {
    const hv = this.hv;
    const at = SHADOW_CTL.lock;
    // ORDERING: the acquiring compare-exchange / exchange pairs with release()'s Atomics.sub /
    // Atomics.store: everything the previous holder wrote is visible once we own the lock.
    let c = Atomics.compareExchange(hv, at, 0, 1);
    for (let i = 0; c !== 0 && i < SPINS; i++) {
      if (Atomics.load(hv, at) === 0) c = Atomics.compareExchange(hv, at, 0, 1);
    }
    if (c !== 0) {
      const deadline = Date.now() + SHADOW_LOCK_DEADLINE_MS;
      if (c !== 2) c = Atomics.exchange(hv, at, 2);
      while (c !== 0) {
        Atomics.wait(hv, at, 2, WAIT_MS);
        c = Atomics.exchange(hv, at, 2);
        if (c !== 0 && Date.now() > deadline) {
          throw new WatchdogError(
            `watchdog: cpu ${cpu} waited ${SHADOW_LOCK_DEADLINE_MS} ms for the shadow MMU lock, ` +
              `held by cpu ${Atomics.load(hv, SHADOW_CTL.lockHolder) - 1}`,
          );
        }
      }
    }
    // ORDERING: diagnostics only; read by a waiter's watchdog message.
    Atomics.store(hv, SHADOW_CTL.lockHolder, cpu + 1);
  }

  release(): void {
    const hv = this.hv;
    Atomics.store(hv, SHADOW_CTL.lockHolder, 0);
    // ORDERING: pairs with acquire()'s compare-exchange / exchange (see there). From 2 there
    // may be sleepers: clear the word, then wake one.
    if (Atomics.sub(hv, SHADOW_CTL.lock, 1) !== 1) {
      Atomics.store(hv, SHADOW_CTL.lock, 0);
      Atomics.notify(hv, SHADOW_CTL.lock, 1);
    }
  }
}
