import {
  children,
  head,
  hex,
  latin1,
  readBitString,
  readBoolean,
  readIntegerHex,
  readHead,
  readOid,
  readOidAt,
  readOne,
  readSmallInt,
  readString,
  readTime,
  sameBytes,
  seq,
  Tag,
  type Tlv,
} from './der.ts';
import { CoreError, malformed } from './error.ts';
import {
  formatIp,
  parseGeneralName,
  parseGeneralNames,
  type GeneralName,
  type GeneralNameType,
} from './general-name.ts';
import { ACCESS_METHODS, CRL_REASONS, EKU_NAMES, EXTENSION_NAMES, KEY_USAGE_BITS } from './oid.ts';

export interface BasicConstraints {
  readonly ca: boolean;
  readonly pathLen?: number;
}
export interface AuthorityKeyIdentifier {
  readonly keyId?: string;
  readonly issuer?: GeneralName[];
  readonly serial?: string;
}
export interface DistributionPoint {
  readonly fullName?: GeneralName[];
  /** nameRelativeToCRLIssuer, kept as hex: rare and only meaningful with the issuer's name. */
  readonly relativeName?: string;
  readonly reasons?: string[];
  readonly crlIssuer?: GeneralName[];
}
export interface AccessDescription {
  readonly method: string;
  readonly location: GeneralName;
}
export interface PolicyInformation {
  readonly oid: string;
  readonly cps?: string[];
  readonly userNotice?: string[];
}
export interface GeneralSubtree {
  readonly base: GeneralName;
  readonly minimum?: number;
  readonly maximum?: number;
}
export interface NameConstraints {
  readonly permitted: GeneralSubtree[];
  readonly excluded: GeneralSubtree[];
}
/** CRL extension (RFC 5280 §5.2.5): which certificates and reasons a CRL covers. */
export interface IssuingDistributionPoint {
  readonly fullName?: GeneralName[];
  readonly relativeName?: string;
  readonly onlyContainsUserCerts: boolean;
  readonly onlyContainsCACerts: boolean;
  readonly onlySomeReasons?: string[];
  readonly indirectCRL: boolean;
  readonly onlyContainsAttributeCerts: boolean;
}

export type ExtensionValue =
  | { readonly kind: 'subjectAltName'; readonly names: GeneralName[] }
  | { readonly kind: 'issuerAltName'; readonly names: GeneralName[] }
  | { readonly kind: 'certificateIssuer'; readonly names: GeneralName[] }
  | { readonly kind: 'keyUsage'; readonly usages: string[] }
  | { readonly kind: 'extKeyUsage'; readonly purposes: string[] }
  | { readonly kind: 'basicConstraints'; readonly value: BasicConstraints }
  | { readonly kind: 'subjectKeyIdentifier'; readonly keyId: string }
  | { readonly kind: 'authorityKeyIdentifier'; readonly value: AuthorityKeyIdentifier }
  | { readonly kind: 'cRLDistributionPoints'; readonly points: DistributionPoint[] }
  | { readonly kind: 'freshestCRL'; readonly points: DistributionPoint[] }
  | { readonly kind: 'authorityInfoAccess'; readonly access: AccessDescription[] }
  | { readonly kind: 'subjectInfoAccess'; readonly access: AccessDescription[] }
  | { readonly kind: 'certificatePolicies'; readonly policies: PolicyInformation[] }
  | { readonly kind: 'nameConstraints'; readonly value: NameConstraints }
  | { readonly kind: 'cRLNumber'; readonly number: string }
  | { readonly kind: 'deltaCRLIndicator'; readonly number: string }
  | { readonly kind: 'cRLReason'; readonly reason: string }
  | { readonly kind: 'invalidityDate'; readonly time: number }
  | { readonly kind: 'issuingDistributionPoint'; readonly value: IssuingDistributionPoint };

export interface Extension {
  readonly oid: string;
  readonly name: string;
  readonly critical: boolean;
  readonly value?: ExtensionValue;
  /** Raw extnValue as hex, kept for every extension we do not decode (and for those that failed to). */
  readonly raw?: string;
  readonly error?: string;
}

function bitNames(buf: Uint8Array, t: Tlv, names: readonly string[]): string[] {
  const b = readBitString(buf, t);
  const out: string[] = [];
  for (let i = 0; i < (b.end - b.start) * 8; i++) {
    if (buf[b.start + (i >> 3)]! & (0x80 >> (i & 7))) out.push(names[i] ?? `bit${i}`);
  }
  return out;
}

