import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { latin1, readOidAt, utf8 } from './der.ts';
import { CoreError } from './error.ts';
import { bitString, integer, objectIdentifier, sequence, tlv } from './keys/der-write.ts';
import { canonicalSpkiKeyInfo } from './keys/key-info.ts';
import type { KeyInfo, Verification } from './observation.ts';
import { EC_CURVES } from './oid.ts';

/**
 * OpenPGP (RFC 4880, RFC 9580): ASCII armor, the packet stream, public keys and signatures. Keys are
 * mapped to the SPKI of the same key wherever X.509 has one, so a key exported by gpg and the same
 * key as PEM share one keyId; the OpenPGP fingerprint is only an alias. Secret-key packets are never
 * decoded: only their presence is reported by the caller.
 */

export const MAX_PGP_PACKETS = 20_000;
const MAX_MPI_BITS = 16_384;
const MAX_SUBPACKETS = 512;
const MAX_ARMOR_BLOCKS = 1_000;

function bad(message: string): never {
  throw new CoreError('DER_MALFORMED', `OpenPGP: ${message}`);
}

export const PacketTag = {
  SIGNATURE: 2,
  SECRET_KEY: 5,
  PUBLIC_KEY: 6,
  SECRET_SUBKEY: 7,
  USER_ID: 13,
  PUBLIC_SUBKEY: 14,
  USER_ATTRIBUTE: 17,
} as const;

/** One packet: `offset` is where its header began, the body is bytes [start, end). */
export interface PgpPacket {
  readonly tag: number;
  readonly offset: number;
  readonly start: number;
  readonly end: number;
}

/**
 * The packets of buf[start, end). Partial body lengths (streamed literal or compressed data) and old
 * indeterminate lengths are refused: keyrings and signatures never use them, and following them
 * would mean decompressing attacker-chosen data.
 */
export function readPgpPackets(
  buf: Uint8Array,
  start = 0,
  end = buf.length,
  max = MAX_PGP_PACKETS,
): PgpPacket[] {
  if (start < 0 || end > buf.length || start > end) bad(`range [${start}, ${end}) outside the buffer`);
  const out: PgpPacket[] = [];
  let pos = start;
  while (pos < end) {
    if (out.length >= max) bad(`more than ${max} packets at offset ${pos}`);
    const p = readPacket(buf, pos, end);
    out.push(p);
    pos = p.end;
  }
  return out;
}

function readPacket(buf: Uint8Array, pos: number, end: number): PgpPacket {
  const b = buf[pos]!;
  if (!(b & 0x80)) bad(`byte 0x${b.toString(16)} at offset ${pos} is not a packet header`);
  let tag: number;
  let len: number;
  let start: number;
  if (b & 0x40) {
    tag = b & 0x3f;
    if (pos + 2 > end) bad(`truncated packet header at offset ${pos}`);
    const o1 = buf[pos + 1]!;
    if (o1 < 192) {
      len = o1;
      start = pos + 2;
    } else if (o1 < 224) {
      if (pos + 3 > end) bad(`truncated packet length at offset ${pos}`);
      len = ((o1 - 192) << 8) + buf[pos + 2]! + 192;
      start = pos + 3;
    } else if (o1 === 255) {
      if (pos + 6 > end) bad(`truncated packet length at offset ${pos}`);
      len = be32(buf, pos + 2);
      start = pos + 6;
    } else return bad(`partial body length at offset ${pos} (streamed data is not read)`);
  } else {
    tag = (b >> 2) & 0x0f;
    const lt = b & 3;
    if (lt === 3) bad(`indeterminate packet length at offset ${pos}`);
    const n = 1 << lt;
    if (pos + 1 + n > end) bad(`truncated packet length at offset ${pos}`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[pos + 1 + i]!;
    start = pos + 1 + n;
  }
  if (tag === 0) bad(`reserved packet tag 0 at offset ${pos}`);
  if (start + len > end) bad(`packet at offset ${pos} of ${len} bytes runs past the end (${end})`);
  return { tag, offset: pos, start, end: start + len };
}

const be16 = (b: Uint8Array, i: number): number => (b[i]! << 8) | b[i + 1]!;
const be32 = (b: Uint8Array, i: number): number =>
  ((b[i]! << 24) >>> 0) + (b[i + 1]! << 16) + (b[i + 2]! << 8) + b[i + 3]!;

/** A cursor over one packet body that refuses to read past it. */
class Body {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    readonly p: PgpPacket,
    start = p.start,
  ) {
    this.pos = start;
  }
  need(n: number, what: string): number {
    if (this.pos + n > this.p.end)
      bad(`truncated ${what} at offset ${this.pos} (packet at ${this.p.offset})`);
    const at = this.pos;
    this.pos += n;
    return at;
  }
  u8(what: string): number {
    return this.buf[this.need(1, what)]!;
  }
  u16(what: string): number {
    return be16(this.buf, this.need(2, what));
  }
  u32(what: string): number {
    return be32(this.buf, this.need(4, what));
  }
  bytes(n: number, what: string): Uint8Array {
    const at = this.need(n, what);
    return this.buf.subarray(at, at + n);
  }
  mpi(what: string): Uint8Array {
    const bits = this.u16(`${what} length`);
    if (bits > MAX_MPI_BITS) bad(`${what} of ${bits} bits at offset ${this.pos - 2}`);
    return this.bytes((bits + 7) >> 3, what);
  }
}

