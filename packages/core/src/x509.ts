import { hash } from 'node:crypto';
import {
  children,
  readBitString,
  readIntegerHex,
  readOne,
  readSmallInt,
  readTime,
  sameBytes,
  seq,
  Tag,
  type Tlv,
} from './der.ts';
import { malformed } from './error.ts';
import { parseExtensions, type BasicConstraints, type Extension } from './extensions.ts';
import type { GeneralName } from './general-name.ts';
import { parseName, type DistinguishedName, type NameAttribute } from './name.ts';
import {
  parseSignatureAlgorithm,
  parseSpki,
  type PublicKeyInfo,
  type SignatureAlgorithm,
} from './algorithm.ts';

export interface Certificate {
  // issuer and subject may be shared between certificates with the same name bytes (see cachedName),
  // publicKey between certificates with the same SubjectPublicKeyInfo bytes (see cachedSpki): they
  // are frozen, treat them as read-only.
  readonly version: number;
  /** Lowercase hex without the DER sign octet. */
  readonly serial: string;
  readonly signatureAlgorithm: SignatureAlgorithm;
  readonly issuer: DistinguishedName;
  readonly subject: DistinguishedName;
  /** Epoch milliseconds. */
  readonly notBefore: number;
  readonly notAfter: number;
  readonly publicKey: PublicKeyInfo;
  readonly sha256: string;
  readonly sha1: string;
  /** Issuer and subject names are identical (RFC 5280 "self-issued"). */
  readonly selfIssued: boolean;
  /** Self-issued and its key identifiers do not name another key; the signature itself is not checked here. */
  readonly selfSigned: boolean;
  readonly extensions: Extension[];
  readonly subjectAltNames?: GeneralName[];
  readonly keyUsage?: string[];
  readonly extKeyUsage?: string[];
  readonly basicConstraints?: { ca: boolean; pathLen?: number };
  readonly ski?: string;
  readonly aki?: string;
  /** Byte range of tbsCertificate and the signature value inside the input, for signature checks. */
  readonly tbs: { start: number; end: number };
  readonly signature: { start: number; end: number };
}

export function parseCertificate(der: Uint8Array, start = 0, end = der.length): Certificate {
  const top = readOne(der, start, end);
  const [tbsT, sigAlgT, sigT, extra] = seq(der, top, 'Certificate');
  if (!tbsT || !sigAlgT || !sigT || extra) malformed(`Certificate must have three elements`);
  const tbs = seq(der, tbsT, 'TBSCertificate');
  let i = 0;
  let version = 1;
  if (tbs[0]?.tag === 0xa0) {
    const [v] = children(der, tbs[0]);
    if (!v) return malformed(`empty version at offset ${tbs[0].hs}`);
    version = readSmallInt(der, v) + 1;
    i = 1;
  }
  const serialT = tbs[i++];
  if (serialT?.tag !== Tag.INTEGER) return malformed(`missing serial number`);
  const serial = readIntegerHex(der, serialT);
  const innerSig = parseSignatureAlgorithm(der, tbs[i++]);
  const issuer = cachedName(der, tbs[i++], true);
  const [nbT, naT] = seq(der, tbs[i++], 'Validity');
  if (!nbT || !naT) return malformed(`incomplete Validity`);
  const subject = cachedName(der, tbs[i++], false);
  const publicKey = cachedSpki(der, tbs[i++]);
  let extensions: Extension[] = [];
  for (; i < tbs.length; i++) {
    const t = tbs[i]!;
    if (t.tag === 0xa3) {
      const [inner] = children(der, t);
      if (inner) extensions = parseExtensions(der, inner);
    } else if (t.tag !== 0x81 && t.tag !== 0xa1 && t.tag !== 0x82 && t.tag !== 0xa2)
      malformed(`unexpected field in TBSCertificate at offset ${t.hs}`);
  }
  const signatureAlgorithm = parseSignatureAlgorithm(der, sigAlgT);
  if (signatureAlgorithm.oid !== innerSig.oid)
    malformed(`signature algorithm differs inside and outside TBS`);
  const sig = readBitString(der, sigT);
  // The usual input is exactly one certificate: hash it as it is rather than through a new view.
  const view = top.hs === 0 && top.end === der.length ? der : der.subarray(top.hs, top.end);
  // One pass for the six extensions surfaced as fields; the first of a kind wins, as with ext().
  let san: GeneralName[] | undefined;
  let ku: string[] | undefined;
  let eku: string[] | undefined;
  let bc: BasicConstraints | undefined;
  let ski: string | undefined;
  let akiSeen = false;
  let aki: string | undefined;
  for (let j = 0; j < extensions.length; j++) {
    const v = extensions[j]!.value;
    if (v === undefined) continue;
    switch (v.kind) {
      case 'subjectAltName':
        san ??= v.names;
        break;
      case 'keyUsage':
        ku ??= v.usages;
        break;
      case 'extKeyUsage':
        eku ??= v.purposes;
        break;
      case 'basicConstraints':
        bc ??= v.value;
        break;
      case 'subjectKeyIdentifier':
        ski ??= v.keyId;
        break;
      case 'authorityKeyIdentifier':
        if (!akiSeen) aki = v.value.keyId;
        akiSeen = true;
        break;
    }
  }
  const selfIssued = issuer.text === subject.text;
  // Built field by field rather than with conditional spreads; the key order is the same as ever.
  const cert: { -readonly [K in keyof Certificate]: Certificate[K] } = {
    version,
    serial,
    signatureAlgorithm,
    issuer,
    subject,
    notBefore: readTime(der, nbT),
    notAfter: readTime(der, naT),
    publicKey,
    sha256: hash('sha256', view, 'hex'),
    sha1: hash('sha1', view, 'hex'),
    selfIssued,
    selfSigned: selfIssued && (aki === undefined || ski === undefined || aki === ski),
    extensions,
  } as Certificate;
  if (san) cert.subjectAltNames = san;
  if (ku) cert.keyUsage = ku;
  if (eku) cert.extKeyUsage = eku;
  if (bc) cert.basicConstraints = bc;
  if (ski !== undefined) cert.ski = ski;
  if (aki !== undefined) cert.aki = aki;
  cert.tbs = { start: tbsT.hs - start, end: tbsT.end - start };
  cert.signature = { start: sig.start - start, end: sig.end - start };
  return cert;
}

