/**
 * The whole store as one CycloneDX 1.6 CBOM. Every bom-ref is the store's own asset id (or `key:<key
 * identity>`, or `algorithm:<role>:<name>`), so two exports of the same facts name things the same
 * way and an import can map refs back to assets. Only public facts leave: a key is described by its
 * identity, algorithm and where it sits, never by a `value`.
 */
import { randomUUID } from 'node:crypto';
import { basename, extname } from 'node:path';
import {
  HASH_ALGORITHMS,
  KEY_ALGORITHMS,
  SIGNATURE_ALGORITHMS,
  type CryptoLibrary,
  type SignatureSummary,
} from '@keywarden/core';
import type { AssetRow, EdgeRow, OccurrenceRow, Store } from '@keywarden/store';
import { keyLabel } from './inventory.ts';

export interface CdxProperty {
  name: string;
  value: string;
}

export interface CdxHash {
  alg: 'SHA-1' | 'SHA-256';
  content: string;
}

export type CdxPrimitive = 'signature' | 'hash' | 'pke' | 'xof' | 'key-agree' | 'kem' | 'unknown';

export interface CdxCryptoProperties {
  assetType: 'algorithm' | 'certificate' | 'related-crypto-material';
  algorithmProperties?: {
    primitive: CdxPrimitive;
    parameterSetIdentifier?: string;
    curve?: string;
    cryptoFunctions?: string[];
    classicalSecurityLevel?: number;
    nistQuantumSecurityLevel?: number;
  };
  certificateProperties?: {
    subjectName?: string;
    issuerName?: string;
    notValidBefore?: string;
    notValidAfter?: string;
    signatureAlgorithmRef?: string;
    subjectPublicKeyRef?: string;
    certificateFormat?: string;
    certificateExtension?: string;
  };
  relatedCryptoMaterialProperties?: {
    type: 'public-key' | 'private-key' | 'signature' | 'other';
    id?: string;
    algorithmRef?: string;
    creationDate?: string;
    expirationDate?: string;
    size?: number;
  };
  oid?: string;
}

export interface CdxComponent {
  type: 'cryptographic-asset' | 'firmware' | 'file' | 'library';
  'bom-ref': string;
  name: string;
  version?: string;
  purl?: string;
  cpe?: string;
  supplier?: { name: string };
  hashes?: CdxHash[];
  cryptoProperties?: CdxCryptoProperties;
  evidence?: { occurrences: { location: string; offset: number }[] };
  properties?: CdxProperty[];
}

export interface CdxDependency {
  ref: string;
  dependsOn?: string[];
  provides?: string[];
}

export interface CycloneDxBom {
  $schema: string;
  bomFormat: 'CycloneDX';
  specVersion: '1.6';
  serialNumber: string;
  version: 1;
  metadata: {
    timestamp: string;
    tools: { components: { type: 'application'; name: string; description: string }[] };
    properties?: CdxProperty[];
  };
  components: CdxComponent[];
  dependencies: CdxDependency[];
}

export interface ExportOptions {
  /** The BOM's timestamp (epoch ms). Default: now. */
  readonly at?: number;
  /** Who or what this BOM speaks for, recorded as a metadata property. */
  readonly source?: string;
}

/** Names of the properties this module writes and cbom-import reads back. */
export const P = {
  serial: 'keywarden:serial',
  ski: 'keywarden:ski',
  aki: 'keywarden:aki',
  isCa: 'keywarden:isCa',
  selfSigned: 'keywarden:selfSigned',
  der: 'keywarden:der',
  identity: 'keywarden:identity',
  occurrence: 'keywarden:occurrence',
  algorithm: 'keywarden:algorithm',
  curve: 'keywarden:curve',
  sealed: 'keywarden:sealed',
  kind: 'keywarden:kind',
  record: 'keywarden:record',
  format: 'keywarden:format',
  size: 'keywarden:size',
  status: 'keywarden:status',
  reason: 'keywarden:reason',
  digestAlgorithm: 'keywarden:digestAlgorithm',
  digest: 'keywarden:digest',
  summary: 'keywarden:summary',
  source: 'keywarden:source',
} as const;

/** What an occurrence property holds: where one copy was seen, in one JSON value. */
export interface OccurrenceFacts {
  location: string;
  offset: number;
  layer: string;
  format: string;
  encoding: string;
  private?: boolean;
  encrypted?: boolean;
  fileMode?: string;
}

