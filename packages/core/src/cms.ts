import { parseAlgorithmIdentifier, parseSignatureAlgorithm, type SignatureAlgorithm } from './algorithm.ts';
import { berChildren, berSeq, octetPieces, readBer, type BerTlv } from './cms-ber.ts';
import { ID_CT_TSTINFO, parseTstInfo, type TstInfo } from './cms-tst.ts';
import { hex, readIntegerHex, readOid, readSmallInt, readTime, Tag } from './der.ts';
import { CoreError, malformed } from './error.ts';
import { parseName, type DistinguishedName } from './name.ts';
import { HASH_ALGORITHMS } from './oid.ts';

/**
 * RFC 5652 SignedData (and its PKCS #7 v1.5 ancestor, as Authenticode uses it) read from a byte
 * buffer. Results are byte ranges into that buffer, absolute offsets even when a sub-range was
 * parsed, so large content is never copied. The outer layers may be BER (see cms-ber.ts).
 *
 *   ContentInfo ::= SEQUENCE { contentType OID, content [0] EXPLICIT ANY }
 *   SignedData ::= SEQUENCE { version, digestAlgorithms SET OF AlgorithmIdentifier,
 *       encapContentInfo SEQUENCE { eContentType OID, eContent [0] EXPLICIT OCTET STRING OPT },
 *       certificates [0] IMPLICIT OPT, crls [1] IMPLICIT OPT, signerInfos SET OF SignerInfo }
 *   SignerInfo ::= SEQUENCE { version, sid (IssuerAndSerialNumber | [0] SubjectKeyIdentifier),
 *       digestAlgorithm, signedAttrs [0] IMPLICIT OPT, signatureAlgorithm, signature OCTET STRING,
 *       unsignedAttrs [1] IMPLICIT OPT }
 */

export const CMS_OIDS = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  countersignature: '1.2.840.113549.1.9.6',
  timeStampToken: '1.2.840.113549.1.9.16.2.14',
  msTimeStampToken: '1.3.6.1.4.1.311.3.3.1',
  msNestedSignature: '1.3.6.1.4.1.311.2.4.1',
  spcIndirectData: '1.3.6.1.4.1.311.2.1.4',
  tstInfo: ID_CT_TSTINFO,
} as const;

/** Bounds on hostile input; real files stay far below each. */
export const CMS_LIMITS = {
  /** SignedData inside SignedData: Authenticode nests signatures, which carry time-stamp tokens. */
  nesting: 4,
  signers: 1000,
  certificates: 10_000,
  attributes: 1000,
  values: 1000,
  digestAlgorithms: 64,
} as const;

export interface Range {
  readonly start: number;
  readonly end: number;
}

export interface Attribute {
  readonly oid: string;
  /** Each value's whole element, header included. */
  readonly values: Range[];
}

export interface SignedData {
  readonly version: number;
  /** Names as in oid.ts HASH_ALGORITHMS ('sha256'), else the OID. */
  readonly digestAlgorithms: string[];
  /** eContentType OID. */
  readonly contentType: string;
  /**
   * The content: the value inside eContent's OCTET STRING; for PKCS #7 content of another type
   * (Authenticode's SpcIndirectDataContent SEQUENCE) the whole element, whose value octets are what
   * its messageDigest covers. Absent when detached, and when the content is a BER constructed
   * OCTET STRING (then see contentChunks).
   */
  readonly content?: Range;
  /** BER only: the primitive pieces of a constructed OCTET STRING; the content is their concatenation. */
  readonly contentChunks?: Range[];
  /** The whole eContent element, header included, when the content is encapsulated. */
  readonly contentElement?: Range & { readonly tag: number };
  /** Whole Certificate elements, each parseable with parseCertificate(buf, r.start, r.end); other CertificateChoices are skipped. */
  readonly certificates: Range[];
  /** Whole CertificateList elements; other RevocationInfoChoices are skipped. */
  readonly crls: Range[];
  readonly signers: CmsSigner[];
}

export type SignerId =
  { readonly issuer: DistinguishedName; readonly serial: string } | { readonly ski: string };

