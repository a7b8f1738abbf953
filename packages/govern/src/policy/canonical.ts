import { createHash } from 'node:crypto';
import { canonicalize } from '@keywarden/evidence';

/** `sha256:<64 hex>`: the digest form the evidence log uses, so ours compare equal to its fields. */
export type Digest = `sha256:${string}`;

export function sha256Digest(text: string | Uint8Array): Digest {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/** The digest of a value's RFC 8785 canonical JSON: request ids, policy-version hashes, roster snapshots. */
export function digestOf(value: unknown): Digest {
  return sha256Digest(canonicalize(value));
}

export function isDigest(s: unknown): s is Digest {
  return typeof s === 'string' && /^sha256:[0-9a-f]{64}$/.test(s);
}
