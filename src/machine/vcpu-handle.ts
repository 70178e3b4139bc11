/**
 * The main thread's handle on one vCPU worker: its piscina task (which settles when the vCPU
 * stops) and its comlink control proxy (snapshots, never on a hot path). Main thread.
 */
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { Piscina } from 'piscina';
import type { VcpuStatsSnapshot } from '../stats/snapshot.js';
import type { VcpuControl, VcpuExit, VcpuTaskArgs } from '../vcpu/task-args.js';

export class VcpuHandle {
  readonly exit: Promise<VcpuExit>;
  private readonly port: MessagePort;
  private readonly control: Comlink.Remote<VcpuControl>;

  constructor(pool: Piscina, args: Omit<VcpuTaskArgs, 'control'>) {
    const channel = new MessageChannel();
    this.port = channel.port1;
    this.control = Comlink.wrap<VcpuControl>(nodeEndpoint(channel.port1));
    const taskArgs: VcpuTaskArgs = { ...args, control: channel.port2 };
    // SharedArrayBuffers are shared by the structured clone of the arguments; only the port moves.
    this.exit = pool.run(taskArgs, { transferList: [channel.port2] }) as Promise<VcpuExit>;
  }

  /** Counts and histograms so far (answered between the vCPU's run slices). */
  snapshot(): Promise<VcpuStatsSnapshot> {
    return this.control.snapshot();
  }

  close(): void {
    this.control[Comlink.releaseProxy]();
    this.port.close();
  }
}
