/**
 * Fixed-layout structs over Int32Array words, for memory shared between threads. A struct is
 * declared once as an ordered list of (field, size in 32-bit words); `defineStruct` turns it into
 * named word offsets, so Atomics calls take `base + TASK.state`, never a bare number.
 * Pure and thread-agnostic.
 */

export type StructFields = Readonly<Record<string, number>>;

export type StructLayout<F extends StructFields> = { readonly [K in keyof F]: number } & {
  /** Size of the whole struct in 32-bit words. */
  readonly WORDS: number;
  readonly NAME: string;
};

/**
 * Lay out `fields` in declaration order. `alignWords` rounds the total size up (for example to
 * keep per-CPU blocks on separate 64-byte cache lines: alignWords 16).
 */
export function defineStruct<const F extends StructFields>(
  name: string,
  fields: F,
  alignWords = 1,
): StructLayout<F> {
  const out: Record<string, number | string> = {};
  let offset = 0;
  for (const [field, words] of Object.entries(fields)) {
    if (!Number.isInteger(words) || words <= 0) {
      throw new RangeError(`${name}.${field}: size must be a positive whole number of words`);
    }
    out[field] = offset;
    offset += words;
  }
  out['WORDS'] = Math.ceil(offset / alignWords) * alignWords;
  out['NAME'] = name;
  return Object.freeze(out) as unknown as StructLayout<F>;
}

/** Render a struct as a table (offset in bytes, size, field), for docs and layout tests. */
export function describeStruct<F extends StructFields>(layout: StructLayout<F>, fields: F): string {
  const rows = Object.entries(fields).map(
    ([field, words]) =>
      `  +0x${((layout[field as keyof F] as number) * 4).toString(16).padStart(4, '0')}  ${String(words * 4).padStart(5)}  ${field}`,
  );
  return [`${layout.NAME} (${layout.WORDS * 4} bytes)`, ...rows].join('\n');
}
