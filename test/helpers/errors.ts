/** Assertion helpers for the project's error classes. */
import { expect } from 'vitest';
import { ConfigError } from '../../src/lib/errors.js';

/** Runs `parse` and returns the ConfigError it throws (failing if it throws anything else). */
export function configError(parse: () => unknown): ConfigError {
  try {
    parse();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    if (err instanceof ConfigError) return err;
  }
  throw new Error('expected a ConfigError, but parsing succeeded');
}
