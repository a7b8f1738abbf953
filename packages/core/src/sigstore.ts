import { hash } from 'node:crypto';
import { parseSpki, type SignatureAlgorithm } from './algorithm.ts';
import { readOne } from './der.ts';
import { CoreError, malformed } from './error.ts';
import type { Verification } from './observation.ts';
import { verifySignature } from './verify.ts';

/**
 * Sigstore bundles (sigstore/protobuf-specs, JSON form of dev.sigstore.bundle.v1.Bundle, media
 * types ...bundle+json;version=0.1|0.2|0.3 and ...bundle.v0.3+json) and bare DSSE envelopes
 * (secure-systems-lab/dsse), with the in-toto Statement a DSSE payload usually carries.
 *
 * Everything here is offline: Rekor entries are counted and their integrated times kept, never
 * checked, since that needs the log's key and inclusion proofs.
 */

/** A larger JSON file is no signature bundle; the bound keeps JSON.parse from eating the heap. */
export const SIGSTORE_MAX_BYTES = 16 * 1024 * 1024;
const MAX_SIGNATURES = 64;
const MAX_CERTIFICATES = 32;
const MAX_TLOG_ENTRIES = 1024;
const MAX_SUBJECTS = 4096;

const BUNDLE_MEDIA_PREFIX = 'application/vnd.dev.sigstore.bundle';

export interface DsseSignature {
  readonly keyid?: string;
  readonly sig: Uint8Array;
  /** Byte offset of the base64 "sig" string in the JSON, 0 when it cannot be located. */
  readonly offset: number;
}

export interface DsseEnvelope {
  readonly payloadType: string;
  readonly payload: Uint8Array;
  readonly signatures: readonly DsseSignature[];
}

export interface InTotoStatement {
  /** The statement's `_type`, e.g. https://in-toto.io/Statement/v1. */
  readonly type: string;
  readonly predicateType?: string;
  readonly subjects: readonly { readonly name: string; readonly digest: Readonly<Record<string, string>> }[];
}

export interface SigstoreCertificate {
  readonly der: Uint8Array;
  readonly offset: number;
}

export type SigstoreContent =
  | {
      readonly kind: 'message-signature';
      /** Hash name as node:crypto spells it (sha256), or the protobuf enum name when unknown. */
      readonly digestAlgorithm?: string;
      /** Hex. */
      readonly digest?: string;
      readonly signature: Uint8Array;
      readonly offset: number;
    }
  | { readonly kind: 'dsse'; readonly envelope: DsseEnvelope };

export interface TlogEntry {
  readonly logIndex?: string;
  /** Epoch ms of Rekor's integratedTime, unchecked. */
  readonly integratedTime?: number;
  readonly kind?: string;
}

export interface SigstoreBundle {
  readonly mediaType: string;
  /** 0.1, 0.2, 0.3, or what the media type says. */
  readonly version: string;
  /** Leaf first, as the spec orders x509CertificateChain. */
  readonly certificates: readonly SigstoreCertificate[];
  /** verificationMaterial.publicKey.hint: names a key kept out of band. */
  readonly publicKeyHint?: string;
  readonly tlogEntries: readonly TlogEntry[];
  readonly rfc3161Timestamps: number;
  readonly content: SigstoreContent;
}

export type SigstoreDocument =
  | { readonly kind: 'bundle'; readonly bundle: SigstoreBundle }
  | { readonly kind: 'dsse'; readonly envelope: DsseEnvelope };

