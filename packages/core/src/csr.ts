import { hash } from 'node:crypto';
import { children, readBitString, readOid, readOne, readSmallInt, seq, Tag, type Tlv } from './der.ts';
import { malformed } from './error.ts';
import { ext, parseExtensions, type Extension } from './extensions.ts';
import type { GeneralName } from './general-name.ts';
import { parseName, type DistinguishedName } from './name.ts';
import {
  parseSignatureAlgorithm,
  parseSpki,
  type PublicKeyInfo,
  type SignatureAlgorithm,
} from './algorithm.ts';
import { toKeyInfo } from './keys/key-info.ts';
import type { CertificationRequestSummary } from './observation.ts';

/**
 * PKCS#10 CertificationRequest (RFC 2986 §4):
 *
 *   CertificationRequest ::= SEQUENCE { certificationRequestInfo, signatureAlgorithm, signature BIT STRING }
 *   CertificationRequestInfo ::= SEQUENCE { version INTEGER, subject Name,
 *       subjectPKInfo SubjectPublicKeyInfo, attributes [0] IMPLICIT SET OF Attribute }
 *   Attribute ::= SEQUENCE { type OBJECT IDENTIFIER, values SET OF ANY }
 */

/** An attribute of the request other than the extension request. Values are never kept: one may be a password. */
export interface CsrAttribute {
  readonly oid: string;
  /** Short name when we know the attribute (challengePassword, unstructuredName, ...), else the OID. */
  readonly name: string;
}

export interface CertificationRequest {
  /** 1 for the only defined version, v1(0). */
  readonly version: number;
  readonly subject: DistinguishedName;
  readonly publicKey: PublicKeyInfo;
  readonly signatureAlgorithm: SignatureAlgorithm;
  /** Attributes other than the extension request, in encoding order. */
  readonly attributes: CsrAttribute[];
  /** The requested extensions (PKCS#9 extensionRequest, or Microsoft's older msExtReq). */
  readonly extensions: Extension[];
  readonly subjectAltNames?: GeneralName[];
  /** Lowercase hex SHA-256 of the whole request DER. */
  readonly sha256: string;
  /** Byte ranges of certificationRequestInfo and of the signature value, relative to `start`. */
  readonly info: { start: number; end: number };
  readonly signature: { start: number; end: number };
}

const EXTENSION_REQUEST = '1.2.840.113549.1.9.14';
const MS_EXTENSION_REQUEST = '1.3.6.1.4.1.311.2.1.14';

const CSR_ATTRIBUTE_NAMES: Record<string, string> = {
  '1.2.840.113549.1.9.2': 'unstructuredName',
  '1.2.840.113549.1.9.7': 'challengePassword',
  '1.2.840.113549.1.9.8': 'unstructuredAddress',
  [EXTENSION_REQUEST]: 'extensionRequest',
  [MS_EXTENSION_REQUEST]: 'msExtReq',
  '1.3.6.1.4.1.311.13.2.3': 'msOsVersion',
  '1.3.6.1.4.1.311.13.2.2': 'msEnrollmentCspProvider',
  '1.3.6.1.4.1.311.21.20': 'msRequestClientInfo',
};

/** Parse a DER CertificationRequest occupying exactly [start, end) of `der`. */
export function parseCertificationRequest(
  der: Uint8Array,
  start = 0,
  end = der.length,
): CertificationRequest {
  const top = readOne(der, start, end);
  const [infoT, sigAlgT, sigT, extra] = seq(der, top, 'CertificationRequest');
  if (!infoT || !sigAlgT || !sigT || extra) malformed(`CertificationRequest must have three elements`);
  const info = seq(der, infoT, 'CertificationRequestInfo');
  const [versionT, subjectT, spkiT, attrsT, ...rest] = info;
  if (versionT?.tag !== Tag.INTEGER) return malformed(`missing CertificationRequestInfo version`);
  const version = readSmallInt(der, versionT) + 1;
  const subject = parseName(der, subjectT);
  const publicKey = parseSpki(der, spkiT);
  if (rest.length > 0) malformed(`unexpected field in CertificationRequestInfo at offset ${rest[0]!.hs}`);

  const attributes: CsrAttribute[] = [];
  let extensions: Extension[] = [];
  let sawExtensionRequest = false;
  // Strictly the attributes field is required, but some encoders leave it out when it would be empty.
  if (attrsT) {
    if (attrsT.tag !== 0xa0) malformed(`expected [0] attributes at offset ${attrsT.hs}`);
    for (const a of children(der, attrsT)) {
      const [typeT, valuesT, more] = seq(der, a, 'Attribute');
      if (!typeT || !valuesT || more) malformed(`bad Attribute at offset ${a.hs}`);
      const oid = readOid(der, typeT);
      const values = seq(der, valuesT, 'Attribute values', Tag.SET);
      if (oid === EXTENSION_REQUEST || oid === MS_EXTENSION_REQUEST) {
        if (sawExtensionRequest) malformed(`more than one extension request at offset ${a.hs}`);
        sawExtensionRequest = true;
        extensions = extensionRequest(der, values, a);
      } else attributes.push({ oid, name: CSR_ATTRIBUTE_NAMES[oid] ?? oid });
    }
  }

  const signatureAlgorithm = parseSignatureAlgorithm(der, sigAlgT);
  const sig = readBitString(der, sigT);
  const san = ext(extensions, 'subjectAltName');
  return {
    version,
    subject,
    publicKey,
    signatureAlgorithm,
    attributes,
    extensions,
    ...(san && { subjectAltNames: san.names }),
    sha256: hash('sha256', der.subarray(top.hs, top.end), 'hex'),
    info: { start: infoT.hs - start, end: infoT.end - start },
    signature: { start: sig.start - start, end: sig.end - start },
  };
}

/** extensionRequest ::= SET SIZE (1) OF Extensions (PKCS#9, RFC 2985 §5.4.2). */
function extensionRequest(der: Uint8Array, values: Tlv[], attr: Tlv): Extension[] {
  const [only, more] = values;
  if (!only || more) malformed(`extension request must hold exactly one value at offset ${attr.hs}`);
  return parseExtensions(der, only);
}

/** The inventory's view of a request: what it names, which key, and what it asks for. */
export function csrSummary(r: CertificationRequest): CertificationRequestSummary {
  return {
    sha256: r.sha256,
    subject: r.subject.text,
    key: toKeyInfo(r.publicKey),
    signatureAlgorithm: r.signatureAlgorithm.name,
    extensions: r.extensions.map((e) => ({ oid: e.oid, name: e.name, critical: e.critical })),
  };
}