function distributionPoints(buf: Uint8Array, t: Tlv): DistributionPoint[] {
  return seq(buf, t, 'CRLDistributionPoints').map((dp) => {
    const out: { -readonly [K in keyof DistributionPoint]: DistributionPoint[K] } = {};
    for (const f of seq(buf, dp, 'DistributionPoint')) {
      if (f.tag === 0xa0) distributionPointName(buf, f, out);
      else if (f.tag === 0x81) out.reasons = reasonFlags(buf, f);
      else if (f.tag === 0xa2) out.crlIssuer = parseGeneralNames(buf, f);
      else malformed(`unexpected field in DistributionPoint at offset ${f.hs}`);
    }
    return out;
  });
}

/** DistributionPointName ::= CHOICE { fullName [0] GeneralNames, nameRelativeToCRLIssuer [1] RDN }, inside an explicit [0]. */
function distributionPointName(
  buf: Uint8Array,
  f: Tlv,
  out: { fullName?: GeneralName[]; relativeName?: string },
): void {
  const [name] = children(buf, f);
  if (name?.tag === 0xa0) out.fullName = parseGeneralNames(buf, name);
  else if (name?.tag === 0xa1) out.relativeName = hex(buf, name.hs, name.end);
}

function issuingDistributionPoint(buf: Uint8Array, t: Tlv): IssuingDistributionPoint {
  const out: { -readonly [K in keyof IssuingDistributionPoint]: IssuingDistributionPoint[K] } = {
    onlyContainsUserCerts: false,
    onlyContainsCACerts: false,
    indirectCRL: false,
    onlyContainsAttributeCerts: false,
  };
  for (const f of seq(buf, t, 'IssuingDistributionPoint')) {
    // The flags are [n] IMPLICIT BOOLEAN, onlySomeReasons is [3] IMPLICIT ReasonFlags (a BIT STRING).
    const flag = (): boolean => readBoolean(buf, { ...f, tag: Tag.BOOLEAN });
    if (f.tag === 0xa0) distributionPointName(buf, f, out);
    else if (f.tag === 0x81) out.onlyContainsUserCerts = flag();
    else if (f.tag === 0x82) out.onlyContainsCACerts = flag();
    else if (f.tag === 0x83) out.onlySomeReasons = reasonFlags(buf, f);
    else if (f.tag === 0x84) out.indirectCRL = flag();
    else if (f.tag === 0x85) out.onlyContainsAttributeCerts = flag();
    else malformed(`unexpected field in IssuingDistributionPoint at offset ${f.hs}`);
  }
  return out;
}

/** ReasonFlags, a BIT STRING carried under an IMPLICIT context tag. */
function reasonFlags(buf: Uint8Array, f: Tlv): string[] {
  return bitNames(buf, { ...f, tag: Tag.BIT_STRING }, CRL_REASONS_BITS);
}

// ReasonFlags bit order (RFC 5280 4.2.1.13): bit 0 is 'unused'.
const CRL_REASONS_BITS = [
  'unused',
  'keyCompromise',
  'cACompromise',
  'affiliationChanged',
  'superseded',
  'cessationOfOperation',
  'certificateHold',
  'privilegeWithdrawn',
  'aACompromise',
];

function policies(buf: Uint8Array, t: Tlv): PolicyInformation[] {
  return seq(buf, t, 'CertificatePolicies').map((pi) => {
    const [oidT, qualsT] = seq(buf, pi, 'PolicyInformation');
    if (!oidT) return malformed(`empty PolicyInformation at offset ${pi.hs}`);
    const out: { oid: string; cps?: string[]; userNotice?: string[] } = { oid: readOid(buf, oidT) };
    if (qualsT) {
      for (const q of seq(buf, qualsT, 'PolicyQualifiers')) {
        const [qid, qv] = seq(buf, q, 'PolicyQualifierInfo');
        if (!qid || !qv) continue;
        const id = readOid(buf, qid);
        if (id === '1.3.6.1.5.5.7.2.1') (out.cps ??= []).push(readString(buf, qv));
        else if (id === '1.3.6.1.5.5.7.2.2') {
          // UserNotice ::= SEQUENCE { noticeRef OPTIONAL, explicitText OPTIONAL }: keep the text.
          for (const part of seq(buf, qv, 'UserNotice'))
            if (part.tag !== Tag.SEQUENCE) (out.userNotice ??= []).push(readString(buf, part));
        }
      }
    }
    return out;
  });
}