/** Public-key algorithm ids (RFC 9580 9.1). */
export const PGP_PUBLIC_KEY_ALGORITHMS: ReadonlyMap<number, string> = new Map([
  [1, 'RSA'],
  [2, 'RSA'],
  [3, 'RSA'],
  [16, 'Elgamal'],
  [17, 'DSA'],
  [18, 'ECDH'],
  [19, 'ECDSA'],
  [20, 'Elgamal'],
  [22, 'EdDSA'],
  [25, 'X25519'],
  [26, 'X448'],
  [27, 'Ed25519'],
  [28, 'Ed448'],
]);

/** Hash algorithm ids (RFC 9580 9.5), by node:crypto name. */
export const PGP_HASH_ALGORITHMS: ReadonlyMap<number, string> = new Map([
  [1, 'md5'],
  [2, 'sha1'],
  [3, 'ripemd160'],
  [8, 'sha256'],
  [9, 'sha384'],
  [10, 'sha512'],
  [11, 'sha224'],
  [12, 'sha3-256'],
  [14, 'sha3-512'],
]);

// OpenPGP-only curve OIDs; the NIST and brainpool ones come from EC_CURVES.
const PGP_CURVES: ReadonlyMap<string, { name: string; bits: number }> = new Map([
  ['1.3.6.1.4.1.11591.15.1', { name: 'Ed25519', bits: 255 }],
  ['1.3.6.1.4.1.3029.1.5.1', { name: 'Curve25519', bits: 255 }],
  ['1.3.101.110', { name: 'X25519', bits: 255 }],
  ['1.3.101.111', { name: 'X448', bits: 448 }],
  ['1.3.101.112', { name: 'Ed25519', bits: 255 }],
  ['1.3.101.113', { name: 'Ed448', bits: 448 }],
]);

export interface PgpPublicKey {
  readonly offset: number;
  readonly subkey: boolean;
  readonly version: number;
  /** Epoch ms. */
  readonly created: number;
  readonly algorithmId: number;
  /** Hex: SHA-1 for v4, SHA-256 for v5/v6. */
  readonly fingerprint: string;
  /** The 16-hex-digit key ID. */
  readonly keyId: string;
  /** Identity (when the key has an SPKI counterpart), algorithm, size, curve. */
  readonly key: KeyInfo;
  /** The SPKI DER of the same key, when X.509 can express it. */
  readonly spki?: Buffer;
}

function spkiInfo(spki: Buffer, what: string): { key: KeyInfo; spki: Buffer } {
  const key = canonicalSpkiKeyInfo(spki, 'KEY_MALFORMED', what);
  return { key, spki };
}

const unsigned = (m: Uint8Array): Buffer => integer(Buffer.concat([Uint8Array.of(0), m]));

function curveAt(r: Body, what: string): { oid: string; name: string; bits: number } {
  const n = r.u8(`${what} curve OID length`);
  if (n === 0 || n === 0xff) bad(`${what} curve OID length ${n} at offset ${r.pos - 1}`);
  const at = r.need(n, `${what} curve OID`);
  const oid = readOidAt(r.buf, at, at, at + n);
  const c = EC_CURVES[oid] ?? PGP_CURVES.get(oid);
  return c ? { oid, ...c } : { oid, name: oid, bits: 0 };
}

function okpSpki(oid: string, x: Uint8Array, what: string): { key: KeyInfo; spki: Buffer } {
  return spkiInfo(sequence(sequence(objectIdentifier(oid)), bitString(x)), what);
}

/** Legacy EdDSA/ECDH on 25519 store the native point after a 0x40 prefix. */
function prefixed(point: Uint8Array, length: number, what: string): Uint8Array {
  if (point.length !== length + 1 || point[0] !== 0x40) bad(`${what} is not a 0x40-prefixed native point`);
  return point.subarray(1);
}

function keyMaterial(r: Body, alg: number, what: string): { key: KeyInfo; spki?: Buffer } {
  switch (alg) {
    case 1:
    case 2:
    case 3: {
      const n = r.mpi('RSA n');
      const e = r.mpi('RSA e');
      const rsa = sequence(objectIdentifier('1.2.840.113549.1.1.1'), tlv(0x05));
      return spkiInfo(sequence(rsa, bitString(sequence(unsigned(n), unsigned(e)))), what);
    }
    case 17: {
      const [p, q, g, y] = [r.mpi('DSA p'), r.mpi('DSA q'), r.mpi('DSA g'), r.mpi('DSA y')];
      const params = sequence(unsigned(p), unsigned(q), unsigned(g));
      return spkiInfo(
        sequence(sequence(objectIdentifier('1.2.840.10040.4.1'), params), bitString(unsigned(y))),
        what,
      );
    }
    case 16:
    case 20: {
      const p = r.mpi('Elgamal p');
      r.mpi('Elgamal g');
      r.mpi('Elgamal y');
      return { key: { algorithm: 'Elgamal', size: bitLength(p) } };
    }
    case 18:
    case 19:
    case 22: {
      const c = curveAt(r, what);
      const point = r.mpi('EC point');
      if (alg === 18) {
        const kdf = r.u8('ECDH KDF parameters length');
        r.bytes(kdf, 'ECDH KDF parameters');
      }
      if (c.name === 'Ed25519') return okpSpki('1.3.101.112', prefixed(point, 32, what), what);
      if (c.name === 'Curve25519') return okpSpki('1.3.101.110', prefixed(point, 32, what), what);
      if (c.name.startsWith('P-') || c.name.startsWith('brainpool')) {
        const ec = sequence(objectIdentifier('1.2.840.10045.2.1'), objectIdentifier(c.oid));
        return spkiInfo(sequence(ec, bitString(point)), what);
      }
      const name = alg === 18 ? 'ECDH' : alg === 19 ? 'EC' : 'EdDSA';
      return { key: { algorithm: name, curve: c.name, ...(c.bits > 0 && { size: c.bits }) } };
    }
    case 25:
      return okpSpki('1.3.101.110', r.bytes(32, 'X25519 key'), what);
    case 26:
      return okpSpki('1.3.101.111', r.bytes(56, 'X448 key'), what);
    case 27:
      return okpSpki('1.3.101.112', r.bytes(32, 'Ed25519 key'), what);
    case 28:
      return okpSpki('1.3.101.113', r.bytes(57, 'Ed448 key'), what);
    default:
      return bad(`unsupported public-key algorithm ${alg} in ${what}`);
  }
}

