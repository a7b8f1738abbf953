import { children, readOid, readOne, readSmallInt, seq, Tag, type Certificate } from '@keywarden/core';

/**
 * Path-processing extensions core keeps raw (policyMappings, policyConstraints, inhibitAnyPolicy),
 * decoded here where §6.1.4 needs them. A value that does not decode is reported, never guessed.
 */

export interface PolicyConstraints {
  readonly requireExplicitPolicy?: number;
  readonly inhibitPolicyMapping?: number;
}

const bytes = (raw: string): Uint8Array => Buffer.from(raw, 'hex');

export function rawExtension(cert: Certificate, oid: string): { raw: string; critical: boolean } | undefined {
  const e = cert.extensions.find((x) => x.oid === oid);
  return e?.raw !== undefined ? { raw: e.raw, critical: e.critical } : undefined;
}

export function policyConstraints(cert: Certificate): PolicyConstraints | undefined {
  const e = rawExtension(cert, '2.5.29.36');
  if (!e) return undefined;
  const b = bytes(e.raw);
  let requireExplicitPolicy: number | undefined;
  let inhibitPolicyMapping: number | undefined;
  for (const t of seq(b, readOne(b), 'PolicyConstraints')) {
    // [0] and [1] IMPLICIT INTEGER: the content octets are the integer's.
    const asInt = { ...t, tag: Tag.INTEGER };
    if (t.tag === 0x80) requireExplicitPolicy = readSmallInt(b, asInt);
    else if (t.tag === 0x81) inhibitPolicyMapping = readSmallInt(b, asInt);
  }
  return {
    ...(requireExplicitPolicy !== undefined && { requireExplicitPolicy }),
    ...(inhibitPolicyMapping !== undefined && { inhibitPolicyMapping }),
  };
}

export function inhibitAnyPolicy(cert: Certificate): number | undefined {
  const e = rawExtension(cert, '2.5.29.54');
  if (!e) return undefined;
  const b = bytes(e.raw);
  return readSmallInt(b, readOne(b));
}

export function policyMappings(cert: Certificate): { issuer: string; subject: string }[] | undefined {
  const e = rawExtension(cert, '2.5.29.33');
  if (!e) return undefined;
  const b = bytes(e.raw);
  return seq(b, readOne(b), 'PolicyMappings').map((m) => {
    const [i, s] = children(b, m);
    if (!i || !s) throw new Error('PolicyMapping needs two policy OIDs');
    return { issuer: readOid(b, i), subject: readOid(b, s) };
  });
}

/** The SubjectPublicKeyInfo DER inside a certificate: the seventh (or sixth, for v1) TBS element. */
export function spkiOf(der: Uint8Array, cert: Certificate): Uint8Array {
  const tbs = seq(der, readOne(der, cert.tbs.start, cert.tbs.end), 'TBSCertificate');
  const t = tbs[tbs[0]?.tag === 0xa0 ? 6 : 5];
  if (!t) throw new Error('TBSCertificate has no subjectPublicKeyInfo');
  return der.subarray(t.hs, t.end);
}
