/**
 * A small, realistic cryptographic estate of an automotive/IoT device maker, written to disk for
 * demos and end-to-end tests of the scanner and inventory.
 *
 * The fictional OEM "Kestrel Vehicle Systems" runs an offline root CA with one intermediate per
 * layer (silicon identity, firmware signing, cloud services, enterprise IT). Around it are the
 * things a real estate accumulates: supplier code-signing certificates, a device cohort, keys left
 * in build directories, JWKs in configs, expired and expiring certificates, a chain whose issuer is
 * nowhere to be found, bundles with prose between certificates, and files that only look like PEM.
 *
 * Every date is relative to `opts.now`, and names, serial numbers, validity offsets and filler bytes
 * come from a PRNG seeded with `opts.seed`, so the same inputs give the same layout, subjects,
 * serials and dates. Key material comes from node:crypto and differs on every run, so fingerprints
 * and key ids do too: read them from the returned manifest.
 */
import { createHash, generateKeyPairSync, type JsonWebKey, type KeyObject } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { buildMcubootImage } from './mcuboot.ts';
import { dirname, join } from 'node:path';
import {
  buildCertificate,
  formatName,
  keyFacts,
  signerFor,
  type BuiltCertificate,
  type CertificateExtensions,
  type NameSpec,
  type SignatureScheme,
  type Signer,
} from './cert-builder.ts';
import { openSshEd25519 } from './openssh.ts';
import { prng } from './random.ts';

export type Layer = 'silicon' | 'firmware' | 'device' | 'cloud' | 'enterprise';

/** How a certificate occurrence is stored: PEM armour, raw DER, PEM inside YAML, or PEM as a JSON string with "\n" escapes. */
export type CertificateEncoding = 'pem' | 'der' | 'pem-in-yaml' | 'pem-in-json';

export type CertificateRole =
  | 'root-ca'
  | 'intermediate-ca'
  | 'code-signing'
  | 'device-identity'
  | 'tls-server'
  | 'tls-client'
  | 'vpn-gateway'
  | 'legacy-self-signed';

/** Validity at `opts.now`: expired, ends within 30 days, ends within 365 days, or later. */
export type ValidityStatus = 'expired' | 'expiring-30d' | 'expiring-1y' | 'valid';

export interface EstateCertificate {
  readonly id: string;
  readonly role: CertificateRole;
  readonly layer: Layer;
  /** RFC 4514 text, least significant RDN first (CN=...,O=...,C=...). */
  readonly subject: string;
  readonly issuer: string;
  /** The name as [attribute, value] pairs, most significant first. */
  readonly subjectAttributes: NameSpec;
  /** Lowercase hex without the sign octet. */
  readonly serial: string;
  /** Lowercase hex SHA-256 of the DER. */
  readonly sha256: string;
  /** ISO 8601, whole seconds. */
  readonly notBefore: string;
  readonly notAfter: string;
  readonly status: ValidityStatus;
  /** 'EC P-256', 'EC P-384', 'RSA 2048', 'RSA 1024', 'Ed25519'. */
  readonly keyAlgorithm: string;
  readonly signature: SignatureScheme;
  readonly version: 1 | 3;
  readonly ca: boolean;
  readonly selfSigned: boolean;
  readonly ski?: string;
  readonly aki?: string;
  /** Lowercase hex SHA-256 of the SubjectPublicKeyInfo DER. */
  readonly spkiSha256: string;
  /** The issuing certificate's id; absent for self-signed certificates and broken chains. */
  readonly issuerId?: string;
  readonly extKeyUsage?: readonly string[];
  readonly occurrences: readonly { readonly path: string; readonly encoding: CertificateEncoding }[];
}

export type KeyFormat =
  | 'pkcs8-pem'
  | 'pkcs8-encrypted-pem'
  | 'pkcs1-pem'
  | 'openssh-private'
  | 'openssh-public'
  | 'jwk-private'
  | 'jwk-public'
  /** The signer's public key carried in an MCUboot image's PUBKEY TLV. */
  | 'mcuboot-pubkey';

export interface EstateKey {
  readonly id: string;
  readonly path: string;
  readonly layer: Layer;
  readonly format: KeyFormat;
  /** 'EC P-256', 'RSA 2048', 'Ed25519', ... */
  readonly algorithm: string;
  readonly private: boolean;
  readonly encrypted: boolean;
  readonly passphrase?: string;
  /** JWK "kid" (the RFC 7638 thumbprint), for JWKs. */
  readonly kid?: string;
  /** SHA-256 of the public key's SPKI DER: links key files to certificates and to each other. */
  readonly spkiSha256: string;
  /** Certificates in the estate that carry this public key. */
  readonly certificateIds: readonly string[];
}

export type FileKind =
  | 'certificate'
  | 'certificate-bundle'
  | 'ca-bundle'
  | 'private-key'
  | 'ssh-private-key'
  | 'ssh-public-key'
  | 'jwks'
  | 'config'
  | 'garbage'
  | 'truncated-certificate'
  /** A signed firmware image (MCUboot). */
  | 'signed-image';

export interface EstateFile {
  /** Relative to the estate directory, '/'-separated. */
  readonly path: string;
  readonly layer: Layer;
  readonly kind: FileKind;
  readonly bytes: number;
  /** Ids of the certificates stored in the file, in file order. */
  readonly certificates: readonly string[];
  /** Ids of the keys stored in the file, in file order. */
  readonly keys: readonly string[];
  /** False for files that hold nothing decodable (garbage, a truncated certificate). */
  readonly parseable: boolean;
}

