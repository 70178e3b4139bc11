/**
 * bench/lib/pingpong-run.ts with both shapes on two real workers (needs the build, as every
 * worker does): each measured round trip gives one sample, and the `call` shape's responder
 * really takes the IPI, the queue and the call_single_data each time. vitest thread.
 */
import { describe, expect, it } from 'vitest';
import { runPingPong } from '../../bench/lib/pingpong-run.js';

describe('ping-pong runs', () => {
  for (const shape of ['raw', 'call'] as const) {
    it(`gives one positive sample per measured round trip in the ${shape} shape`, async () => {
      const samples = await runPingPong({ shape, warmupRoundTrips: 100, roundTrips: 2_000, deadlineMs: 60_000 });
      expect(samples.length).toBe(2_000);
      expect(Array.from(samples).every((ns) => ns > 0 && Number.isFinite(ns))).toBe(true);
    });
  }
});
