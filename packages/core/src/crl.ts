import { hash } from 'node:crypto';
import {
  children,
  readBitString,
  readIntegerHex,
  readOne,
  readSmallInt,
  readTime,
  readTlv,
  seq,
  Tag,
  type Tlv,
} from './der.ts';
import { malformed } from './error.ts';
import { ext, parseExtensions, type Extension, type IssuingDistributionPoint } from './extensions.ts';
import type { GeneralName } from './general-name.ts';
import { parseName, type DistinguishedName } from './name.ts';
import { parseSignatureAlgorithm, type SignatureAlgorithm } from './algorithm.ts';
import type { CrlSummary } from './observation.ts';

/**
 * X.509 CRL, v1 and v2 (RFC 5280 §5.1):
 *
 *   CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue BIT STRING }
 *   TBSCertList ::= SEQUENCE { version INTEGER OPTIONAL (v2 only), signature AlgorithmIdentifier,
 *       issuer Name, thisUpdate Time, nextUpdate Time OPTIONAL,
 *       revokedCertificates SEQUENCE OF SEQUENCE { userCertificate INTEGER, revocationDate Time,
 *           crlEntryExtensions Extensions OPTIONAL } OPTIONAL,
 *       crlExtensions [0] EXPLICIT Extensions OPTIONAL }
 */

export interface RevokedCertificate {
  /** Lowercase hex without the DER sign octet, as Certificate.serial. */
  readonly serial: string;
  /** Epoch milliseconds. */
  readonly revocationDate: number;
  /** cRLReason name (keyCompromise, superseded, ...). Absent means unspecified. */
  readonly reason?: string;
  /** Epoch milliseconds: when the key is known or suspected to have been compromised. */
  readonly invalidityDate?: number;
  /**
   * The issuer of the revoked certificate in an indirect CRL. RFC 5280 §5.3.3: an entry without the
   * extension inherits the value of the preceding entry, so the inherited value is filled in here.
   * Absent means the CRL issuer.
   */
  readonly certificateIssuer?: GeneralName[];
  /** The entry's extensions as encoded; absent when it has none (the common case, kept small). */
  readonly extensions?: Extension[];
}

export interface CertificateList {
  /** 1 or 2. */
  readonly version: number;
  readonly signatureAlgorithm: SignatureAlgorithm;
  readonly issuer: DistinguishedName;
  /** Epoch milliseconds. */
  readonly thisUpdate: number;
  readonly nextUpdate?: number;
  readonly revoked: RevokedCertificate[];
  readonly extensions: Extension[];
  /** cRLNumber as lowercase hex. */
  readonly crlNumber?: string;
  /** deltaCRLIndicator (the base CRL number) as lowercase hex: present only on delta CRLs. */
  readonly deltaCrlIndicator?: string;
  /** authorityKeyIdentifier keyIdentifier, lowercase hex. */
  readonly aki?: string;
  readonly issuingDistributionPoint?: IssuingDistributionPoint;
  /** Lowercase hex SHA-256 of the whole CRL DER. */
  readonly sha256: string;
  /** Byte range of tbsCertList and the signature value inside the input, relative to `start`. */
  readonly tbs: { start: number; end: number };
  readonly signature: { start: number; end: number };
}

/**
 * The most revoked entries we decode from one CRL. The largest public CRLs hold a few million
 * entries; a CRL claiming more is refused rather than allowed to exhaust memory.
 */
export const MAX_CRL_ENTRIES = 5_000_000;

export interface ParseCrlOptions {
  /** Bound on revokedCertificates; defaults to MAX_CRL_ENTRIES. */
  readonly maxEntries?: number;
}

