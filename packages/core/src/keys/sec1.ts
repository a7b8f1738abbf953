import { createPrivateKey } from 'node:crypto';
import { children, readOne, Tag, toBuffer, type Tlv } from '../der.ts';
import { CoreError, malformed } from '../error.ts';
import { objectIdentifier, sequence } from './der-write.ts';
import { keyInfoFromKeyObject, keyInfoFromSpki, viaNode } from './key-info.ts';
import { smallInt } from './shape.ts';
import type { KeyFinding } from './types.ts';

/** SEC1 (RFC 5915) ECPrivateKey: the 'EC PRIVATE KEY' body, also nested inside PKCS#8 for EC keys. */

export const EC_PUBLIC_KEY = '1.2.840.10045.2.1';

interface Sec1Parts {
  /** [0] parameters: the named-curve OID (or explicit parameters). */
  readonly params?: Tlv;
  /** The BIT STRING inside [1] publicKey. */
  readonly publicKey?: Tlv;
}

/** undefined when `kids` are not { 1, OCTET STRING, [0]?, [1]? }. Reads tags only, never the scalar. */
export function sec1Parts(der: Uint8Array, kids: Tlv[]): Sec1Parts | undefined {
  const [verT, privT, ...rest] = kids;
  if (smallInt(der, verT) !== 1 || privT?.tag !== Tag.OCTET_STRING) return undefined;
  let i = 0;
  const paramsT = rest[i]?.tag === 0xa0 ? rest[i++] : undefined;
  const pubT = rest[i]?.tag === 0xa1 ? rest[i++] : undefined;
  if (i !== rest.length) return malformed(`unexpected element in ECPrivateKey at offset ${rest[i]!.hs}`);
  const params = paramsT && children(der, paramsT)[0];
  const publicKey = pubT && children(der, pubT)[0];
  if (publicKey && publicKey.tag !== Tag.BIT_STRING) malformed(`ECPrivateKey publicKey is not a BIT STRING`);
  return { ...(params && { params }), ...(publicKey && { publicKey }) };
}

/** The SPKI of the public key a SEC1 structure carries, under the given AlgorithmIdentifier bytes. */
export function sec1EmbeddedSpki(
  der: Uint8Array,
  parts: Sec1Parts,
  algorithmId?: Uint8Array,
): Buffer | undefined {
  if (!parts.publicKey) return undefined;
  const alg =
    algorithmId ??
    (parts.params &&
      sequence(objectIdentifier(EC_PUBLIC_KEY), der.subarray(parts.params.hs, parts.params.end)));
  return alg && sequence(alg, der.subarray(parts.publicKey.hs, parts.publicKey.end));
}

export function parseEcPrivateKey(der: Uint8Array, top: Tlv, kids: Tlv[]): KeyFinding | undefined {
  const parts = sec1Parts(der, kids);
  if (!parts) return undefined;
  const body = toBuffer(der.subarray(top.hs, top.end));
  const found = { type: 'private-key', format: 'sec1', encrypted: false } as const;
  try {
    const priv = viaNode('KEY_MALFORMED', 'ECPrivateKey', () =>
      createPrivateKey({ key: body, format: 'der', type: 'sec1' }),
    );
    return { ...found, key: keyInfoFromKeyObject(priv, 'KEY_MALFORMED', 'ECPrivateKey') };
  } catch (e) {
    // A curve OpenSSL lacks still has a public key we can identify, when the file carries one.
    const spki = sec1EmbeddedSpki(der, parts);
    if (!(e instanceof CoreError) || !spki) throw e;
    return { ...found, key: keyInfoFromSpki(spki) };
  }
}

/** The EC public key inside a PKCS#8 privateKey OCTET STRING, as SPKI under the PKCS#8 algorithm. */
export function pkcs8EcEmbeddedSpki(
  der: Uint8Array,
  octets: Tlv,
  algorithmId: Uint8Array,
): Buffer | undefined {
  const inner = readOne(der, octets.start, octets.end);
  if (inner.tag !== Tag.SEQUENCE) return undefined;
  const parts = sec1Parts(der, children(der, inner, 8));
  return parts && sec1EmbeddedSpki(der, parts, algorithmId);
}