/** Cheap sniff: a JSON object naming a bundle media type or a DSSE payloadType. */
export function isSigstore(buf: Uint8Array): boolean {
  if (buf.length > SIGSTORE_MAX_BYTES) return false;
  let i = 0;
  while (
    i < buf.length &&
    i < 64 &&
    (buf[i] === 0x20 || buf[i] === 0x0a || buf[i] === 0x0d || buf[i] === 0x09)
  )
    i++;
  if (buf[i] === 0xef && buf[i + 1] === 0xbb && buf[i + 2] === 0xbf) i += 3;
  if (buf[i] !== 0x7b) return false;
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  return b.includes(BUNDLE_MEDIA_PREFIX) || b.includes('"payloadType"');
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function str(v: unknown, what: string): string {
  if (typeof v !== 'string') malformed(`sigstore: ${what} is not a string`);
  return v;
}

function obj(v: unknown, what: string): Json {
  if (!isObject(v)) malformed(`sigstore: ${what} is not an object`);
  return v;
}

function arr(v: unknown, what: string, max: number): unknown[] {
  if (!Array.isArray(v)) malformed(`sigstore: ${what} is not an array`);
  if (v.length > max) malformed(`sigstore: ${what} has ${v.length} entries, more than ${max}`);
  return v;
}

// Protobuf JSON writes bytes as standard base64; DSSE allows URL-safe too. Buffer.from accepts
// anything, so the alphabet is checked first and a lie is reported, not silently decoded.
// Plain character classes only: a grouped pattern overflows V8's backtracking stack on a
// multi-megabyte payload, and that RangeError would escape the parser.
const B64 = /^[A-Za-z0-9+/]*={0,2}$/;
const B64URL = /^[A-Za-z0-9_-]*$/;

function bytes(v: unknown, what: string): Uint8Array {
  const s = str(v, what);
  const padded = s.endsWith('=');
  // Unpadded input is accepted as many writers drop the padding, but never a lone trailing sextet.
  const lengthOk = padded ? s.length % 4 === 0 : s.length % 4 !== 1;
  if (lengthOk && B64.test(s)) return Buffer.from(s, 'base64');
  if (lengthOk && B64URL.test(s)) return Buffer.from(s, 'base64url');
  return malformed(`sigstore: ${what} is not base64`);
}

/** Where a base64 string sits in the file, so observations point at the bytes they came from. */
function offsetOf(buf: Buffer, s: unknown, from = 0): number {
  if (typeof s !== 'string' || s.length === 0) return 0;
  const at = buf.indexOf(`"${s}"`, from);
  return at < 0 ? 0 : at + 1;
}

// protobuf-specs common.proto HashAlgorithm.
const HASHES: Record<string, string> = {
  SHA2_256: 'sha256',
  SHA2_384: 'sha384',
  SHA2_512: 'sha512',
  SHA3_256: 'sha3-256',
  SHA3_384: 'sha3-384',
};

function envelope(buf: Buffer, e: Json, what: string): DsseEnvelope {
  const payloadType = str(e['payloadType'], `${what}.payloadType`);
  const payload = bytes(e['payload'], `${what}.payload`);
  const sigs = arr(e['signatures'], `${what}.signatures`, MAX_SIGNATURES);
  let from = 0;
  const signatures = sigs.map((raw, i): DsseSignature => {
    const s = obj(raw, `${what}.signatures[${i}]`);
    const keyid = s['keyid'];
    if (keyid !== undefined && typeof keyid !== 'string')
      malformed(`sigstore: ${what}.signatures[${i}].keyid is not a string`);
    const sig = bytes(s['sig'], `${what}.signatures[${i}].sig`);
    const offset = offsetOf(buf, s['sig'], from);
    if (offset > 0) from = offset;
    return { ...(keyid && { keyid }), sig, offset };
  });
  return { payloadType, payload, signatures };
}

function versionOf(mediaType: string): string {
  const m = /;version=([0-9.]+)$/.exec(mediaType) ?? /\.v([0-9.]+)\+json$/.exec(mediaType);
  return m?.[1] ?? 'unknown';
}

function certificates(buf: Buffer, vm: Json): SigstoreCertificate[] {
  const one = vm['certificate'];
  const list: unknown[] = isObject(one)
    ? [one]
    : isObject(vm['x509CertificateChain'])
      ? arr(vm['x509CertificateChain']['certificates'], 'x509CertificateChain.certificates', MAX_CERTIFICATES)
      : [];
  let from = 0;
  return list.map((c, i) => {
    const raw = obj(c, `certificate ${i}`)['rawBytes'];
    const der = bytes(raw, `certificate ${i} rawBytes`);
    const offset = offsetOf(buf, raw, from);
    if (offset > 0) from = offset;
    return { der, offset };
  });
}

function tlogEntries(vm: Json): TlogEntry[] {
  if (vm['tlogEntries'] === undefined) return [];
  return arr(vm['tlogEntries'], 'tlogEntries', MAX_TLOG_ENTRIES).map((t, i) => {
    const e = obj(t, `tlogEntries[${i}]`);
    // int64 fields are strings in protobuf JSON; some writers emit numbers.
    const it = Number(e['integratedTime']);
    const kv = isObject(e['kindVersion']) ? e['kindVersion'] : undefined;
    const idx = e['logIndex'];
    return {
      ...((typeof idx === 'string' || typeof idx === 'number') && { logIndex: String(idx) }),
      ...(Number.isSafeInteger(it) && it > 0 && { integratedTime: it * 1000 }),
      ...(kv && typeof kv['kind'] === 'string' && { kind: `${kv['kind']}/${String(kv['version'])}` }),
    };
  });
}

function bundle(buf: Buffer, b: Json): SigstoreBundle {
  const mediaType = str(b['mediaType'], 'mediaType');
  const vm = obj(b['verificationMaterial'], 'verificationMaterial');
  const pk = vm['publicKey'];
  const hint = isObject(pk) && typeof pk['hint'] === 'string' ? pk['hint'] : undefined;
  const ts = isObject(vm['timestampVerificationData'])
    ? vm['timestampVerificationData']['rfc3161Timestamps']
    : [];
  let content: SigstoreContent;
  if (isObject(b['messageSignature'])) {
    const ms = b['messageSignature'];
    const md = isObject(ms['messageDigest']) ? ms['messageDigest'] : undefined;
    const alg = md && typeof md['algorithm'] === 'string' ? md['algorithm'] : undefined;
    content = {
      kind: 'message-signature',
      ...(alg && { digestAlgorithm: HASHES[alg] ?? alg }),
      ...(md && { digest: Buffer.from(bytes(md['digest'], 'messageDigest.digest')).toString('hex') }),
      signature: bytes(ms['signature'], 'messageSignature.signature'),
      offset: offsetOf(buf, ms['signature']),
    };
  } else if (isObject(b['dsseEnvelope'])) {
    content = { kind: 'dsse', envelope: envelope(buf, b['dsseEnvelope'], 'dsseEnvelope') };
  } else return malformed('sigstore: bundle has neither messageSignature nor dsseEnvelope');
  return {
    mediaType,
    version: versionOf(mediaType),
    certificates: certificates(buf, vm),
    ...(hint && { publicKeyHint: hint }),
    tlogEntries: tlogEntries(vm),
    rfc3161Timestamps: Array.isArray(ts) ? ts.length : 0,
    content,
  };
}

/**
 * A Sigstore bundle or a bare DSSE envelope. CoreError DER_MALFORMED (the package's one code for a
 * structure that breaks its format) for bad JSON, a missing field or bad base64, naming the field.
 */
export function parseSigstore(input: Uint8Array): SigstoreDocument {
  if (input.length > SIGSTORE_MAX_BYTES)
    malformed(`sigstore: ${input.length} bytes, more than ${SIGSTORE_MAX_BYTES}`);
  const buf = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  let root: unknown;
  try {
    root = JSON.parse(buf.toString('utf8'));
  } catch (err) {
    return malformed(`sigstore: not JSON (${input.length} bytes at offset 0): ${(err as Error).message}`);
  }
  const top = obj(root, 'document');
  if (typeof top['mediaType'] === 'string' && top['mediaType'].startsWith(BUNDLE_MEDIA_PREFIX))
    return { kind: 'bundle', bundle: bundle(buf, top) };
  if ('payloadType' in top) return { kind: 'dsse', envelope: envelope(buf, top, 'envelope') };
  return malformed('sigstore: neither a bundle mediaType nor a DSSE payloadType at offset 0');
}

/** DSSE v1 pre-authentication encoding: "DSSEv1" SP len(type) SP type SP len(body) SP body. */
export function dssePae(payloadType: string, payload: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `),
    type,
    Buffer.from(` ${payload.length} `),
    payload,
  ]);
}

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

/** The in-toto Statement (v0.1 or v1) a DSSE payload carries; undefined when it carries none. */
export function parseInToto(env: DsseEnvelope): InTotoStatement | undefined {
  if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE) return undefined;
  let st: unknown;
  try {
    st = JSON.parse(Buffer.from(env.payload).toString('utf8'));
  } catch (err) {
    return malformed(`in-toto payload is not JSON: ${(err as Error).message}`);
  }
  const s = obj(st, 'in-toto statement');
  const type = str(s['_type'], 'in-toto _type');
  const subjects = arr(s['subject'] ?? [], 'in-toto subject', MAX_SUBJECTS).map((x, i) => {
    const o = obj(x, `in-toto subject[${i}]`);
    const d = isObject(o['digest']) ? o['digest'] : {};
    const digest: Record<string, string> = {};
    for (const [k, v] of Object.entries(d)) if (typeof v === 'string') digest[k] = v.toLowerCase();
    return { name: typeof o['name'] === 'string' ? o['name'] : '', digest };
  });
  const pt = s['predicateType'];
  return { type, ...(typeof pt === 'string' && { predicateType: pt }), subjects };
}

export interface SigstoreCheck {
  readonly status: Verification;
  readonly reason?: string;
}

const ECDSA: Record<string, SignatureAlgorithm> = {
  'P-256': { oid: '1.2.840.10045.4.3.2', name: 'ecdsa-with-SHA256' },
  'P-384': { oid: '1.2.840.10045.4.3.3', name: 'ecdsa-with-SHA384' },
  'P-521': { oid: '1.2.840.10045.4.3.4', name: 'ecdsa-with-SHA512' },
};

/**
 * The scheme Sigstore clients pair with each key: ECDSA with the curve's hash, Ed25519, and
 * RSA PKCS#1 v1.5 with SHA-256 (cosign's default for RSA keys).
 */
export function sigstoreAlgorithm(spki: Uint8Array): SignatureAlgorithm | undefined {
  const k = parseSpki(spki, readOne(spki));
  if (k.algorithm === 'EC') return k.curve ? ECDSA[k.curve] : undefined;
  if (k.algorithm === 'Ed25519') return { oid: '1.3.101.112', name: 'Ed25519' };
  if (k.algorithm === 'RSA') return { oid: '1.2.840.113549.1.1.11', name: 'sha256WithRSAEncryption' };
  return undefined;
}

function check(spki: Uint8Array, data: Uint8Array, sig: Uint8Array, what: string): SigstoreCheck {
  try {
    const alg = sigstoreAlgorithm(spki);
    if (!alg) return { status: 'unverified', reason: `${what}: no Sigstore signature scheme for this key` };
    return verifySignature(spki, alg, data, sig)
      ? { status: 'valid' }
      : { status: 'invalid', reason: `${what} does not verify with the signer's key` };
  } catch (err) {
    if (err instanceof CoreError) return { status: 'unverified', reason: `${what}: ${err.message}` };
    throw err;
  }
}

