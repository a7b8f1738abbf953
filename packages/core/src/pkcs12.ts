import { createHmac, hash, timingSafeEqual } from 'node:crypto';
import { parseAlgorithmIdentifier } from './algorithm.ts';
import {
  children,
  checkDepth,
  hex,
  readOid,
  readOne,
  readSmallInt,
  readString,
  seq,
  Tag,
  type Tlv,
} from './der.ts';
import { malformed } from './error.ts';
import { describePbe } from './keys/pbe.ts';
import { HASH_ALGORITHMS } from './oid.ts';

/**
 * PKCS#12 (RFC 7292) read without a password: which bags are in the clear, where every certificate
 * and key container sits in the file, and which parts are encrypted and with what. Nothing is
 * decrypted; the MAC can be checked when the caller has the password.
 */

const OID = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  encryptedData: '1.2.840.113549.1.7.6',
  friendlyName: '1.2.840.113549.1.9.20',
  localKeyId: '1.2.840.113549.1.9.21',
  x509Certificate: '1.2.840.113549.1.9.22.1',
} as const;

const BAGS: Record<string, Pkcs12Bag['kind']> = {
  '1.2.840.113549.1.12.10.1.1': 'key',
  '1.2.840.113549.1.12.10.1.2': 'shrouded-key',
  '1.2.840.113549.1.12.10.1.3': 'certificate',
  '1.2.840.113549.1.12.10.1.4': 'crl',
  '1.2.840.113549.1.12.10.1.5': 'secret',
  '1.2.840.113549.1.12.10.1.6': 'safe-contents',
};

/** Nested safeContentsBags are legal but nobody writes more than one level; deeper is hostile. */
const MAX_NESTING = 4;
const MAX_BAGS = 10_000;

export interface Pkcs12Bag {
  readonly kind: 'key' | 'shrouded-key' | 'certificate' | 'crl' | 'secret' | 'safe-contents' | 'other';
  readonly bagId: string;
  /** Where the SafeBag begins in the input. */
  readonly offset: number;
  /**
   * The bag's payload: a PrivateKeyInfo (key), an EncryptedPrivateKeyInfo (shrouded-key), the
   * certificate or CRL DER (certificate, crl), the whole bagValue otherwise.
   */
  readonly value: { readonly start: number; readonly end: number };
  /** certBag's certId: 'x509' for X.509, the OID otherwise. */
  readonly certType?: string;
  /** The shrouded key's protection (e.g. 'PBES2/aes-256-cbc', 'pbeWithSHAAnd3-KeyTripleDES-CBC'). */
  readonly cipher?: string;
  readonly friendlyName?: string;
  /** localKeyId, hex: pairs a key bag with its certificate bag. */
  readonly localKeyId?: string;
}

/** An encryptedData ContentInfo of the AuthenticatedSafe: bags we cannot see without the password. */
export interface Pkcs12Encrypted {
  readonly offset: number;
  readonly algorithm: string;
  /** Octets of ciphertext. */
  readonly size: number;
}

export interface Pkcs12Mac {
  readonly offset: number;
  /** Digest of the HMAC ('sha256', 'sha1', ...) or the OID when unknown. */
  readonly algorithm: string;
  readonly iterations: number;
  readonly salt: { readonly start: number; readonly end: number };
  readonly digest: { readonly start: number; readonly end: number };
}

export interface Pkcs12 {
  readonly version: number;
  /** password = MAC over the AuthenticatedSafe; public-key = signedData (not read further); none. */
  readonly integrity: 'password' | 'public-key' | 'none';
  readonly mac?: Pkcs12Mac;
  /** The AuthenticatedSafe octets the MAC covers. */
  readonly authSafe: { readonly start: number; readonly end: number };
  readonly bags: readonly Pkcs12Bag[];
  readonly encrypted: readonly Pkcs12Encrypted[];
}

/** OID 1.2.840.113549.1.7 (PKCS#7 content types), with its tag and length octets. */
const PKCS7_ARC = [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07];