function bitLength(m: Uint8Array): number {
  let s = 0;
  while (s < m.length && m[s] === 0) s++;
  return s === m.length ? 0 : (m.length - s - 1) * 8 + (32 - Math.clz32(m[s]!));
}

/**
 * The octets a v4 (0x99, 2-octet length) or v5/v6 (0x9A/0x9B, 4-octet length) key is hashed as, for
 * its fingerprint and in every signature over it.
 */
export function keyHashPrefix(version: number, bodyLength: number): Buffer {
  if (version === 4) return Buffer.from([0x99, bodyLength >> 8, bodyLength & 0xff]);
  const b = Buffer.alloc(5);
  b[0] = version === 5 ? 0x9a : 0x9b;
  b.writeUInt32BE(bodyLength, 1);
  return b;
}

/** A Public-Key or Public-Subkey packet (also the public part leading a secret-key packet). */
export function parsePgpPublicKey(buf: Uint8Array, p: PgpPacket): PgpPublicKey {
  const subkey = p.tag === PacketTag.PUBLIC_SUBKEY || p.tag === PacketTag.SECRET_SUBKEY;
  const what = `public key at offset ${p.offset}`;
  const r = new Body(buf, p);
  const version = r.u8('key version');
  if (version !== 4 && version !== 5 && version !== 6)
    bad(`key version ${version} at offset ${p.offset} is not read (v4, v5 and v6 are)`);
  const created = r.u32('key creation time') * 1000;
  const algorithmId = r.u8('key algorithm');
  let materialEnd = p.end;
  if (version !== 4) {
    const n = r.u32('key material length');
    materialEnd = r.pos + n;
    if (materialEnd > p.end) bad(`key material of ${n} bytes runs past the packet at offset ${p.offset}`);
  }
  const { key, spki } = keyMaterial(r, algorithmId, what);
  if (version !== 4 && r.pos !== materialEnd) bad(`key material length disagrees at offset ${p.offset}`);
  // A public packet ends with its key material; a secret one goes on, and that part is never read.
  const publicEnd = r.pos;
  if ((p.tag === PacketTag.PUBLIC_KEY || p.tag === PacketTag.PUBLIC_SUBKEY) && publicEnd !== p.end)
    bad(`${p.end - publicEnd} trailing bytes in ${what}`);
  const body = buf.subarray(p.start, publicEnd);
  const h = createHash(version === 4 ? 'sha1' : 'sha256');
  h.update(keyHashPrefix(version, body.length)).update(body);
  const fingerprint = h.digest('hex');
  const keyId = version === 4 ? fingerprint.slice(-16) : fingerprint.slice(0, 16);
  return {
    offset: p.offset,
    subkey,
    version,
    created,
    algorithmId,
    fingerprint,
    keyId,
    key,
    ...(spki && { spki }),
  };
}

export interface PgpSignature {
  readonly offset: number;
  readonly version: number;
  /** Signature type: 0x00 binary, 0x01 text, 0x10-0x13 certification, 0x18 subkey binding, ... */
  readonly type: number;
  readonly publicKeyAlgorithm: number;
  readonly hashAlgorithm: number;
  /** node:crypto name, or 'hash-<id>' when unknown. */
  readonly hash: string;
  /** Epoch ms, from the signature creation time subpacket. */
  readonly created?: number;
  /** Seconds after creation, from the signature expiration subpacket. */
  readonly expiresIn?: number;
  /** Seconds after the key's creation, from the key expiration subpacket. */
  readonly keyExpiresIn?: number;
  readonly issuerKeyId?: string;
  readonly issuerFingerprint?: string;
  /** The first two octets of the signed digest, hex. */
  readonly left16: string;
  /** Where the signature value (MPIs or native octets) lies. */
  readonly value: { readonly start: number; readonly end: number };
  /** Bytes [start, hashedEnd) of the packet body are the part the v4 trailer covers. */
  readonly hashedEnd: number;
  readonly start: number;
  readonly salt?: Uint8Array;
}

function subpackets(
  buf: Uint8Array,
  start: number,
  end: number,
  each: (type: number, r: Body) => void,
): void {
  const area: PgpPacket = { tag: PacketTag.SIGNATURE, offset: start, start, end };
  const r = new Body(buf, area);
  for (let n = 0; r.pos < end; n++) {
    if (n >= MAX_SUBPACKETS) bad(`more than ${MAX_SUBPACKETS} subpackets at offset ${start}`);
    const o1 = r.u8('subpacket length');
    const len =
      o1 < 192
        ? o1
        : o1 < 255
          ? ((o1 - 192) << 8) + r.u8('subpacket length') + 192
          : r.u32('subpacket length');
    if (len === 0) bad(`empty subpacket at offset ${r.pos}`);
    const at = r.need(len, 'subpacket');
    const type = buf[at]! & 0x7f;
    each(type, new Body(buf, { tag: type, offset: at, start: at + 1, end: at + len }));
  }
}