function subtrees(buf: Uint8Array, t: Tlv): GeneralSubtree[] {
  return children(buf, t).map((st) => {
    const [base, ...rest] = seq(buf, st, 'GeneralSubtree');
    if (!base) return malformed(`empty GeneralSubtree at offset ${st.hs}`);
    const out: { base: GeneralName; minimum?: number; maximum?: number } = {
      base: parseGeneralName(buf, base),
    };
    for (const r of rest) {
      const n = readSmallInt(buf, { ...r, tag: Tag.INTEGER });
      if (r.tag === 0x80) out.minimum = n;
      else if (r.tag === 0x81) out.maximum = n;
    }
    return out;
  });
}

function decode(buf: Uint8Array, oid: string, v: Tlv): ExtensionValue | undefined {
  switch (oid) {
    case '2.5.29.17':
    case '2.5.29.18':
      return {
        kind: oid === '2.5.29.17' ? 'subjectAltName' : 'issuerAltName',
        names: parseGeneralNames(buf, { ...v, tag: expectSeq(v) }),
      };
    case '2.5.29.15':
      return { kind: 'keyUsage', usages: bitNames(buf, v, KEY_USAGE_BITS) };
    case '2.5.29.37':
      return {
        kind: 'extKeyUsage',
        purposes: seq(buf, v, 'ExtKeyUsageSyntax').map((o) => {
          const id = readOid(buf, o);
          return EKU_NAMES[id] ?? id;
        }),
      };
    case '2.5.29.19': {
      const [a, b] = seq(buf, v, 'BasicConstraints');
      let ca = false;
      let pathLen: number | undefined;
      if (a?.tag === Tag.BOOLEAN) {
        ca = readBoolean(buf, a);
        if (b) pathLen = readSmallInt(buf, b);
      } else if (a) pathLen = readSmallInt(buf, a);
      return { kind: 'basicConstraints', value: pathLen === undefined ? { ca } : { ca, pathLen } };
    }
    case '2.5.29.14':
      if (v.tag !== Tag.OCTET_STRING)
        malformed(`SubjectKeyIdentifier is not an OCTET STRING at offset ${v.hs}`);
      return { kind: 'subjectKeyIdentifier', keyId: hex(buf, v.start, v.end) };
    case '2.5.29.35': {
      const out: { keyId?: string; issuer?: GeneralName[]; serial?: string } = {};
      for (const f of seq(buf, v, 'AuthorityKeyIdentifier')) {
        if (f.tag === 0x80) out.keyId = hex(buf, f.start, f.end);
        else if (f.tag === 0xa1) out.issuer = parseGeneralNames(buf, f);
        else if (f.tag === 0x82) out.serial = readIntegerHex(buf, { ...f, tag: Tag.INTEGER });
        else malformed(`unexpected field in AuthorityKeyIdentifier at offset ${f.hs}`);
      }
      return { kind: 'authorityKeyIdentifier', value: out };
    }
    case '2.5.29.31':
    case '2.5.29.46':
      return {
        kind: oid === '2.5.29.31' ? 'cRLDistributionPoints' : 'freshestCRL',
        points: distributionPoints(buf, v),
      };
    case '1.3.6.1.5.5.7.1.1':
    case '1.3.6.1.5.5.7.1.11':
      return {
        kind: oid === '1.3.6.1.5.5.7.1.1' ? 'authorityInfoAccess' : 'subjectInfoAccess',
        access: seq(buf, v, 'AuthorityInfoAccessSyntax').map((ad) => {
          const [m, loc] = seq(buf, ad, 'AccessDescription');
          if (!m || !loc) return malformed(`bad AccessDescription at offset ${ad.hs}`);
          const id = readOid(buf, m);
          return { method: ACCESS_METHODS[id] ?? id, location: parseGeneralName(buf, loc) };
        }),
      };
    case '2.5.29.32':
      return { kind: 'certificatePolicies', policies: policies(buf, v) };
    case '2.5.29.30': {
      const out = { permitted: [] as GeneralSubtree[], excluded: [] as GeneralSubtree[] };
      for (const f of seq(buf, v, 'NameConstraints')) {
        if (f.tag === 0xa0) out.permitted = subtrees(buf, f);
        else if (f.tag === 0xa1) out.excluded = subtrees(buf, f);
        else malformed(`unexpected field in NameConstraints at offset ${f.hs}`);
      }
      return { kind: 'nameConstraints', value: out };
    }
    case '2.5.29.20':
    case '2.5.29.27':
      return {
        kind: oid === '2.5.29.20' ? 'cRLNumber' : 'deltaCRLIndicator',
        number: readIntegerHex(buf, v),
      };
    case '2.5.29.21': {
      const code = readSmallInt(buf, v);
      return { kind: 'cRLReason', reason: CRL_REASONS[code] ?? `reason${code}` };
    }
    case '2.5.29.24':
      // InvalidityDate ::= GeneralizedTime (RFC 5280 §5.3.2); a UTCTime is accepted too.
      return { kind: 'invalidityDate', time: readTime(buf, v) };
    case '2.5.29.29':
      return { kind: 'certificateIssuer', names: parseGeneralNames(buf, { ...v, tag: expectSeq(v) }) };
    case '2.5.29.28':
      return { kind: 'issuingDistributionPoint', value: issuingDistributionPoint(buf, v) };
    default:
      return undefined;
  }
}

