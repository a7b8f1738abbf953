import { constants as bufferConstants } from 'node:buffer';

/** Bounds on one walk of one top-level file; every one, when hit, becomes a 'refused' problem. */
export interface ArchiveLimits {
  /** Archive levels one inside another, the outermost being 1; stacked compression layers count too. */
  maxDepth: number;
  /** Members read from one archive (metadata headers such as pax or GNU long names excluded). */
  maxEntries: number;
  /** Bytes produced by all decompression, at every level, for one top-level file. */
  maxTotalBytes: number;
  /** Bytes of one decompressed entry (a zip member, or a compressed stream that is not an archive). */
  maxEntryBytes: number;
  /** Decompressed bytes over compressed bytes, for each compressed stream or member. */
  maxRatio: number;
}

export const DEFAULT_LIMITS: Readonly<ArchiveLimits> = {
  maxDepth: 8,
  maxEntries: 100_000,
  maxTotalBytes: 2 * 1024 ** 3,
  maxEntryBytes: 256 * 1024 ** 2,
  maxRatio: 200,
};

export function resolveLimits(partial: Partial<ArchiveLimits> = {}): ArchiveLimits {
  const out = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof ArchiveLimits)[]) {
    const v = partial[key];
    if (v === undefined) continue;
    // A limit of zero or NaN would refuse or admit everything silently; the caller has a bug.
    const ok = key === 'maxRatio' ? Number.isFinite(v) && v >= 1 : Number.isSafeInteger(v) && v >= 1;
    if (!ok)
      throw new RangeError(
        `archive limit ${key} must be a positive ${key === 'maxRatio' ? 'number' : 'integer'}, got ${v}`,
      );
    out[key] = v;
  }
  return out;
}

/** How many bytes one decompression may produce, and how to explain going past that. */
export interface Cap {
  readonly bytes: number;
  /** Which limit set `bytes`. */
  readonly limit: keyof ArchiveLimits | 'buffer';
  /** The reason for a 'refused' problem when the output would have been larger than `bytes`. */
  readonly reason: string;
}

/**
 * Decompressed bytes spent so far for one top-level file. Every decoder gets its cap from here, so a
 * bomb is stopped by the first limit it reaches, and memory is bounded before any allocation.
 */
export class Budget {
  used = 0;
  /** Set once the total is spent: walkers stop instead of refusing every remaining member one by one. */
  exhausted = false;

  constructor(readonly limits: ArchiveLimits) {}

  /** The cap for decompressing `compressed` bytes; `entry` when the output is one entry (maxEntryBytes). */
  cap(compressed: number, entry: boolean): Cap {
    const { maxRatio, maxEntryBytes, maxTotalBytes } = this.limits;
    const remaining = Math.max(0, maxTotalBytes - this.used);
    const ratio = Math.floor(compressed * maxRatio);
    let bytes = ratio;
    let limit: Cap['limit'] = 'maxRatio';
    let reason = `decompression ratio exceeds maxRatio ${maxRatio}:1: more than ${ratio} bytes from ${compressed} compressed bytes`;
    if (entry && maxEntryBytes < bytes) {
      bytes = maxEntryBytes;
      limit = 'maxEntryBytes';
      reason = `decompressed entry exceeds maxEntryBytes ${maxEntryBytes}`;
    }
    if (remaining < bytes) {
      bytes = remaining;
      limit = 'maxTotalBytes';
      reason = `decompressed bytes of this file exceed maxTotalBytes ${maxTotalBytes} (${this.used} already used)`;
    }
    // Node 20 cannot make one Buffer larger than this, whatever the limits say.
    if (bufferConstants.MAX_LENGTH < bytes) {
      bytes = bufferConstants.MAX_LENGTH;
      limit = 'buffer';
      reason = `decompressed output exceeds the largest buffer Node can make (${bytes} bytes)`;
    }
    return { bytes, limit, reason };
  }

  /** Record bytes a decoder produced. */
  take(n: number): void {
    this.used += n;
  }

  /** Note a refusal; one for the total means nothing more can be decompressed for this file. */
  refused(cap: Cap): void {
    if (cap.limit === 'maxTotalBytes') this.exhausted = true;
  }
}