export function parsePgpSignature(buf: Uint8Array, p: PgpPacket): PgpSignature {
  const r = new Body(buf, p);
  const version = r.u8('signature version');
  if (version !== 4 && version !== 6)
    bad(`signature version ${version} at offset ${p.offset} is not read (v4 and v6 are)`);
  const type = r.u8('signature type');
  const publicKeyAlgorithm = r.u8('signature key algorithm');
  const hashAlgorithm = r.u8('signature hash algorithm');
  const fields: {
    created?: number;
    expiresIn?: number;
    keyExpiresIn?: number;
    issuerKeyId?: string;
    issuerFingerprint?: string;
  } = {};
  const read = (t: number, s: Body): void => {
    if (t === 2) fields.created = s.u32('creation time') * 1000;
    else if (t === 3) fields.expiresIn = s.u32('signature expiration');
    else if (t === 9) fields.keyExpiresIn = s.u32('key expiration');
    else if (t === 16) fields.issuerKeyId = Buffer.from(s.bytes(8, 'issuer key ID')).toString('hex');
    else if (t === 33) {
      const v = s.u8('issuer fingerprint version');
      const fp = s.bytes(s.p.end - s.pos, 'issuer fingerprint');
      if ((v === 4 && fp.length !== 20) || (v !== 4 && fp.length !== 32))
        bad(`issuer fingerprint of ${fp.length} bytes for v${v} at offset ${s.p.offset}`);
      fields.issuerFingerprint = Buffer.from(fp).toString('hex');
    }
  };
  const wide = version === 6;
  const hashedLen = wide ? r.u32('hashed subpackets length') : r.u16('hashed subpackets length');
  const hs = r.need(hashedLen, 'hashed subpackets');
  subpackets(buf, hs, hs + hashedLen, read);
  const hashedEnd = r.pos;
  const issuerBefore = fields.issuerKeyId;
  const unhashedLen = wide ? r.u32('unhashed subpackets length') : r.u16('unhashed subpackets length');
  const us = r.need(unhashedLen, 'unhashed subpackets');
  // Only issuer hints are taken from the unhashed area: anything else there is not signed.
  const unhashed: typeof fields = {};
  subpackets(buf, us, us + unhashedLen, (t, s) => {
    if (t === 16) unhashed.issuerKeyId = Buffer.from(s.bytes(8, 'issuer key ID')).toString('hex');
  });
  if (issuerBefore === undefined && unhashed.issuerKeyId) fields.issuerKeyId = unhashed.issuerKeyId;
  const left16 = Buffer.from(r.bytes(2, 'digest prefix')).toString('hex');
  let salt: Uint8Array | undefined;
  if (wide) salt = r.bytes(r.u8('salt length'), 'salt');
  const valueStart = r.pos;
  signatureValue(r, publicKeyAlgorithm);
  if (r.pos !== p.end) bad(`${p.end - r.pos} trailing bytes in the signature at offset ${p.offset}`);
  if (fields.issuerFingerprint && !fields.issuerKeyId)
    fields.issuerKeyId =
      version === 4 ? fields.issuerFingerprint.slice(-16) : fields.issuerFingerprint.slice(0, 16);
  return {
    offset: p.offset,
    version,
    type,
    publicKeyAlgorithm,
    hashAlgorithm,
    hash: PGP_HASH_ALGORITHMS.get(hashAlgorithm) ?? `hash-${hashAlgorithm}`,
    ...fields,
    left16,
    value: { start: valueStart, end: p.end },
    hashedEnd,
    start: p.start,
    ...(salt && { salt }),
  };
}

/** Walk the signature value so its end is checked; returns the pieces node:crypto needs. */
function signatureValue(r: Body, alg: number): Uint8Array[] {
  switch (alg) {
    case 1:
    case 3:
      return [r.mpi('RSA signature')];
    case 17:
    case 19:
    case 22:
      return [r.mpi('signature r'), r.mpi('signature s')];
    case 27:
      return [r.bytes(64, 'Ed25519 signature')];
    case 28:
      return [r.bytes(114, 'Ed448 signature')];
    default:
      // Unknown algorithms: the value is opaque to the end of the packet.
      return [r.bytes(r.p.end - r.pos, 'signature')];
  }
}

/** Signature scheme as the inventory names it elsewhere (openssl-style where there is one). */
export function pgpSignatureAlgorithm(sig: PgpSignature, signer?: KeyInfo): string {
  const h = sig.hash.toUpperCase();
  switch (sig.publicKeyAlgorithm) {
    case 1:
    case 3:
      return `${sig.hash}WithRSAEncryption`;
    case 17:
      return `dsa_with_${h}`;
    case 19:
      return `ecdsa-with-${h}`;
    case 22:
      return signer?.algorithm === 'Ed25519' ? 'Ed25519' : 'EdDSA';
    default:
      return PGP_PUBLIC_KEY_ALGORITHMS.get(sig.publicKeyAlgorithm) ?? `pgp-alg-${sig.publicKeyAlgorithm}`;
  }
}