export interface EstateExpectations {
  readonly files: number;
  readonly totalBytes: number;
  readonly uniqueCertificates: number;
  /** Every stored copy of every certificate, in any encoding. */
  readonly certificateOccurrences: number;
  /** Occurrences a plain PEM scanner finds ('pem' and 'pem-in-yaml'); JSON-escaped PEM is not counted. */
  readonly pemCertificateBlocks: number;
  readonly derCertificateFiles: number;
  readonly caCertificates: number;
  readonly expired: readonly string[];
  readonly expiringWithin30Days: readonly string[];
  /** Ending after 30 but within 365 days. */
  readonly expiringWithinYear: readonly string[];
  /** Certificates whose issuer (by name and key id) is not in the estate. */
  readonly brokenChains: readonly string[];
  readonly missingIssuers: readonly string[];
  readonly privateKeys: number;
  readonly unencryptedPrivateKeys: number;
  readonly publicKeys: number;
  /** Files with nothing decodable in them. */
  readonly unparseableFiles: readonly string[];
  /** SPKI SHA-256 values carried by more than one certificate (a renewal with the same key). */
  readonly reusedCertificateKeys: readonly string[];
}

export interface EstateManifest {
  readonly dir: string;
  readonly now: string;
  readonly seed: number;
  readonly organization: string;
  readonly files: readonly EstateFile[];
  readonly certificates: readonly EstateCertificate[];
  readonly keys: readonly EstateKey[];
  readonly expected: EstateExpectations;
}

export interface EstateOptions {
  readonly now: Date;
  readonly seed?: number;
  /** Device certificates in the cohort bundle (default 50); the first `derDevices` (default 10) also as DER files. */
  readonly devices?: number;
  readonly derDevices?: number;
}

const DAY = 86_400_000;
const FOREVER = new Date(Date.UTC(9999, 11, 31, 23, 59, 59)); // IEEE 802.1AR "no well-defined expiration"
const ORG = 'Kestrel Vehicle Systems';
const DOMAIN = 'kestrel-vs.example';

function keyAlgorithmName(key: KeyObject): string {
  const t = key.asymmetricKeyType;
  const d = key.asymmetricKeyDetails ?? {};
  if (t === 'rsa' || t === 'rsa-pss') return `RSA ${d.modulusLength ?? '?'}`;
  if (t === 'ec')
    return d.namedCurve === 'secp384r1'
      ? 'EC P-384'
      : d.namedCurve === 'prime256v1'
        ? 'EC P-256'
        : `EC ${d.namedCurve}`;
  if (t === 'ed25519') return 'Ed25519';
  return t ?? 'unknown';
}

function spkiSha256(key: KeyObject): string {
  return createHash('sha256').update(keyFacts(key).spki).digest('hex');
}

/** RFC 7638 JWK thumbprint (SHA-256, base64url) over the required members in lexicographic order. */
function jwkThumbprint(jwk: JsonWebKey): string {
  let canonical: string;
  if (jwk.kty === 'EC') canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  else if (jwk.kty === 'OKP') canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x });
  else canonical = JSON.stringify({ e: jwk.e, kty: jwk.kty, n: jwk.n });
  return createHash('sha256').update(canonical).digest('base64url');
}

function statusAt(notAfter: Date, now: number): ValidityStatus {
  const left = notAfter.getTime() - now;
  if (left < 0) return 'expired';
  if (left <= 30 * DAY) return 'expiring-30d';
  if (left <= 365 * DAY) return 'expiring-1y';
  return 'valid';
}

interface KeyPair {
  readonly publicKey: KeyObject;
  readonly privateKey: KeyObject;
}

const ec = (curve: 'P-256' | 'P-384'): KeyPair => generateKeyPairSync('ec', { namedCurve: curve });
const rsa = (bits: number): KeyPair => generateKeyPairSync('rsa', { modulusLength: bits });
const ed25519 = (): KeyPair => generateKeyPairSync('ed25519');

