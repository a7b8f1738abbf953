import { createPrivateKey, createPublicKey } from 'node:crypto';
import { integerBits, Tag, toBuffer, type Tlv } from '../der.ts';
import { keyInfoFromKeyObject, viaNode } from './key-info.ts';
import { allIntegers, smallInt } from './shape.ts';
import type { KeyFinding } from './types.ts';

/** PKCS#1 (RFC 8017 A.1) RSAPublicKey and RSAPrivateKey, the bodies of 'RSA PUBLIC/PRIVATE KEY' PEM. */

/**
 * RSAPublicKey is just SEQUENCE { n, e }, the same shape as an ECDSA or DSA signature. Unless the
 * caller vouches for the content (a PEM label said so), ask for a modulus-like n and an exponent-like
 * e: random signature halves are large, a real exponent is small and odd.
 */
function plausibleRsa(der: Uint8Array, n: Tlv, e: Tlv): boolean {
  const eBits = integerBits(der, e);
  return (
    !(der[n.start]! & 0x80) &&
    !(der[e.start]! & 0x80) &&
    integerBits(der, n) >= 512 &&
    (der[n.end - 1]! & 1) === 1 &&
    (der[e.end - 1]! & 1) === 1 &&
    eBits >= 2 &&
    eBits <= 64
  );
}

export function parseRsaPublicKey(
  der: Uint8Array,
  top: Tlv,
  kids: Tlv[],
  trusted: boolean,
): KeyFinding | undefined {
  const [n, e, extra] = kids;
  if (!n || !e || extra || !allIntegers(kids) || n.start === n.end || e.start === e.end) return undefined;
  if (!trusted && !plausibleRsa(der, n, e)) return undefined;
  const body = toBuffer(der.subarray(top.hs, top.end));
  const key = viaNode('KEY_MALFORMED', 'RSAPublicKey', () =>
    createPublicKey({ key: body, format: 'der', type: 'pkcs1' }),
  );
  return {
    type: 'public-key',
    format: 'pkcs1',
    key: keyInfoFromKeyObject(key, 'KEY_MALFORMED', 'RSAPublicKey'),
  };
}

/** version (0, or 1 with otherPrimeInfos), n, e, d, p, q, dP, dQ, qInv. */
export function parseRsaPrivateKey(der: Uint8Array, top: Tlv, kids: Tlv[]): KeyFinding | undefined {
  const version = smallInt(der, kids[0]);
  const ints = kids.slice(0, 9);
  if (ints.length !== 9 || !allIntegers(ints)) return undefined;
  const multiPrime = version === 1 && kids.length === 10 && kids[9]!.tag === Tag.SEQUENCE;
  if (!(version === 0 && kids.length === 9) && !multiPrime) return undefined;
  // Private key bytes go to OpenSSL in memory and only the derived public key comes back.
  const body = toBuffer(der.subarray(top.hs, top.end));
  const priv = viaNode('KEY_MALFORMED', 'RSAPrivateKey', () =>
    createPrivateKey({ key: body, format: 'der', type: 'pkcs1' }),
  );
  return {
    type: 'private-key',
    format: 'pkcs1',
    encrypted: false,
    key: keyInfoFromKeyObject(priv, 'KEY_MALFORMED', 'RSAPrivateKey'),
  };
}