export interface SignedAttributes extends Range {
  // The range is the whole [0] element: the signature covers it re-tagged as SET (RFC 5652 §5.4).
  readonly attributes: Attribute[];
  readonly contentType?: string;
  /** Lowercase hex. */
  readonly messageDigest?: string;
  /** Epoch milliseconds. */
  readonly signingTime?: number;
}

export interface CmsSigner {
  readonly version: number;
  readonly sid: SignerId;
  readonly digestAlgorithm: string;
  readonly signatureAlgorithm: SignatureAlgorithm;
  readonly signedAttrs?: SignedAttributes;
  /** The signature value octets. */
  readonly signature: Range;
  readonly unsignedAttrs: Attribute[];
  /** PKCS #9 countersignatures and RFC 3161 time-stamp tokens (standard and Microsoft OIDs) from unsignedAttrs, parsed. */
  readonly countersignatures: Countersignature[];
  /** Microsoft nested signatures (1.3.6.1.4.1.311.2.4.1): more SignedData. */
  readonly nested: SignedData[];
}

export interface Countersignature {
  readonly kind: 'pkcs9' | 'rfc3161';
  /** The unsigned attribute it came from. */
  readonly oid: string;
  /** The countersigner, or for a time-stamp token its (first) signer. */
  readonly signer: CmsSigner;
  /** The time-stamp token (rfc3161 only). */
  readonly signedData?: SignedData;
  readonly tstInfo?: TstInfo;
  /** TSTInfo genTime, epoch milliseconds. */
  readonly time?: number;
  /** TSTInfo messageImprint: hex of the hash of the parent's signature value, and that hash's name. */
  readonly imprint?: string;
  readonly imprintAlgorithm?: string;
}

/**
 * Read a ContentInfo holding SignedData from buf[start, end). Zero octets after it are accepted
 * (Authenticode pads its certificate table); anything else is refused. Throws CoreError
 * (DER_MALFORMED with the offset and reason; DER_UNEXPECTED for a ContentInfo of another type).
 */
export function parseSignedData(buf: Uint8Array, start = 0, end = buf.length): SignedData {
  return signedDataAt(buf, start, end, 0);
}

function signedDataAt(buf: Uint8Array, start: number, end: number, level: number): SignedData {
  if (level > CMS_LIMITS.nesting)
    malformed(`SignedData nested deeper than ${CMS_LIMITS.nesting} at offset ${start}`);
  const top = readBer(buf, start, end);
  for (let i = top.next; i < end; i++)
    if (buf[i] !== 0) malformed(`${end - top.next} trailing bytes after ContentInfo at offset ${top.next}`);
  const [typeT, wrapT, extra] = berSeq(buf, top, 'ContentInfo', Tag.SEQUENCE, 2);
  if (!typeT || extra) malformed(`bad ContentInfo at offset ${top.hs}`);
  const type = readOid(buf, typeT);
  if (type !== CMS_OIDS.signedData)
    throw new CoreError('DER_UNEXPECTED', `ContentInfo at offset ${top.hs} holds ${type}, not SignedData`);
  const [sdT, more] = berSeq(buf, wrapT, 'ContentInfo content', 0xa0, 2);
  if (!sdT || more) malformed(`ContentInfo content at offset ${wrapT!.hs} must hold one element`);
  return signedDataBody(buf, sdT, level);
}