/** Write the estate under `dir` (created if needed) and describe it. Takes well under a second or two. */
export function generateEstate(dir: string, opts: EstateOptions): EstateManifest {
  const now = Math.floor(opts.now.getTime() / 1000) * 1000;
  if (!Number.isFinite(now)) throw new RangeError('opts.now is not a valid Date');
  const seed = opts.seed ?? 1;
  const deviceCount = opts.devices ?? 50;
  const derDeviceCount = Math.min(opts.derDevices ?? 10, deviceCount);
  const rand = prng(seed);
  const at = (days: number): Date => new Date(now + days * DAY);
  const serial = (): string => {
    let h = (0x10 + (rand() % 0x70)).toString(16); // positive, no leading zero octet
    while (h.length < 32) h += rand().toString(16).padStart(8, '0');
    return h.slice(0, 32);
  };

  const certs: EstateCertificate[] = [];
  const built = new Map<string, { cert: BuiltCertificate; meta: EstateCertificate }>();
  const keys: EstateKey[] = [];
  const files: EstateFile[] = [];

  // ---- issuing certificates ----

  interface Issue {
    id: string;
    role: CertificateRole;
    layer: Layer;
    subject: NameSpec;
    key: KeyPair;
    issuerId?: string;
    /** A signer outside the estate (broken chain). */
    foreignIssuer?: Signer;
    notBefore: Date;
    notAfter: Date;
    extensions: CertificateExtensions;
    signature?: SignatureScheme;
    version?: 1 | 3;
  }
  const signers = new Map<string, Signer>();

  const issue = (o: Issue): BuiltCertificate => {
    const parent = o.issuerId ? built.get(o.issuerId) : undefined;
    if (o.issuerId && !parent) throw new Error(`issuer ${o.issuerId} is not built yet`);
    const issuer = o.foreignIssuer ?? (o.issuerId ? signers.get(o.issuerId) : undefined);
    const cert = buildCertificate({
      subject: o.subject,
      publicKey: o.key.publicKey,
      ...(issuer ? { issuer } : { privateKey: o.key.privateKey }),
      serial: serial(),
      notBefore: o.notBefore,
      notAfter: o.notAfter,
      ...(o.signature && { signature: o.signature }),
      ...(o.version === 1 ? { version: 1 as const } : { extensions: o.extensions }),
    });
    const issuerName = issuer?.name ?? o.subject;
    const meta: EstateCertificate = {
      id: o.id,
      role: o.role,
      layer: o.layer,
      subject: formatName(o.subject),
      issuer: formatName(issuerName),
      subjectAttributes: o.subject,
      serial: cert.serial,
      sha256: cert.sha256,
      notBefore: new Date(Math.floor(o.notBefore.getTime() / 1000) * 1000).toISOString(),
      notAfter: new Date(Math.floor(o.notAfter.getTime() / 1000) * 1000).toISOString(),
      status: statusAt(o.notAfter, now),
      keyAlgorithm: keyAlgorithmName(o.key.publicKey),
      signature: cert.signature,
      version: o.version ?? 3,
      ca: o.version !== 1 && (o.extensions.basicConstraints?.ca ?? false),
      selfSigned: !issuer,
      ...(cert.ski && { ski: cert.ski }),
      ...(cert.aki && { aki: cert.aki }),
      spkiSha256: spkiSha256(o.key.publicKey),
      ...(o.issuerId && { issuerId: o.issuerId }),
      ...(o.extensions.extKeyUsage && { extKeyUsage: [...o.extensions.extKeyUsage] }),
      occurrences: [],
    };
    certs.push(meta);
    built.set(o.id, { cert, meta });
    if (o.extensions.basicConstraints?.ca) signers.set(o.id, signerFor(o.subject, o.key.privateKey, cert));
    return cert;
  };

  const caName = (ou: string, cn: string): NameSpec => [
    ['C', 'DE'],
    ['O', ORG],
    ['OU', ou],
    ['CN', cn],
  ];
  const caExt = (pathLen: number | undefined, parentId?: string): CertificateExtensions => ({
    basicConstraints: pathLen === undefined ? { ca: true } : { ca: true, pathLen },
    keyUsage: ['keyCertSign', 'cRLSign'],
    ...(parentId && {
      crlDistributionPoints: [`http://pki.${DOMAIN}/crl/${parentId}.crl`],
      authorityInfoAccess: { caIssuers: [`http://pki.${DOMAIN}/certs/${parentId}.crt`] },
    }),
  });
  const leafAccess = (issuerId: string): CertificateExtensions => ({
    crlDistributionPoints: [`http://pki.${DOMAIN}/crl/${issuerId}.crl`],
    authorityInfoAccess: {
      ocsp: [`http://ocsp.${DOMAIN}`],
      caIssuers: [`http://pki.${DOMAIN}/certs/${issuerId}.crt`],
    },
  });

  const rootKey = ec('P-384');
  issue({
    id: 'oem-root-ca',
    role: 'root-ca',
    layer: 'enterprise',
    subject: caName('Product Security', 'Kestrel Product Root CA G1'),
    key: rootKey,
    notBefore: at(-4 * 365),
    notAfter: at(21 * 365),
    extensions: caExt(undefined),
  });
  issue({
    id: 'silicon-idevid-ca',
    role: 'intermediate-ca',
    layer: 'silicon',
    subject: caName('Silicon Identity', 'Kestrel Device Identity CA G1'),
    key: ec('P-256'),
    issuerId: 'oem-root-ca',
    notBefore: at(-3 * 365),
    notAfter: FOREVER,
    extensions: caExt(0, 'oem-root-ca'),
  });
  issue({
    id: 'firmware-signing-ca',
    role: 'intermediate-ca',
    layer: 'firmware',
    subject: caName('Firmware Release', 'Kestrel Firmware Signing CA G1'),
    key: rsa(2048),
    issuerId: 'oem-root-ca',
    notBefore: at(-3 * 365),
    notAfter: at(12 * 365),
    extensions: caExt(0, 'oem-root-ca'),
  });
  issue({
    id: 'cloud-services-ca',
    role: 'intermediate-ca',
    layer: 'cloud',
    subject: caName('Connected Services', 'Kestrel Cloud Services CA G1'),
    key: ec('P-256'),
    issuerId: 'oem-root-ca',
    notBefore: at(-2 * 365),
    notAfter: at(8 * 365),
    extensions: caExt(0, 'oem-root-ca'),
  });
  issue({
    id: 'enterprise-issuing-ca',
    role: 'intermediate-ca',
    layer: 'enterprise',
    subject: caName('Corporate IT', 'Kestrel Enterprise Issuing CA G1'),
    key: ec('P-256'),
    issuerId: 'oem-root-ca',
    notBefore: at(-4 * 365),
    notAfter: at(6 * 365),
    extensions: caExt(0, 'oem-root-ca'),
  });

  // ---- firmware: supplier code signing (issued by the firmware CA with RSASSA-PSS) ----

  const suppliers = [
    { id: 'supplier-a-codesign', org: 'Alder Powertrain Electronics GmbH', slug: 'alder', key: ec('P-256') },
    { id: 'supplier-b-codesign', org: 'Birchway Telematics Ltd', slug: 'birchway', key: rsa(2048) },
    { id: 'supplier-c-codesign', org: 'Cedar Infotainment Systems', slug: 'cedar', key: ed25519() },
  ];
  for (const s of suppliers) {
    issue({
      id: s.id,
      role: 'code-signing',
      layer: 'firmware',
      subject: [
        ['C', 'DE'],
        ['O', s.org],
        ['OU', 'ECU Firmware Release'],
        ['CN', `${s.org} Code Signing ${2 + (rand() % 3)}`],
      ],
      key: s.key,
      issuerId: 'firmware-signing-ca',
      signature: 'rsa-pss-sha256',
      notBefore: at(-300 - (rand() % 60)),
      notAfter: at(2 * 365 + (rand() % 90)),
      extensions: {
        basicConstraints: { ca: false },
        keyUsage: ['digitalSignature'],
        extKeyUsage: ['codeSigning'],
        subjectAltName: { email: [`firmware-release@${s.slug}.example`] },
        ...leafAccess('firmware-signing-ca'),
      },
    });
  }

  // ---- device: one production cohort of telematics units (IDevID, never expire) ----

  const cohort = `${new Date(now - 200 * DAY).getUTCFullYear()}-W${String(10 + (rand() % 40)).padStart(2, '0')}`;
  const deviceIds: string[] = [];
  const deviceSerials: string[] = [];
  let unit = 100_000 + (rand() % 800_000);
  const deviceCert = (id: string, hwSerial: string): BuiltCertificate =>
    issue({
      id,
      role: 'device-identity',
      layer: 'device',
      subject: [
        ['C', 'DE'],
        ['O', ORG],
        ['OU', 'Telematics Control Unit'],
        ['CN', `TCU ${hwSerial}`],
        ['serialNumber', hwSerial],
      ],
      key: ec('P-256'),
      issuerId: 'silicon-idevid-ca',
      notBefore: at(-30 - (rand() % 400)),
      notAfter: FOREVER,
      extensions: {
        basicConstraints: { ca: false },
        keyUsage: ['digitalSignature', 'keyAgreement'],
        extKeyUsage: ['clientAuth'],
        subjectAltName: { uri: [`urn:${DOMAIN}:tcu:${hwSerial}`] },
        ...leafAccess('silicon-idevid-ca'),
      },
    });
  for (let i = 1; i <= deviceCount; i++) {
    unit += 1 + (rand() % 7);
    const hw = `KVS-TCU-${cohort.replace('-W', 'W')}-${unit}`;
    const id = `device-${String(i).padStart(4, '0')}`;
    deviceCert(id, hw);
    deviceIds.push(id);
    deviceSerials.push(hw);
  }
  // A returned unit whose certificate only survives as a truncated upload: not part of the estate's certificates.
  const rmaSerial = `KVS-TCU-${cohort.replace('-W', 'W')}-${unit + 11}`;
  const rmaCert = buildCertificate({
    subject: [
      ['C', 'DE'],
      ['O', ORG],
      ['CN', `TCU ${rmaSerial}`],
      ['serialNumber', rmaSerial],
    ],
    publicKey: ec('P-256').publicKey,
    issuer: signers.get('silicon-idevid-ca')!,
    serial: serial(),
    notBefore: at(-200),
    notAfter: FOREVER,
    extensions: { basicConstraints: { ca: false }, keyUsage: ['digitalSignature'] },
  });

  // ---- cloud: TLS for the update service, a partner client certificate from an unknown CA ----

  issue({
    id: 'cloud-update-tls',
    role: 'tls-server',
    layer: 'cloud',
    subject: [
      ['C', 'DE'],
      ['O', ORG],
      ['CN', `update.${DOMAIN}`],
    ],
    key: ec('P-256'),
    issuerId: 'cloud-services-ca',
    notBefore: at(-355),
    notAfter: at(10 + (rand() % 15)),
    extensions: {
      basicConstraints: { ca: false },
      keyUsage: ['digitalSignature'],
      extKeyUsage: ['serverAuth'],
      subjectAltName: { dns: [`update.${DOMAIN}`, `ota.${DOMAIN}`] },
      ...leafAccess('cloud-services-ca'),
    },
  });
  issue({
    id: 'cloud-telemetry-tls',
    role: 'tls-server',
    layer: 'cloud',
    subject: [
      ['C', 'DE'],
      ['O', ORG],
      ['CN', `telemetry.${DOMAIN}`],
    ],
    key: ec('P-256'),
    issuerId: 'cloud-services-ca',
    notBefore: at(-215),
    notAfter: at(120 + (rand() % 120)),
    extensions: {
      basicConstraints: { ca: false },
      keyUsage: ['digitalSignature'],
      extKeyUsage: ['serverAuth'],
      subjectAltName: { dns: [`telemetry.${DOMAIN}`], ip: ['192.0.2.17', '2001:db8:4b::17'] },
      ...leafAccess('cloud-services-ca'),
    },
  });
  issue({
    id: 'cloud-api-tls',
    role: 'tls-server',
    layer: 'cloud',
    subject: [
      ['C', 'DE'],
      ['O', ORG],
      ['CN', `api.${DOMAIN}`],
    ],
    key: ec('P-384'),
    issuerId: 'cloud-services-ca',
    notBefore: at(-30),
    notAfter: at(395 + (rand() % 30)),
    extensions: {
      basicConstraints: { ca: false },
      keyUsage: ['digitalSignature'],
      extKeyUsage: ['serverAuth', 'clientAuth'],
      subjectAltName: { dns: [`api.${DOMAIN}`, `*.api.${DOMAIN}`] },
      ...leafAccess('cloud-services-ca'),
    },
  });
  const partnerCaName: NameSpec = [
    ['C', 'NL'],
    ['O', 'Fleet Analytics Partner BV'],
    ['CN', 'Fleet Analytics Partner Issuing CA G2'],
  ];
  issue({
    id: 'partner-analytics-client',
    role: 'tls-client',
    layer: 'cloud',
    subject: [
      ['C', 'NL'],
      ['O', 'Fleet Analytics Partner BV'],
      ['CN', `ingest-client.${DOMAIN}`],
    ],
    key: ec('P-256'),
    foreignIssuer: { name: partnerCaName, privateKey: ec('P-256').privateKey },
    notBefore: at(-60),
    notAfter: at(670),
    extensions: {
      basicConstraints: { ca: false },
      keyUsage: ['digitalSignature'],
      extKeyUsage: ['clientAuth'],
      subjectAltName: { dns: [`ingest-client.${DOMAIN}`] },
      crlDistributionPoints: ['http://crl.fleet-analytics.example/issuing-g2.crl'],
    },
  });

  // ---- enterprise: a VPN gateway renewed with the same key, and a legacy v1 SHA-1 certificate ----

  const vpnKey = rsa(2048);
  const vpnExt = (): CertificateExtensions => ({
    basicConstraints: { ca: false },
    keyUsage: ['digitalSignature', 'keyEncipherment'],
    extKeyUsage: ['serverAuth'],
    subjectAltName: { dns: [`vpn.${DOMAIN}`], ip: ['198.51.100.20'] },
    ...leafAccess('enterprise-issuing-ca'),
  });
  const vpnSubject: NameSpec = [
    ['C', 'DE'],
    ['O', ORG],
    ['OU', 'Corporate IT'],
    ['CN', `vpn.${DOMAIN}`],
  ];
  issue({
    id: 'vpn-gateway-expired',
    role: 'vpn-gateway',
    layer: 'enterprise',
    subject: vpnSubject,
    key: vpnKey,
    issuerId: 'enterprise-issuing-ca',
    notBefore: at(-760),
    notAfter: at(-30 - (rand() % 20)),
    extensions: vpnExt(),
  });
  issue({
    id: 'vpn-gateway',
    role: 'vpn-gateway',
    layer: 'enterprise',
    subject: vpnSubject,
    key: vpnKey,
    issuerId: 'enterprise-issuing-ca',
    notBefore: at(-40),
    notAfter: at(690),
    extensions: vpnExt(),
  });
  issue({
    id: 'legacy-build-server',
    role: 'legacy-self-signed',
    layer: 'enterprise',
    subject: [
      ['C', 'DE'],
      ['O', ORG],
      ['CN', 'buildsrv01.corp.kestrel-vs.example'],
    ],
    key: rsa(1024),
    signature: 'rsa-pkcs1-sha1',
    version: 1,
    notBefore: at(-9 * 365),
    notAfter: at(600),
    extensions: {},
  });

  // ---- files ----

  const metaOf = (id: string): EstateCertificate => {
    const m = built.get(id)?.meta;
    if (!m) throw new Error(`unknown certificate ${id}`);
    return m;
  };
  const certOf = (id: string): BuiltCertificate => built.get(id)!.cert;
  const occurrences = new Map<string, { path: string; encoding: CertificateEncoding }[]>();
  const note = (id: string, path: string, encoding: CertificateEncoding): void => {
    metaOf(id);
    const list = occurrences.get(id) ?? [];
    list.push({ path, encoding });
    occurrences.set(id, list);
  };
  const layerOf = (path: string): Layer => path.split('/')[0] as Layer;
  const write = (
    path: string,
    data: string | Buffer,
    kind: FileKind,
    contents: { certificates?: [string, CertificateEncoding][]; keys?: string[]; parseable?: boolean } = {},
    mode?: number,
  ): void => {
    const full = join(dir, ...path.split('/'));
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, data, mode === undefined ? undefined : { mode });
    for (const [id, enc] of contents.certificates ?? []) note(id, path, enc);
    files.push({
      path,
      layer: layerOf(path),
      kind,
      bytes: typeof data === 'string' ? Buffer.byteLength(data) : data.length,
      certificates: (contents.certificates ?? []).map(([id]) => id),
      keys: contents.keys ?? [],
      parseable: contents.parseable ?? true,
    });
  };
  const addKey = (k: Omit<EstateKey, 'layer' | 'certificateIds'>): string => {
    keys.push({ ...k, layer: layerOf(k.path), certificateIds: [] });
    return k.id;
  };
  const pemOf = (id: string): string => certOf(id).pem;

  // enterprise/
  write('enterprise/pki/oem-root-ca.pem', pemOf('oem-root-ca'), 'certificate', {
    certificates: [['oem-root-ca', 'pem']],
  });
  write('enterprise/pki/enterprise-issuing-ca.pem', pemOf('enterprise-issuing-ca'), 'certificate', {
    certificates: [['enterprise-issuing-ca', 'pem']],
  });
  const bundleIds = [
    'oem-root-ca',
    'silicon-idevid-ca',
    'firmware-signing-ca',
    'cloud-services-ca',
    'enterprise-issuing-ca',
  ];
  const stamp = new Date(now - 3 * DAY).toISOString().slice(0, 10);
  let bundle = `##\n## ${ORG} - trusted CA bundle\n##\n## Generated by pki-sync on ${stamp}. Do not edit by hand:\n## changes are overwritten on the next sync.\n##\n\n`;
  for (const id of bundleIds) {
    const m = metaOf(id);
    const cn = m.subjectAttributes.find(([t]) => t === 'CN')?.[1] ?? id;
    bundle += `${cn}\n${'='.repeat(cn.length)}\nsubject=${m.subject}\nissuer=${m.issuer}\nnotAfter=${m.notAfter}\n`;
    bundle += `SHA256 Fingerprint=${m.sha256.toUpperCase().replace(/(..)(?!$)/g, '$1:')}\n${pemOf(id)}\n`;
  }
  write('enterprise/pki/ca-bundle.pem', bundle, 'ca-bundle', {
    certificates: bundleIds.map((id) => [id, 'pem']),
  });
  write(
    `enterprise/vpn/gateway-${metaOf('vpn-gateway-expired').notBefore.slice(0, 4)}.pem`,
    pemOf('vpn-gateway-expired'),
    'certificate',
    {
      certificates: [['vpn-gateway-expired', 'pem']],
    },
  );
  write(
    'enterprise/vpn/gateway.pem',
    pemOf('vpn-gateway') + pemOf('enterprise-issuing-ca'),
    'certificate-bundle',
    {
      certificates: [
        ['vpn-gateway', 'pem'],
        ['enterprise-issuing-ca', 'pem'],
      ],
    },
  );
  const vpnKeyId = addKey({
    id: 'vpn-gateway-key',
    path: 'enterprise/vpn/gateway.key',
    format: 'pkcs1-pem',
    algorithm: keyAlgorithmName(vpnKey.publicKey),
    private: true,
    encrypted: false,
    spkiSha256: spkiSha256(vpnKey.publicKey),
  });
  write(
    'enterprise/vpn/gateway.key',
    vpnKey.privateKey.export({ type: 'pkcs1', format: 'pem' }),
    'private-key',
    { keys: [vpnKeyId] },
    0o600,
  );
  write('enterprise/legacy/buildsrv01.cer', certOf('legacy-build-server').der, 'certificate', {
    certificates: [['legacy-build-server', 'der']],
  });

  // silicon/
  write('silicon/idevid-ca.crt', certOf('silicon-idevid-ca').der, 'certificate', {
    certificates: [['silicon-idevid-ca', 'der']],
  });

  // firmware/
  write('firmware/firmware-signing-ca.pem', pemOf('firmware-signing-ca'), 'certificate', {
    certificates: [['firmware-signing-ca', 'pem']],
  });
  for (const s of suppliers) {
    write(`firmware/suppliers/${s.slug}-codesigning.pem`, pemOf(s.id), 'certificate', {
      certificates: [[s.id, 'pem']],
    });
  }
  const supplierA = suppliers[0]!;
  const supplierB = suppliers[1]!;
  const aKeyId = addKey({
    id: 'supplier-a-signing-key',
    path: `firmware/ci/${supplierA.slug}-signing-key.pem`,
    format: 'pkcs8-pem',
    algorithm: keyAlgorithmName(supplierA.key.publicKey),
    private: true,
    encrypted: false,
    spkiSha256: spkiSha256(supplierA.key.publicKey),
  });
  write(
    `firmware/ci/${supplierA.slug}-signing-key.pem`,
    supplierA.key.privateKey.export({ type: 'pkcs8', format: 'pem' }),
    'private-key',
    { keys: [aKeyId] },
  );
  const passphrase = `release-${(rand() % 1_000_000).toString().padStart(6, '0')}`;
  const bKeyId = addKey({
    id: 'supplier-b-signing-key',
    path: `firmware/keys/${supplierB.slug}-signing-key.p8`,
    format: 'pkcs8-encrypted-pem',
    algorithm: keyAlgorithmName(supplierB.key.publicKey),
    private: true,
    encrypted: true,
    passphrase,
    spkiSha256: spkiSha256(supplierB.key.publicKey),
  });
  write(
    `firmware/keys/${supplierB.slug}-signing-key.p8`,
    supplierB.key.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase }),
    'private-key',
    { keys: [bKeyId] },
    0o600,
  );

  // Supplier A's application image for the body control module, MCUboot-signed with the key that
  // sits in its CI directory, and a copy patched after signing (what a field return might carry).
  const appBody = Buffer.alloc(24 * 1024);
  for (let i = 0; i < appBody.length; i++) appBody[i] = (rand() >>> 3) & 0xff;
  const image = buildMcubootImage({
    key: supplierA.key.privateKey,
    body: appBody,
    version: { major: 1, minor: 4, revision: 2, build: 0 },
    embedPublicKey: true,
  });
  const imagePath = `firmware/images/${supplierA.slug}-bcm-app-1.4.2.signed.bin`;
  const patchedPath = `firmware/images/${supplierA.slug}-bcm-app-1.4.2-patched.bin`;
  for (const [path, bytes] of [
    [imagePath, image],
    [
      patchedPath,
      Buffer.concat([image.subarray(0, 64), Buffer.from([image[64]! ^ 0xff]), image.subarray(65)]),
    ],
  ] as const) {
    const id = addKey({
      id: `${path === imagePath ? 'supplier-a-image' : 'supplier-a-patched-image'}-pubkey`,
      path,
      format: 'mcuboot-pubkey',
      algorithm: keyAlgorithmName(supplierA.key.publicKey),
      private: false,
      encrypted: false,
      spkiSha256: spkiSha256(supplierA.key.publicKey),
    });
    write(path, bytes, 'signed-image', { keys: [id] });
  }

  // device/
  const cohortDir = `device/cohort-${cohort}`;
  let deviceBundle = '';
  for (const id of deviceIds) deviceBundle += pemOf(id);
  write(`${cohortDir}/devices.pem`, deviceBundle, 'certificate-bundle', {
    certificates: deviceIds.map((id) => [id, 'pem']),
  });
  for (let i = 0; i < derDeviceCount; i++) {
    const id = deviceIds[i]!;
    write(`${cohortDir}/der/${deviceSerials[i]}.crt`, certOf(id).der, 'certificate', {
      certificates: [[id, 'der']],
    });
  }
  const siliconPem = pemOf('silicon-idevid-ca')
    .trimEnd()
    .split('\n')
    .map((l) => `      ${l}`)
    .join('\n');
  const yaml =
    `# Fleet provisioning profile for cohort ${cohort}\n` +
    `fleet:\n  name: kestrel-tcu-eu\n  cohort: ${cohort}\n  units: ${deviceCount}\n` +
    `  bootstrap:\n    endpoint: https://provisioning.${DOMAIN}/.well-known/est\n    retry_seconds: 30\n` +
    `    trust_anchor: |\n${siliconPem}\n  telemetry:\n    endpoint: https://telemetry.${DOMAIN}/v2/ingest\n`;
  write('device/provisioning/fleet.yaml', yaml, 'config', {
    certificates: [['silicon-idevid-ca', 'pem-in-yaml']],
  });
  const rmaDer = rmaCert.der;
  write(
    `device/rma/returned-${rmaSerial}.crt`,
    rmaDer.subarray(0, rmaDer.length >> 1),
    'truncated-certificate',
    {
      parseable: false,
    },
  );
  let junk = 'This export was interrupted; the HSM returned no data.\n';
  for (let i = 0; i < 24; i++) {
    let line = '';
    for (let j = 0; j < 48; j++) line += String.fromCharCode(0x21 + (rand() % 94));
    junk += line.replace(/-/g, '~') + '\n';
  }
  const noise = Buffer.alloc(256);
  for (let i = 0; i < noise.length; i++) noise[i] = rand() & 0xff;
  write('device/garbage.pem', Buffer.concat([Buffer.from(junk, 'latin1'), noise]), 'garbage', {
    parseable: false,
  });

  // cloud/
  write('cloud/cloud-services-ca.pem', pemOf('cloud-services-ca'), 'certificate', {
    certificates: [['cloud-services-ca', 'pem']],
  });
  write(
    'cloud/tls/update-fullchain.pem',
    pemOf('cloud-update-tls') + pemOf('cloud-services-ca'),
    'certificate-bundle',
    {
      certificates: [
        ['cloud-update-tls', 'pem'],
        ['cloud-services-ca', 'pem'],
      ],
    },
  );
  write('cloud/tls/telemetry.pem', pemOf('cloud-telemetry-tls'), 'certificate', {
    certificates: [['cloud-telemetry-tls', 'pem']],
  });
  write('cloud/tls/api.crt', pemOf('cloud-api-tls'), 'certificate', {
    certificates: [['cloud-api-tls', 'pem']],
  });
  write('cloud/partners/fleet-analytics-client.pem', pemOf('partner-analytics-client'), 'certificate', {
    certificates: [['partner-analytics-client', 'pem']],
  });

  const jwkCurrent = ec('P-256');
  const jwkPrevious = ec('P-256');
  const jwkEd = ed25519();
  const jwksEntries: { pair: KeyPair; alg: string; id: string }[] = [
    { pair: jwkCurrent, alg: 'ES256', id: 'update-jwk-current' },
    { pair: jwkPrevious, alg: 'ES256', id: 'update-jwk-previous' },
    { pair: jwkEd, alg: 'EdDSA', id: 'update-jwk-eddsa' },
  ];
  const jwks: Record<string, unknown>[] = [];
  const jwksKeyIds: string[] = [];
  for (const e of jwksEntries) {
    const pub = e.pair.publicKey.export({ format: 'jwk' });
    const kid = jwkThumbprint(pub);
    jwks.push({ ...pub, kid, use: 'sig', alg: e.alg });
    jwksKeyIds.push(
      addKey({
        id: e.id,
        path: 'cloud/update-service/jwks.json',
        format: 'jwk-public',
        algorithm: keyAlgorithmName(e.pair.publicKey),
        private: false,
        encrypted: false,
        kid,
        spkiSha256: spkiSha256(e.pair.publicKey),
      }),
    );
  }
  write('cloud/update-service/jwks.json', JSON.stringify({ keys: jwks }, null, 2) + '\n', 'jwks', {
    keys: jwksKeyIds,
  });
  const privJwk = jwkCurrent.privateKey.export({ format: 'jwk' });
  const privKid = jwkThumbprint(privJwk);
  const privJwkId = addKey({
    id: 'update-signing-jwk',
    path: 'cloud/update-service/config.json',
    format: 'jwk-private',
    algorithm: keyAlgorithmName(jwkCurrent.publicKey),
    private: true,
    encrypted: false,
    kid: privKid,
    spkiSha256: spkiSha256(jwkCurrent.publicKey),
  });
  const config = {
    service: 'ota-update',
    listen: '0.0.0.0:8443',
    upstream: `https://api.${DOMAIN}`,
    trustAnchorPem: pemOf('cloud-services-ca'),
    manifestSigning: { alg: 'ES256', jwk: { ...privJwk, kid: privKid, use: 'sig', alg: 'ES256' } },
    retention: { days: 90 },
  };
  write('cloud/update-service/config.json', JSON.stringify(config, null, 2) + '\n', 'config', {
    certificates: [['cloud-services-ca', 'pem-in-json']],
    keys: [privJwkId],
  });
  const sshKey = ed25519();
  const ssh = openSshEd25519(sshKey.privateKey, `deploy@ota-update.${DOMAIN}`, rand());
  const sshSpki = spkiSha256(sshKey.publicKey);
  const sshPrivId = addKey({
    id: 'deploy-ssh-key',
    path: 'cloud/ssh/deploy_ed25519',
    format: 'openssh-private',
    algorithm: 'Ed25519',
    private: true,
    encrypted: false,
    spkiSha256: sshSpki,
  });
  write('cloud/ssh/deploy_ed25519', ssh.privateKey, 'ssh-private-key', { keys: [sshPrivId] }, 0o600);
  const sshPubId = addKey({
    id: 'deploy-ssh-key-pub',
    path: 'cloud/ssh/deploy_ed25519.pub',
    format: 'openssh-public',
    algorithm: 'Ed25519',
    private: false,
    encrypted: false,
    spkiSha256: sshSpki,
  });
  write('cloud/ssh/deploy_ed25519.pub', ssh.publicKey, 'ssh-public-key', { keys: [sshPubId] });

  // ---- manifest ----

  const certificates = certs.map((c) => ({ ...c, occurrences: occurrences.get(c.id) ?? [] }));
  const unwritten = certificates.filter((c) => c.occurrences.length === 0).map((c) => c.id);
  if (unwritten.length) throw new Error(`certificates built but never written: ${unwritten.join(', ')}`);
  const bySpki = new Map<string, string[]>();
  for (const c of certificates) bySpki.set(c.spkiSha256, [...(bySpki.get(c.spkiSha256) ?? []), c.id]);
  const finalKeys = keys.map((k) => ({ ...k, certificateIds: bySpki.get(k.spkiSha256) ?? [] }));
  const subjectsInEstate = new Set(certificates.map((c) => c.subject));
  const skisInEstate = new Set(certificates.flatMap((c) => (c.ski ? [c.ski] : [])));
  const broken = certificates.filter(
    (c) => !c.selfSigned && !subjectsInEstate.has(c.issuer) && !(c.aki && skisInEstate.has(c.aki)),
  );
  const ids = (s: ValidityStatus): string[] => certificates.filter((c) => c.status === s).map((c) => c.id);
  const allOcc = certificates.flatMap((c) => c.occurrences);
  const expected: EstateExpectations = {
    files: files.length,
    totalBytes: files.reduce((n, f) => n + f.bytes, 0),
    uniqueCertificates: certificates.length,
    certificateOccurrences: allOcc.length,
    pemCertificateBlocks: allOcc.filter((o) => o.encoding === 'pem' || o.encoding === 'pem-in-yaml').length,
    derCertificateFiles: allOcc.filter((o) => o.encoding === 'der').length,
    caCertificates: certificates.filter((c) => c.ca).length,
    expired: ids('expired'),
    expiringWithin30Days: ids('expiring-30d'),
    expiringWithinYear: ids('expiring-1y'),
    brokenChains: broken.map((c) => c.id),
    missingIssuers: [...new Set(broken.map((c) => c.issuer))],
    privateKeys: finalKeys.filter((k) => k.private).length,
    unencryptedPrivateKeys: finalKeys.filter((k) => k.private && !k.encrypted).length,
    publicKeys: finalKeys.filter((k) => !k.private).length,
    unparseableFiles: files.filter((f) => !f.parseable).map((f) => f.path),
    reusedCertificateKeys: [...bySpki].filter(([, list]) => list.length > 1).map(([spki]) => spki),
  };
  return {
    dir,
    now: new Date(now).toISOString(),
    seed,
    organization: ORG,
    files,
    certificates,
    keys: finalKeys,
    expected,
  };
}