/** Header length of the DER element at `pos`, or 0 when the length form is not one we accept. */
function headerLength(buf: Uint8Array, pos: number): number {
  const l = buf[pos + 1];
  if (l === undefined) return 0;
  return l < 0x80 ? 2 : l >= 0x81 && l <= 0x84 ? 2 + (l & 0x7f) : 0;
}

/**
 * Cheap sniff: SEQUENCE { INTEGER 3, SEQUENCE { pkcs7 content type OID ... } }. Lengths are not
 * checked against the buffer, so a truncated file is still recognised and then refused by
 * parsePkcs12 with the reason.
 */
export function isPkcs12(buf: Uint8Array): boolean {
  if (buf.length < 20 || buf[0] !== Tag.SEQUENCE) return false;
  const h = headerLength(buf, 0);
  if (h === 0 || buf[h] !== 0x02 || buf[h + 1] !== 0x01 || buf[h + 2] !== 0x03 || buf[h + 3] !== 0x30)
    return false;
  const a = h + 3;
  const ah = headerLength(buf, a);
  if (ah === 0 || a + ah + PKCS7_ARC.length > buf.length) return false;
  for (let i = 0; i < PKCS7_ARC.length; i++) if (buf[a + ah + i] !== PKCS7_ARC[i]) return false;
  return true;
}

function octets(t: Tlv | undefined, what: string): Tlv {
  if (t?.tag === 0x24) malformed(`${what} at offset ${t.hs} is a constructed (BER) OCTET STRING`);
  if (!t || t.tag !== Tag.OCTET_STRING) malformed(`${what}: expected OCTET STRING at offset ${t?.hs}`);
  return t;
}

/** The single element inside an [0] EXPLICIT wrapper. */
function explicit0(buf: Uint8Array, t: Tlv | undefined, what: string): Tlv {
  if (!t || t.tag !== 0xa0) malformed(`${what}: expected [0] at offset ${t?.hs}`);
  const [inner, extra] = children(buf, t, 2);
  if (!inner || extra) malformed(`${what}: [0] at offset ${t.hs} must hold exactly one element`);
  return inner;
}

export function parsePkcs12(buf: Uint8Array, start = 0, end = buf.length): Pkcs12 {
  const top = readOne(buf, start, end);
  checkDepth(buf, top);
  const [verT, authT, macT, extra] = seq(buf, top, 'PFX');
  if (!verT || !authT || extra) malformed(`PFX at offset ${start} must have 2 or 3 elements`);
  const version = readSmallInt(buf, verT);
  if (version !== 3) malformed(`PFX version ${version} at offset ${verT.hs}, expected 3`);
  const [ctT, ctValue, ctExtra] = seq(buf, authT, 'PFX authSafe');
  if (!ctT || ctExtra) malformed(`bad authSafe ContentInfo at offset ${authT.hs}`);
  const contentType = readOid(buf, ctT);
  if (contentType === OID.signedData)
    malformed(`authSafe at offset ${authT.hs} is signedData (public-key integrity mode), not read`);
  if (contentType !== OID.data) malformed(`authSafe content type ${contentType} at offset ${ctT.hs}`);
  const authOctets = octets(explicit0(buf, ctValue, 'authSafe'), 'authSafe content');
  const bags: Pkcs12Bag[] = [];
  const encrypted: Pkcs12Encrypted[] = [];
  const safe = readOne(buf, authOctets.start, authOctets.end);
  for (const ci of seq(buf, safe, 'AuthenticatedSafe')) {
    const [oidT, valT, more] = seq(buf, ci, 'AuthenticatedSafe ContentInfo');
    if (!oidT || more) malformed(`bad ContentInfo at offset ${ci.hs}`);
    const type = readOid(buf, oidT);
    if (type === OID.data) {
      const o = octets(explicit0(buf, valT, 'SafeContents'), 'SafeContents');
      safeContents(buf, readOne(buf, o.start, o.end), bags, 0);
    } else if (type === OID.encryptedData) encrypted.push(encryptedData(buf, ci, valT));
    else malformed(`AuthenticatedSafe content type ${type} at offset ${oidT.hs}`);
  }
  const range = { start: authOctets.start, end: authOctets.end };
  if (!macT) return { version, integrity: 'none', authSafe: range, bags, encrypted };
  return { version, integrity: 'password', mac: macData(buf, macT), authSafe: range, bags, encrypted };
}