// ---------------------------------------------------------------------------------------------
// Algorithms: one component per distinct name, described from the name alone so the same name
// always yields the same component.

interface Algorithm {
  ref: string;
  name: string;
  primitive: CdxPrimitive;
  oid?: string;
  parameterSetIdentifier?: string;
  curve?: string;
  classical?: number;
  quantum?: number;
  /** The hash the algorithm is built on, as its own component (CycloneDX has no field for it). */
  hash?: Algorithm;
}

const invert = (t: Record<string, string>): Map<string, string> =>
  new Map(Object.entries(t).map(([oid, name]) => [name.toLowerCase(), oid]));
const SIG_OIDS = invert(SIGNATURE_ALGORITHMS);
const HASH_OIDS = invert(HASH_ALGORITHMS);
const KEY_OIDS = new Map(Object.entries(KEY_ALGORITHMS).map(([oid, a]) => [a.name, oid]));
const OID = /^\d+(\.\d+)+$/;

const FUNCTIONS: Partial<Record<CdxPrimitive, string[]>> = {
  signature: ['sign', 'verify'],
  pke: ['encrypt', 'decrypt', 'sign', 'verify'],
  hash: ['digest'],
  xof: ['digest'],
  kem: ['encapsulate', 'decapsulate'],
  'key-agree': ['keyderive'],
};

/** The hash inside a name such as sha256WithRSAEncryption, ecdsa-with-SHA3-384 or SHA256withRSA. */
export function hashKey(name: string): string | undefined {
  const m = /sha3-(224|256|384|512)|sha-?(1|224|256|384|512)(?![0-9])|shake(128|256)|md[245]|sm3/i.exec(name);
  if (!m) return undefined;
  if (m[1]) return `sha3-${m[1]}`;
  if (m[2]) return `sha${m[2]}`;
  if (m[3]) return `shake${m[3]}`;
  return m[0].toLowerCase();
}

function hashAlgorithm(key: string): Algorithm {
  const bits =
    key === 'sha1' ? '160' : /^md/.test(key) ? '128' : key === 'sm3' ? '256' : /(\d+)$/.exec(key)![1]!;
  const name = key.startsWith('sha3-')
    ? `SHA3-${bits}`
    : key.startsWith('sha')
      ? `SHA-${key.slice(3)}`
      : key.toUpperCase();
  const oid = HASH_OIDS.get(key);
  return {
    ref: `algorithm:hash:${key}`,
    name,
    primitive: key.startsWith('shake') ? 'xof' : 'hash',
    parameterSetIdentifier: bits,
    ...(oid && { oid }),
  };
}

/** NIST PQC security categories (FIPS 203/204/205) by parameter set. */
function pqc(name: string): { set: string; level: number } | undefined {
  const m =
    /^ML-DSA-(44|65|87)$/i.exec(name) ??
    /^ML-KEM-(512|768|1024)$/i.exec(name) ??
    /^SLH-DSA-((?:SHA2|SHAKE)-(128|192|256)[sf])$/i.exec(name);
  if (!m) return undefined;
  const level: Record<string, number> = {
    44: 2,
    65: 3,
    87: 5,
    512: 1,
    768: 3,
    1024: 5,
    128: 1,
    192: 3,
    256: 5,
  };
  return { set: m[1]!, level: level[m[2] ?? m[1]!]! };
}

const CLASSICAL = /rsa|ecdsa|dsa|ed25519|ed448|sm2|pss/i;

export function signatureAlgorithm(name: string): Algorithm {
  const q = pqc(name);
  const oid = OID.test(name) ? name : SIG_OIDS.get(name.toLowerCase());
  const h = hashKey(name);
  return {
    ref: `algorithm:signature:${name}`,
    name,
    primitive: 'signature',
    ...(oid && { oid }),
    ...(q && { parameterSetIdentifier: q.set }),
    ...(q ? { quantum: q.level } : CLASSICAL.test(name) && { quantum: 0 }),
    ...(h && { hash: hashAlgorithm(h) }),
  };
}

