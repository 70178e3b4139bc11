/**
 * The vCPU side of the overcommit scheduler: parking. When the main-thread scheduler takes a
 * vCPU's physical CPU away it stores schedState = Descheduled and kicks it (HV_PARK); at its
 * next boundary the vCPU comes here and sleeps in Atomics.wait until schedState says Running.
 * Runs only on the owning vCPU's worker (the handler is installed on its VcpuHardware).
 *
 * Parking, in order (what a KVM host does when it schedules a vCPU thread out and back in):
 *   1. schedState is Running (a grant overtook the kick): nothing to do.
 *   2. If the vCPU was runnable — anything but halted — it is preempted: set KVM_VCPU_PREEMPTED
 *      in its steal-time record (kvm_steal_time_set_preempted; a halted vCPU is not marked,
 *      as KVM marks only vCPUs scheduled out while runnable) and count the exit.
 *   3. Sleep on schedState in bounded waits; between them keep the heartbeat going (the
 *      main-thread watchdog must not take a parked vCPU for a hung one), leave on an aborted
 *      or finished machine, and name the scheduler if it never comes back. In virtual time the
 *      scheduler runs in the timekeeper's turns (src/machine/vtime-keeper.ts): the vCPU parks
 *      in the turn order until a grant unparks it there (VirtualClock.parked).
 *   4. Loaded again: run the backends' resume hooks (KVM's deferred flush, which takes the
 *      preempted byte with an exchange), then clear the byte (record_steal_time's exchange)
 *      for backends that had no hook, before any guest code runs.
 */
import { InternalError, MachineAbortedError } from '../lib/errors.js';
import type { ActivityPublisher } from '../hw/activity.js';
import { HV_PARK, type VcpuHardware } from '../hw/cpu.js';
import { MACHINE_CTL, RunState, SchedState, VcpuActivity, WaitKind } from '../hw/layout.js';
import { KVM_VCPU_FLUSH_TLB } from '../hw/pvclock.js';
import { VmExitReason } from '../hw/cost.js';
import { loadSchedState, sleepWhileDescheduled, PARKED_ACTIVITY } from '../hw/sched-word.js';
import { TakeWhileWaiting, type VcpuWait, type WaitSite } from '../hw/wait.js';
import { markPreempted, takeOnLoad } from '../hw/steal-time.js';

/**
 * Longest single sleep while parked, in ms: short enough that the heartbeat (the main-thread
 * watchdog trips after twice its limit, seconds) and an aborted machine are seen promptly,
 * long enough that a parked vCPU costs its host core nothing measurable (20 wakeups a second).
 */
const PARK_WAIT_MS = 50;

/** Parked: waiting for the hypervisor scheduler to store Running in our schedState again. */
const PARKED_WAIT: WaitSite = {
  kind: WaitKind.Scheduler,
  take: TakeWhileWaiting.Nothing,
  describe: () => 'for a physical CPU: descheduled, and the hypervisor scheduler never gave it one again',
};

export class VcpuParking {
  /** Times this vCPU parked while runnable (preempted) and while idle. */
  preemptions = 0;
  idleParks = 0;
  private readonly activity: ActivityPublisher;

  constructor(
    private readonly hw: VcpuHardware,
    /** How the vCPU sleeps while parked; a park past its watchdog means the scheduler is gone. */
    private readonly wait: VcpuWait,
  ) {
    this.activity = hw.activity;
  }

  /** Install the HV_PARK handler on this vCPU's hardware. */
  install(): void {
    this.hw.onHypervisorRequest(HV_PARK, () => this.parkIfDescheduled());
  }

  /**
   * Park while the scheduler says Descheduled (HV_PARK, and the run loop's slice boundary).
   * Owning vCPU only. Returns once it may run, with what it was owed done.
   */
  parkIfDescheduled(): void {
    const { hw } = this;
    const words = hw.machineWords;
    const cpu = hw.cpu;
    if (loadSchedState(words, cpu) === SchedState.Running) return; // (1)
    if (this.machineEnded()) return;
    const saved = this.scheduleOut();
    const vclock = hw.vclock;
    if (vclock !== null && vclock.running) {
      // (3) in virtual time: the turn order's watchdog and abort check stand in for the VcpuWait's.
      while (loadSchedState(words, cpu) === SchedState.Descheduled && !this.machineEnded()) vclock.parked();
    } else {
      const wait = this.wait;
      wait.begin(PARKED_WAIT, 0);
      // (3): the VcpuWait keeps the heartbeat going and leaves on an aborted machine.
      while (loadSchedState(words, cpu) === SchedState.Descheduled && !this.machineEnded()) {
        sleepWhileDescheduled(wait, words, cpu, PARK_WAIT_MS);
      }
      wait.end();
    }
    this.scheduleIn(saved);
  }

  /** Steps (2): marked preempted if it was runnable, published as parked. Returns what it was doing. */
  private scheduleOut(): VcpuActivity {
    const { hw } = this;
    const saved = this.activity.get();
    if (saved !== VcpuActivity.Halted) {
      markPreempted(hw.machineWords, hw.cpu);
      hw.cost.vmexit(VmExitReason.Preemption);
      this.preemptions++;
    } else {
      this.idleParks++;
    }
    this.activity.set(PARKED_ACTIVITY);
    return saved;
  }

  /** Step (4): loaded again. */
  private scheduleIn(saved: VcpuActivity): void {
    const { hw } = this;
    this.activity.set(saved);
    hw.resumed();
    const left = takeOnLoad(hw.machineWords, hw.cpu);
    if ((left & KVM_VCPU_FLUSH_TLB) !== 0) {
      throw new InternalError(`cpu ${hw.cpu}: a guest asked for a TLB flush in the steal-time record while this vCPU was preempted, and no resume hook honoured it`);
    }
  }

  /** Shutdown: leave (the run loop ends); Aborted: leave at once with the abort. */
  private machineEnded(): boolean {
    // ORDERING: pairs with the Atomics.store of runState by the vCPU that ended the machine.
    const state = Atomics.load(this.hw.machineWords, MACHINE_CTL.runState);
    if (state === RunState.Aborted) throw new MachineAbortedError(`cpu ${this.hw.cpu}: machine aborted while descheduled`);
    return state === RunState.Shutdown;
  }
}
