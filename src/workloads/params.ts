/**
 * Checking a run's workload parameters against the workload's declared ones. Any thread; the
 * CLI and Machine both call it, so a library caller gets the same one-line errors.
 */
import { ConfigError } from '../lib/errors.js';
import type { Workload } from './workload.js';

export function validateParams(workload: Workload, params: Readonly<Record<string, number>>): void {
  for (const [name, value] of Object.entries(params)) {
    const spec = workload.params.find((p) => p.name === name);
    if (spec === undefined) {
      const known = workload.params.map((p) => p.name).join(', ');
      throw new ConfigError('--param', `${workload.name} has ${known === '' ? 'no parameters' : `parameters ${known}`}, got ${name}`);
    }
    if (!Number.isFinite(value) || value < spec.min || value > spec.max) {
      throw new ConfigError('--param', `${name} must be from ${spec.min} to ${spec.max}, got ${value}`);
    }
  }
}