// Issuer and subject names repeat across an estate (every leaf of a CA names it as issuer), so parsed
// names are kept by their DER bytes in a small direct-mapped table: slot from a hash of the length and
// the last octets (where names differ), confirmed by comparing every octet. Entries are deep-frozen
// because one DistinguishedName object is then shared by every certificate with those name bytes.
const NAME_SLOTS = 256;
const nameBytes: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(NAME_SLOTS).fill(undefined);
const nameValues: (DistinguishedName | undefined)[] = new Array<DistinguishedName | undefined>(
  NAME_SLOTS,
).fill(undefined);

function cachedName(der: Uint8Array, t: Tlv | undefined, keep: boolean): DistinguishedName {
  if (t === undefined || t.tag !== Tag.SEQUENCE || t.end - t.hs > 4096) return parseName(der, t);
  const s = t.hs;
  const e = t.end;
  let h = e - s;
  for (let i = Math.max(s, e - 24); i < e; i++) h = Math.imul(h ^ der[i]!, 0x01000193);
  const slot = (h ^ (h >>> 11)) & (NAME_SLOTS - 1);
  const known = nameBytes[slot];
  if (known !== undefined && sameBytes(known, der, s, e)) return nameValues[slot]!;
  const name = parseName(der, t);
  if (!keep) return name;
  nameBytes[slot] = new Uint8Array(der.subarray(s, e));
  nameValues[slot] = freezeName(name);
  return name;
}

function freezeName(name: DistinguishedName): DistinguishedName {
  for (const rdn of name.rdns) {
    for (const a of rdn) Object.freeze(a as NameAttribute);
    Object.freeze(rdn);
  }
  Object.freeze(name.rdns);
  return Object.freeze(name);
}

// A key outlives its certificates (renewals, re-issues, the same certificate copied into many files),
// and its keyId is a SHA-256 over the whole SubjectPublicKeyInfo, so parsed keys are kept the same way
// as names: slot from a hash of the length and the last octets (key material, where keys differ),
// confirmed by comparing every octet, the shared record frozen.
const SPKI_SLOTS = 256;
const spkiBytes: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(SPKI_SLOTS).fill(undefined);
const spkiValues: (PublicKeyInfo | undefined)[] = new Array<PublicKeyInfo | undefined>(SPKI_SLOTS).fill(
  undefined,
);

function cachedSpki(der: Uint8Array, t: Tlv | undefined): PublicKeyInfo {
  if (t === undefined || t.tag !== Tag.SEQUENCE || t.end - t.hs > 4096) return parseSpki(der, t);
  const s = t.hs;
  const e = t.end;
  let h = e - s;
  for (let i = Math.max(s, e - 16); i < e; i++) h = Math.imul(h ^ der[i]!, 0x01000193);
  const slot = (h ^ (h >>> 11)) & (SPKI_SLOTS - 1);
  const known = spkiBytes[slot];
  if (known !== undefined && sameBytes(known, der, s, e)) return spkiValues[slot]!;
  const key = Object.freeze(parseSpki(der, t));
  spkiBytes[slot] = new Uint8Array(der.subarray(s, e)); // a copy: the input may be reused
  spkiValues[slot] = key;
  return key;
}

/** Structural sniff: does this TLV look like a Certificate (SEQUENCE of SEQUENCE(TBS with version/serial), AlgId, BIT STRING)? */
export function looksLikeCertificate(buf: Uint8Array, top: Tlv): boolean {
  try {
    const [tbsT, algT, sigT] = children(buf, top, 4);
    if (tbsT?.tag !== Tag.SEQUENCE || algT?.tag !== Tag.SEQUENCE || sigT?.tag !== Tag.BIT_STRING)
      return false;
    const first = children(buf, tbsT, 12)[0];
    return first?.tag === 0xa0 || first?.tag === Tag.INTEGER;
  } catch {
    return false;
  }
}
