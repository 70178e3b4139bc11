/**
 * The overcommit scheduler (docs/architecture.md): with `--pcpus P` below the
 * vCPU count, at most P vCPUs run at once, in time slices driven by a main-thread timer — the
 * host scheduler under a KVM guest, reduced to round robin. Main thread; started and stopped by
 * the Machine. The vCPU side (parking) is src/vcpu/park.ts.
 *
 * Every tick it observes each vCPU (activity word, steal-time preempted byte, pending IRR),
 * lets SchedPolicy decide who holds the P CPUs, and applies the decision:
 *   revoke: schedState := Descheduled, then kick(HV_PARK) — the vCPU parks at its next boundary
 *           (every MMU access, spin-wait iteration, run-loop slice), marking itself PREEMPTED
 *           in its steal-time record if it was runnable;
 *   grant:  schedState := Running and notify — the vCPU wakes, clears its preempted byte, runs
 *           the backends' resume hooks (a deferred TLB flush) and continues.
 * Steal time: each tick, every vCPU parked while it has work (PREEMPTED, or an interrupt
 * pending) is charged the time since the last tick (PvclockWriter.addSteal), so
 * pv_time_ops.stealClock grows while it is runnable but not running.
 *
 * In virtual time (--clock virtual) the same scheduler runs in the timekeeper's turns
 * (src/machine/vtime-keeper.ts), which call tick() with the modelled time every tick of modelled
 * time: its kicks carry the timekeeper's time, and a grant also unparks the vCPU in the turn
 * order (SchedulerTurns).
 *
 * Why the main thread sets schedState but not the PREEMPTED byte: the byte tells guests that a
 * vCPU runs no guest code (KVM's PV TLB flush then skips its IPI), which only becomes true when
 * the vCPU reaches its next boundary and parks; the vCPU sets it there itself.
 */
import { ApicBus, type ApicVirtualClock } from '../../hw/apic.js';
import { hostNowNs } from '../../lib/host-clock.js';
import { HV_PARK } from '../../hw/cpu.js';
import { MACHINE_CTL, RunState, SchedState, VCPU_BLOCK, VcpuActivity, vcpuBase } from '../../hw/layout.js';
import { KVM_VCPU_PREEMPTED, PvclockWriter } from '../../hw/pvclock.js';
import { Need, SchedPolicy, type Decision } from './policy.js';
import { PARKED_ACTIVITY, setSchedState } from '../../hw/sched-word.js';
import { loadPreempted } from '../../hw/steal-time.js';

/**
 * How often the scheduler looks at the vCPUs, in ms: Node's timer floor (about 1 ms). A halted
 * vCPU's CPU goes to a waiting one, and a woken idle vCPU gets a free CPU, within one tick.
 */
export const SCHED_TICK_MS = 1;
/**
 * The slice, in ms: a runnable vCPU keeps its CPU at least this long while others wait. KVM's
 * vCPUs are host threads under CFS, whose slice is sched_latency (6 ms) / nr_running: 3 ms with
 * two runnable threads per CPU (2x overcommit). 3 ms is also three of Node's ~1 ms timer ticks,
 * so tick jitter stays a fraction of a slice, and a rotation's park and unpark (Atomics.wait /
 * notify round trips, 30-90 µs here) a few percent of it. On a busy 2-core host the main thread
 * itself may run tens of ms late at times; the policy works from measured time, so a late tick
 * only lengthens that slice.
 */
export const SCHED_SLICE_MS = 3;

export interface SchedulerStats {
  ticks: number;
  /** CPUs given to vCPUs (at boot and after). */
  grants: number;
  /** CPUs taken from vCPUs. */
  revocations: number;
  /** Revocations of runnable vCPUs (the rest were idle). */
  preemptions: number;
  /** Steal time charged per vCPU, ns. */
  stealNs: number[];
}

/** Virtual time: how the scheduler's decisions reach vCPUs parked in the turn order. */
export interface SchedulerTurns extends ApicVirtualClock {
  /** vCPU `cpu` was granted a physical CPU: schedule it in the turn order now. */
  unpark(cpu: number): void;
}

export class OvercommitScheduler {
  private readonly policy: SchedPolicy;
  private readonly bus: ApicBus;
  private readonly steal: PvclockWriter;
  private readonly needs: Need[];
  private timer: NodeJS.Timeout | undefined;
  private lastTickNs = 0;
  private released = false;
  readonly stats: SchedulerStats;

