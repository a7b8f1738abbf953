import { hash } from 'node:crypto';
import {
  children,
  integerBits,
  readBitString,
  readOid,
  readSmallInt,
  sameBytes,
  seq,
  Tag,
  type Tlv,
} from './der.ts';
import { malformed } from './error.ts';
import { EC_CURVES, HASH_ALGORITHMS, KEY_ALGORITHMS, SIGNATURE_ALGORITHMS } from './oid.ts';

export interface PssParams {
  readonly hash: string;
  readonly mgf: string;
  readonly mgfHash: string;
  readonly saltLength: number;
  readonly trailerField: number;
}

export interface SignatureAlgorithm {
  readonly oid: string;
  /** openssl-style name, or the OID when unknown. */
  readonly name: string;
  /** Only for RSASSA-PSS; RFC 4055 defaults filled in where parameters are absent. */
  readonly pss?: PssParams;
}

export interface PublicKeyInfo {
  /** RSA, RSA-PSS, EC, Ed25519, Ed448, ML-DSA-65, ..., or the OID when unknown. */
  readonly algorithm: string;
  readonly oid: string;
  /** Modulus bits for RSA/DSA, curve size for EC, nominal size for Edwards curves. */
  readonly size?: number;
  readonly curve?: string;
  /** Key identity: lowercase hex SHA-256 of the SubjectPublicKeyInfo DER. */
  readonly keyId: string;
  readonly rsaExponent?: number;
}

export function parseAlgorithmIdentifier(buf: Uint8Array, t: Tlv | undefined): { oid: string; params?: Tlv } {
  const [oidT, params, extra] = seq(buf, t, 'AlgorithmIdentifier');
  if (!oidT || extra) malformed(`bad AlgorithmIdentifier at offset ${t?.hs}`);
  const oid = readOid(buf, oidT);
  return params && params.tag !== Tag.NULL ? { oid, params } : { oid };
}

const PSS_DEFAULT: PssParams = {
  hash: 'sha1',
  mgf: 'mgf1',
  mgfHash: 'sha1',
  saltLength: 20,
  trailerField: 1,
};

export function parsePssParams(buf: Uint8Array, params: Tlv | undefined): PssParams {
  if (!params) return PSS_DEFAULT;
  let { hash: h, mgf, mgfHash, saltLength, trailerField } = PSS_DEFAULT;
  for (const f of seq(buf, params, 'RSASSA-PSS-params')) {
    const [inner] = children(buf, f);
    switch (f.tag) {
      case 0xa0:
        h = hashName(parseAlgorithmIdentifier(buf, inner).oid);
        break;
      case 0xa1: {
        const m = parseAlgorithmIdentifier(buf, inner);
        mgf = m.oid === '1.2.840.113549.1.1.8' ? 'mgf1' : m.oid;
        if (m.params) mgfHash = hashName(parseAlgorithmIdentifier(buf, m.params).oid);
        break;
      }
      case 0xa2:
        if (!inner) return malformed(`empty saltLength at offset ${f.hs}`);
        saltLength = readSmallInt(buf, inner);
        break;
      case 0xa3:
        if (!inner) return malformed(`empty trailerField at offset ${f.hs}`);
        trailerField = readSmallInt(buf, inner);
        break;
      default:
        malformed(`unexpected field in RSASSA-PSS-params at offset ${f.hs}`);
    }
  }
  return { hash: h, mgf, mgfHash, saltLength, trailerField };
}

function hashName(oid: string): string {
  return HASH_ALGORITHMS[oid] ?? oid;
}

// Every certificate names its signature algorithm twice and an estate uses a handful, so records are
// kept by their AlgorithmIdentifier bytes in a direct-mapped table (slot from a hash of the octets,
// confirmed by comparing every one), deep-frozen because one record is then shared by every
// certificate with those bytes. Only successful parses are kept.
const SIG_SLOTS = 64;
const sigBytes: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(SIG_SLOTS).fill(undefined);
const sigValues: (SignatureAlgorithm | undefined)[] = new Array<SignatureAlgorithm | undefined>(
  SIG_SLOTS,
).fill(undefined);