/** The trailer a v4/v6 signature appends to what it hashes (RFC 9580 5.2.4). */
function trailer(buf: Uint8Array, sig: PgpSignature): Buffer {
  const hashed = buf.subarray(sig.start, sig.hashedEnd);
  const t = Buffer.alloc(6);
  t[0] = sig.version;
  t[1] = 0xff;
  t.writeUInt32BE(hashed.length, 2);
  return Buffer.concat([hashed, t]);
}

export interface PgpCheck {
  readonly status: Verification;
  readonly reason?: string;
  /** The digest the signature covers, hex, when the hash is supported. */
  readonly digest?: string;
}

const pad = (m: Uint8Array, n: number): Buffer =>
  m.length >= n ? Buffer.from(m.subarray(m.length - n)) : Buffer.concat([Buffer.alloc(n - m.length), m]);

/**
 * Check a signature over `data` (the parts hashed before the trailer). A wrong digest prefix already
 * proves the signed bytes changed, so that is 'invalid' even without the signer's key; with the key,
 * node:crypto decides.
 */
export function checkPgpSignature(
  buf: Uint8Array,
  sig: PgpSignature,
  data: readonly Uint8Array[],
  signer?: PgpPublicKey,
): PgpCheck {
  if (!PGP_HASH_ALGORITHMS.has(sig.hashAlgorithm))
    return { status: 'unverified', reason: `hash algorithm ${sig.hashAlgorithm} is not supported` };
  const h = createHash(sig.hash);
  if (sig.salt) h.update(sig.salt);
  for (const d of data) h.update(d);
  const tail = trailer(buf, sig);
  h.update(tail);
  const digestBuf = h.digest();
  const digest = digestBuf.toString('hex');
  if (digest.slice(0, 4) !== sig.left16)
    return {
      status: 'invalid',
      reason: `digest ${digest.slice(0, 4)}... differs from the signed prefix ${sig.left16}`,
      digest,
    };
  if (!signer?.spki) return { status: 'unverified', reason: 'signer public key not available', digest };
  if (
    signer.algorithmId !== sig.publicKeyAlgorithm &&
    !(sig.publicKeyAlgorithm === 22 && signer.key.algorithm === 'Ed25519')
  )
    return { status: 'invalid', reason: 'signature algorithm does not match the signer key', digest };
  let key: KeyObject;
  try {
    key = createPublicKey({ key: signer.spki, format: 'der', type: 'spki' });
  } catch {
    return { status: 'unverified', reason: 'signer key not accepted by node:crypto', digest };
  }
  const r = new Body(buf, {
    tag: PacketTag.SIGNATURE,
    offset: sig.offset,
    start: sig.value.start,
    end: sig.value.end,
  });
  const parts = signatureValue(r, sig.publicKeyAlgorithm);
  const material = Buffer.concat([...data, tail]);
  const salted = sig.salt ? Buffer.concat([sig.salt, material]) : material;
  let ok: boolean;
  try {
    const a = sig.publicKeyAlgorithm;
    const size = signer.key.size ?? 0;
    if (a === 1 || a === 3) ok = verify(sig.hash, salted, key, pad(parts[0]!, (size + 7) >> 3));
    else if (a === 17 || a === 19) {
      // DSA's q is not in hand here, but only 160, 224 and 256 bits are in use (FIPS 186-4).
      const longest = Math.max(parts[0]!.length, parts[1]!.length);
      const n = a === 17 ? (longest <= 20 ? 20 : longest <= 28 ? 28 : 32) : (size + 7) >> 3;
      const rs = Buffer.concat([pad(parts[0]!, n), pad(parts[1]!, n)]);
      ok = verify(sig.hash, salted, { key, dsaEncoding: 'ieee-p1363' }, rs);
    } else if (a === 22)
      ok = verify(null, digestBuf, key, Buffer.concat([pad(parts[0]!, 32), pad(parts[1]!, 32)]));
    else if (a === 27 || a === 28) ok = verify(null, digestBuf, key, parts[0]!);
    else return { status: 'unverified', reason: `public-key algorithm ${a} is not verified`, digest };
  } catch {
    return { status: 'invalid', reason: 'signature value rejected by node:crypto', digest };
  }
  return ok
    ? { status: 'valid', digest }
    : { status: 'invalid', reason: 'signature does not verify', digest };
}

export interface PgpUserId {
  readonly offset: number;
  readonly text: string;
}

/** One signature in a keyring or message, with what it was checked against. */
export interface PgpSignatureRead {
  readonly sig: PgpSignature;
  /** The primary key a key signature is bound to; absent for document signatures. */
  readonly target?: PgpPublicKey;
  /** SHA-256 and length of what the signature covers (key || uid, key || subkey, or the document). */
  readonly covers?: { readonly sha256: string; readonly size: number };
  readonly check: PgpCheck;
}

export interface PgpTransferableKey {
  readonly primary: PgpPublicKey;
  /** A secret-key packet was seen for the primary: its secret part is never read. */
  readonly secret: boolean;
  /** For a secret key: whether its S2K usage octet says the secret part is passphrase-protected. */
  readonly encrypted?: boolean;
  readonly userIds: readonly PgpUserId[];
  readonly subkeys: readonly {
    readonly key: PgpPublicKey;
    readonly secret: boolean;
    readonly encrypted?: boolean;
    readonly expires?: number;
  }[];
  /** Epoch ms, from the newest valid self-signature's key expiration time. */
  readonly expires?: number;
  readonly revoked: boolean;
}