/** One DSSE signature over the envelope's PAE, with the key in `spki`. */
export function verifyDsse(env: DsseEnvelope, sig: DsseSignature, spki: Uint8Array): SigstoreCheck {
  return check(
    spki,
    dssePae(env.payloadType, env.payload),
    sig.sig,
    `DSSE signature at offset ${sig.offset}`,
  );
}

/**
 * A messageSignature signs the artifact's bytes, so it can only be checked with them; the stated
 * digest is compared first so a swapped artifact reads as such, not as a bad signature.
 */
export function verifyMessageSignature(
  content: Extract<SigstoreContent, { kind: 'message-signature' }>,
  spki: Uint8Array,
  artifact?: Uint8Array,
): SigstoreCheck {
  if (!artifact)
    return {
      status: 'unverified',
      reason: 'messageSignature signs the artifact bytes, which are not at hand',
    };
  if (content.digest !== undefined && content.digestAlgorithm !== undefined) {
    let actual: string;
    try {
      actual = hash(content.digestAlgorithm, artifact, 'hex');
    } catch {
      return { status: 'unverified', reason: `digest algorithm ${content.digestAlgorithm} is not supported` };
    }
    if (actual !== content.digest)
      return {
        status: 'invalid',
        reason: `artifact ${content.digestAlgorithm} ${actual} differs from the bundle's ${content.digest}`,
      };
  }
  return check(spki, artifact, content.signature, `messageSignature at offset ${content.offset}`);
}