function expectSeq(v: Tlv): number {
  if (v.tag !== Tag.SEQUENCE) malformed(`expected SEQUENCE at offset ${v.hs}`);
  return v.tag;
}

/**
 * Decode an Extensions SEQUENCE. A known extension that fails to decode keeps its raw bytes and the
 * reason, so one odd extension never costs the inventory the whole certificate.
 *
 * Decoded values of the extensions in cacheableExtension may be shared between certificates with the
 * same extnValue bytes (see cachedValue): they are deep-frozen, treat them as read-only.
 */
export function parseExtensions(buf: Uint8Array, t: Tlv): Extension[] {
  if (t.tag === Tag.SEQUENCE) {
    const fast = parseExtensionsFast(buf, t);
    if (fast !== undefined) return fast;
  }
  return parseExtensionsChecked(buf, t);
}

/**
 * The common case in one pass without intermediate arrays. It gives up (undefined) on anything
 * parseExtensionsChecked would reject or treat specially (a duplicate, trailing parts, many
 * extensions), and then parseExtensionsChecked runs and throws its usual error. Each extension's
 * value is decoded by the same decodeExtension either way, so the output is identical.
 */
function parseExtensionsFast(buf: Uint8Array, t: Tlv): Extension[] | undefined {
  try {
    const out: Extension[] = [];
    const end = t.end;
    let pos = t.start;
    while (pos < end) {
      // The duplicate check below is quadratic: leave long lists to the checked path's Set.
      if (out.length >= 64) return undefined;
      // (head is re-read after every readHead: a local copy of its tag would go stale.)
      if (!readHead(buf, pos, end) || tagOf(head) !== Tag.SEQUENCE) return undefined;
      const eEnd = head.end;
      let p = head.start;
      pos = eEnd;
      if (!readHead(buf, p, eEnd) || tagOf(head) !== Tag.OID) return undefined;
      const oid = readOidAt(buf, p, head.start, head.end);
      p = head.end;
      let critical = false;
      if (!readHead(buf, p, eEnd)) return undefined;
      if (tagOf(head) === Tag.BOOLEAN) {
        if (head.end - head.start !== 1) return undefined;
        critical = buf[head.start] !== 0;
        p = head.end;
        if (!readHead(buf, p, eEnd)) return undefined;
      }
      if (tagOf(head) !== Tag.OCTET_STRING || head.end !== eEnd) return undefined;
      for (let i = 0; i < out.length; i++) if (out[i]!.oid === oid) return undefined;
      out.push(decodeExtension(buf, oid, critical, head.start, head.end));
    }
    return out;
  } catch {
    return undefined; // parseExtensionsChecked decides, with its own error
  }
}

// A call, so TypeScript does not carry a narrowed head.tag across the readHead calls that change it.
const tagOf = (h: { readonly tag: number }): number => h.tag;

function parseExtensionsChecked(buf: Uint8Array, t: Tlv): Extension[] {
  const seen = new Set<string>();
  return seq(buf, t, 'Extensions').map((e) => {
    const parts = seq(buf, e, 'Extension');
    const oidT = parts[0];
    if (!oidT) return malformed(`empty Extension at offset ${e.hs}`);
    const oid = readOid(buf, oidT);
    let critical = false;
    let valT = parts[1];
    if (valT?.tag === Tag.BOOLEAN) {
      critical = readBoolean(buf, valT);
      valT = parts[2];
    }
    if (!valT || valT.tag !== Tag.OCTET_STRING)
      return malformed(`Extension ${oid} without OCTET STRING value`);
    if (seen.has(oid)) malformed(`duplicate extension ${oid}`);
    seen.add(oid);
    return decodeExtension(buf, oid, critical, valT.start, valT.end);
  });
}

