/**
 * Output paths (--json, --trace, and the bench runner's --json), checked before a possibly long
 * run rather than after it. Main thread.
 */
import { closeSync, existsSync, mkdirSync, openSync, rmSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError } from '../lib/errors.js';

/** `--json -`: the JSON goes to stdout, and everything a person reads goes to stderr instead. */
export const STDOUT_PATH = '-';

/**
 * Fails before a possibly long run, rather than after it, when --json or --trace names a path
 * that cannot be written: the file is opened for appending (created if missing, and removed
 * again), so a missing or read-only directory, a directory, or a file the user may not write is
 * one line now rather than a lost report later.
 */
export function checkOutputPath(path: string, option = '--json'): void {
  if (path === STDOUT_PATH && option === '--json') return;
  let isDir = false;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    isDir = false; // does not exist yet: the probe below creates it
  }
  if (isDir) throw new ConfigError(option, `${JSON.stringify(path)} is a directory`);
  const existed = existsSync(path);
  try {
    closeSync(openSync(path, 'a'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' && !existsSync(dirname(path))
      ? `directory ${JSON.stringify(dirname(path))} does not exist`
      : `cannot write ${JSON.stringify(path)} (${code ?? String(err)})`;
    throw new ConfigError(option, why);
  }
  if (!existed) rmSync(path, { force: true });
}

/**
 * mkdir -p, one level at a time. Node 20's mkdirSync(dir, { recursive: true }) spins for ever
 * where a parent refuses new entries with ENOENT (under /proc, say); this fails with that error.
 */
export function makeDirs(dir: string): void {
  const missing: string[] = [];
  for (let d = resolve(dir); !existsSync(d); d = dirname(d)) {
    missing.push(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing.reverse()) mkdirSync(d);
}
