/**
 * Checking a run's workload parameters against the workload's declared ones. Any thread; the
 * CLI and Machine both call it, so a library caller gets the same one-line errors.
 */
import { ConfigError } from '../lib/errors.js';

/** A workload's parameter (--param name=value): its range and default. */
export interface WorkloadParam {
  readonly name: string;
  readonly description: string;
  readonly default: number;
  readonly min: number;
  readonly max: number;
  /** The value may be fractional; absent: a whole number (most parameters count things). */
  readonly real?: boolean;
}

export function validateParams(workload: { readonly name: string; readonly params: readonly WorkloadParam[] }, params: Readonly<Record<string, number>>): void {
  for (const [name, value] of Object.entries(params)) {
    const spec = workload.params.find((p) => p.name === name);
    if (spec === undefined) {
      const known = workload.params.map((p) => p.name).join(', ');
      throw new ConfigError('--param', `${workload.name} has ${known === '' ? 'no parameters' : `parameters ${known}`}, got ${name}`);
    }
    const whole = spec.real !== true;
    if (!Number.isFinite(value) || value < spec.min || value > spec.max || (whole && !Number.isInteger(value))) {
      const kind = whole ? 'an integer' : 'a number';
      throw new ConfigError('--param', `${name} must be ${kind} from ${spec.min} to ${spec.max}, got ${value}`);
    }
  }
}
