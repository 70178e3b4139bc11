/**
 * The bench cases, by name: `node dist/bench/main.js NAME` runs one. A new case is a module in
 * bench/cases/ and one line here. Main thread.
 */
import type { BenchCase } from '../lib/bench-case.js';
import { ipiCase } from './ipi.js';
import { loadCase } from './load.js';
import { mergeCase } from './merge.js';
import { mipsCase } from './mips.js';
import { overcommitCase } from './overcommit.js';
import { contentionCase } from './contention.js';
import { elfCase } from './elf.js';
import { fidelityCase } from './fidelity.js';
import { programsCase } from './programs.js';
import { scalingCase } from './scaling.js';
import { shootdownCase } from './shootdown.js';
import { soakCase } from './soak.js';
import { sweepCase } from './sweep.js';
import { tlbCase } from './tlb.js';
import { virtualCase } from './virtual.js';

export const benchCases: Readonly<Record<string, BenchCase>> = Object.freeze({
  ipi: ipiCase,
  shootdown: shootdownCase,
  tlb: tlbCase,
  scaling: scalingCase,
  overcommit: overcommitCase,
  sweep: sweepCase,
  merge: mergeCase,
  load: loadCase,
  soak: soakCase,
  mips: mipsCase,
  programs: programsCase,
  elf: elfCase,
  contention: contentionCase,
  virtual: virtualCase,
  fidelity: fidelityCase,
});

export function findBenchCase(name: string): BenchCase | undefined {
  return Object.hasOwn(benchCases, name) ? benchCases[name] : undefined;
}
