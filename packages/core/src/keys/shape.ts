import { Tag, type Tlv } from '../der.ts';

/**
 * Non-throwing probes for structure sniffing. A parser first asks "is this my shape?" and must answer
 * no (not throw) for someone else's structure, so sniffing can move on to the next candidate.
 */

/** A small non-negative INTEGER's value, or undefined when `t` is anything else. */
export function smallInt(der: Uint8Array, t: Tlv | undefined): number | undefined {
  if (t?.tag !== Tag.INTEGER) return undefined;
  const n = t.end - t.start;
  if (n === 0 || n > 4 || der[t.start]! & 0x80) return undefined;
  let v = 0;
  for (let i = t.start; i < t.end; i++) v = v * 256 + der[i]!;
  return v;
}

export function allIntegers(kids: readonly Tlv[]): boolean {
  return kids.every((k) => k.tag === Tag.INTEGER);
}