export interface PgpParsed {
  readonly keys: readonly PgpTransferableKey[];
  readonly signatures: readonly PgpSignatureRead[];
  /** Packets that could not be read, each with the reason; the stream around them still was. */
  readonly problems: readonly { readonly offset: number; readonly reason: string }[];
}

function sha256Of(parts: readonly Uint8Array[]): { sha256: string; size: number } {
  const h = createHash('sha256');
  let size = 0;
  for (const p of parts) {
    h.update(p);
    size += p.length;
  }
  return { sha256: h.digest('hex'), size };
}

function uidPrefix(tag: number, length: number): Buffer {
  const b = Buffer.alloc(5);
  b[0] = tag === PacketTag.USER_ID ? 0xb4 : 0xd1;
  b.writeUInt32BE(length, 1);
  return b;
}

function keyParts(buf: Uint8Array, k: PgpPublicKey, p: PgpPacket): Uint8Array[] {
  // Secret-key packets are signed as their public part: rebuild it from the parsed length.
  const body = buf.subarray(p.start, p.end);
  return [keyHashPrefix(k.version, body.length), body];
}

/**
 * The whole packet stream of a keyring, exported key, detached signature or one-pass-free message.
 * `document` is what document signatures (type 0x00/0x01) cover when the caller has it (the
 * canonical text of a cleartext-signed message).
 */
export function parsePgp(buf: Uint8Array, start = 0, end = buf.length, document?: Uint8Array): PgpParsed {
  const packets = readPgpPackets(buf, start, end);
  const keys: {
    primary: PgpPublicKey;
    packet: PgpPacket;
    secret: boolean;
    encrypted?: boolean;
    userIds: PgpUserId[];
    subkeys: {
      key: PgpPublicKey;
      packet: PgpPacket;
      secret: boolean;
      encrypted?: boolean;
      expires?: number;
    }[];
    expires?: number;
    expiresAt?: number;
    revoked: boolean;
  }[] = [];
  const signatures: PgpSignatureRead[] = [];
  const docSigs: PgpSignature[] = [];
  let uid: { packet: PgpPacket } | undefined;
  let sub: (typeof keys)[number]['subkeys'][number] | undefined;
  const problems: { offset: number; reason: string }[] = [];
  const step = (p: PgpPacket): void => {
    const cur = keys.at(-1);
    switch (p.tag) {
      case PacketTag.PUBLIC_KEY:
      case PacketTag.SECRET_KEY: {
        const pp = publicPart(buf, p);
        const encrypted = protection(buf, p, pp);
        keys.push({
          primary: parsePgpPublicKey(buf, pp),
          packet: pp,
          secret: p.tag === PacketTag.SECRET_KEY,
          ...(encrypted !== undefined && { encrypted }),
          userIds: [],
          subkeys: [],
          revoked: false,
        });
        uid = undefined;
        sub = undefined;
        break;
      }
      case PacketTag.PUBLIC_SUBKEY:
      case PacketTag.SECRET_SUBKEY: {
        if (!cur) bad(`subkey at offset ${p.offset} before any primary key`);
        const pp = publicPart(buf, p);
        const encrypted = protection(buf, p, pp);
        sub = {
          key: parsePgpPublicKey(buf, pp),
          packet: pp,
          secret: p.tag === PacketTag.SECRET_SUBKEY,
          ...(encrypted !== undefined && { encrypted }),
        };
        cur.subkeys.push(sub);
        uid = undefined;
        break;
      }
      case PacketTag.USER_ID:
      case PacketTag.USER_ATTRIBUTE:
        if (!cur) bad(`user ID at offset ${p.offset} before any primary key`);
        uid = { packet: p };
        sub = undefined;
        if (p.tag === PacketTag.USER_ID)
          cur.userIds.push({ offset: p.offset, text: utf8(buf, p.start, p.end) });
        break;
      case PacketTag.SIGNATURE: {
        const sig = parsePgpSignature(buf, p);
        if (sig.type === 0x00 || sig.type === 0x01) {
          docSigs.push(sig);
          break;
        }
        if (!cur) bad(`key signature at offset ${p.offset} outside a key`);
        const primaryParts = keyParts(buf, cur.primary, cur.packet);
        let data: Uint8Array[];
        if (sig.type >= 0x10 && sig.type <= 0x13 && uid) {
          const u = uid.packet;
          data = [...primaryParts, uidPrefix(u.tag, u.end - u.start), buf.subarray(u.start, u.end)];
        } else if ((sig.type === 0x18 || sig.type === 0x28) && sub)
          data = [...primaryParts, ...keyParts(buf, sub.key, sub.packet)];
        else data = primaryParts; // direct-key (0x1F) and key revocation (0x20)
        const self = isFrom(sig, cur.primary);
        const check = checkPgpSignature(buf, sig, data, self ? cur.primary : undefined);
        signatures.push({ sig, target: cur.primary, covers: sha256Of(data), check });
        if (self && check.status === 'valid') {
          if (sig.type === 0x20) cur.revoked = true;
          const at = sig.created ?? 0;
          if (sig.type === 0x18 && sub && sig.keyExpiresIn)
            sub.expires = sub.key.created + sig.keyExpiresIn * 1000;
          else if (
            (sig.type === 0x1f || (sig.type >= 0x10 && sig.type <= 0x13)) &&
            at >= (cur.expiresAt ?? 0)
          ) {
            cur.expiresAt = at;
            if (sig.keyExpiresIn) cur.expires = cur.primary.created + sig.keyExpiresIn * 1000;
            else delete cur.expires;
          }
        }
        break;
      }
      default:
      // Trust, marker, literal and other packets carry no key material.
    }
  };
  // One unreadable key (a v3 key, an algorithm from the future) must not hide the rest of a
  // keyring: it is recorded, and what hangs off it (user IDs, subkeys, signatures) is skipped.
  let skipKey = false;
  let skipSigs = false;
  for (const p of packets) {
    const primary = p.tag === PacketTag.PUBLIC_KEY || p.tag === PacketTag.SECRET_KEY;
    if (primary) skipKey = false;
    if (skipKey) continue;
    if (p.tag !== PacketTag.SIGNATURE) skipSigs = false;
    else if (skipSigs) continue;
    try {
      step(p);
    } catch (e) {
      if (!(e instanceof CoreError)) throw e;
      problems.push({ offset: p.offset, reason: e.message });
      if (primary) skipKey = true;
      else if (p.tag !== PacketTag.SIGNATURE) skipSigs = true;
    }
  }
  const all = keys.flatMap((k) => [k.primary, ...k.subkeys.map((s) => s.key)]);
  for (const sig of docSigs) {
    const signer = all.find((k) => isFrom(sig, k));
    const check = document
      ? checkPgpSignature(buf, sig, [document], signer)
      : { status: 'unverified' as const, reason: 'detached signature: the signed data is not in this file' };
    signatures.push({ sig, ...(document && { covers: sha256Of([document]) }), check });
  }
  return {
    keys: keys.map((k) => ({
      primary: k.primary,
      secret: k.secret,
      ...(k.encrypted !== undefined && { encrypted: k.encrypted }),
      userIds: k.userIds,
      subkeys: k.subkeys.map((s) => ({
        key: s.key,
        secret: s.secret,
        ...(s.encrypted !== undefined && { encrypted: s.encrypted }),
        ...(s.expires !== undefined && { expires: s.expires }),
      })),
      ...(k.expires !== undefined && { expires: k.expires }),
      revoked: k.revoked,
    })),
    signatures,
    problems,
  };
}