/** AlgorithmIdentifier of a signature; the result may be shared and is frozen (see sigValues). */
export function parseSignatureAlgorithm(buf: Uint8Array, t: Tlv | undefined): SignatureAlgorithm {
  if (t === undefined || t.tag !== Tag.SEQUENCE || t.end - t.hs > 256)
    return parseSignatureAlgorithmChecked(buf, t);
  const s = t.hs;
  const e = t.end;
  let h = e - s;
  for (let i = s; i < e; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
  const slot = (h ^ (h >>> 15)) & (SIG_SLOTS - 1);
  const known = sigBytes[slot];
  if (known !== undefined && sameBytes(known, buf, s, e)) return sigValues[slot]!;
  const alg = parseSignatureAlgorithmChecked(buf, t);
  if (alg.pss) Object.freeze(alg.pss);
  sigBytes[slot] = new Uint8Array(buf.subarray(s, e)); // a copy: the input may be reused
  sigValues[slot] = Object.freeze(alg);
  return alg;
}

function parseSignatureAlgorithmChecked(buf: Uint8Array, t: Tlv | undefined): SignatureAlgorithm {
  const { oid, params } = parseAlgorithmIdentifier(buf, t);
  const name = SIGNATURE_ALGORITHMS[oid] ?? oid;
  if (oid === '1.2.840.113549.1.1.10') return { oid, name, pss: parsePssParams(buf, params) };
  return { oid, name };
}

/** SubjectPublicKeyInfo: algorithm, size or curve, and the key identity. */
export function parseSpki(buf: Uint8Array, t: Tlv | undefined): PublicKeyInfo {
  const [algT, keyT, extra] = seq(buf, t, 'SubjectPublicKeyInfo');
  if (!algT || !keyT || extra) malformed(`bad SubjectPublicKeyInfo at offset ${t?.hs}`);
  const { oid, params } = parseAlgorithmIdentifier(buf, algT);
  const bits = readBitString(buf, keyT);
  const keyId = hash('sha256', toView(buf, t!.hs, t!.end), 'hex');
  const known = KEY_ALGORITHMS[oid];
  const algorithm = known?.name ?? oid;
  if (oid === '1.2.840.113549.1.1.1' || oid === '1.2.840.113549.1.1.10') {
    const [n, e] = seq(buf, readOneAt(buf, bits.start, bits.end), 'RSAPublicKey');
    if (!n || !e || n.tag !== Tag.INTEGER || e.tag !== Tag.INTEGER)
      malformed(`bad RSAPublicKey at offset ${keyT.hs}`);
    const exp = e.end - e.start <= 6 ? readSmallInt(buf, e) : undefined;
    return exp === undefined
      ? { algorithm, oid, size: integerBits(buf, n), keyId }
      : { algorithm, oid, size: integerBits(buf, n), keyId, rsaExponent: exp };
  }
  if (oid === '1.2.840.10045.2.1') {
    if (params?.tag === Tag.OID) {
      const curveOid = readOid(buf, params);
      const c = EC_CURVES[curveOid];
      return c
        ? { algorithm, oid, size: c.bits, curve: c.name, keyId }
        : { algorithm, oid, curve: curveOid, keyId };
    }
    // Explicit curve parameters: size from the point length (uncompressed 0x04 || X || Y).
    return { algorithm, oid, size: ((bits.end - bits.start - 1) / 2) * 8, curve: 'explicit', keyId };
  }
  if (oid === '1.2.840.10040.4.1' && params) {
    const [p] = seq(buf, params, 'Dss-Parms');
    if (p) return { algorithm, oid, size: integerBits(buf, p), keyId };
  }
  return known?.bits ? { algorithm, oid, size: known.bits, keyId } : { algorithm, oid, keyId };
}

function readOneAt(buf: Uint8Array, start: number, end: number): Tlv {
  const [only, extra] = children(buf, { tag: 0x30, hs: start, start, end });
  if (!only || extra) malformed(`expected exactly one element at offset ${start}`);
  return only;
}

export function toView(buf: Uint8Array, start: number, end: number): Uint8Array {
  return buf.subarray(start, end);
}
