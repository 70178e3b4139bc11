/**
 * The published JSON Schema of a sweep result (bench/schema/sweep.schema.json, draft 2020-12),
 * and a validator for it: merge checks every file it reads, so a truncated upload or a file from
 * another tool is refused with the first thing wrong in it, not charted. Main thread.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { InternalError } from '../../src/lib/errors.js';
import type { SweepResult } from './sweep-result.js';

/** The schema's path in the repository. */
export const SWEEP_SCHEMA_PATH = 'bench/schema/sweep.schema.json';

/**
 * The repository root: the nearest directory above this module with a package.json. The module
 * runs from bench/lib (tests, through vitest) and from dist/bench/lib (the built runner), so
 * the schema is found by walking up rather than by a fixed relative path.
 */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new InternalError(`no package.json above ${fileURLToPath(import.meta.url)}: cannot find ${SWEEP_SCHEMA_PATH}`);
    dir = up;
  }
  return dir;
}

/** The schema, parsed. */
export function sweepSchema(): object {
  return JSON.parse(readFileSync(join(repoRoot(), SWEEP_SCHEMA_PATH), 'utf8')) as object;
}

let compiled: ValidateFunction | undefined;

function validator(): ValidateFunction {
  // ajv's CommonJS default export arrives as the module object under NodeNext. Strict, except
  // strictRequired: the spec's "exactly one of seconds and ops" is a oneOf of `required` lists
  // naming properties declared beside it, which that rule would refuse.
  compiled ??= new Ajv2020.default({ allErrors: false, strict: true, strictRequired: false }).compile(sweepSchema());
  return compiled;
}

/** "rows/3/status: must be equal to constant": one line per ajv error. */
function describe(e: ErrorObject): string {
  return `${e.instancePath === '' ? '(top level)' : e.instancePath.slice(1)}: ${e.message ?? 'invalid'}`;
}

/**
 * Checks `value` against the schema: undefined when it is a sweep result, else the first
 * problem on one line.
 */
export function sweepSchemaProblem(value: unknown): string | undefined {
  const validate = validator();
  if (validate(value)) return undefined;
  const first = validate.errors?.[0];
  return first === undefined ? 'does not match the sweep schema' : describe(first);
}

/** Type guard over sweepSchemaProblem. */
export function isSweepResult(value: unknown): value is SweepResult {
  return sweepSchemaProblem(value) === undefined;
}
