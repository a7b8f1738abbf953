import type { CryptoLibrary, RoleSummary, SignatureSummary } from '@keywarden/core';
import type { AssetRow, Store } from '@keywarden/store';

const iso = (ms: number | undefined): string | undefined =>
  ms === undefined ? undefined : new Date(ms).toISOString();

export interface CertificateItem {
  sha256: string;
  serial?: string;
  subject?: string;
  issuer?: string;
  notBefore?: string;
  notAfter?: string;
  keyAlgorithm?: string;
  keySize?: number;
  curve?: string;
  keyId?: string;
  ski?: string;
  aki?: string;
  signatureAlgorithm?: string;
  isCa: boolean;
  selfSigned: boolean;
  occurrences: { path: string; offset: number; layer: string; encoding: string }[];
}

export interface KeyItem {
  /** Key identity (SHA-256 of SPKI) or, for a key we cannot open, `sealed:` + hash of its container. */
  id: string;
  keyId?: string;
  algorithm?: string;
  keySize?: number;
  curve?: string;
  private: boolean;
  occurrences: {
    path: string;
    offset: number;
    layer: string;
    format: string;
    private: boolean;
    encrypted?: boolean;
    fileMode?: string;
  }[];
}

/** One signature on one artifact: who signed it, with what, and whether it verifies. */
export interface SignatureItem {
  /** Asset identity: the signature value together with the artifact it covers. */
  id: string;
  /** SHA-256 of the signature value. */
  sha256: string;
  format: string;
  status: SignatureSummary['status'];
  reason?: string;
  signer: SignatureSummary['signer'];
  signatureAlgorithm: string;
  digestAlgorithm?: string;
  digest?: string;
  signedAt?: string;
  artifact: SignatureSummary['artifact'];
  certificates: readonly string[];
  countersignatures: SignatureSummary['countersignatures'];
  nested?: SignatureSummary['nested'];
  occurrences: { path: string; offset: number; layer: string }[];
}

export function signatureItem(a: AssetRow): SignatureItem {
  const s = a.record as SignatureSummary;
  return {
    id: a.identity,
    sha256: s.sha256,
    format: s.format,
    status: s.status,
    ...(s.reason && { reason: s.reason }),
    signer: s.signer,
    signatureAlgorithm: s.signatureAlgorithm,
    ...(s.digestAlgorithm && { digestAlgorithm: s.digestAlgorithm }),
    ...(s.digest && { digest: s.digest }),
    ...(s.signedAt !== undefined && { signedAt: iso(s.signedAt) }),
    artifact: s.artifact,
    certificates: s.certificates,
    countersignatures: s.countersignatures,
    ...(s.nested && { nested: s.nested }),
    occurrences: a.occurrences.map((o) => ({ path: o.path, offset: o.offset, layer: o.layer })),
  };
}

/** Every signature, or those a given scan saw. */
export async function* signatures(store: Store, scanId?: string): AsyncGenerator<SignatureItem> {
  for await (const a of store.assets({ kind: 'signature' }))
    if (scanId === undefined || a.occurrences.some((o) => o.scanId === scanId)) yield signatureItem(a);
}

export function certificateItem(a: AssetRow): CertificateItem {
  return {
    sha256: a.identity,
    serial: a.serial,
    subject: a.subject,
    issuer: a.issuer,
    notBefore: iso(a.notBefore),
    notAfter: iso(a.notAfter),
    keyAlgorithm: a.algorithm,
    keySize: a.size,
    curve: a.curve,
    keyId: a.keyId,
    ski: a.ski,
    aki: a.aki,
    signatureAlgorithm: a.signatureAlgorithm,
    isCa: a.isCa,
    selfSigned: a.selfSigned,
    occurrences: a.occurrences.map((o) => ({
      path: o.path,
      offset: o.offset,
      layer: o.layer,
      encoding: o.encoding,
    })),
  };
}

