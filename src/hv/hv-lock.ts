/**
 * The hypervisor lock: a mutex over one word of a backend's shared state (hvState), used by every
 * backend that keeps structures all vCPUs change (Xen's frame-table and guest pin locks, the
 * shadow MMU lock). Runs on a vCPU worker, for the vCPU passed to acquire().
 *
 * A futex-style mutex (Drepper, "Futexes are tricky", mutex 3) over the lock word:
 *   0  free
 *   1  held, no waiter asleep
 *   2  held, waiters may be asleep: release() stores 0 and wakes one (Atomics.notify)
 * A waiter spins briefly, then sleeps in Atomics.wait until the holder wakes it, so a holder the
 * host descheduled does not make the others burn their host cores. A second word (the holder
 * word) holds the holder's CPU id + 1 (0: none), for diagnostics only: the watchdog message and
 * the "taken twice by one vCPU" check.
 *
 * Holders never wait for another vCPU while they hold a hypervisor lock (critical sections are
 * bounded walks over shared words; no IPIs, no interrupts taken inside), so a waiter only ever
 * waits for a running holder. The sleep is a VcpuWait's (src/hw/wait.ts): past the run's
 * watchdog limit it throws WatchdogError naming the waiting CPU, the lock and its holder (a
 * holder that died or looped is a bug to report, not to wait out), and it leaves with
 * MachineAbortedError once the machine is aborted elsewhere.
 */
import { InternalError } from '../lib/errors.js';
import { WaitKind } from '../hw/layout.js';
import { TakeWhileWaiting, type VcpuWait, type WaitSite } from '../hw/wait.js';

/**
 * Loads of the lock word before sleeping: 1000, some 5-10 µs. Most holders keep the lock for
 * about a microsecond, and a futex wake costs 10-90 µs on the hosts pvemu targets
 * (docs/architecture.md, "Waiting"), so a short spin nearly always wins; the sleep is for a long holder (a Xen pin
 * validating a whole directory) or one the host descheduled.
 */
const SPINS = 1000;
/**
 * One sleep's bound, in ms. release() wakes a sleeper, so the bound is not what ends a normal
 * wait; it is how often a sleeper looks at the machine's run state and the watchdog.
 */
const WAIT_SLICE_MS = 1;

/** Lock word values. */
const FREE = 0;
const HELD = 1;
const HELD_WAITERS = 2;

export class HvLock {
  constructor(
    /** The shared words holding the lock (hvState as an Int32Array). */
    private readonly words: Int32Array,
    /** Index of the lock word in `words`. */
    private readonly lockIndex: number,
    /** Index of the holder word in `words`: holder CPU id + 1, 0 when free. */
    private readonly holderIndex: number,
    /** What the lock is, for messages ("Xen frame-table lock"). */
    readonly name: string,
    /** The vCPU that takes this lock object, and how it waits. */
    private readonly wait: VcpuWait,
  ) {
    this.site = {
      kind: WaitKind.HvLock,
      take: TakeWhileWaiting.Nothing,
      describe: () => {
        const holder = this.holder();
        return `for the ${this.name}, ` + (holder >= 0 ? `held by cpu ${holder}` : 'held by a vCPU that has not recorded itself yet');
      },
    };
  }

  private readonly site: WaitSite;

  /** Take the lock for this object's vCPU, sleeping while another vCPU holds it. */
  acquire(): void {
    const { words, lockIndex } = this;
    // ORDERING: the acquiring compareExchange pairs with release()'s Atomics.sub / Atomics.store:
    // everything the previous holder wrote (under the lock, plain or atomic) is visible once we
    // own the lock word.
    if (Atomics.compareExchange(words, lockIndex, FREE, HELD) !== FREE) this.acquireSlow();
    // ORDERING: diagnostics only. Written after we own the lock word, so it cannot be overwritten
    // by the previous holder's clear (release() clears before it lets go of the lock word);
    // read by waiters' watchdog messages and the taken-twice check.
    Atomics.store(words, this.holderIndex, this.wait.cpu + 1);
  }

  /** Let go of the lock; wakes one sleeping waiter if there may be any. */
  release(): void {
    const { words, lockIndex } = this;
    // ORDERING: diagnostics only; cleared before the lock word is released (the Atomics.sub
    // below is sequentially consistent), so the next holder's store of its id comes after ours.
    Atomics.store(words, this.holderIndex, 0);
    // ORDERING: release; pairs with acquire()'s compareExchange / acquireSlow's compareExchange
    // and exchange on the next holder.
    const was = Atomics.sub(words, lockIndex, 1);
    if (was === HELD) return;
    // From HELD_WAITERS there may be sleepers: free the word, then wake one. A waiter between its
    // exchange and its Atomics.wait sees the word no longer HELD_WAITERS and does not sleep.
    // ORDERING: release, as the Atomics.sub above; pairs with the waiters' exchange, and the
    // notify with their Atomics.wait.
    Atomics.store(words, lockIndex, FREE);
    if (was === FREE) throw new InternalError(`the ${this.name} released while free`);
    Atomics.notify(words, lockIndex, 1);
  }

  /** The holder's CPU id, or -1 when the holder word is clear (free, or a holder just in). */
  holder(): number {
    // ORDERING: diagnostics only; pairs with acquire()'s and release()'s stores of the holder word.
    return Atomics.load(this.words, this.holderIndex) - 1;
  }

  private acquireSlow(): void {
    const { words, lockIndex, wait } = this;
    const cpu = wait.cpu;
    // Only this vCPU ever writes cpu + 1 into the holder word, so seeing it means we hold the
    // lock already: waiting would only end in the watchdog.
    if (this.holder() === cpu) throw new InternalError(`cpu ${cpu}: the ${this.name} taken twice by the same vCPU`);
    let c = HELD;
    for (let i = 0; i < SPINS; i++) {
      // ORDERING: a look before trying, ordering nothing; the compareExchange is the acquire (as in
      // acquire()), pairing with release()'s Atomics.sub / Atomics.store.
      if (Atomics.load(words, lockIndex) === FREE) {
        c = Atomics.compareExchange(words, lockIndex, FREE, HELD);
        if (c === FREE) return;
      }
    }
    wait.begin(this.site, lockIndex);
    // Mark the lock contended before sleeping. Whoever takes it from here on takes it as
    // HELD_WAITERS (we cannot know whether other sleepers remain), so its release wakes the next.
    // ORDERING: the exchange that returns FREE is our acquire; it pairs with release()'s
    // Atomics.sub / Atomics.store as the compareExchange in acquire() does.
    if (c !== HELD_WAITERS) c = Atomics.exchange(words, lockIndex, HELD_WAITERS);
    while (c !== FREE) {
      // The word is HELD_WAITERS and someone else holds the lock: leaving by a throw here (abort,
      // watchdog) leaves it so, and the holder's release only wakes a sleeper more than needed.
      // ORDERING: sleeps only while the word is still HELD_WAITERS (checked atomically with going
      // to sleep); release()'s Atomics.notify, after its store of FREE, wakes us.
      wait.sleep(words, lockIndex, HELD_WAITERS, WAIT_SLICE_MS);
      // ORDERING: as the exchange above.
      c = Atomics.exchange(words, lockIndex, HELD_WAITERS);
    }
    wait.end();
  }
}
