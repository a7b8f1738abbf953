import { hash } from 'node:crypto';
import { children, readBitString, readIntegerHex, readOne, readSmallInt, readTime, seq, Tag, type Tlv } from './der.ts';
import { malformed } from './error.ts';
import { ext, parseExtensions, type Extension } from './extensions.ts';
import type { GeneralName } from './general-name.ts';
import { parseName, type DistinguishedName } from './name.ts';
import { parseSignatureAlgorithm, parseSpki, type PublicKeyInfo, type SignatureAlgorithm } from './algorithm.ts';

export interface Certificate {
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
  const issuer = parseName(der, tbs[i++]);
  const [nbT, naT] = seq(der, tbs[i++], 'Validity');
  if (!nbT || !naT) return malformed(`incomplete Validity`);
  const subject = parseName(der, tbs[i++]);
  const publicKey = parseSpki(der, tbs[i++]);
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
  if (signatureAlgorithm.oid !== innerSig.oid) malformed(`signature algorithm differs inside and outside TBS`);
  const sig = readBitString(der, sigT);
  const view = der.subarray(top.hs, top.end);
  const san = ext(extensions, 'subjectAltName');
  const ku = ext(extensions, 'keyUsage');
  const eku = ext(extensions, 'extKeyUsage');
  const bc = ext(extensions, 'basicConstraints');
  const ski = ext(extensions, 'subjectKeyIdentifier')?.keyId;
  const aki = ext(extensions, 'authorityKeyIdentifier')?.value.keyId;
  const selfIssued = issuer.text === subject.text;
  return {
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
    ...(san && { subjectAltNames: san.names }),
    ...(ku && { keyUsage: ku.usages }),
    ...(eku && { extKeyUsage: eku.purposes }),
    ...(bc && { basicConstraints: bc.value }),
    ...(ski !== undefined && { ski }),
    ...(aki !== undefined && { aki }),
    tbs: { start: tbsT.hs - start, end: tbsT.end - start },
    signature: { start: sig.start - start, end: sig.end - start },
  };
}

/** Structural sniff: does this TLV look like a Certificate (SEQUENCE of SEQUENCE(TBS with version/serial), AlgId, BIT STRING)? */
export function looksLikeCertificate(buf: Uint8Array, top: Tlv): boolean {
  try {
    const [tbsT, algT, sigT] = children(buf, top, 4);
    if (tbsT?.tag !== Tag.SEQUENCE || algT?.tag !== Tag.SEQUENCE || sigT?.tag !== Tag.BIT_STRING) return false;
    const first = children(buf, tbsT, 12)[0];
    return first?.tag === 0xa0 || first?.tag === Tag.INTEGER;
  } catch {
    return false;
  }
}
