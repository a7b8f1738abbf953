import type { Budget, ArchiveLimits } from './limits.ts';

/**
 * What a container reader hands the walker: a regular member with its bytes, or a problem. `data`
 * is usually a view into the container's buffer, not a copy. A problem without a name concerns the
 * container itself (truncation, a limit on its member count).
 */
export type Member =
  | { readonly kind: 'file'; readonly name: string; readonly data: Buffer; readonly mode?: number }
  | {
      readonly kind: 'problem';
      readonly name?: string;
      readonly status: 'refused' | 'unparseable';
      readonly reason: string;
    };

/** What every reader needs: the limits and the decompression budget of the whole walk. */
export interface ReadContext {
  readonly limits: ArchiveLimits;
  readonly budget: Budget;
}

export const refused = (reason: string, name?: string): Member =>
  name === undefined
    ? { kind: 'problem', status: 'refused', reason }
    : { kind: 'problem', name, status: 'refused', reason };

export const unparseable = (reason: string, name?: string): Member =>
  name === undefined
    ? { kind: 'problem', status: 'unparseable', reason }
    : { kind: 'problem', name, status: 'unparseable', reason };

export const tooMany = (max: number): Member => refused(`more than maxEntries ${max} entries in one archive`);

/**
 * The member name as it goes into a location: leading './' and '/' dropped (they say nothing about
 * where the file is), trailing '/' dropped. '../' stays: we never write to disk, and it is evidence.
 */
export function normaliseName(name: string): string {
  let s = name;
  for (;;) {
    if (s.startsWith('./')) s = s.slice(2);
    else if (s.startsWith('/')) s = s.slice(1);
    else break;
  }
  while (s.endsWith('/')) s = s.slice(0, -1);
  return s === '.' ? '' : s;
}

/** Bytes [start, end) as text up to the first NUL. Names are bytes; invalid UTF-8 shows as U+FFFD. */
export function cString(buf: Uint8Array, start: number, end: number): string {
  let stop = start;
  while (stop < end && buf[stop] !== 0) stop++;
  return Buffer.from(buf.buffer, buf.byteOffset + start, stop - start).toString('utf8');
}