function encryptedData(buf: Uint8Array, ci: Tlv, valT: Tlv | undefined): Pkcs12Encrypted {
  const [verT, eci] = seq(buf, explicit0(buf, valT, 'EncryptedData'), 'EncryptedData');
  if (!verT || !eci) malformed(`bad EncryptedData at offset ${ci.hs}`);
  const [, algT, contentT] = seq(buf, eci, 'EncryptedContentInfo');
  if (!algT) malformed(`EncryptedContentInfo without an algorithm at offset ${eci.hs}`);
  return {
    offset: ci.hs,
    algorithm: describePbe(buf, algT),
    size: contentT ? contentT.end - contentT.start : 0,
  };
}

function safeContents(buf: Uint8Array, t: Tlv, out: Pkcs12Bag[], depth: number): void {
  if (depth > MAX_NESTING) malformed(`safeContentsBag nested deeper than ${MAX_NESTING} at offset ${t.hs}`);
  for (const bagT of seq(buf, t, 'SafeContents')) {
    if (out.length >= MAX_BAGS) malformed(`more than ${MAX_BAGS} bags at offset ${bagT.hs}`);
    const [idT, valT, attrsT, extra] = seq(buf, bagT, 'SafeBag');
    if (!idT || extra) malformed(`bad SafeBag at offset ${bagT.hs}`);
    const bagId = readOid(buf, idT);
    const kind = BAGS[bagId] ?? 'other';
    const value = explicit0(buf, valT, 'bagValue');
    const attrs = attrsT ? attributes(buf, attrsT) : {};
    let range: { start: number; end: number } = { start: value.hs, end: value.end };
    let certType: string | undefined;
    let cipher: string | undefined;
    if (kind === 'certificate' || kind === 'crl') {
      const [typeT, v] = seq(buf, value, 'CertBag');
      if (!typeT) malformed(`empty CertBag at offset ${value.hs}`);
      const typeOid = readOid(buf, typeT);
      certType = typeOid === OID.x509Certificate ? 'x509' : typeOid;
      const o = octets(explicit0(buf, v, 'certValue'), 'certValue');
      range = { start: o.start, end: o.end };
    } else if (kind === 'shrouded-key') {
      const [algT] = seq(buf, value, 'EncryptedPrivateKeyInfo');
      if (!algT) malformed(`empty EncryptedPrivateKeyInfo at offset ${value.hs}`);
      cipher = describePbe(buf, algT);
    } else if (kind === 'safe-contents') safeContents(buf, value, out, depth + 1);
    out.push({
      kind,
      bagId,
      offset: bagT.hs,
      value: range,
      ...(certType !== undefined && { certType }),
      ...(cipher !== undefined && { cipher }),
      ...attrs,
    });
  }
}

function attributes(buf: Uint8Array, t: Tlv): { friendlyName?: string; localKeyId?: string } {
  const out: { friendlyName?: string; localKeyId?: string } = {};
  for (const a of seq(buf, t, 'bagAttributes', Tag.SET)) {
    const [oidT, valuesT] = seq(buf, a, 'Attribute');
    if (!oidT || !valuesT) malformed(`bad attribute at offset ${a.hs}`);
    const oid = readOid(buf, oidT);
    const [v] = seq(buf, valuesT, 'attribute values', Tag.SET);
    if (!v) continue;
    if (oid === OID.friendlyName) out.friendlyName = readString(buf, v);
    else if (oid === OID.localKeyId) out.localKeyId = hex(buf, v.start, v.end);
  }
  return out;
}