  constructor(
    private readonly words: Int32Array,
    readonly cpus: number,
    readonly pcpus: number,
    readonly sliceMs = SCHED_SLICE_MS,
    readonly tickMs = SCHED_TICK_MS,
    private readonly turns: SchedulerTurns | null = null,
  ) {
    this.policy = new SchedPolicy(cpus, pcpus, sliceMs * 1e6);
    this.bus = new ApicBus(words, cpus);
    // The timekeeper's clock for the kicks' bus: posts carry its time, rings wake at it.
    this.bus.vclock = turns;
    // A second writer of the steal-time records is safe: both live on the main thread, whose
    // code never interleaves, and the clock's writer never touches steal time.
    this.steal = new PvclockWriter(words, hostNowNs());
    this.needs = new Array<Need>(cpus).fill(Need.Runnable);
    this.stats = { ticks: 0, grants: 0, revocations: 0, preemptions: 0, stealNs: new Array<number>(cpus).fill(0) };
  }

  /** Give the first P vCPUs the CPUs, park the rest at their first boundary, start ticking. */
  start(): void {
    this.begin(hostNowNs());
    this.timer = setInterval(() => this.tick(), this.tickMs);
  }

  /**
   * The first decision alone, at `nowNs`, before any vCPU runs: start() in host time; in virtual
   * time the timekeeper's turns make the ticks.
   */
  begin(nowNs: number): void {
    this.lastTickNs = nowNs;
    this.apply(this.policy.initial(nowNs));
  }

  /** Stop ticking and let every vCPU run (parked ones wake), so the machine can wind down. */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.releaseAll();
  }

  /** Does `cpu` hold a physical CPU now? */
  holdsCpu(cpu: number): boolean {
    return this.policy.holdsCpu(cpu);
  }

  /** One scheduling decision (the timer calls this; tests may call it directly). */
  tick(nowNs = hostNowNs()): void {
    if (this.released) return;
    // ORDERING: pairs with the Atomics.store of Shutdown or Aborted by the vCPU that ended the
    // run; parked vCPUs also watch runState themselves, so a late look here costs only time.
    const state = Atomics.load(this.words, MACHINE_CTL.runState);
    if (state === RunState.Shutdown || state === RunState.Aborted) {
      // Parked vCPUs must see the end of the machine and leave their loops.
      this.releaseAll();
      return;
    }
    this.stats.ticks++;
    // Whole ns, as the steal-time record keeps them.
    const elapsed = Math.max(0, Math.round(nowNs - this.lastTickNs));
    this.lastTickNs = nowNs;
    for (let c = 0; c < this.cpus; c++) {
      const need = this.observe(c);
      this.needs[c] = need;
      // Steal: runnable and parked (not merely told to park: until it parks it still runs).
      if (need === Need.Runnable && !this.policy.holdsCpu(c) && this.activity(c) === PARKED_ACTIVITY && elapsed > 0) {
        this.steal.addSteal(c, elapsed);
        this.stats.stealNs[c]! += elapsed;
      }
    }
    this.apply(this.policy.decide(this.needs, nowNs));
  }

  private activity(cpu: number): number {
    // Diagnostic word, written by the vCPU with Atomics.store (ActivityPublisher); no ordering.
    return Atomics.load(this.words, vcpuBase(cpu) + VCPU_BLOCK.activity);
  }

  /** What vCPU `cpu` needs now (policy.ts's Gone / Idle / Runnable). */
  private observe(cpu: number): Need {
    const activity = this.activity(cpu);
    if (activity === VcpuActivity.Finished) return Need.Gone;
    if (activity === VcpuActivity.Halted) return Need.Idle;
    if (activity === PARKED_ACTIVITY) {
      // Parked: it has work if it was preempted while runnable, or an interrupt arrived since.
      if ((loadPreempted(this.words, cpu) & KVM_VCPU_PREEMPTED) !== 0) return Need.Runnable;
      return this.bus.pendingVectors(cpu).length > 0 ? Need.Runnable : Need.Idle;
    }
    return Need.Runnable;
  }

  private apply(d: Decision): void {
    for (const c of d.revoke) {
      // ORDERING: the decision is stored before the kick; the vCPU reads schedState after it
      // takes the kick (park.ts), so it parks unless a later grant already said Running.
      setSchedState(this.words, c, SchedState.Descheduled);
      this.bus.kick(c, HV_PARK);
    }
    for (const c of d.grant) this.grant(c);
    this.stats.revocations += d.revoke.length;
    this.stats.preemptions += d.preempted.length;
    this.stats.grants += d.grant.length;
  }

  private grant(cpu: number): void {
    setSchedState(this.words, cpu, SchedState.Running);
    this.turns?.unpark(cpu);
  }

  private releaseAll(): void {
    if (this.released) return;
    this.released = true;
    for (const c of this.policy.releaseAll()) this.grant(c);
  }
}
