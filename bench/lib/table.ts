/**
 * Plain-text tables for benchmark output: a title, a header row and right-aligned figures
 * (the first column, a label, is left-aligned). Main thread.
 */

export interface Table {
  title: string;
  header: readonly string[];
  rows: readonly (readonly string[])[];
}

export function formatTable(t: Table): string[] {
  const widths = t.header.map((h, i) => Math.max(h.length, ...t.rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ').trimEnd();
  return [t.title, `  ${line(t.header)}`, ...t.rows.map((r) => `  ${line(r)}`)];
}

/** Host ns as µs, two decimals. */
export function usFromNs(ns: number): string {
  return (ns / 1000).toFixed(2);
}

/** A count with thousands separators, so 7-digit figures stay readable. */
export function count(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