/** Parse a DER CertificateList occupying exactly [start, end) of `der`. */
export function parseCrl(
  der: Uint8Array,
  start = 0,
  end = der.length,
  options: ParseCrlOptions = {},
): CertificateList {
  const maxEntries = options.maxEntries ?? MAX_CRL_ENTRIES;
  const top = readOne(der, start, end);
  const [tbsT, sigAlgT, sigT, extra] = seq(der, top, 'CertificateList');
  if (!tbsT || !sigAlgT || !sigT || extra) malformed(`CertificateList must have three elements`);
  const tbs = seq(der, tbsT, 'TBSCertList');
  let i = 0;
  let version = 1;
  if (tbs[0]?.tag === Tag.INTEGER) {
    const v = readSmallInt(der, tbs[0]);
    if (v > 1) malformed(`unknown CRL version ${v + 1} at offset ${tbs[0].hs}`);
    version = v + 1;
    i = 1;
  }
  const innerSig = parseSignatureAlgorithm(der, tbs[i++]);
  const issuer = parseName(der, tbs[i++]);
  const thisUpdateT = tbs[i++];
  if (!thisUpdateT) return malformed(`missing thisUpdate`);
  const thisUpdate = readTime(der, thisUpdateT);
  let nextUpdate: number | undefined;
  const maybeNext = tbs[i];
  if (maybeNext && (maybeNext.tag === Tag.UTCTime || maybeNext.tag === Tag.GeneralizedTime)) {
    nextUpdate = readTime(der, maybeNext);
    i++;
  }
  let revoked: RevokedCertificate[] = [];
  const maybeList = tbs[i];
  if (maybeList?.tag === Tag.SEQUENCE) {
    revoked = revokedCertificates(der, maybeList, maxEntries);
    i++;
  }
  let extensions: Extension[] = [];
  const maybeExts = tbs[i];
  if (maybeExts?.tag === 0xa0) {
    const [inner, more] = children(der, maybeExts);
    if (!inner || more) malformed(`crlExtensions must hold one Extensions at offset ${maybeExts.hs}`);
    extensions = parseExtensions(der, inner);
    i++;
  }
  if (i < tbs.length) malformed(`unexpected field in TBSCertList at offset ${tbs[i]!.hs}`);

  const signatureAlgorithm = parseSignatureAlgorithm(der, sigAlgT);
  if (!sameAlgorithm(signatureAlgorithm, innerSig))
    malformed(`signature algorithm differs inside and outside TBS`);
  const sig = readBitString(der, sigT);
  const crlNumber = ext(extensions, 'cRLNumber')?.number;
  const delta = ext(extensions, 'deltaCRLIndicator')?.number;
  const aki = ext(extensions, 'authorityKeyIdentifier')?.value.keyId;
  const idp = ext(extensions, 'issuingDistributionPoint')?.value;
  return {
    version,
    signatureAlgorithm,
    issuer,
    thisUpdate,
    ...(nextUpdate !== undefined && { nextUpdate }),
    revoked,
    extensions,
    ...(crlNumber !== undefined && { crlNumber }),
    ...(delta !== undefined && { deltaCrlIndicator: delta }),
    ...(aki !== undefined && { aki }),
    ...(idp && { issuingDistributionPoint: idp }),
    sha256: hash('sha256', der.subarray(top.hs, top.end), 'hex'),
    tbs: { start: tbsT.hs - start, end: tbsT.end - start },
    signature: { start: sig.start - start, end: sig.end - start },
  };
}

/** RFC 5280 §5.1.1.2: the two AlgorithmIdentifiers must match; for PSS the parameters must too. */
function sameAlgorithm(a: SignatureAlgorithm, b: SignatureAlgorithm): boolean {
  if (a.oid !== b.oid) return false;
  if (!a.pss || !b.pss) return a.pss === b.pss;
  return (
    a.pss.hash === b.pss.hash &&
    a.pss.mgf === b.pss.mgf &&
    a.pss.mgfHash === b.pss.mgfHash &&
    a.pss.saltLength === b.pss.saltLength &&
    a.pss.trailerField === b.pss.trailerField
  );
}

function revokedCertificates(der: Uint8Array, list: Tlv, maxEntries: number): RevokedCertificate[] {
  const out: RevokedCertificate[] = [];
  let certificateIssuer: GeneralName[] | undefined;
  // Walk the list directly rather than through children(): it is the one place a real structure may
  // hold millions of elements, and we want neither its element cap nor an intermediate array.
  for (let pos = list.start; pos < list.end;) {
    if (out.length >= maxEntries) malformed(`CRL has more than ${maxEntries} entries at offset ${list.hs}`);
    const entryT = readTlv(der, pos, list.end);
    pos = entryT.end;
    const [serialT, dateT, extsT, extra] = seq(der, entryT, 'revokedCertificate');
    if (serialT?.tag !== Tag.INTEGER) return malformed(`revoked entry without serial at offset ${entryT.hs}`);
    if (!dateT) return malformed(`revoked entry without revocationDate at offset ${entryT.hs}`);
    if (extra) malformed(`unexpected field in revoked entry at offset ${extra.hs}`);
    const serial = readIntegerHex(der, serialT);
    const revocationDate = readTime(der, dateT);
    if (!extsT) {
      out.push(
        certificateIssuer ? { serial, revocationDate, certificateIssuer } : { serial, revocationDate },
      );
      continue;
    }
    const extensions = parseExtensions(der, extsT);
    const reason = ext(extensions, 'cRLReason')?.reason;
    const invalidityDate = ext(extensions, 'invalidityDate')?.time;
    certificateIssuer = ext(extensions, 'certificateIssuer')?.names ?? certificateIssuer;
    out.push({
      serial,
      revocationDate,
      ...(reason !== undefined && { reason }),
      ...(invalidityDate !== undefined && { invalidityDate }),
      ...(certificateIssuer && { certificateIssuer }),
      extensions,
    });
  }
  return out;
}

/** The inventory's view of a CRL: who issued it, when, how fresh, and how many entries. */
export function crlSummary(c: CertificateList): CrlSummary {
  return {
    sha256: c.sha256,
    issuer: c.issuer.text,
    thisUpdate: c.thisUpdate,
    ...(c.nextUpdate !== undefined && { nextUpdate: c.nextUpdate }),
    ...(c.crlNumber !== undefined && { crlNumber: c.crlNumber }),
    ...(c.aki !== undefined && { aki: c.aki }),
    signatureAlgorithm: c.signatureAlgorithm.name,
    entries: c.revoked.length,
  };
}
