/**
 * Performance targets and their verdicts. A case states its target in code, measures, and
 * reports MET or MISSED as measured — a miss is a finding, not a failure: the process still
 * exits 0. A figure that could not be measured (NaN) is a miss.
 *
 * Correctness checks are the other kind of verdict: an invariant that must hold (a
 * conservation law, a workload's self-check). A check that does not hold is FAILED, and a case
 * with a FAILED check exits 1. Main thread.
 */

export type Comparison = '<' | '<=' | '>=';

export interface Target {
  /** What is compared, e.g. "pvemu p50 / raw p50". */
  what: string;
  op: Comparison;
  limit: number;
  /** Unit of `limit` and of the measured figure ("" for a ratio). */
  unit: string;
}

export interface Verdict extends Target {
  measured: number;
  met: boolean;
}

export function judge(target: Target, measured: number): Verdict {
  let met: boolean;
  switch (target.op) {
    case '<': met = measured < target.limit; break;
    case '<=': met = measured <= target.limit; break;
    case '>=': met = measured >= target.limit; break;
    default: {
      const never: never = target.op;
      return never;
    }
  }
  return { ...target, measured, met: Number.isFinite(measured) && met };
}

const SYMBOL: Readonly<Record<Comparison, string>> = { '<': '<', '<=': '≤', '>=': '≥' };

/**
 * The measured figure with two decimals, or more when two would print it equal to the limit
 * while the verdict says otherwise (1.7996 MISSED against 1.8 must not read "1.80").
 */
function showMeasured(v: Verdict): string {
  let digits = 2;
  while (digits < 6 && v.measured !== v.limit && Number(v.measured.toFixed(digits)) === v.limit) digits++;
  return v.measured.toFixed(digits);
}

export function formatVerdict(v: Verdict): string {
  const unit = v.unit === '' ? '' : ` ${v.unit}`;
  const measured = Number.isFinite(v.measured) ? showMeasured(v) : 'not measured';
  return `target  ${v.what} ${SYMBOL[v.op]} ${v.limit}${unit}: measured ${measured}${Number.isFinite(v.measured) ? unit : ''} -> ${v.met ? 'MET' : 'MISSED'}`;
}

/** A correctness check: unlike a target, one that does not hold fails the case. */
export interface Check {
  /** What must hold, e.g. "conservation laws on every run". */
  what: string;
  passed: boolean;
  /** The evidence: how many runs held, or which did not and why. */
  detail: string;
}

export function formatCheck(c: Check): string {
  return `check   ${c.what}: ${c.detail} -> ${c.passed ? 'PASS' : 'FAILED'}`;
}
