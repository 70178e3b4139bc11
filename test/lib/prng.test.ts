/**
 * The run's randomness (src/lib/prng.ts): Marsaglia's xorshift32 sequence, distinct streams per
 * seed and per stream, and guest entropy that is a function of the seed when there is one.
 */
import { describe, expect, it } from 'vitest';
import { Entropy, Xorshift32, streamSeed, workloadRandom } from '../../src/lib/prng.js';

const draw = (r: Xorshift32, n: number): number[] => Array.from({ length: n }, () => r.next());
const bytes = (e: Entropy, n = 16): number[] => {
  const b = new Uint8Array(n);
  e.fill(b);
  return [...b];
};

describe('Xorshift32', () => {
  it("gives Marsaglia's xorshift32 (13, 17, 5) sequence: 270369 first from state 1", () => {
    expect(draw(new Xorshift32(1), 3)).toEqual([270369, 67634689, 2647435461]);
  });

  it('turns the one state it never leaves (0) into 1 instead of giving zeros forever', () => {
    expect(draw(new Xorshift32(0), 3)).toEqual(draw(new Xorshift32(1), 3));
  });
});

describe('streamSeed and workloadRandom', () => {
  it('gives each (seed, stream) its own start, and the same one every time', () => {
    const seeds = new Set<number>();
    for (let seed = 0; seed < 16; seed++) for (let stream = 0; stream < 16; stream++) seeds.add(streamSeed(seed, stream));
    expect(seeds.size).toBe(256);
    expect(draw(workloadRandom(7, 3), 8)).toEqual(draw(workloadRandom(7, 3), 8));
    expect(draw(workloadRandom(7, 3), 8)).not.toEqual(draw(workloadRandom(8, 3), 8));
  });
});

describe('Entropy', () => {
  it('with a seed gives the same bytes for the same seed and CPU, and other bytes for another seed or CPU', () => {
    expect(new Entropy(42, 0).seeded).toBe(true);
    expect(bytes(new Entropy(42, 0), 40)).toEqual(bytes(new Entropy(42, 0), 40));
    expect(bytes(new Entropy(42, 0))).not.toEqual(bytes(new Entropy(43, 0)));
    expect(bytes(new Entropy(42, 0))).not.toEqual(bytes(new Entropy(42, 1)));
  });

  it("is a stream: a second fill goes on with the words after the first one's", () => {
    const once = new Entropy(5, 2);
    const twice = new Entropy(5, 2);
    expect([...bytes(twice, 4), ...bytes(twice, 4)]).toEqual(bytes(once, 8));
  });

  it("without a seed draws from the host's CSPRNG: two sources differ", () => {
    const a = new Entropy(null, 0);
    expect(a.seeded).toBe(false);
    expect(bytes(a, 32)).not.toEqual(bytes(new Entropy(null, 0), 32));
  });
});