export function keyItem(a: AssetRow): KeyItem {
  return {
    id: a.keyId ?? `sealed:${a.identity}`,
    keyId: a.keyId,
    algorithm: a.algorithm,
    keySize: a.size,
    curve: a.curve,
    private: a.occurrences.some((o) => o.private),
    occurrences: a.occurrences.map((o) => ({
      path: o.path,
      offset: o.offset,
      layer: o.layer,
      format: o.format,
      private: o.private,
      ...(o.encrypted !== undefined && { encrypted: o.encrypted }),
      ...(o.fileMode !== undefined && { fileMode: o.fileMode.toString(8).padStart(4, '0') }),
    })),
  };
}

export async function* certificates(store: Store, expiringBefore?: number): AsyncGenerator<CertificateItem> {
  for await (const a of store.assets({
    kind: 'certificate',
    ...(expiringBefore !== undefined && { expiringBefore }),
  }))
    yield certificateItem(a);
}

export async function* keys(store: Store): AsyncGenerator<KeyItem> {
  for await (const a of store.assets({ kind: 'key' })) yield keyItem(a);
}

/** "RSA 2048", "EC P-256", "Ed25519": the size is shown only where the algorithm does not fix it. */
export function keyLabel(algorithm: string | undefined, size?: number, curve?: string): string {
  const alg = algorithm ?? 'unknown';
  if (curve) return `${alg} ${curve}`;
  if (size !== undefined && /^(RSA|RSA-PSS|DSA|DH)$/.test(alg)) return `${alg} ${size}`;
  return alg;
}

/** A crypto library some SBOM declares, with every SBOM that declares it. */
export interface LibraryItem extends CryptoLibrary {
  declaredBy: { path: string; layer: string }[];
}

export async function* libraries(store: Store): AsyncGenerator<LibraryItem> {
  for await (const a of store.assets({ kind: 'crypto-library' }))
    yield {
      ...(a.record as CryptoLibrary),
      declaredBy: a.occurrences.map((o) => ({ path: o.path, layer: o.layer })),
    };
}

/** Who signed, for people: the certificate subject, else how the container names the signer, else the bare key. */
export function signerLabel(s: SignatureSummary['signer']): string {
  if (s.subject) return s.subject;
  if (s.issuer) return `issuer ${s.issuer} serial ${s.serial ?? '?'}`;
  if (s.keyId) return `${s.keyAlgorithm ?? 'unknown'} key ${s.keyId.slice(0, 16)} (no certificate)`;
  return 'unknown signer';
}

/** One TUF/Uptane metadata file: the role, its signing rule and whether its signatures meet it. */
export interface RoleItem {
  sha256: string;
  role: string;
  type: RoleSummary['type'];
  repository?: RoleSummary['repository'];
  version: number;
  expires?: string;
  threshold?: number;
  validKeys?: number;
  thresholdMet: RoleSummary['thresholdMet'];
  checkedAgainst?: string;
  rotation?: RoleSummary['rotation'];
  keys: RoleSummary['keys'];
  delegations: RoleSummary['delegations'];
  targets: number;
  occurrences: { path: string; layer: string }[];
}

export async function* roles(store: Store): AsyncGenerator<RoleItem> {
  for await (const a of store.assets({ kind: 'role' })) {
    const r = a.record as RoleSummary;
    const expires = iso(r.expires);
    yield {
      sha256: r.sha256,
      role: r.name,
      type: r.type,
      ...(r.repository && { repository: r.repository }),
      version: r.version,
      ...(expires && { expires }),
      ...(r.threshold !== undefined && { threshold: r.threshold }),
      ...(r.validKeys !== undefined && { validKeys: r.validKeys }),
      thresholdMet: r.thresholdMet,
      ...(r.authority && { checkedAgainst: `${r.authority.role} v${r.authority.version}` }),
      ...(r.rotation && { rotation: r.rotation }),
      // The SPKI is for the cross-file check; the key identity is what a reader looks up.
      keys: r.keys.map(({ spki: _s, ...k }) => k),
      delegations: r.delegations,
      targets: r.targets,
      occurrences: a.occurrences.map((o) => ({ path: o.path, layer: o.layer })),
    };
  }
}
