import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { EC_CURVES, parseSpki, readOid, readOne } from '@keywarden/core';
import { GovernError } from '../error.ts';
import type { HsmObjectAttributes } from './hsm.ts';
import { CKK } from './pkcs11-constants.ts';

/**
 * The key identity of a PKCS#11 key: SHA-256 of its SubjectPublicKeyInfo DER, the same identity
 * core gives a key found in a certificate or a PEM file. The SPKI comes from CKA_PUBLIC_KEY_INFO when
 * the token fills it, else it is assembled from the public attributes through a JWK and re-exported by
 * OpenSSL, so the bytes match what every other path in Keywarden hashes.
 */

const MAX_MODULUS = 2048; // 16384-bit RSA, the largest SoftHSM and most HSMs allow
const MAX_EXPONENT = 16;
const MAX_EC_PARAMS = 128;
const MAX_EC_POINT = 256;
const MAX_SPKI = 16 * 1024;

/** Curves a JWK can carry, by the OID in CKA_EC_PARAMS. */
const JWK_CURVES: Record<string, string> = {
  '1.2.840.10045.3.1.7': 'P-256',
  '1.3.132.0.34': 'P-384',
  '1.3.132.0.35': 'P-521',
  '1.3.132.0.10': 'secp256k1',
};

const EDWARDS: Record<string, { crv: string; bytes: number }> = {
  '1.3.101.112': { crv: 'Ed25519', bytes: 32 },
  '1.3.101.113': { crv: 'Ed448', bytes: 57 },
  // PKCS#11 3.0 also allows the curve's name as a PrintableString; SoftHSM2 writes it that way.
  edwards25519: { crv: 'Ed25519', bytes: 32 },
  edwards448: { crv: 'Ed448', bytes: 57 },
};

function bad(message: string): never {
  throw new GovernError('HSM_OPERATION', message);
}

/** core's KeyInfo with the identity always present: every HSM key we describe has an SPKI. */
export interface KeyIdentity {
  readonly keyId: string;
  readonly algorithm: string;
  readonly size?: number;
  readonly curve?: string;
}

export interface PublicKeyOfObject {
  readonly spki: Buffer;
  readonly key: KeyIdentity;
}

/** SPKI and key identity of a public-key object, or of a private one that carries its public parts. */
export function publicKeyOf(o: HsmObjectAttributes): PublicKeyOfObject {
  if (o.publicKeyInfo && o.publicKeyInfo.length > 0) return fromSpki(o.publicKeyInfo);
  if (o.keyType === CKK.RSA) return fromJwk(rsaJwk(o));
  if (o.keyType === CKK.EC) return fromJwk(ecJwk(o));
  if (o.keyType === CKK.EC_EDWARDS) return fromJwk(edwardsJwk(o));
  return bad(`key type ${o.keyType ?? 'unknown'} has no public key this inventory can build`);
}

/** Whether the object carries the attributes publicKeyOf needs (a private EC key usually does not). */
export function hasPublicParts(o: HsmObjectAttributes): boolean {
  if (o.publicKeyInfo && o.publicKeyInfo.length > 0) return true;
  if (o.keyType === CKK.RSA) return !!o.modulus && !!o.publicExponent;
  return !!o.ecParams && !!o.ecPoint;
}

function fromSpki(spki: Uint8Array): PublicKeyOfObject {
  if (spki.length > MAX_SPKI) bad(`CKA_PUBLIC_KEY_INFO of ${spki.length} bytes is over ${MAX_SPKI}`);
  const key = viaNode('CKA_PUBLIC_KEY_INFO', () =>
    createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }),
  );
  return identify(key.export({ type: 'spki', format: 'der' }));
}

function fromJwk(jwk: JsonWebKey): PublicKeyOfObject {
  const key = viaNode('public key attributes', () => createPublicKey({ key: jwk, format: 'jwk' }));
  return identify(key.export({ type: 'spki', format: 'der' }));
}

function identify(spki: Buffer): PublicKeyOfObject {
  const p = parseSpki(spki, readOne(spki));
  const key: KeyIdentity = {
    keyId: p.keyId,
    algorithm: p.algorithm,
    ...(p.size !== undefined && { size: p.size }),
    ...(p.curve !== undefined && { curve: p.curve }),
  };
  return { spki, key };
}