/** The S2K usage octet that follows a secret key's public part: 0 means stored in the clear. */
function protection(buf: Uint8Array, p: PgpPacket, pub: PgpPacket): boolean | undefined {
  if (p === pub) return undefined;
  if (pub.end >= p.end) bad(`secret key at offset ${p.offset} ends before its S2K usage octet`);
  return buf[pub.end] !== 0;
}

function isFrom(sig: PgpSignature, k: PgpPublicKey): boolean {
  if (sig.issuerFingerprint) return sig.issuerFingerprint === k.fingerprint;
  return sig.issuerKeyId === k.keyId;
}

/**
 * A secret-key packet's leading public part, as its own packet range, so it hashes and fingerprints
 * as the public key does. The secret material after it is never looked at.
 */
function publicPart(buf: Uint8Array, p: PgpPacket): PgpPacket {
  if (p.tag === PacketTag.PUBLIC_KEY || p.tag === PacketTag.PUBLIC_SUBKEY) return p;
  const r = new Body(buf, p);
  const version = r.u8('key version');
  if (version !== 4 && version !== 5 && version !== 6) bad(`key version ${version} at offset ${p.offset}`);
  r.u32('key creation time');
  const alg = r.u8('key algorithm');
  if (version !== 4) r.need(r.u32('key material length'), 'key material');
  else keyMaterial(r, alg, `secret key at offset ${p.offset}`);
  return { ...p, end: r.pos };
}

/** CRC-24 of RFC 4880 6.1. */
export function crc24(data: Uint8Array): number {
  let crc = 0xb704ce;
  for (const b of data) {
    crc ^= b << 16;
    for (let i = 0; i < 8; i++) {
      crc <<= 1;
      if (crc & 0x1000000) crc ^= 0x1864cfb;
    }
  }
  return crc & 0xffffff;
}

export interface PgpArmorBlock {
  /** PUBLIC KEY BLOCK, PRIVATE KEY BLOCK, SIGNATURE, MESSAGE, SIGNED MESSAGE, ... */
  readonly label: string;
  /** Offset of the BEGIN line (of the cleartext header for a SIGNED MESSAGE). */
  readonly offset: number;
  readonly end: number;
  readonly data?: Buffer;
  /** For SIGNED MESSAGE: the signed text, dash-unescaped and canonicalised (RFC 4880 7.1). */
  readonly text?: Buffer;
  readonly error?: string;
}

const BEGIN = '-----BEGIN PGP ';

/** Whether buf holds an armor BEGIN line at all: cheap, for detectors. */
export function hasPgpArmor(buf: Uint8Array): boolean {
  return Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).includes(BEGIN, 0, 'latin1');
}

/** Every armored block of a text, each decoded with its CRC checked, or with the reason it failed. */
export function findPgpArmor(buf: Uint8Array): PgpArmorBlock[] {
  const text = latin1(buf, 0, buf.length);
  const out: PgpArmorBlock[] = [];
  let from = 0;
  while (out.length < MAX_ARMOR_BLOCKS) {
    const at = text.indexOf(BEGIN, from);
    if (at === -1) break;
    if (at > 0 && text[at - 1] !== '\n') {
      from = at + BEGIN.length;
      continue;
    }
    const eol = text.indexOf('\n', at);
    const line = text.slice(at, eol === -1 ? text.length : eol).trimEnd();
    const label = /^-----BEGIN PGP ([A-Z0-9 ,/]{1,40})-----$/.exec(line)?.[1];
    if (!label || eol === -1) {
      out.push({
        label: label ?? '?',
        offset: at,
        end: text.length,
        error: `bad armor header line at offset ${at}`,
      });
      break;
    }
    if (label === 'SIGNED MESSAGE') {
      const b = signedMessage(text, at, eol + 1);
      out.push(b);
      from = b.end;
    } else {
      const b = armorBody(text, label, at, eol + 1);
      out.push(b);
      from = b.end;
    }
  }
  return out;
}

