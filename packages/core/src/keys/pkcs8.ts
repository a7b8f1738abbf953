import { createPrivateKey } from 'node:crypto';
import { parseAlgorithmIdentifier } from '../algorithm.ts';
import { readOid, Tag, toBuffer, type Tlv } from '../der.ts';
import { CoreError, malformed } from '../error.ts';
import type { KeyInfo } from '../observation.ts';
import { EC_CURVES, KEY_ALGORITHMS } from '../oid.ts';
import { sequence, tlv } from './der-write.ts';
import { keyInfoFromKeyObject, keyInfoFromSpki, viaNode } from './key-info.ts';
import { describePbe, isPbeScheme } from './pbe.ts';
import { EC_PUBLIC_KEY, pkcs8EcEmbeddedSpki } from './sec1.ts';
import { smallInt } from './shape.ts';
import type { KeyFinding } from './types.ts';

/** PKCS#8: PrivateKeyInfo / OneAsymmetricKey (RFC 5208, RFC 5958) and EncryptedPrivateKeyInfo. */

/**
 * Algorithms node:crypto (OpenSSL 3) imports from PKCS#8. For these a failed import means a broken
 * key; for anything else (ML-DSA, SLH-DSA, ML-KEM on Node 20, unknown OIDs) it only means "not
 * supported here", and we still report the algorithm.
 */
const NODE_IMPORTS = new Set([
  '1.2.840.113549.1.1.1',
  '1.2.840.113549.1.1.10',
  EC_PUBLIC_KEY,
  '1.2.840.10040.4.1',
  '1.3.101.110',
  '1.3.101.111',
  '1.3.101.112',
  '1.3.101.113',
]);

/** What the AlgorithmIdentifier alone tells us when the public key cannot be had. */
function keyInfoWithoutId(der: Uint8Array, oid: string, params: Tlv | undefined): KeyInfo {
  const known = KEY_ALGORITHMS[oid];
  const algorithm = known?.name ?? oid;
  if (oid === EC_PUBLIC_KEY && params?.tag === Tag.OID) {
    const curveOid = readOid(der, params);
    const curve = EC_CURVES[curveOid];
    return curve ? { algorithm, size: curve.bits, curve: curve.name } : { algorithm, curve: curveOid };
  }
  return known?.bits ? { algorithm, size: known.bits } : { algorithm };
}

export function parsePrivateKeyInfo(der: Uint8Array, top: Tlv, kids: Tlv[]): KeyFinding | undefined {
  const [verT, algT, keyT, ...rest] = kids;
  const version = smallInt(der, verT);
  if (version === undefined || version > 1 || algT?.tag !== Tag.SEQUENCE || keyT?.tag !== Tag.OCTET_STRING)
    return undefined;
  let i = 0;
  if (rest[i]?.tag === 0xa0) i++; // attributes: nothing an inventory needs
  const pubT = rest[i]?.tag === 0x81 ? rest[i++] : undefined;
  if (i !== rest.length) return malformed(`unexpected element in PrivateKeyInfo at offset ${rest[i]!.hs}`);
  const { oid, params } = parseAlgorithmIdentifier(der, algT);
  const algorithmId = der.subarray(algT.hs, algT.end);
  const found = { type: 'private-key', format: 'pkcs8', encrypted: false } as const;

  // v2 carries the public key ([1] IMPLICIT BIT STRING): SPKI is that key under the same algorithm.
  // This is the only way to identify post-quantum keys while node:crypto cannot derive them.
  if (pubT)
    return {
      ...found,
      key: keyInfoFromSpki(sequence(algorithmId, tlv(Tag.BIT_STRING, der.subarray(pubT.start, pubT.end)))),
    };

  const body = toBuffer(der.subarray(top.hs, top.end));
  try {
    const priv = viaNode('KEY_MALFORMED', 'PrivateKeyInfo', () =>
      createPrivateKey({ key: body, format: 'der', type: 'pkcs8' }),
    );
    return { ...found, key: keyInfoFromKeyObject(priv, 'KEY_MALFORMED', 'PrivateKeyInfo') };
  } catch (e) {
    if (!(e instanceof CoreError)) throw e;
    if (!NODE_IMPORTS.has(oid)) return { ...found, key: keyInfoWithoutId(der, oid, params) };
    // An EC curve OpenSSL lacks: the nested ECPrivateKey may still hold the public point.
    const spki = oid === EC_PUBLIC_KEY ? pkcs8EcEmbeddedSpki(der, keyT, algorithmId) : undefined;
    if (!spki) throw e;
    return { ...found, key: keyInfoFromSpki(spki) };
  }
}

/**
 * EncryptedPrivateKeyInfo: SEQUENCE { AlgorithmIdentifier, OCTET STRING }. DigestInfo has the same
 * shape, so when sniffing (`anyScheme` false) only known password-based schemes count.
 */
export function parseEncryptedPrivateKeyInfo(
  der: Uint8Array,
  kids: Tlv[],
  anyScheme: boolean,
): KeyFinding | undefined {
  const [algT, dataT, extra] = kids;
  if (algT?.tag !== Tag.SEQUENCE || dataT?.tag !== Tag.OCTET_STRING || extra) return undefined;
  if (!anyScheme) {
    let oid: string;
    try {
      oid = parseAlgorithmIdentifier(der, algT).oid;
    } catch (e) {
      if (e instanceof CoreError) return undefined;
      throw e;
    }
    if (!isPbeScheme(oid)) return undefined;
  }
  return {
    type: 'private-key',
    format: 'encrypted-pkcs8',
    encrypted: true,
    cipher: describePbe(der, algT),
    // Algorithm and key are inside the ciphertext; nothing else can be said without the passphrase.
    key: { algorithm: 'unknown' },
  };
}
