/**
 * The file piscina loads in each vCPU worker: CommonJS, so piscina's require() of it succeeds
 * at once, and the ESM worker (vcpu-worker.ts) is loaded by import() alone. Given the ESM file
 * itself, piscina require()s it first (Node 20's require of an ES module) and falls back to
 * import() if that throws; under heavy host load that pair ended in Node's "Unexpected status of
 * a module that is imported again after being required" and a fatal error of the whole process.
 */
import type { VcpuExit, VcpuTaskArgs } from '../src/vcpu/task-args.js';

module.exports = async function vcpuTask(args: VcpuTaskArgs): Promise<VcpuExit> {
  const worker = (await import('./vcpu-worker.js')) as { default: (args: VcpuTaskArgs) => Promise<VcpuExit> };
  return worker.default(args);
};
