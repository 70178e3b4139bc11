/**
 * The pv_time_ops clock across threads: the main thread publishes pvclock records with the
 * seqlock protocol; readers on two worker threads see a clock that never goes backwards and
 * agrees between vCPUs within one timer tick.
 */
import { describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { machineBlockBytes } from '../../src/hw/layout.js';
import { MachineClock } from '../../src/machine/clock.js';

const pvclockModule = pathToFileURL(fileURLToPath(new URL('../../dist/src/hw/pvclock.js', import.meta.url))).href;
const clockModule = pathToFileURL(fileURLToPath(new URL('../../dist/src/lib/host-clock.js', import.meta.url))).href;

/** A reader on its own thread: samples (host ns, guest ns) pairs and checks monotonicity itself. */
const readerSource = `
const { workerData, parentPort } = require('node:worker_threads');
(async () => {
  const { PvclockReader } = await import(${JSON.stringify(pvclockModule)});
  const { hostNowNs } = await import(${JSON.stringify(clockModule)});
  const reader = new PvclockReader(new Int32Array(workerData.sab), workerData.cpu);
  let last = -1, backwards = 0;
  const samples = [];
  const end = Date.now() + 600;
  while (Date.now() < end) {
    const t = reader.read();
    if (t < last) backwards++;
    last = t;
    if (samples.length < 2000) samples.push([hostNowNs(), t]);
  }
  parentPort.postMessage({ backwards, samples, last });
})();
`;

interface ReaderResult { backwards: number; samples: [number, number][]; last: number }

function runReader(sab: SharedArrayBuffer, cpu: number): Promise<ReaderResult> {
  return new Promise((resolve, reject) => {
    const w = new Worker(readerSource, { eval: true, workerData: { sab, cpu } });
    w.once('message', (m: ReaderResult) => { resolve(m); void w.terminate(); });
    w.once('error', reject);
  });
}

describe('pvclock across vCPU threads', () => {
  it('is monotonic on each vCPU and agrees between vCPUs within one 4 ms tick', async () => {
    const sab = new SharedArrayBuffer(machineBlockBytes(2));
    const clock = new MachineClock(new Int32Array(sab), 2);
    clock.start();
    try {
      const [a, b] = await Promise.all([runReader(sab, 0), runReader(sab, 1)]);
      expect(a.backwards).toBe(0);
      expect(b.backwards).toBe(0);
      expect(a.last).toBeGreaterThan(0);
      // guest - host is the same offset on both threads, up to calibration error and a tick.
      const offset = (r: ReaderResult): number => {
        const d = r.samples.map(([h, g]) => g - h).sort((x, y) => x - y);
        return d[d.length >> 1]!;
      };
      expect(Math.abs(offset(a) - offset(b))).toBeLessThan(4e6);
    } finally {
      clock.stop();
    }
  });
});
