/**
 * What each vCPU is doing, published in its machine block so a watchdog or crash report on
 * another thread can say it. The owner writes with Atomics.store; readers use Atomics.load.
 * Words are diagnostic only: nothing orders on them.
 */
import { VCPU_ACTIVITY_NAMES, VCPU_BLOCK, VcpuActivity, WAIT_KIND_NAMES, WaitKind, vcpuBase, waitTargetIsCpu } from './layout.js';
import type { ApicBus } from './apic.js';

export class ActivityPublisher {
  private readonly base: number;
  /** Last published activity: the scheduler publishes on every step, so skip unchanged stores. */
  private current = -1;

  constructor(private readonly words: Int32Array, cpu: number) {
    this.base = vcpuBase(cpu);
  }

  set(activity: VcpuActivity): void {
    if (activity === this.current) return;
    this.current = activity;
    Atomics.store(this.words, this.base + VCPU_BLOCK.activity, activity);
  }

  get(): VcpuActivity {
    return this.current as VcpuActivity;
  }

  task(tid: number): void {
    Atomics.store(this.words, this.base + VCPU_BLOCK.currentTid, tid);
  }

  syscall(nr: number): void {
    Atomics.store(this.words, this.base + VCPU_BLOCK.lastSyscall, nr);
  }

  /** A sign of life for the main thread's watchdog. */
  heartbeat(): void {
    // ORDERING: pairs with MachineWatchdog's Atomics.load; only progress matters, not order.
    Atomics.add(this.words, this.base + VCPU_BLOCK.heartbeat, 1);
  }

  waiting(kind: WaitKind, target: number): void {
    Atomics.store(this.words, this.base + VCPU_BLOCK.waitTarget, target);
    Atomics.store(this.words, this.base + VCPU_BLOCK.waitKind, kind);
  }
}

const hex = (v: number): string => `0x${v.toString(16)}`;

/** One line describing what `cpu` is doing right now. Any thread. */
export function describeVcpu(words: Int32Array, bus: ApicBus, cpu: number): string {
  const b = vcpuBase(cpu);
  const activity = Atomics.load(words, b + VCPU_BLOCK.activity);
  const tid = Atomics.load(words, b + VCPU_BLOCK.currentTid);
  const sys = Atomics.load(words, b + VCPU_BLOCK.lastSyscall);
  const kind = Atomics.load(words, b + VCPU_BLOCK.waitKind) as WaitKind;
  const target = Atomics.load(words, b + VCPU_BLOCK.waitTarget);
  const parts = [
    `cpu ${cpu} is ${VCPU_ACTIVITY_NAMES[activity] ?? `in state ${activity}`}`,
    tid !== 0 ? `task ${tid}` : 'no task',
    sys >= 0 ? `last syscall ${sys}` : 'no syscall yet',
  ];
  if (kind !== WaitKind.None) {
    const what = kind === WaitKind.Scheduler ? '' : kind === WaitKind.OomVictim ? ` process ${target}` : waitTargetIsCpu(kind) ? ` cpu ${target}` : ` ${hex(target)}`;
    parts.push(`waiting for ${WAIT_KIND_NAMES[kind] ?? kind}${what}`);
  }
  parts.push(`IRR [${bus.pendingVectors(cpu).map(hex).join(' ')}]`);
  parts.push(`ISR [${bus.inServiceVectors(cpu).map(hex).join(' ')}]`);
  return parts.join(', ');
}