/** One extension from its OID, criticality and extnValue content buf[vs, ve). */
function decodeExtension(buf: Uint8Array, oid: string, critical: boolean, vs: number, ve: number): Extension {
  const name = EXTENSION_NAMES[oid] ?? oid;
  const cacheable = cacheableExtension(oid) && ve - vs <= 4096;
  let slot = 0;
  if (cacheable) {
    let h = ve - vs;
    // The last 16 octets pick the slot (key ids and URLs differ at their ends); sameBytes confirms.
    for (let i = Math.max(vs, ve - 16); i < ve; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    slot = (h ^ (h >>> 13)) & (EXT_SLOTS - 1);
    const known = extBytes[slot];
    if (known !== undefined && extOids[slot] === oid && sameBytes(known, buf, vs, ve))
      return { oid, name, critical, value: extValues[slot]! };
    // Two candidate slots, as for OIDs: one CA's AKI and CRL DP can hash alike and would otherwise
    // evict each other on every leaf that CA issued.
    const other = slot ^ 1;
    const near = extBytes[other];
    if (near !== undefined && extOids[other] === oid && sameBytes(near, buf, vs, ve))
      return { oid, name, critical, value: extValues[other]! };
    if (known !== undefined && near === undefined) slot = other;
  }
  let value: ExtensionValue | undefined;
  try {
    const inner = readOne(buf, vs, ve);
    value = oid === '2.5.29.17' ? subjectAltNameFast(buf, inner) : undefined;
    value ??= decode(buf, oid, inner);
  } catch (err) {
    if (!(err instanceof CoreError)) throw err;
    return { oid, name, critical, raw: hex(buf, vs, ve), error: err.message };
  }
  if (value === undefined) return { oid, name, critical, raw: hex(buf, vs, ve) };
  if (cacheable) {
    extBytes[slot] = new Uint8Array(buf.subarray(vs, ve)); // a copy: the input may be reused
    extOids[slot] = oid;
    extValues[slot] = deepFreeze(value);
  }
  return { oid, name, critical, value };
}

// Extensions that name the issuer's infrastructure repeat across every leaf of a CA, so their decoded
// values are kept by OID and extnValue bytes in a direct-mapped table, like issuer names in x509.ts:
// slot from a hash of the length and the last octets, confirmed by the OID and every octet. Only
// successful decodes are kept (error messages carry offsets into the input), and values are
// deep-frozen because one object is then shared by every certificate with those bytes.
const EXT_SLOTS = 512;
const extBytes: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(EXT_SLOTS).fill(undefined);
const extOids: string[] = new Array<string>(EXT_SLOTS).fill('');
const extValues: (ExtensionValue | undefined)[] = new Array<ExtensionValue | undefined>(EXT_SLOTS).fill(
  undefined,
);

function cacheableExtension(oid: string): boolean {
  switch (oid) {
    case '2.5.29.35': // authorityKeyIdentifier
    case '2.5.29.31': // cRLDistributionPoints
    case '2.5.29.46': // freshestCRL
    case '1.3.6.1.5.5.7.1.1': // authorityInfoAccess
    case '2.5.29.19': // basicConstraints
    case '2.5.29.15': // keyUsage
    case '2.5.29.37': // extKeyUsage
    case '2.5.29.32': // certificatePolicies
      return true;
    default:
      return false;
  }
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
    Object.freeze(v);
  }
  return v;
}

const SIMPLE_NAME_TYPES: Record<number, GeneralNameType | undefined> = {
  0x81: 'email',
  0x82: 'dns',
  0x86: 'uri',
};

/**
 * subjectAltName when every name is a primitive email, DNS name, URI or IP address, without the
 * intermediate arrays; undefined for anything else, and decode then does (and checks) it all.
 */
function subjectAltNameFast(buf: Uint8Array, v: Tlv): ExtensionValue | undefined {
  if (v.tag !== Tag.SEQUENCE) return undefined;
  const names: GeneralName[] = [];
  const end = v.end;
  let p = v.start;
  while (p < end) {
    if (names.length >= 100_000 || !readHead(buf, p, end)) return undefined;
    const tag = head.tag;
    const s = head.start;
    p = head.end;
    const type = SIMPLE_NAME_TYPES[tag];
    if (type !== undefined) names.push({ type, value: latin1(buf, s, p) });
    else if (tag === 0x87) names.push({ type: 'ip', value: formatIp(buf, s, p) });
    else return undefined;
  }
  return { kind: 'subjectAltName', names };
}

/** Find a decoded extension value by kind. */
export function ext<K extends ExtensionValue['kind']>(
  list: readonly Extension[],
  kind: K,
): Extract<ExtensionValue, { kind: K }> | undefined {
  for (const e of list) if (e.value?.kind === kind) return e.value as Extract<ExtensionValue, { kind: K }>;
  return undefined;
}