function viaNode<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    // Keep node's error code only: its message could quote attribute bytes.
    const code = (e as { code?: unknown }).code;
    return bad(`${what} rejected by node:crypto (${typeof code === 'string' ? code : 'error'})`);
  }
}

function b64u(b: Uint8Array): string {
  return Buffer.from(b).toString('base64url');
}

function unsigned(b: Uint8Array): Uint8Array {
  let s = 0;
  while (s < b.length - 1 && b[s] === 0) s++;
  return b.subarray(s);
}

function rsaJwk(o: HsmObjectAttributes): JsonWebKey {
  const n = o.modulus;
  const e = o.publicExponent;
  if (!n || !e) return bad('RSA key without CKA_MODULUS and CKA_PUBLIC_EXPONENT');
  if (n.length > MAX_MODULUS) bad(`CKA_MODULUS of ${n.length} bytes is over ${MAX_MODULUS}`);
  if (e.length > MAX_EXPONENT) bad(`CKA_PUBLIC_EXPONENT of ${e.length} bytes is over ${MAX_EXPONENT}`);
  return { kty: 'RSA', n: b64u(unsigned(n)), e: b64u(unsigned(e)) };
}

/** The curve named by CKA_EC_PARAMS: an OID, or a PrintableString name (PKCS#11 3.0 Edwards curves). */
export function curveOf(params: Uint8Array | undefined): string {
  if (!params) return bad('EC key without CKA_EC_PARAMS');
  if (params.length > MAX_EC_PARAMS) bad(`CKA_EC_PARAMS of ${params.length} bytes is over ${MAX_EC_PARAMS}`);
  let t;
  try {
    t = readOne(params);
  } catch {
    return bad('CKA_EC_PARAMS is not DER');
  }
  if (t.end !== params.length) bad('CKA_EC_PARAMS has bytes after its value');
  if (t.tag === 0x06) return readOid(params, t);
  if (t.tag === 0x13) return Buffer.from(params.subarray(t.start, t.end)).toString('latin1');
  return bad(`CKA_EC_PARAMS with tag 0x${t.tag.toString(16)}: explicit curve parameters are not supported`);
}

/**
 * The point bytes of CKA_EC_POINT. The specification says DER OCTET STRING, but some tokens return the
 * bare point; the expected bare length tells the two apart without guessing from the first octets.
 */
export function pointOf(ecPoint: Uint8Array | undefined, bareLength: number): Uint8Array {
  if (!ecPoint) return bad('EC key without CKA_EC_POINT');
  if (ecPoint.length > MAX_EC_POINT) bad(`CKA_EC_POINT of ${ecPoint.length} bytes is over ${MAX_EC_POINT}`);
  if (ecPoint.length === bareLength) return ecPoint;
  let t;
  try {
    t = readOne(ecPoint);
  } catch {
    return bad('CKA_EC_POINT is neither a bare point nor a DER OCTET STRING');
  }
  if (t.tag !== 0x04 || t.end !== ecPoint.length || t.end - t.start !== bareLength)
    bad(`CKA_EC_POINT does not hold a ${bareLength}-byte point`);
  return ecPoint.subarray(t.start, t.end);
}

function ecJwk(o: HsmObjectAttributes): JsonWebKey {
  const oid = curveOf(o.ecParams);
  const crv = JWK_CURVES[oid];
  const curve = EC_CURVES[oid];
  if (!crv || !curve) return bad(`EC curve ${oid} is not supported for key identity`);
  const n = Math.ceil(curve.bits / 8);
  const point = pointOf(o.ecPoint, 2 * n + 1);
  if (point[0] !== 0x04) bad('CKA_EC_POINT is not an uncompressed point');
  return { kty: 'EC', crv, x: b64u(point.subarray(1, 1 + n)), y: b64u(point.subarray(1 + n)) };
}

function edwardsJwk(o: HsmObjectAttributes): JsonWebKey {
  const name = curveOf(o.ecParams);
  const c = EDWARDS[name];
  if (!c) return bad(`Edwards curve ${name} is not supported`);
  return { kty: 'OKP', crv: c.crv, x: b64u(pointOf(o.ecPoint, c.bytes)) };
}

/** Octet length of one ECDSA signature half (r or s) for the curve of CKA_EC_PARAMS. */
export function ecdsaHalfLength(params: Uint8Array | undefined): number {
  const curve = EC_CURVES[curveOf(params)];
  if (!curve) return bad('ECDSA key on a curve this package does not know');
  return Math.ceil(curve.bits / 8);
}
