/**
 * The run's randomness: the workloads' pseudo-random streams, and the bytes the guest kernel
 * hands out as entropy (AT_RANDOM at exec, getrandom).
 *
 * With a seed (MachineConfig.seed, --seed; virtual time uses 0 when none is given) every stream
 * is a function of the seed and the stream's number alone, so a run's guest sees the same
 * "random" bytes every time — what makes a virtual-time run of a program bit for bit
 * reproducible (docs/virtual-time.md). Without one, guest entropy comes from the host's CSPRNG,
 * as a real kernel's does from its entropy pool.
 *
 * Nothing here is cryptographic: a guest under pvemu is measured, not protected.
 */

/**
 * Marsaglia's xorshift32 (G. Marsaglia, "Xorshift RNGs", Journal of Statistical Software 8(14),
 * 2003), shifts 13, 17, 5: period 2^32 - 1 over the non-zero states.
 */
export class Xorshift32 {
  private state: number;

  /** A zero seed (the one state xorshift never leaves) becomes 1. */
  constructor(seed: number) {
    this.state = (seed | 0) === 0 ? 1 : seed | 0;
  }

  /** The next value, an unsigned 32-bit integer. */
  next(): number {
    let s = this.state;
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    this.state = s;
    return s >>> 0;
  }
}

/** MurmurHash3's 32-bit finaliser (fmix32, A. Appleby): every input bit moves every output bit. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The seed of stream `stream` (a thread's index, a vCPU's number) under the run's `seed`:
 * distinct streams of one seed, and one stream under distinct seeds, start far apart.
 */
export function streamSeed(seed: number, stream: number): number {
  return fmix32(fmix32(seed >>> 0) ^ Math.imul((stream >>> 0) + 1, 0x9e3779b9));
}

/** A workload thread's pseudo-random stream: one per (seed, stream). */
export function workloadRandom(seed: number, stream: number): Xorshift32 {
  return new Xorshift32(streamSeed(seed, stream));
}

/**
 * A CPU's source of entropy for the guest kernel (get_random_bytes): a seeded stream, or the
 * host's CSPRNG when the run has no seed.
 */
export class Entropy {
  private readonly stream: Xorshift32 | null;

  /** `seed` null: the host's CSPRNG. `stream`: the CPU's number (each CPU draws its own stream). */
  constructor(seed: number | null, stream: number) {
    // A stream of its own, apart from the workloads' (which number threads from 0).
    this.stream = seed === null ? null : new Xorshift32(streamSeed(seed, 0x8000_0000 + stream));
  }

  /** Whether the bytes are a function of the seed (false: the host's CSPRNG). */
  get seeded(): boolean {
    return this.stream !== null;
  }

  /** Fill `bytes`. */
  fill(bytes: Uint8Array): void {
    const s = this.stream;
    if (s === null) {
      crypto.getRandomValues(bytes);
      return;
    }
    let word = 0;
    for (let i = 0; i < bytes.length; i++) {
      if ((i & 3) === 0) word = s.next();
      bytes[i] = word & 0xff;
      word >>>= 8;
    }
  }
}
