/**
 * Every workload on the kvm backend, on real vCPU workers at 1, 2 and 4 vCPUs: it passes its
 * own self-check, and the books balance — every IPI sent (PV send-IPI hypercalls included) was
 * handled, every remote call ran.
 */
import { expect } from 'vitest';
import { describeWorkloadsOn } from '../../helpers/workload-suite.js';

describeWorkloadsOn('kvm', (_workload, report) => {
  // Nothing is preempted without --pcpus: no flush is ever deferred to a vCPU's next load.
  expect(report.counters.deferredFlushes).toBe(0);
  expect(report.counters.vmexitPreemption).toBe(0);
});
