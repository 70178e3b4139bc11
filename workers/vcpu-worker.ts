/**
 * Worker entry: one piscina task is one vCPU, alive until the machine stops. Thin on purpose;
 * everything lives in src/vcpu/vcpu.ts.
 */
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { Vcpu } from '../src/vcpu/vcpu.js';
import type { VcpuControl, VcpuExit, VcpuTaskArgs } from '../src/vcpu/task-args.js';

export default async function vcpuTask(args: VcpuTaskArgs): Promise<VcpuExit> {
  const vcpu = new Vcpu(args);
  const control: VcpuControl = { snapshot: () => vcpu.snapshot() };
  Comlink.expose(control, nodeEndpoint(args.control));
  try {
    return await vcpu.run();
  } finally {
    args.control.close();
  }
}