function signedDataBody(buf: Uint8Array, t: BerTlv, level: number): SignedData {
  const f = berSeq(buf, t, 'SignedData', Tag.SEQUENCE, 6);
  const [versionT, digestsT, encapT] = f;
  if (!versionT || !digestsT || !encapT) return malformed(`incomplete SignedData at offset ${t.hs}`);
  const digestAlgorithms = berSeq(
    buf,
    digestsT,
    'digestAlgorithms',
    Tag.SET,
    CMS_LIMITS.digestAlgorithms,
  ).map((a) => hashName(parseAlgorithmIdentifier(buf, a).oid));
  const [typeT, eContentT, extra] = berSeq(buf, encapT, 'EncapsulatedContentInfo', Tag.SEQUENCE, 2);
  if (!typeT || extra) malformed(`bad EncapsulatedContentInfo at offset ${encapT.hs}`);
  const out: { -readonly [K in keyof SignedData]: SignedData[K] } = {
    version: readSmallInt(buf, versionT),
    digestAlgorithms,
    contentType: readOid(buf, typeT),
    certificates: [],
    crls: [],
    signers: [],
  };
  if (eContentT) {
    const [c, more] = berSeq(buf, eContentT, 'eContent', 0xa0, 2);
    if (!c || more) malformed(`eContent at offset ${eContentT.hs} must hold one element`);
    out.contentElement = { tag: c.tag, start: c.hs, end: c.next };
    if (c.tag === Tag.OCTET_STRING) out.content = { start: c.start, end: c.end };
    else if (c.tag === (Tag.OCTET_STRING | 0x20)) out.contentChunks = octetPieces(buf, c);
    else out.content = { start: c.hs, end: c.next };
  }
  let i = 3;
  if (f[i]?.tag === 0xa0) out.certificates = wholeSequences(buf, f[i++]!);
  if (f[i]?.tag === 0xa1) out.crls = wholeSequences(buf, f[i++]!);
  const signersT = f[i++];
  out.signers = berSeq(buf, signersT, 'signerInfos', Tag.SET, CMS_LIMITS.signers).map((s) =>
    parseSigner(buf, s, level),
  );
  if (i !== f.length) malformed(`unexpected field in SignedData at offset ${f[i]!.hs}`);
  return out;
}

function wholeSequences(buf: Uint8Array, t: BerTlv): Range[] {
  const out: Range[] = [];
  for (const c of berChildren(buf, t, CMS_LIMITS.certificates))
    if (c.tag === Tag.SEQUENCE) out.push({ start: c.hs, end: c.next });
  return out;
}

function parseSigner(buf: Uint8Array, t: BerTlv, level: number): CmsSigner {
  if (level > CMS_LIMITS.nesting)
    malformed(`signers nested deeper than ${CMS_LIMITS.nesting} at offset ${t.hs}`);
  const f = berSeq(buf, t, 'SignerInfo', Tag.SEQUENCE, 7);
  const [versionT, sidT, digestT] = f;
  if (!versionT || !sidT || !digestT) return malformed(`incomplete SignerInfo at offset ${t.hs}`);
  let i = 3;
  const signedT = f[i]?.tag === 0xa0 ? f[i++] : undefined;
  const signatureAlgorithm = parseSignatureAlgorithm(buf, f[i++]);
  const sigT = f[i++];
  if (sigT?.tag !== Tag.OCTET_STRING)
    return malformed(`SignerInfo at offset ${t.hs} has no signature OCTET STRING`);
  const unsignedT = f[i]?.tag === 0xa1 ? f[i++] : undefined;
  if (i !== f.length) malformed(`unexpected field in SignerInfo at offset ${f[i]!.hs}`);
  const signer: { -readonly [K in keyof CmsSigner]: CmsSigner[K] } = {
    version: readSmallInt(buf, versionT),
    sid: signerId(buf, sidT),
    digestAlgorithm: hashName(parseAlgorithmIdentifier(buf, digestT).oid),
    signatureAlgorithm,
    signature: { start: sigT.start, end: sigT.end },
    unsignedAttrs: [],
    countersignatures: [],
    nested: [],
  };
  if (signedT) signer.signedAttrs = signedAttributes(buf, signedT);
  if (unsignedT) {
    const attrs = attributes(buf, unsignedT);
    signer.unsignedAttrs = attrs.map((a) => ({ oid: a.oid, values: a.values.map(whole) }));
    for (const a of attrs) {
      if (a.oid === CMS_OIDS.countersignature)
        for (const v of a.values)
          signer.countersignatures.push({
            kind: 'pkcs9',
            oid: a.oid,
            signer: parseSigner(buf, v, level + 1),
          });
      else if (a.oid === CMS_OIDS.timeStampToken || a.oid === CMS_OIDS.msTimeStampToken)
        for (const v of a.values) signer.countersignatures.push(timeStampToken(buf, a.oid, v, level + 1));
      else if (a.oid === CMS_OIDS.msNestedSignature)
        for (const v of a.values) signer.nested.push(signedDataAt(buf, v.hs, v.next, level + 1));
    }
  }
  return signer;
}