/** Armor headers, then base64, then an optional '=' CRC line, then the END line. */
function armorBody(text: string, label: string, offset: number, bodyStart: number): PgpArmorBlock {
  const endLine = `-----END PGP ${label}-----`;
  const stop = text.indexOf(endLine, bodyStart);
  if (stop === -1)
    return {
      label,
      offset,
      end: text.length,
      error: `no matching END line for the block at offset ${offset}`,
    };
  const end = stop + endLine.length;
  const lines = text
    .slice(bodyStart, stop)
    .split('\n')
    .map((l) => l.trim());
  let i = 0;
  const header = /^[\x21-\x39\x3b-\x7e]+:( |$)/;
  // Headers (Version:, Comment:, Hash:) run to the first blank line; a body may also start at once.
  if (lines[0] === '' || header.test(lines[0] ?? '')) {
    while (i < lines.length && lines[i] !== '') {
      if (!header.test(lines[i]!))
        return { label, offset, end, error: `bad armor header at offset ${offset}` };
      i++;
    }
    i++;
  }
  let b64 = '';
  let crc: string | undefined;
  for (; i < lines.length; i++) {
    const l = lines[i]!;
    if (l === '') continue;
    if (l.startsWith('=') && l.length === 5) {
      crc = l.slice(1);
      continue;
    }
    if (crc !== undefined)
      return { label, offset, end, error: `data after the armor checksum in the block at offset ${offset}` };
    b64 += l;
  }
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0)
    return { label, offset, end, error: `invalid base64 in the armor block at offset ${offset}` };
  const data = Buffer.from(b64, 'base64');
  if (crc !== undefined) {
    const want = Buffer.from(crc, 'base64');
    if (want.length !== 3)
      return { label, offset, end, error: `bad armor checksum line at offset ${offset}` };
    const got = crc24(data);
    if (got !== want.readUIntBE(0, 3))
      return {
        label,
        offset,
        end,
        error: `armor CRC24 ${got.toString(16).padStart(6, '0')} differs from ${want.toString('hex')} at offset ${offset}`,
      };
  }
  return { label, offset, end, data };
}

/** A cleartext-signed message (InRelease): the text, then a SIGNATURE block over it. */
function signedMessage(text: string, offset: number, headerStart: number): PgpArmorBlock {
  const label = 'SIGNED MESSAGE';
  const blank = text.indexOf('\n\n', headerStart - 1);
  const blankCr = text.indexOf('\n\r\n', headerStart - 1);
  const cut = blank === -1 ? blankCr : blankCr === -1 ? blank : Math.min(blank, blankCr);
  if (cut === -1)
    return {
      label,
      offset,
      end: text.length,
      error: `no blank line after the cleartext header at offset ${offset}`,
    };
  const bodyStart = text.indexOf('\n', cut + 1) + 1;
  const sigAt = text.indexOf(`\n${BEGIN}SIGNATURE-----`, bodyStart - 1);
  if (sigAt === -1)
    return { label, offset, end: text.length, error: `cleartext at offset ${offset} has no SIGNATURE block` };
  const raw = text.slice(bodyStart, sigAt).replace(/\r$/, '');
  // RFC 4880 7.1: dash-escapes removed, trailing whitespace dropped, lines joined by CRLF, and the
  // line break before the signature is not signed.
  const canonical = raw
    .split('\n')
    .map((l) => (l.startsWith('- ') ? l.slice(2) : l).replace(/[ \t\r]+$/, ''))
    .join('\r\n');
  const sigLineEnd = text.indexOf('\n', sigAt + 1);
  const sig = armorBody(text, 'SIGNATURE', sigAt + 1, sigLineEnd === -1 ? text.length : sigLineEnd + 1);
  const textBuf = Buffer.from(canonical, 'latin1');
  return sig.error
    ? { label, offset, end: sig.end, text: textBuf, error: sig.error }
    : { label, offset, end: sig.end, text: textBuf, data: sig.data! };
}

/** Whether a binary buffer plausibly starts an OpenPGP packet stream (cheap, before parsing). */
export function looksLikePgp(buf: Uint8Array): boolean {
  if (buf.length < 8) return false;
  const b = buf[0]!;
  if (!(b & 0x80)) return false;
  const tag = b & 0x40 ? b & 0x3f : (b >> 2) & 0x0f;
  if (tag !== PacketTag.PUBLIC_KEY && tag !== PacketTag.SECRET_KEY && tag !== PacketTag.SIGNATURE)
    return false;
  // The first packet's version octet: keys and signatures are v4, v5 or v6 (v3 is long gone).
  const hdr =
    b & 0x40 ? (buf[1]! < 192 ? 2 : buf[1]! < 224 ? 3 : buf[1] === 255 ? 6 : 0) : 1 + (1 << (b & 3));
  if (hdr === 0 || (b & 0x43) === 3) return false;
  const v = buf[hdr];
  return v === 4 || v === 5 || v === 6;
}