// Curve names as CycloneDX recommends them (the std-curves catalogue's category/name).
const CURVES: Record<string, string> = {
  'P-192': 'nist/P-192',
  'P-224': 'nist/P-224',
  'P-256': 'nist/P-256',
  'P-384': 'nist/P-384',
  'P-521': 'nist/P-521',
  secp256k1: 'secg/secp256k1',
  brainpoolP256r1: 'brainpool/brainpoolP256r1',
  brainpoolP384r1: 'brainpool/brainpoolP384r1',
  brainpoolP512r1: 'brainpool/brainpoolP512r1',
};

export function cdxCurve(curve: string): string {
  return CURVES[curve] ?? curve;
}

function keyPrimitive(alg: string): CdxPrimitive {
  if (alg === 'RSA') return 'pke';
  if (/^(X25519|X448|DH)$/.test(alg)) return 'key-agree';
  if (alg.startsWith('ML-KEM')) return 'kem';
  // id-ecPublicKey does not limit a key to ECDSA, but signing is the only use certificates and
  // signers show us; an ECDH-only key would need its key usage to tell.
  if (/^(RSA-PSS|EC|DSA|Ed25519|Ed448|SM2)$|^(ML|SLH)-DSA/.test(alg)) return 'signature';
  return 'unknown';
}

/** SP 800-57 Part 1 comparable strengths, in bits. */
function classicalStrength(alg: string, size: number | undefined): number | undefined {
  if (alg === 'Ed25519' || alg === 'X25519') return 128;
  if (alg === 'Ed448' || alg === 'X448') return 224;
  if (size === undefined) return undefined;
  const steps: [number, number][] = /^(RSA|RSA-PSS|DSA|DH)$/.test(alg)
    ? [
        [15360, 256],
        [7680, 192],
        [3072, 128],
        [2048, 112],
        [1024, 80],
      ]
    : alg === 'EC' || alg === 'SM2'
      ? [
          [512, 256],
          [384, 192],
          [256, 128],
          [224, 112],
          [160, 80],
        ]
      : [];
  return steps.find(([min]) => size >= min)?.[1];
}

export function keyAlgorithm(alg: string | undefined, size?: number, curve?: string): Algorithm {
  const name = keyLabel(alg, size, curve);
  const a = alg ?? 'unknown';
  const q = pqc(a);
  const oid = KEY_OIDS.get(a) ?? (OID.test(a) ? a : undefined);
  const strength = classicalStrength(a, size);
  const sized = /^(RSA|RSA-PSS|DSA|DH)$/.test(a) && size !== undefined;
  return {
    ref: `algorithm:key:${name}`,
    name,
    primitive: keyPrimitive(a),
    ...(oid && { oid }),
    ...(q ? { parameterSetIdentifier: q.set } : sized && { parameterSetIdentifier: String(size) }),
    ...(curve && { curve: cdxCurve(curve) }),
    ...(strength !== undefined && { classical: strength }),
    ...(q ? { quantum: q.level } : keyPrimitive(a) !== 'unknown' && { quantum: 0 }),
  };
}