function macData(buf: Uint8Array, t: Tlv): Pkcs12Mac {
  const [digestInfo, saltT, iterT] = seq(buf, t, 'MacData');
  const [algT, digestT] = seq(buf, digestInfo, 'MacData DigestInfo');
  const { oid } = parseAlgorithmIdentifier(buf, algT);
  const digest = octets(digestT, 'MAC value');
  const salt = octets(saltT, 'MAC salt');
  const iterations = iterT ? readSmallInt(buf, iterT) : 1;
  return {
    offset: t.hs,
    algorithm: HASH_ALGORITHMS[oid] ?? oid,
    iterations,
    salt: { start: salt.start, end: salt.end },
    digest: { start: digest.start, end: digest.end },
  };
}

/** Block sizes (RFC 7292 B.2 `v`) of the digests the PKCS#12 KDF is used with. */
const BLOCK: Record<string, number> = { sha1: 64, sha224: 64, sha256: 64, sha384: 128, sha512: 128 };
/** Past this, checking one file would stall a scan worker for seconds. */
const MAX_ITERATIONS = 1_000_000;

/** RFC 7292 Appendix B key derivation, for the MAC key (id 3). */
function pkcs12Kdf(alg: string, password: string, salt: Uint8Array, iterations: number, n: number): Buffer {
  const v = BLOCK[alg]!;
  const pw = Buffer.alloc(password.length * 2 + 2);
  for (let i = 0; i < password.length; i++) pw.writeUInt16BE(password.charCodeAt(i), i * 2);
  const fill = (src: Uint8Array): Buffer => {
    const len = src.length === 0 ? 0 : v * Math.ceil(src.length / v);
    const b = Buffer.alloc(len);
    for (let i = 0; i < len; i++) b[i] = src[i % src.length]!;
    return b;
  };
  const I = Buffer.concat([fill(salt), fill(pw)]);
  const D = Buffer.alloc(v, 3);
  const out: Buffer[] = [];
  let have = 0;
  while (have < n) {
    let A = hash(alg, Buffer.concat([D, I]), 'buffer');
    for (let i = 1; i < iterations; i++) A = hash(alg, A, 'buffer');
    out.push(A);
    have += A.length;
    const B = fill(A);
    for (let j = 0; j < I.length; j += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        carry += I[j + k]! + B[k]!;
        I[j + k] = carry & 0xff;
        carry >>= 8;
      }
    }
  }
  return Buffer.concat(out).subarray(0, n);
}

/**
 * Whether the MAC holds under `password`: 'valid', 'invalid' (wrong password or altered content:
 * the two cannot be told apart), or 'unverified' with the reason (no MAC, unknown digest, PBMAC1).
 */
export function verifyPkcs12Mac(
  buf: Uint8Array,
  p12: Pkcs12,
  password: string,
): { status: 'valid' | 'invalid' | 'unverified'; reason?: string } {
  const mac = p12.mac;
  if (!mac) return { status: 'unverified', reason: 'no MacData' };
  if (BLOCK[mac.algorithm] === undefined)
    return { status: 'unverified', reason: `MAC digest ${mac.algorithm} not supported` };
  if (mac.iterations > MAX_ITERATIONS)
    return { status: 'unverified', reason: `${mac.iterations} MAC iterations exceed ${MAX_ITERATIONS}` };
  const expected = buf.subarray(mac.digest.start, mac.digest.end);
  const keyLen = hash(mac.algorithm, '', 'buffer').length;
  const key = pkcs12Kdf(
    mac.algorithm,
    password,
    buf.subarray(mac.salt.start, mac.salt.end),
    mac.iterations,
    keyLen,
  );
  const actual = createHmac(mac.algorithm, key)
    .update(buf.subarray(p12.authSafe.start, p12.authSafe.end))
    .digest();
  return actual.length === expected.length && timingSafeEqual(actual, expected)
    ? { status: 'valid' }
    : { status: 'invalid', reason: 'MAC does not match (wrong password or altered content)' };
}
