import { CoreError, verifySignature } from '@keywarden/core';
import { spkiOf } from './extensions.ts';
import type { CertInput } from './types.ts';

export type SignatureVerdict = boolean | 'unsupported';

/**
 * Verdicts keyed by issuer SPKI sha256 + subject sha256, so a fleet of leaves under one intermediate
 * costs one check per pair. Bounded: the oldest entry is dropped once `limit` is reached, because a
 * long-running scan must not grow without end.
 */
export class SignatureCache {
  readonly #map = new Map<string, SignatureVerdict>();
  constructor(readonly limit = 100_000) {}
  get(issuerKeyId: string, subjectSha256: string): SignatureVerdict | undefined {
    return this.#map.get(`${issuerKeyId}:${subjectSha256}`);
  }
  set(issuerKeyId: string, subjectSha256: string, v: SignatureVerdict): void {
    if (this.#map.size >= this.limit) {
      const oldest = this.#map.keys().next();
      if (!oldest.done) this.#map.delete(oldest.value);
    }
    this.#map.set(`${issuerKeyId}:${subjectSha256}`, v);
  }
  get size(): number {
    return this.#map.size;
  }
}

const spkis = new WeakMap<CertInput, Uint8Array>();

/** One bytes object per issuer, so core's imported-key cache hits across its many subjects. */
function issuerSpki(issuer: CertInput): Uint8Array {
  let s = spkis.get(issuer);
  if (!s) spkis.set(issuer, (s = spkiOf(issuer.der, issuer.cert)));
  return s;
}

/**
 * Whether `issuer`'s key made `subject`'s signature. 'unsupported' when node:crypto cannot check the
 * algorithm or load the key (ML-DSA on Node 20): the path then fails on signature.unsupported rather
 * than passing unchecked.
 */
export function certSignatureValid(
  subject: CertInput,
  issuer: CertInput,
  cache?: SignatureCache,
): SignatureVerdict {
  const keyId = issuer.cert.publicKey.keyId;
  const cached = cache?.get(keyId, subject.cert.sha256);
  if (cached !== undefined) return cached;
  let v: SignatureVerdict;
  try {
    const { tbs, signature } = subject.cert;
    v = verifySignature(
      issuerSpki(issuer),
      subject.cert.signatureAlgorithm,
      subject.der.subarray(tbs.start, tbs.end),
      subject.der.subarray(signature.start, signature.end),
    );
  } catch (err) {
    if (!(err instanceof CoreError)) throw err;
    v = 'unsupported';
  }
  cache?.set(keyId, subject.cert.sha256, v);
  return v;
}
