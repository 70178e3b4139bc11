/**
 * Performance targets and their verdicts. A case states its target in code, measures, and
 * reports MET or MISSED as measured — a miss is a finding, not a failure: the process still
 * exits 0. A figure that could not be measured (NaN) is a miss. Main thread.
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

export function formatVerdict(v: Verdict): string {
  const unit = v.unit === '' ? '' : ` ${v.unit}`;
  const measured = Number.isFinite(v.measured) ? v.measured.toFixed(2) : 'not measured';
  return `target  ${v.what} ${SYMBOL[v.op]} ${v.limit}${unit}: measured ${measured}${Number.isFinite(v.measured) ? unit : ''} -> ${v.met ? 'MET' : 'MISSED'}`;
}
