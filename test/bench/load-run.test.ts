import { describe, expect, it } from 'vitest';
import { ConservationError, WatchdogError } from '../../src/lib/errors.js';
import type { ConservationReport } from '../../src/machine/conservation.js';
import { errorStatus, loadChecks, reportStatus, statusWord, type LoadRunResult, type RunStatus } from '../../bench/lib/load-run.js';
import { formatCheck } from '../../bench/lib/target.js';

function conservation(overrides: Partial<ConservationReport> = {}): ConservationReport {
  const base: ConservationReport = {
    ipis: { sent: 10, handled: 10, coalesced: 0, ok: true },
    flushes: { requests: 6, acks: 6, ok: true },
    frames: { allocated: 5, freed: 4, inUse: 1, kept: 1, ok: true },
    hypervisor: [],
    ok: true,
  };
  return { ...base, ...overrides };
}

const passedCheck = { passed: true, message: 'touch: self-check passed' };

function result(status: RunStatus, backend = 'native'): LoadRunResult {
  return { spec: { backend, workload: 'touch', cpus: 64, pcpus: 2 }, status, wallSeconds: status.kind === 'skipped' ? 0 : 10 };
}

describe('reportStatus', () => {
  it('passes a report whose laws hold and whose self-check passed', () => {
    expect(reportStatus({ conservation: conservation(), selfCheck: passedCheck })).toEqual({ kind: 'passed' });
  });

  it('names a broken law with both numbers, before a failed self-check', () => {
    const broken = conservation({ ipis: { sent: 10, handled: 9, coalesced: 0, ok: false }, ok: false });
    expect(reportStatus({ conservation: broken, selfCheck: { passed: false, message: 'FAIL: x' } }))
      .toEqual({ kind: 'conservation-violated', message: 'IPIs sent 10 != handled 9 + coalesced 0' });
  });

  it('counts a report without conservation figures as violated', () => {
    expect(reportStatus({ selfCheck: passedCheck }).kind).toBe('conservation-violated');
  });

  it('fails a report whose self-check failed', () => {
    expect(reportStatus({ conservation: conservation(), selfCheck: { passed: false, message: 'FAIL: read 7 after DONTNEED' } }))
      .toEqual({ kind: 'self-check-failed', message: 'FAIL: read 7 after DONTNEED' });
  });
});

describe('errorStatus', () => {
  it('files the machine\'s ConservationError under the laws, anything else as an error', () => {
    expect(errorStatus(new ConservationError('frames leaked')).kind).toBe('conservation-violated');
    expect(errorStatus(new WatchdogError('cpu 3 stuck'))).toEqual({ kind: 'error', name: 'WatchdogError', message: 'cpu 3 stuck' });
    expect(errorStatus('odd')).toEqual({ kind: 'error', name: 'Error', message: 'odd' });
  });
});

describe('loadChecks', () => {
  it('passes all three checks when every run passed, skipped runs aside', () => {
    const checks = loadChecks([result({ kind: 'passed' }), result({ kind: 'passed' }, 'kvm'), result({ kind: 'skipped', reason: 'budget' })]);
    expect(checks.map((c) => c.passed)).toEqual([true, true, true]);
    expect(checks[0]!.detail).toBe('held on 2 of 2 runs');
  });

  it('FAILS the conservation check on one violated run and names it', () => {
    const checks = loadChecks([result({ kind: 'passed' }), result({ kind: 'conservation-violated', message: 'IPIs sent 10 != handled 9' }, 'xen')]);
    expect(checks[0]!.passed).toBe(false);
    expect(checks[0]!.detail).toBe('violated on 1 of 2 runs: xen/touch/64on2: IPIs sent 10 != handled 9');
    expect(formatCheck(checks[0]!)).toMatch(/-> FAILED$/);
    // The violated run is outside the self-check count: its figures are not trusted.
    expect(checks[1]).toMatchObject({ passed: true, detail: 'passed on 1 of 1 run' });
  });

  it('FAILS the self-check check on a failed self-check', () => {
    const checks = loadChecks([result({ kind: 'self-check-failed', message: 'FAIL: x' })]);
    expect(checks.map((c) => c.passed)).toEqual([true, false, true]);
  });

  it('FAILS the third check on a run that stopped on an error, leaving it out of the law counts', () => {
    const checks = loadChecks([result({ kind: 'passed' }), result({ kind: 'error', name: 'WatchdogError', message: 'cpu 3 stuck\nmore' })]);
    expect(checks[0]).toMatchObject({ passed: true, detail: 'held on 1 of 1 run' });
    expect(checks[2]).toMatchObject({ passed: false, detail: '1 of 2 stopped on an error: native/touch/64on2: WatchdogError: cpu 3 stuck' });
  });

  it('FAILS every check when no run finished', () => {
    expect(loadChecks([result({ kind: 'skipped', reason: 'budget' })]).map((c) => c.passed)).toEqual([false, false, false]);
    expect(loadChecks([result({ kind: 'error', name: 'InternalError', message: 'boom' })]).map((c) => c.passed)).toEqual([false, false, false]);
  });

  it('quotes at most three failures and counts the rest', () => {
    const violated = ['native', 'xen', 'vmi', 'shadow', 'kvm'].map((b) => result({ kind: 'conservation-violated', message: 'm' }, b));
    expect(loadChecks(violated)[0]!.detail).toMatch(/; and 2 more$/);
  });
});

describe('statusWord', () => {
  it('shouts failures and whispers passes', () => {
    expect(statusWord({ kind: 'passed' })).toBe('pass');
    expect(statusWord({ kind: 'conservation-violated', message: '' })).toBe('CONSERVATION VIOLATED');
    expect(statusWord({ kind: 'error', name: 'WatchdogError', message: '' })).toBe('ERROR (WatchdogError)');
  });
});
