/**
 * Where the compiled vCPU worker lives. Workers must run compiled JavaScript (a loader in the
 * parent is not inherited by worker threads), so whether this module runs from dist/ or from
 * TypeScript sources under a test runner, the worker is dist/workers/: its CommonJS entry
 * vcpu-entry.cjs, which imports vcpu-worker.js (why: workers/vcpu-entry.cts). Main thread.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InternalError } from '../lib/errors.js';

export function vcpuWorkerPath(): string {
  const candidates = [
    // Running from dist/src/machine/: dist/workers/ is two levels up.
    new URL('../../workers/vcpu-entry.cjs', import.meta.url),
    // Running from src/machine/ (TypeScript under vitest): the build output.
    new URL('../../dist/workers/vcpu-entry.cjs', import.meta.url),
  ];
  for (const url of candidates) {
    const path = fileURLToPath(url);
    if (existsSync(path)) return path;
  }
  throw new InternalError('the vCPU worker is not built: run `npm run build` (npm install does it)');
}
