/**
 * Which pvemu this is: the package version, and the git commit (with a note of uncommitted
 * changes) when it runs from a checkout. Read once, on first use; any thread. Reports carry it so
 * a figure can be traced to the code that produced it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface PvemuVersion {
  /** package.json's version. */
  version: string;
  /** The checkout's HEAD commit, when pvemu runs from a git checkout with git installed. */
  commit?: string;
  /** The checkout had uncommitted changes to tracked files. */
  dirty?: boolean;
}

/**
 * The package's root: this file is src/lib/version.ts (tests run it there) and is built to
 * dist/src/lib/version.js; the first of the two with a package.json.
 */
function packageRoot(): string {
  const candidates = ['../../../', '../../'].map((up) => fileURLToPath(new URL(up, import.meta.url)));
  return candidates.find((dir) => existsSync(`${dir}package.json`)) ?? candidates[0]!;
}

/** One git query, or undefined when git or the checkout is not there. */
function git(root: string, args: string[]): string | undefined {
  try {
    return execFileSync('git', ['-C', root, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).trim();
  } catch {
    return undefined;
  }
}

let cached: PvemuVersion | undefined;

export function pvemuVersion(): PvemuVersion {
  if (cached !== undefined) return cached;
  const root = packageRoot();
  let version = 'unknown';
  try {
    const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { version?: unknown };
    if (typeof pkg.version === 'string') version = pkg.version;
  } catch {
    // A package without its package.json: say "unknown" rather than fail a run over it.
  }
  const result: PvemuVersion = { version };
  if (existsSync(`${root}.git`)) {
    const commit = git(root, ['rev-parse', 'HEAD']);
    if (commit !== undefined && /^[0-9a-f]{40}$/.test(commit)) {
      result.commit = commit;
      result.dirty = (git(root, ['status', '--porcelain', '--untracked-files=no']) ?? '') !== '';
    }
  }
  cached = Object.freeze(result);
  return cached;
}

/** The version and commit: "0.1.0 (commit 929244c1a2b3, with uncommitted changes)". */
export function versionText(v: PvemuVersion = pvemuVersion()): string {
  if (v.commit === undefined) return v.version;
  return `${v.version} (commit ${v.commit.slice(0, 12)}${v.dirty === true ? ', with uncommitted changes' : ''})`;
}

/** One line: "pvemu 0.1.0 (commit 929244c1a2b3, with uncommitted changes)". */
export function versionLine(v: PvemuVersion = pvemuVersion()): string {
  return `pvemu ${versionText(v)}`;
}