function signerId(buf: Uint8Array, t: BerTlv): SignerId {
  if (t.tag === 0x80) return { ski: hex(buf, t.start, t.end) };
  if (t.tag !== Tag.SEQUENCE)
    return malformed(`unexpected SignerIdentifier tag 0x${t.tag.toString(16)} at offset ${t.hs}`);
  const [nameT, serialT, extra] = berChildren(buf, t, 2);
  if (!nameT || serialT?.tag !== Tag.INTEGER || extra)
    return malformed(`bad IssuerAndSerialNumber at offset ${t.hs}`);
  return { issuer: parseName(buf, nameT), serial: readIntegerHex(buf, serialT) };
}

function timeStampToken(buf: Uint8Array, oid: string, v: BerTlv, level: number): Countersignature {
  const signedData = signedDataAt(buf, v.hs, v.next, level);
  const signer = signedData.signers[0];
  if (!signer) return malformed(`time-stamp token without a signer at offset ${v.hs}`);
  if (signedData.contentType !== ID_CT_TSTINFO || !signedData.content)
    return { kind: 'rfc3161', oid, signer, signedData };
  const tstInfo = parseTstInfo(buf, signedData.content.start, signedData.content.end);
  return {
    kind: 'rfc3161',
    oid,
    signer,
    signedData,
    tstInfo,
    time: tstInfo.genTime,
    imprint: tstInfo.imprint,
    imprintAlgorithm: tstInfo.imprintAlgorithm,
  };
}

interface RawAttribute {
  readonly oid: string;
  readonly values: BerTlv[];
}

function attributes(buf: Uint8Array, t: BerTlv): RawAttribute[] {
  return berChildren(buf, t, CMS_LIMITS.attributes).map((a) => {
    const [oidT, setT, extra] = berSeq(buf, a, 'Attribute', Tag.SEQUENCE, 2);
    if (!oidT || extra) return malformed(`bad Attribute at offset ${a.hs}`);
    return {
      oid: readOid(buf, oidT),
      values: berSeq(buf, setT, 'AttributeValues', Tag.SET, CMS_LIMITS.values),
    };
  });
}

const SIGNED_NAMES: Record<string, string> = {
  [CMS_OIDS.contentType]: 'contentType',
  [CMS_OIDS.messageDigest]: 'messageDigest',
  [CMS_OIDS.signingTime]: 'signingTime',
};

function signedAttributes(buf: Uint8Array, t: BerTlv): SignedAttributes {
  const attrs = attributes(buf, t);
  const out: { -readonly [K in keyof SignedAttributes]: SignedAttributes[K] } = {
    start: t.hs,
    end: t.next,
    attributes: attrs.map((a) => ({ oid: a.oid, values: a.values.map(whole) })),
  };
  for (const a of attrs) {
    const name = SIGNED_NAMES[a.oid];
    if (name === undefined) continue;
    // RFC 5652 §11 allows these once with one value; a second would let a verifier and a reader disagree.
    if (name in out) malformed(`second ${name} attribute at offset ${a.values[0]?.hs ?? t.hs}`);
    const [v, more] = a.values;
    if (!v || more) return malformed(`${name} attribute with ${a.values.length} values at offset ${t.hs}`);
    if (name === 'contentType') out.contentType = readOid(buf, v);
    else if (name === 'signingTime') out.signingTime = readTime(buf, v);
    else if (v.tag !== Tag.OCTET_STRING) malformed(`messageDigest is not an OCTET STRING at offset ${v.hs}`);
    else out.messageDigest = hex(buf, v.start, v.end);
  }
  return out;
}

function whole(t: BerTlv): Range {
  return { start: t.hs, end: t.next };
}

function hashName(oid: string): string {
  return HASH_ALGORITHMS[oid] ?? oid;
}

export {
  signedContent,
  signerCertificate,
  verifyCountersignature,
  verifySigner,
  type SignerVerification,
  type VerifySignerOptions,
} from './cms-verify.ts';
export { parseTstInfo, type TstInfo } from './cms-tst.ts';
