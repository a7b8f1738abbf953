/**
 * X.509 v3 certificate builder for tests, fixtures and benchmarks (RFC 5280 profile).
 *
 * Keys are node:crypto KeyObjects. Facts derived from a key (its SubjectPublicKeyInfo, its RFC 5280
 * method-1 key identifier) are computed once per KeyObject and cached, and encoded issuer names are
 * cached per name array, so building many certificates from a few keys costs little more than the
 * signatures themselves.
 */
import { constants, createHash, createPublicKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import {
  bitString,
  boolean,
  explicit,
  ia5String,
  implicit,
  integer,
  isPrintable,
  namedBits,
  nullValue,
  octetString,
  oid,
  printableString,
  sequence,
  setOf,
  toPem,
  utf8String,
  x509Time,
} from './der-writer.ts';

/** A distinguished name as [attribute, value] pairs, most significant first: [['C','DE'],['O','Acme'],['CN','x']]. */
export type NameSpec = ReadonlyArray<readonly [type: string, value: string]>;

export type SignatureScheme =
  | 'rsa-pkcs1-sha256'
  | 'rsa-pkcs1-sha384'
  | 'rsa-pkcs1-sha1'
  | 'rsa-pss-sha256'
  | 'ecdsa-sha256'
  | 'ecdsa-sha384'
  | 'ecdsa-sha512'
  | 'ed25519'
  | 'ed448';

export type KeyUsageName =
  | 'digitalSignature'
  | 'nonRepudiation'
  | 'contentCommitment'
  | 'keyEncipherment'
  | 'dataEncipherment'
  | 'keyAgreement'
  | 'keyCertSign'
  | 'cRLSign'
  | 'encipherOnly'
  | 'decipherOnly';

export type ExtKeyUsageName =
  | 'serverAuth'
  | 'clientAuth'
  | 'codeSigning'
  | 'emailProtection'
  | 'timeStamping'
  | 'OCSPSigning'
  | 'anyExtendedKeyUsage';

export interface SubjectAltNames {
  readonly dns?: readonly string[];
  /** IPv4 dotted quads or IPv6 text. */
  readonly ip?: readonly string[];
  readonly email?: readonly string[];
  readonly uri?: readonly string[];
}

export interface CustomExtension {
  readonly oid: string;
  readonly critical?: boolean;
  /** The DER that goes inside extnValue's OCTET STRING. */
  readonly value: Uint8Array;
}

export interface CertificateExtensions {
  /** Critical unless `critical: false` is given (RFC 5280 4.2.1.9 requires it in CA certificates). */
  readonly basicConstraints?: {
    readonly ca: boolean;
    readonly pathLen?: number;
    readonly critical?: boolean;
  };
  /** Always marked critical. */
  readonly keyUsage?: readonly KeyUsageName[];
  /** Names from ExtKeyUsageName or dotted OIDs. */
  readonly extKeyUsage?: readonly (ExtKeyUsageName | (string & {}))[];
  /** Marked critical when the subject is empty (RFC 5280 4.2.1.6). */
  readonly subjectAltName?: SubjectAltNames;
  /** Default true: SHA-1 of the subject key's BIT STRING (RFC 5280 4.2.1.2 method 1); bytes override it. */
  readonly subjectKeyIdentifier?: boolean | Uint8Array;
  /** Default: present with the issuer's key id, absent on self-signed certificates; bytes override it. */
  readonly authorityKeyIdentifier?: boolean | Uint8Array;
  /** One DistributionPoint with a fullName URI per entry. */
  readonly crlDistributionPoints?: readonly string[];
  readonly authorityInfoAccess?: {
    readonly ocsp?: readonly string[];
    readonly caIssuers?: readonly string[];
  };
  readonly custom?: readonly CustomExtension[];
}

/** Who signs: the issuer's name and private key. The public key (for the AKI) is derived when absent. */
export interface Signer {
  readonly name: NameSpec;
  readonly privateKey: KeyObject;
  readonly publicKey?: KeyObject;
  /** Overrides the AKI keyIdentifier that would be computed from the issuer's public key. */
  readonly keyId?: Uint8Array;
}

export interface CertificateOptions {
  readonly subject: NameSpec;
  /** The subject's key. A private KeyObject is accepted and its public half used. */
  readonly publicKey: KeyObject;
  /** Omit for a self-signed certificate, which then needs `privateKey`. */
  readonly issuer?: Signer;
  /** The subject's private key, used to self-sign when there is no `issuer`. */
  readonly privateKey?: KeyObject;
  /** bigint, non-negative number, unsigned big-endian bytes, or hex text. Default: 16 random bytes. */
  readonly serial?: bigint | number | Uint8Array | string;
  /** Fractions of a second are dropped; UTCTime through 2049, GeneralizedTime from 2050. */
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Default from the signing key: RSA pkcs1-sha256, P-256 ecdsa-sha256, P-384 ecdsa-sha384, P-521 ecdsa-sha512, EdDSA. */
  readonly signature?: SignatureScheme;
  /** 3 (default) or 1; a v1 certificate carries no extensions. */
  readonly version?: 1 | 3;
  /** Omitted: only the key identifiers. */
  readonly extensions?: CertificateExtensions;
}

export interface BuiltCertificate {
  readonly der: Buffer;
  readonly pem: string;
  /** Lowercase hex without the sign octet. */
  readonly serial: string;
  /** Lowercase hex of the SKI extension, when present. */
  readonly ski?: string;
  /** Lowercase hex of the AKI keyIdentifier, when present. */
  readonly aki?: string;
  /** Lowercase hex SHA-256 of the DER (the certificate fingerprint). */
  readonly sha256: string;
  readonly signature: SignatureScheme;
}

// ---- object identifiers (RFC 5280, 4519, 3279, 4055, 5758, 8410; PKCS#9) ----

const ATTRIBUTE_OIDS: Record<string, string> = {
  CN: '2.5.4.3',
  SN: '2.5.4.4',
  serialNumber: '2.5.4.5',
  C: '2.5.4.6',
  L: '2.5.4.7',
  ST: '2.5.4.8',
  street: '2.5.4.9',
  O: '2.5.4.10',
  OU: '2.5.4.11',
  title: '2.5.4.12',
  postalCode: '2.5.4.17',
  GN: '2.5.4.42',
  dnQualifier: '2.5.4.46',
  pseudonym: '2.5.4.65',
  organizationIdentifier: '2.5.4.97',
  UID: '0.9.2342.19200300.100.1.1',
  DC: '0.9.2342.19200300.100.1.25',
  emailAddress: '1.2.840.113549.1.9.1',
};

/** RFC 5280 appendix A: these attribute types are PrintableString, these IA5String; others UTF8String. */
const PRINTABLE_ATTRS = new Set(['2.5.4.6', '2.5.4.5', '2.5.4.46']);
const IA5_ATTRS = new Set(['1.2.840.113549.1.9.1', '0.9.2342.19200300.100.1.25']);

const KEY_USAGE_BIT: Record<KeyUsageName, number> = {
  digitalSignature: 0,
  nonRepudiation: 1,
  contentCommitment: 1,
  keyEncipherment: 2,
  dataEncipherment: 3,
  keyAgreement: 4,
  keyCertSign: 5,
  cRLSign: 6,
  encipherOnly: 7,
  decipherOnly: 8,
};

export const EKU_OIDS: Record<ExtKeyUsageName, string> = {
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  emailProtection: '1.3.6.1.5.5.7.3.4',
  timeStamping: '1.3.6.1.5.5.7.3.8',
  OCSPSigning: '1.3.6.1.5.5.7.3.9',
  anyExtendedKeyUsage: '2.5.29.37.0',
};

const EXT = {
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  cRLDistributionPoints: '2.5.29.31',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  authorityInfoAccess: '1.3.6.1.5.5.7.1.1',
} as const;

const OID_SHA256 = '2.16.840.1.101.3.4.2.1';
const OID_MGF1 = '1.2.840.113549.1.1.8';

interface SchemeInfo {
  /** Encoded AlgorithmIdentifier (the same bytes go inside and outside the TBS). */
  readonly algId: Buffer;
  /** Digest for node:crypto sign(), null for EdDSA. */
  readonly hash: string | null;
  readonly keyTypes: readonly string[];
  readonly pss?: boolean;
}

const SCHEMES: Record<SignatureScheme, SchemeInfo> = {
  'rsa-pkcs1-sha256': {
    algId: sequence(oid('1.2.840.113549.1.1.11'), nullValue()),
    hash: 'sha256',
    keyTypes: ['rsa'],
  },
  'rsa-pkcs1-sha384': {
    algId: sequence(oid('1.2.840.113549.1.1.12'), nullValue()),
    hash: 'sha384',
    keyTypes: ['rsa'],
  },
  'rsa-pkcs1-sha1': {
    algId: sequence(oid('1.2.840.113549.1.1.5'), nullValue()),
    hash: 'sha1',
    keyTypes: ['rsa'],
  },
  // RSASSA-PSS-params (RFC 4055 3.1): SHA-256, MGF1 with SHA-256, 32-byte salt, default trailer.
  'rsa-pss-sha256': {
    algId: sequence(
      oid('1.2.840.113549.1.1.10'),
      sequence(
        explicit(0, sequence(oid(OID_SHA256), nullValue())),
        explicit(1, sequence(oid(OID_MGF1), sequence(oid(OID_SHA256), nullValue()))),
        explicit(2, integer(32)),
      ),
    ),
    hash: 'sha256',
    keyTypes: ['rsa', 'rsa-pss'],
    pss: true,
  },
  // ECDSA and EdDSA AlgorithmIdentifiers carry no parameters at all (RFC 5758 3.2, RFC 8410 3).
  'ecdsa-sha256': { algId: sequence(oid('1.2.840.10045.4.3.2')), hash: 'sha256', keyTypes: ['ec'] },
  'ecdsa-sha384': { algId: sequence(oid('1.2.840.10045.4.3.3')), hash: 'sha384', keyTypes: ['ec'] },
  'ecdsa-sha512': { algId: sequence(oid('1.2.840.10045.4.3.4')), hash: 'sha512', keyTypes: ['ec'] },
  ed25519: { algId: sequence(oid('1.3.101.112')), hash: null, keyTypes: ['ed25519'] },
  ed448: { algId: sequence(oid('1.3.101.113')), hash: null, keyTypes: ['ed448'] },
};

// ---- key facts ----

export interface KeyFacts {
  /** The public half (the same object when given a public key). */
  readonly publicKey: KeyObject;
  /** SubjectPublicKeyInfo DER. */
  readonly spki: Buffer;
  /** RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING value (no tag, length or unused-bits octet). */
  readonly keyId: Buffer;
  /** 'rsa', 'rsa-pss', 'ec', 'ed25519', ... */
  readonly type: string;
  /** node's curve name for EC keys: 'prime256v1', 'secp384r1', 'secp521r1'. */
  readonly curve?: string;
}

const factsCache = new WeakMap<KeyObject, KeyFacts>();

/** Header length and content length of the DER element at `pos` (enough to walk our own SPKIs). */
function lengthAt(buf: Uint8Array, pos: number): { hl: number; len: number } {
  const first = buf[pos + 1];
  if (first === undefined) throw new RangeError('truncated DER');
  if (first < 0x80) return { hl: 2, len: first };
  const n = first & 0x7f;
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + (buf[pos + 2 + i] ?? 0);
  return { hl: 2 + n, len };
}

/** The subjectPublicKey BIT STRING value inside an SPKI: skip the outer header and the AlgorithmIdentifier. */
export function spkiKeyBits(spki: Uint8Array): Uint8Array {
  const outer = lengthAt(spki, 0);
  const algPos = outer.hl;
  const alg = lengthAt(spki, algPos);
  const bitPos = algPos + alg.hl + alg.len;
  if (spki[bitPos] !== 0x03) throw new RangeError('SubjectPublicKeyInfo without a BIT STRING');
  const bits = lengthAt(spki, bitPos);
  const start = bitPos + bits.hl + 1; // skip the unused-bits octet
  return spki.subarray(start, bitPos + bits.hl + bits.len);
}

/** SPKI, key identifier and type of a key (cached per KeyObject). Private keys are accepted. */
export function keyFacts(key: KeyObject): KeyFacts {
  const hit = factsCache.get(key);
  if (hit) return hit;
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  if (publicKey.type !== 'public') throw new TypeError('an asymmetric key is required');
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const keyId = createHash('sha1').update(spkiKeyBits(spki)).digest();
  const type = publicKey.asymmetricKeyType ?? 'unknown';
  const curve = publicKey.asymmetricKeyDetails?.namedCurve;
  const facts: KeyFacts = curve ? { publicKey, spki, keyId, type, curve } : { publicKey, spki, keyId, type };
  factsCache.set(key, facts);
  if (publicKey !== key) factsCache.set(publicKey, facts);
  return facts;
}

/** RFC 5280 method-1 key identifier of a key, as bytes. */
export function keyIdentifier(key: KeyObject): Buffer {
  return keyFacts(key).keyId;
}

function defaultScheme(facts: KeyFacts): SignatureScheme {
  switch (facts.type) {
    case 'rsa':
      return 'rsa-pkcs1-sha256';
    case 'rsa-pss':
      return 'rsa-pss-sha256';
    case 'ec':
      return facts.curve === 'secp384r1'
        ? 'ecdsa-sha384'
        : facts.curve === 'secp521r1'
          ? 'ecdsa-sha512'
          : 'ecdsa-sha256';
    case 'ed25519':
      return 'ed25519';
    case 'ed448':
      return 'ed448';
    default:
      throw new TypeError(`no signature scheme for ${facts.type} keys`);
  }
}

// ---- names ----

const nameCache = new WeakMap<NameSpec, Buffer>();

function attributeOid(type: string): string {
  const known = ATTRIBUTE_OIDS[type];
  if (known) return known;
  if (/^[0-2](\.[0-9]+)+$/.test(type)) return type;
  throw new RangeError(`unknown name attribute ${type}`);
}

function attributeValue(typeOid: string, value: string): Buffer {
  if (PRINTABLE_ATTRS.has(typeOid) && isPrintable(value)) return printableString(value);
  if (IA5_ATTRS.has(typeOid)) return ia5String(value);
  return utf8String(value);
}

/** Name ::= SEQUENCE OF RelativeDistinguishedName, one attribute per RDN. */
export function encodeName(name: NameSpec): Buffer {
  const hit = nameCache.get(name);
  if (hit) return hit;
  const rdns = name.map(([type, value]) => {
    const o = attributeOid(type);
    return setOf(sequence(oid(o), attributeValue(o, value)));
  });
  const enc = sequence(...rdns);
  nameCache.set(name, enc);
  return enc;
}

function escapeRfc4514(v: string): string {
  let s = v.replace(/[\\,+"<>;=]/g, (c) => '\\' + c);
  if (s.startsWith(' ') || s.startsWith('#')) s = '\\' + s;
  if (s.length > 1 && s.endsWith(' ')) s = s.slice(0, -1) + '\\ ';
  return s;
}

/** RFC 4514 text: least significant RDN first, e.g. 'CN=x,O=Acme,C=DE'. */
export function formatName(name: NameSpec): string {
  return [...name]
    .reverse()
    .map(([t, v]) => `${t}=${escapeRfc4514(v)}`)
    .join(',');
}

// ---- general names and extensions ----

function ipBytes(text: string): Buffer {
  const family = isIP(text);
  if (family === 4) return Buffer.from(text.split('.').map(Number));
  if (family !== 6) throw new RangeError(`not an IP address: ${text}`);
  let s = text;
  let v4: number[] | undefined;
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.', lastColon)) {
    // An embedded IPv4 address fills the last 32 bits (::ffff:192.0.2.1): parse it as two zero groups first.
    v4 = s
      .slice(lastColon + 1)
      .split('.')
      .map(Number);
    s = s.slice(0, lastColon + 1) + '0:0';
  }
  const groupsOf = (part: string): number[] =>
    part === '' ? [] : part.split(':').map((g) => parseInt(g, 16));
  const gap = s.indexOf('::');
  let groups: number[];
  if (gap === -1) groups = groupsOf(s);
  else {
    const left = groupsOf(s.slice(0, gap));
    const right = groupsOf(s.slice(gap + 2));
    groups = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  }
  if (groups.length !== 8) throw new RangeError(`bad IPv6 address: ${text}`);
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  if (v4) out.set(v4, 12);
  return out;
}

function ia5Bytes(s: string): Buffer {
  if (!/^[\x00-\x7f]*$/.test(s)) throw new RangeError(`not IA5 text: ${JSON.stringify(s)}`);
  return Buffer.from(s, 'latin1');
}

/** GeneralName CHOICE, IMPLICIT tags: rfc822Name [1], dNSName [2], URI [6], iPAddress [7]. */
const uriName = (u: string): Buffer => implicit(6, ia5Bytes(u));

function generalNames(san: SubjectAltNames): Buffer {
  const names: Buffer[] = [];
  for (const e of san.email ?? []) names.push(implicit(1, ia5Bytes(e)));
  for (const d of san.dns ?? []) names.push(implicit(2, ia5Bytes(d)));
  for (const u of san.uri ?? []) names.push(uriName(u));
  for (const ip of san.ip ?? []) names.push(implicit(7, ipBytes(ip)));
  return sequence(...names);
}

function extension(extOid: string, critical: boolean, value: Uint8Array): Buffer {
  return critical
    ? sequence(oid(extOid), boolean(true), octetString(value))
    : sequence(oid(extOid), octetString(value));
}

function encodeExtensions(
  ext: CertificateExtensions,
  subjectEmpty: boolean,
  ski: Buffer | undefined,
  aki: Buffer | undefined,
): Buffer[] {
  const out: Buffer[] = [];
  const bc = ext.basicConstraints;
  if (bc) {
    const parts: Buffer[] = [];
    if (bc.ca) parts.push(boolean(true)); // DEFAULT FALSE is omitted in DER
    if (bc.pathLen !== undefined) parts.push(integer(bc.pathLen));
    out.push(extension(EXT.basicConstraints, bc.critical ?? true, sequence(...parts)));
  }
  if (ext.keyUsage) {
    const bits = ext.keyUsage.map((u) => KEY_USAGE_BIT[u]);
    out.push(extension(EXT.keyUsage, true, namedBits(bits)));
  }
  if (ext.extKeyUsage) {
    const oids = ext.extKeyUsage.map((p) => oid(EKU_OIDS[p as ExtKeyUsageName] ?? p));
    out.push(extension(EXT.extKeyUsage, false, sequence(...oids)));
  }
  if (ext.subjectAltName)
    out.push(extension(EXT.subjectAltName, subjectEmpty, generalNames(ext.subjectAltName)));
  if (ski) out.push(extension(EXT.subjectKeyIdentifier, false, octetString(ski)));
  if (aki) out.push(extension(EXT.authorityKeyIdentifier, false, sequence(implicit(0, aki))));
  if (ext.crlDistributionPoints?.length) {
    // DistributionPoint { distributionPoint [0] { fullName [0] GeneralNames } }
    const dps = ext.crlDistributionPoints.map((u) => sequence(explicit(0, implicit(0, uriName(u), true))));
    out.push(extension(EXT.cRLDistributionPoints, false, sequence(...dps)));
  }
  const aia = ext.authorityInfoAccess;
  if (aia && (aia.ocsp?.length || aia.caIssuers?.length)) {
    const ads: Buffer[] = [];
    for (const u of aia.ocsp ?? []) ads.push(sequence(oid('1.3.6.1.5.5.7.48.1'), uriName(u)));
    for (const u of aia.caIssuers ?? []) ads.push(sequence(oid('1.3.6.1.5.5.7.48.2'), uriName(u)));
    out.push(extension(EXT.authorityInfoAccess, false, sequence(...ads)));
  }
  for (const c of ext.custom ?? []) out.push(extension(c.oid, c.critical ?? false, c.value));
  return out;
}

function serialBytes(serial: CertificateOptions['serial']): Buffer {
  if (serial === undefined) {
    const r = randomBytes(16);
    r[0] = (r[0]! & 0x7f) | 0x40; // positive, and always 16 octets long
    return integer(r);
  }
  if (typeof serial === 'string') {
    if (!/^[0-9a-fA-F]+$/.test(serial)) throw new RangeError(`serial is not hex: ${serial}`);
    return integer(Buffer.from(serial.length % 2 ? '0' + serial : serial, 'hex'));
  }
  if ((typeof serial === 'number' || typeof serial === 'bigint') && serial < 0)
    throw new RangeError('serial numbers are positive');
  return integer(serial);
}

/** Hex of an encoded INTEGER's magnitude: drop header and a leading 0x00 sign octet. */
function integerHex(enc: Buffer): string {
  const { hl, len } = lengthAt(enc, 0);
  let s = hl;
  if (len > 1 && enc[s] === 0) s++;
  return enc.toString('hex', s, hl + len);
}

// ---- the certificate ----

export function buildCertificate(o: CertificateOptions): BuiltCertificate {
  const subjectFacts = keyFacts(o.publicKey);
  const selfSigned = o.issuer === undefined;
  const signerKey = o.issuer?.privateKey ?? o.privateKey;
  if (!signerKey) throw new TypeError('a self-signed certificate needs privateKey');
  if (signerKey.type !== 'private') throw new TypeError('the signing key must be a private key');
  const signerFacts = keyFacts(o.issuer?.publicKey ?? signerKey);
  const schemeName = o.signature ?? defaultScheme(signerFacts);
  const scheme = SCHEMES[schemeName];
  if (!scheme.keyTypes.includes(signerFacts.type))
    throw new TypeError(`${schemeName} cannot be made with a ${signerFacts.type} key`);

  const version = o.version ?? 3;
  const ext = o.extensions ?? {};
  let ski: Buffer | undefined;
  let aki: Buffer | undefined;
  let extensions: Buffer[] = [];
  if (version === 3) {
    const skiOpt = ext.subjectKeyIdentifier ?? true;
    if (skiOpt !== false) ski = skiOpt === true ? subjectFacts.keyId : Buffer.from(skiOpt);
    const akiOpt = ext.authorityKeyIdentifier ?? !selfSigned;
    if (akiOpt !== false)
      aki =
        akiOpt === true
          ? o.issuer?.keyId
            ? Buffer.from(o.issuer.keyId)
            : signerFacts.keyId
          : Buffer.from(akiOpt);
    extensions = encodeExtensions(ext, o.subject.length === 0, ski, aki);
  } else if (o.extensions) throw new TypeError('a v1 certificate cannot carry extensions');

  const serial = serialBytes(o.serial);
  const tbsParts: Buffer[] = [];
  if (version === 3) tbsParts.push(explicit(0, integer(2)));
  tbsParts.push(
    serial,
    scheme.algId,
    encodeName(o.issuer?.name ?? o.subject),
    sequence(x509Time(o.notBefore), x509Time(o.notAfter)),
    encodeName(o.subject),
    subjectFacts.spki,
  );
  if (extensions.length) tbsParts.push(explicit(3, sequence(...extensions)));
  const tbs = sequence(...tbsParts);

  const sig = scheme.pss
    ? sign(scheme.hash, tbs, { key: signerKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 })
    : sign(scheme.hash, tbs, signerKey);
  const der = sequence(tbs, scheme.algId, bitString(sig));
  return {
    der,
    pem: toPem('CERTIFICATE', der),
    serial: integerHex(serial),
    ...(ski && { ski: ski.toString('hex') }),
    ...(aki && { aki: aki.toString('hex') }),
    sha256: createHash('sha256').update(der).digest('hex'),
    signature: schemeName,
  };
}

/** A Signer for certificates issued by `cert`'s subject (AKI from the issuer's actual SKI when it has one). */
export function signerFor(subject: NameSpec, privateKey: KeyObject, cert?: BuiltCertificate): Signer {
  return cert?.ski
    ? { name: subject, privateKey, keyId: Buffer.from(cert.ski, 'hex') }
    : { name: subject, privateKey };
}
