import type { Tlv } from '../der.ts';
import type { CoreErrorCode } from '../error.ts';
import type { KeyInfo } from '../observation.ts';
import { bitString, integer, objectIdentifier, sequence } from './der-write.ts';
import { canonicalSpkiKeyInfo } from './key-info.ts';
import { allIntegers, smallInt } from './shape.ts';
import type { KeyFinding } from './types.ts';

/**
 * DSA keys outside PKCS#8: OpenSSL's own 'DSA PRIVATE KEY' structure and SSH's ssh-dss. Neither is a
 * format node:crypto imports, but both carry p, q, g and y, which is all an SPKI (RFC 3279 2.3.2) holds.
 */

const DSA_OID = '1.2.840.10040.4.1';

/** Arguments are INTEGER contents (or SSH mpints, which share the encoding). */
export function dsaKeyInfo(
  p: Uint8Array,
  q: Uint8Array,
  g: Uint8Array,
  y: Uint8Array,
  code: CoreErrorCode,
  what: string,
): KeyInfo {
  const spki = sequence(
    sequence(objectIdentifier(DSA_OID), sequence(integer(p), integer(q), integer(g))),
    bitString(integer(y)),
  );
  return canonicalSpkiKeyInfo(spki, code, what);
}

/** OpenSSL DSAPrivateKey: SEQUENCE { 0, p, q, g, y, x }. x is never read. */
export function parseDsaPrivateKey(der: Uint8Array, kids: Tlv[]): KeyFinding | undefined {
  if (kids.length !== 6 || !allIntegers(kids) || smallInt(der, kids[0]) !== 0) return undefined;
  const [, p, q, g, y] = kids.map((k) => der.subarray(k.start, k.end));
  return {
    type: 'private-key',
    format: 'openssl-dsa',
    encrypted: false,
    key: dsaKeyInfo(p!, q!, g!, y!, 'KEY_MALFORMED', 'DSAPrivateKey'),
  };
}