function algorithmComponent(a: Algorithm): CdxComponent {
  const fns = FUNCTIONS[a.primitive];
  return {
    type: 'cryptographic-asset',
    'bom-ref': a.ref,
    name: a.name,
    cryptoProperties: {
      assetType: 'algorithm',
      algorithmProperties: {
        primitive: a.primitive,
        ...(a.parameterSetIdentifier && { parameterSetIdentifier: a.parameterSetIdentifier }),
        ...(a.curve && { curve: a.curve }),
        ...(fns && { cryptoFunctions: fns }),
        ...(a.classical !== undefined && { classicalSecurityLevel: a.classical }),
        ...(a.quantum !== undefined && { nistQuantumSecurityLevel: a.quantum }),
      },
      ...(a.oid && { oid: a.oid }),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The graph being built.

class Bom {
  readonly components = new Map<string, CdxComponent>();
  private readonly links = new Map<string, { dependsOn: Set<string>; provides: Set<string> }>();

  add(c: CdxComponent): void {
    this.components.set(c['bom-ref'], c);
    this.node(c['bom-ref']);
  }

  algorithm(a: Algorithm): string {
    if (!this.components.has(a.ref)) {
      this.add(algorithmComponent(a));
      if (a.hash) this.dependsOn(a.ref, this.algorithm(a.hash));
    }
    return a.ref;
  }

  dependsOn(from: string, to: string): void {
    this.node(from).dependsOn.add(to);
  }

  provides(from: string, to: string): void {
    this.node(from).provides.add(to);
  }

  private node(ref: string): { dependsOn: Set<string>; provides: Set<string> } {
    let n = this.links.get(ref);
    if (!n) this.links.set(ref, (n = { dependsOn: new Set(), provides: new Set() }));
    return n;
  }

  /** Every ref a dependency names, so keys known only by identity can be given a component. */
  targets(): Set<string> {
    const out = new Set<string>();
    for (const n of this.links.values()) for (const t of [...n.dependsOn, ...n.provides]) out.add(t);
    return out;
  }

  /**
   * One entry per component, leaves included (the spec asks for them). A target with no component
   * (a signer certificate the store never saw) is left out: every ref in the BOM must resolve, and
   * the signature's own properties still name it.
   */
  dependencies(): CdxDependency[] {
    const keep = (s: Set<string>): string[] => [...s].filter((r) => this.components.has(r)).sort();
    return [...this.links.entries()]
      .filter(([ref]) => this.components.has(ref))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([ref, n]) => {
        const dependsOn = keep(n.dependsOn);
        const provides = keep(n.provides);
        return {
          ref,
          ...(dependsOn.length > 0 && { dependsOn }),
          ...(provides.length > 0 && { provides }),
        };
      });
  }
}

// ---------------------------------------------------------------------------------------------
// Components from assets.

type Value = string | number | boolean | undefined;

function props(pairs: readonly (readonly [string, Value])[]): CdxProperty[] {
  return pairs.filter((p) => p[1] !== undefined).map(([name, v]) => ({ name, value: String(v) }));
}

const iso = (ms: number | undefined): string | undefined =>
  ms === undefined ? undefined : new Date(ms).toISOString();

function occurrenceFacts(o: OccurrenceRow, withProtection: boolean): OccurrenceFacts {
  return {
    location: o.path,
    offset: o.offset,
    layer: o.layer,
    format: o.format,
    encoding: o.encoding,
    ...(withProtection && o.private && { private: true }),
    ...(withProtection && o.encrypted !== undefined && { encrypted: o.encrypted }),
    ...(withProtection && o.fileMode !== undefined && { fileMode: o.fileMode.toString(8).padStart(4, '0') }),
  };
}

/** evidence.occurrences has no field for layer, format or protection, so each also gets a property. */
function placed(
  occ: readonly OccurrenceRow[],
  withProtection = false,
): Pick<CdxComponent, 'evidence'> & { occurrenceProps: CdxProperty[] } {
  return {
    ...(occ.length > 0 && {
      evidence: { occurrences: occ.map((o) => ({ location: o.path, offset: o.offset })) },
    }),
    occurrenceProps: occ.map((o) => ({
      name: P.occurrence,
      value: JSON.stringify(occurrenceFacts(o, withProtection)),
    })),
  };
}

const HEX64 = /^[0-9a-f]{64}$/;

/** True when the identity is a real SHA-256 of the object, not a hash of a declaration (cbom-import). */
function fingerprinted(a: AssetRow): boolean {
  const declared = (a.record as { declared?: { identityFrom?: string } } | null)?.declared;
  return HEX64.test(a.identity) && declared?.identityFrom !== 'content';
}

const CERT_EXTENSIONS = new Set(['crt', 'cer', 'cert', 'pem', 'der']);

function certificateExtension(occ: readonly OccurrenceRow[]): string | undefined {
  for (const o of occ) {
    const ext = extname(o.path).slice(1).toLowerCase();
    if (CERT_EXTENSIONS.has(ext)) return ext;
  }
  const enc = occ.find((o) => o.encoding === 'pem' || o.encoding === 'der')?.encoding;
  return enc;
}

function certificate(b: Bom, a: AssetRow): void {
  const r = (a.record ?? {}) as { der?: string; sha1?: string };
  const sigRef = a.signatureAlgorithm ? b.algorithm(signatureAlgorithm(a.signatureAlgorithm)) : undefined;
  const keyRef = a.keyId ? `key:${a.keyId}` : undefined;
  const ext = certificateExtension(a.occurrences);
  const where = placed(a.occurrences);
  const real = fingerprinted(a);
  b.add({
    type: 'cryptographic-asset',
    'bom-ref': a.id,
    name: a.subject || a.identity,
    ...(real && {
      hashes: [
        { alg: 'SHA-256', content: a.identity },
        ...(typeof r.sha1 === 'string' ? [{ alg: 'SHA-1' as const, content: r.sha1 }] : []),
      ],
    }),
    cryptoProperties: {
      assetType: 'certificate',
      certificateProperties: {
        ...(a.subject !== undefined && { subjectName: a.subject }),
        ...(a.issuer !== undefined && { issuerName: a.issuer }),
        ...(a.notBefore !== undefined && { notValidBefore: iso(a.notBefore) }),
        ...(a.notAfter !== undefined && { notValidAfter: iso(a.notAfter) }),
        ...(sigRef && { signatureAlgorithmRef: sigRef }),
        ...(keyRef && { subjectPublicKeyRef: keyRef }),
        certificateFormat: 'X.509',
        ...(ext && { certificateExtension: ext }),
      },
    },
    ...(where.evidence && { evidence: where.evidence }),
    properties: [
      ...props([
        [P.serial, a.serial],
        [P.ski, a.ski],
        [P.aki, a.aki],
        [P.isCa, a.isCa],
        [P.selfSigned, a.selfSigned],
        [P.identity, real ? undefined : a.identity],
        [P.der, typeof r.der === 'string' ? r.der : undefined],
      ]),
      ...where.occurrenceProps,
    ],
  });
  if (sigRef) b.dependsOn(a.id, sigRef);
  if (keyRef) b.provides(a.id, keyRef);
}

interface KeyFacts {
  ref: string;
  keyId?: string;
  identity: string;
  algorithm?: string;
  size?: number;
  curve?: string;
  occurrences: readonly OccurrenceRow[];
}

function key(b: Bom, k: KeyFacts): void {
  const algRef = k.algorithm ? b.algorithm(keyAlgorithm(k.algorithm, k.size, k.curve)) : undefined;
  const isPrivate = k.occurrences.some((o) => o.private);
  const where = placed(k.occurrences, true);
  b.add({
    type: 'cryptographic-asset',
    'bom-ref': k.ref,
    name: `${keyLabel(k.algorithm, k.size, k.curve)} ${isPrivate ? 'private' : 'public'} key`,
    cryptoProperties: {
      assetType: 'related-crypto-material',
      relatedCryptoMaterialProperties: {
        type: isPrivate ? 'private-key' : 'public-key',
        ...(k.keyId && { id: k.keyId }),
        ...(algRef && { algorithmRef: algRef }),
        ...(k.size !== undefined && { size: k.size }),
      },
    },
    ...(where.evidence && { evidence: where.evidence }),
    properties: [
      ...props([
        [P.algorithm, k.algorithm],
        [P.curve, k.curve],
        // A key we could not open (encrypted PKCS#8) is known by the hash of its container instead.
        [P.sealed, k.keyId ? undefined : k.identity],
      ]),
      ...where.occurrenceProps,
    ],
  });
  if (algRef) b.dependsOn(k.ref, algRef);
}

/** Keys the store knows only through a certificate, a CSR or a signer: identity and algorithm, no place. */
async function indirectKeys(store: Store, b: Bom): Promise<KeyFacts[]> {
  const out: KeyFacts[] = [];
  let after = '';
  for (;;) {
    const rows = await store.db
      .selectFrom('keys')
      .select(['key_id', 'algorithm', 'size', 'curve'])
      .where('key_id', '>', after)
      .orderBy('key_id')
      .limit(2000)
      .execute();
    if (rows.length === 0) return out;
    for (const r of rows)
      if (!b.components.has(`key:${r.key_id}`))
        out.push({
          ref: `key:${r.key_id}`,
          keyId: r.key_id,
          identity: r.key_id,
          algorithm: r.algorithm,
          ...(r.size !== null && { size: r.size }),
          ...(r.curve !== null && { curve: r.curve }),
          occurrences: [],
        });
    after = rows[rows.length - 1]!.key_id;
  }
}

/** CSRs and CRLs have no CycloneDX asset type of their own: related material of type `other`. */
function requestOrList(b: Bom, a: AssetRow): void {
  const sigRef = a.signatureAlgorithm ? b.algorithm(signatureAlgorithm(a.signatureAlgorithm)) : undefined;
  const where = placed(a.occurrences);
  const label = a.kind === 'csr' ? 'certification request' : 'certificate revocation list';
  b.add({
    type: 'cryptographic-asset',
    'bom-ref': a.id,
    name: `${label} ${(a.kind === 'csr' ? a.subject : a.issuer) || a.identity}`,
    hashes: [{ alg: 'SHA-256', content: a.identity }],
    cryptoProperties: {
      assetType: 'related-crypto-material',
      relatedCryptoMaterialProperties: {
        type: 'other',
        id: a.identity,
        ...(sigRef && { algorithmRef: sigRef }),
        ...(a.kind === 'crl' && a.notBefore !== undefined && { creationDate: iso(a.notBefore) }),
        ...(a.kind === 'crl' && a.notAfter !== undefined && { expirationDate: iso(a.notAfter) }),
      },
    },
    ...(where.evidence && { evidence: where.evidence }),
    properties: [
      ...props([
        [P.kind, a.kind],
        [P.record, JSON.stringify(a.record)],
      ]),
      ...where.occurrenceProps,
    ],
  });
  if (sigRef) b.dependsOn(a.id, sigRef);
  if (a.keyId) b.dependsOn(a.id, `key:${a.keyId}`);
}

/** An OpenSSH certificate is a certificate, in a format CycloneDX leaves free. */
function sshCertificate(b: Bom, a: AssetRow): void {
  const keyRef = a.keyId ? `key:${a.keyId}` : undefined;
  const where = placed(a.occurrences);
  b.add({
    type: 'cryptographic-asset',
    'bom-ref': a.id,
    name: a.subject || a.identity,
    hashes: [{ alg: 'SHA-256', content: a.identity }],
    cryptoProperties: {
      assetType: 'certificate',
      certificateProperties: {
        ...(a.subject !== undefined && { subjectName: a.subject }),
        ...(a.issuer !== undefined && { issuerName: a.issuer }),
        ...(a.notBefore !== undefined && { notValidBefore: iso(a.notBefore) }),
        ...(a.notAfter !== undefined && { notValidAfter: iso(a.notAfter) }),
        ...(keyRef && { subjectPublicKeyRef: keyRef }),
        certificateFormat: 'OpenSSH',
      },
    },
    ...(where.evidence && { evidence: where.evidence }),
    properties: [
      ...props([
        [P.kind, 'ssh-certificate'],
        [P.record, JSON.stringify(a.record)],
      ]),
      ...where.occurrenceProps,
    ],
  });
  if (keyRef) b.provides(a.id, keyRef);
}

function signature(b: Bom, a: AssetRow): void {
  const s = a.record as SignatureSummary;
  const sigRef = b.algorithm(signatureAlgorithm(s.signatureAlgorithm));
  const digestKey = s.digestAlgorithm ? hashKey(s.digestAlgorithm) : undefined;
  const where = placed(a.occurrences);
  b.add({
    type: 'cryptographic-asset',
    'bom-ref': a.id,
    name: `${s.format} signature${s.signer.subject ? ` by ${s.signer.subject}` : ''}`,
    cryptoProperties: {
      assetType: 'related-crypto-material',
      relatedCryptoMaterialProperties: {
        type: 'signature',
        id: s.sha256,
        algorithmRef: sigRef,
        ...(s.signedAt !== undefined && { creationDate: iso(s.signedAt) }),
      },
    },
    ...(where.evidence && { evidence: where.evidence }),
    properties: [
      ...props([
        [P.format, s.format],
        [P.status, s.status],
        [P.reason, s.reason],
        ['keywarden:signer.keyId', s.signer.keyId],
        ['keywarden:signer.certificate', s.signer.certificate],
        ['keywarden:signer.subject', s.signer.subject],
        ['keywarden:signer.issuer', s.signer.issuer],
        ['keywarden:signer.serial', s.signer.serial],
        ['keywarden:signer.ski', s.signer.ski],
        [P.digestAlgorithm, s.digestAlgorithm],
        [P.digest, s.digest],
        // The whole summary (public by construction) so an import restores it exactly.
        [P.summary, JSON.stringify(s)],
      ]),
      ...where.occurrenceProps,
    ],
  });
  b.dependsOn(a.id, sigRef);
  if (digestKey) b.dependsOn(a.id, b.algorithm(hashAlgorithm(digestKey)));
}

/** Artifact formats that are boot or update images; anything else is a plain file. */
const FIRMWARE_FORMATS = new Set(['firmware', 'fit', 'mcuboot', 'uefi-capsule', 'avb', 'android-boot']);

function artifact(b: Bom, a: AssetRow): void {
  const r = (a.record ?? {}) as { format?: string; size?: number };
  const where = placed(a.occurrences);
  b.add({
    type: r.format && FIRMWARE_FORMATS.has(r.format) ? 'firmware' : 'file',
    'bom-ref': a.id,
    name: a.subject ? basename(a.subject) : a.identity,
    hashes: [{ alg: 'SHA-256', content: a.identity }],
    ...(where.evidence && { evidence: where.evidence }),
    properties: [
      ...props([
        [P.format, r.format],
        [P.size, r.size],
      ]),
      ...where.occurrenceProps,
    ],
  });
}

/** A crypto library an SBOM declared: a CycloneDX library component, where SBOM tools expect it. */
function cryptoLibrary(b: Bom, a: AssetRow): void {
  const l = a.record as CryptoLibrary;
  const where = placed(a.occurrences);
  b.add({
    type: 'library',
    'bom-ref': a.id,
    name: l.name,
    ...(l.version && { version: l.version }),
    ...(l.purl && { purl: l.purl }),
    ...(l.cpe && { cpe: l.cpe }),
    ...(l.supplier && { supplier: { name: l.supplier } }),
    ...(where.evidence && { evidence: where.evidence }),
    properties: [...props([[P.format, `crypto-library:${l.library}`]]), ...where.occurrenceProps],
  });
}

function edge(b: Bom, e: EdgeRow): void {
  switch (e.kind) {
    case 'covers': // signature -> artifact: the artifact depends on the signature that vouches for it
      b.dependsOn(e.to, e.from);
      return;
    case 'signed-by':
    case 'embeds':
      b.dependsOn(e.from, e.to);
      return;
  }
}

/** Builds one CycloneDX 1.6 BOM from everything the store holds. */
export async function exportCbom(store: Store, opts: ExportOptions = {}): Promise<CycloneDxBom> {
  const b = new Bom();
  for await (const a of store.assets({ kind: 'certificate' })) certificate(b, a);
  for await (const a of store.assets({ kind: 'key' }))
    key(b, {
      ref: a.id,
      ...(a.keyId && { keyId: a.keyId }),
      identity: a.identity,
      ...(a.algorithm && { algorithm: a.algorithm }),
      ...(a.size !== undefined && { size: a.size }),
      ...(a.curve && { curve: a.curve }),
      occurrences: a.occurrences,
    });
  for (const k of await indirectKeys(store, b)) key(b, k);
  for await (const a of store.assets({ kind: 'csr' })) requestOrList(b, a);
  for await (const a of store.assets({ kind: 'crl' })) requestOrList(b, a);
  for await (const a of store.assets({ kind: 'ssh-certificate' })) sshCertificate(b, a);
  for await (const a of store.assets({ kind: 'signature' })) signature(b, a);
  for await (const a of store.assets({ kind: 'artifact' })) artifact(b, a);
  for await (const a of store.assets({ kind: 'crypto-library' })) cryptoLibrary(b, a);
  for (const e of await store.edges()) edge(b, e);
  // A signer named only by its key identity, with no keys row (its algorithm was not stated).
  for (const t of b.targets())
    if (t.startsWith('key:') && HEX64.test(t.slice(4)) && !b.components.has(t))
      key(b, { ref: t, keyId: t.slice(4), identity: t.slice(4), occurrences: [] });
  const components = [...b.components.values()].sort((x, y) =>
    x['bom-ref'] < y['bom-ref'] ? -1 : x['bom-ref'] > y['bom-ref'] ? 1 : 0,
  );
  return {
    $schema: 'http://cyclonedx.org/schema/bom-1.6.schema.json',
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    serialNumber: `urn:uuid:${randomUUID()}`,
    version: 1,
    metadata: {
      timestamp: new Date(opts.at ?? Date.now()).toISOString(),
      tools: {
        components: [
          {
            type: 'application',
            name: 'keywarden',
            description:
              'system of record for the keys, certificates and signing identities of a device estate',
          },
        ],
      },
      ...(opts.source !== undefined && { properties: [{ name: P.source, value: opts.source }] }),
    },
    components,
    dependencies: b.dependencies(),
  };
}
