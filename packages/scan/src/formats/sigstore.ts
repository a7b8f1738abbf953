import { hash, X509Certificate } from 'node:crypto';
import {
  isSigstore,
  parseCertificate,
  parseInToto,
  parseSigstore,
  sigstoreAlgorithm,
  verifyDsse,
  verifyMessageSignature,
  type Certificate,
  type DsseEnvelope,
  type SignatureSummary,
  type Signer,
  type SigstoreBundle,
  type SigstoreCheck,
  type SigstoreDocument,
} from '@keywarden/core';
import type { Detected } from '../detect.ts';

/**
 * Sigstore bundles and bare DSSE envelopes: the certificates of verificationMaterial, and one
 * signature observation per signature, checked against the bundle's leaf certificate (or a key the
 * caller supplies). Rekor entries are listed as unverified countersignatures: checking them needs
 * the log's key, which an offline scan does not have.
 */

export interface SigstoreScanOptions {
  /** SPKI DER of a key to check signatures with when the file carries no certificate. */
  readonly spki?: Uint8Array;
  /** The artifact a messageSignature covers, when the caller has it. */
  readonly artifact?: Uint8Array;
}

type Artifact = SignatureSummary['artifact'];

const sha256 = (b: Uint8Array): string => hash('sha256', b, 'hex');
const reasonOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

interface Leaf {
  readonly cert: Certificate;
  readonly der: Uint8Array;
  /** Position in verificationMaterial: only the first is the signer's. */
  readonly index: number;
}

interface Key {
  readonly spki: Uint8Array;
  readonly signer: Signer;
}

function signerOfCert(c: Certificate): Signer {
  const k = c.publicKey;
  return {
    keyId: k.keyId,
    certificate: c.sha256,
    subject: c.subject.text,
    issuer: c.issuer.text,
    serial: c.serial,
    ...(c.ski && { ski: c.ski }),
    keyAlgorithm: k.algorithm,
    ...(k.size !== undefined && { keySize: k.size }),
    ...(k.curve && { curve: k.curve }),
  };
}

function suppliedKey(spki: Uint8Array): Key {
  const h = sha256(spki);
  return { spki, signer: { keyId: h } };
}

/** An in-toto subject stands for the artifact; otherwise the payload is what was signed. */
function dsseArtifact(env: DsseEnvelope): { artifact: Artifact; problem?: string } {
  try {
    const st = parseInToto(env);
    const first = st?.subjects.find((s) => /^[0-9a-f]{64}$/.test(s.digest['sha256'] ?? ''));
    if (first) return { artifact: { sha256: first.digest['sha256']!, format: 'in-toto-subject', size: 0 } };
  } catch (err) {
    return { artifact: payloadArtifact(env), problem: reasonOf(err) };
  }
  return { artifact: payloadArtifact(env) };
}

function payloadArtifact(env: DsseEnvelope): Artifact {
  return { sha256: sha256(env.payload), format: env.payloadType, size: env.payload.length };
}

function algorithmName(key: Key | undefined): string {
  if (!key) return 'unknown';
  try {
    return sigstoreAlgorithm(key.spki)?.name ?? key.signer.keyAlgorithm ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function tlog(b: SigstoreBundle | undefined): SignatureSummary['countersignatures'] {
  return (b?.tlogEntries ?? []).map((e) => ({
    kind: `rekor${e.kind ? `:${e.kind}` : ''}`,
    signer: {},
    status: 'unverified',
    reason: `Rekor entry ${e.logIndex ?? '?'} is not checked offline`,
    ...(e.integratedTime !== undefined && { at: e.integratedTime }),
  }));
}

function summaries(
  buf: Buffer,
  doc: SigstoreDocument,
  certs: readonly Leaf[],
  opts: SigstoreScanOptions,
): Detected[] {
  const b = doc.kind === 'bundle' ? doc.bundle : undefined;
  const format = b ? 'sigstore-bundle' : 'dsse';
  const leaf = certs[0]?.index === 0 ? certs[0] : undefined;
  const leafSpki = leaf && spkiOf(leaf.der);
  const key: Key | undefined = leaf
    ? { spki: leafSpki ?? new Uint8Array(0), signer: signerOfCert(leaf.cert) }
    : opts.spki
      ? suppliedKey(opts.spki)
      : undefined;
  const noKey: SigstoreCheck = {
    status: 'unverified',
    reason: b?.publicKeyHint
      ? `signed by the key with hint ${b.publicKeyHint}, which the bundle does not carry`
      : 'no certificate or public key to check the signature with',
  };
  const base = {
    format,
    signer: key?.signer ?? {},
    signatureAlgorithm: algorithmName(key),
    certificates: certs.map((c) => c.cert.sha256),
    countersignatures: tlog(b),
  };
  const content = b
    ? b.content
    : { kind: 'dsse' as const, envelope: (doc as { envelope: DsseEnvelope }).envelope };
  if (content.kind === 'message-signature') {
    const check = key ? verifyMessageSignature(content, key.spki, opts.artifact) : noKey;
    const artifact: Artifact =
      content.digestAlgorithm === 'sha256' && content.digest
        ? { sha256: content.digest, format: 'sigstore-artifact', size: opts.artifact?.length ?? 0 }
        : { sha256: sha256(buf), format: 'sigstore-bundle', size: buf.length };
    return [
      {
        type: 'signature',
        offset: content.offset,
        encoding: 'json',
        signature: {
          ...base,
          sha256: sha256(content.signature),
          ...(content.digestAlgorithm && { digestAlgorithm: content.digestAlgorithm }),
          ...(content.digest && { digest: content.digest }),
          status: check.status,
          ...(check.reason && { reason: check.reason }),
          artifact,
        },
      },
    ];
  }
  const env = content.envelope;
  const { artifact, problem } = dsseArtifact(env);
  return env.signatures.map((s): Detected => {
    const check = key ? verifyDsse(env, s, key.spki) : noKey;
    const reason = [check.reason, problem && `in-toto statement: ${problem}`].filter(Boolean).join('; ');
    return {
      type: 'signature',
      offset: s.offset,
      encoding: 'json',
      signature: {
        ...base,
        sha256: sha256(s.sig),
        digestAlgorithm: 'sha256',
        digest: sha256(env.payload),
        status: check.status,
        ...(reason && { reason }),
        artifact,
      },
    };
  });
}

/** The certificate's SubjectPublicKeyInfo DER, as node:crypto re-exports it (the same bytes for a valid key). */
function spkiOf(der: Uint8Array): Uint8Array | undefined {
  try {
    return new X509Certificate(der).publicKey.export({ type: 'spki', format: 'der' });
  } catch {
    return undefined; // a key node cannot load (ML-DSA on Node 20): the signature stays unverified
  }
}

/** Observations for a Sigstore bundle or DSSE envelope; [] for other bytes; never throws. */
export function detectSigstore(buf: Buffer, opts: SigstoreScanOptions = {}): Detected[] {
  if (!isSigstore(buf)) return [];
  try {
    const doc = parseSigstore(buf);
    const out: Detected[] = [];
    const certs: Leaf[] = [];
    const material = doc.kind === 'bundle' ? doc.bundle.certificates : [];
    for (const [i, c] of material.entries()) {
      try {
        const cert = parseCertificate(c.der);
        certs.push({ cert, der: c.der, index: i });
        out.push({ type: 'certificate', offset: c.offset, encoding: 'json', cert, der: c.der });
      } catch (err) {
        out.push({
          type: 'unparseable',
          offset: c.offset,
          encoding: 'json',
          format: 'sigstore-certificate',
          reason: reasonOf(err),
        });
      }
    }
    out.push(...summaries(buf, doc, certs, opts));
    return out;
  } catch (err) {
    return [{ type: 'unparseable', offset: 0, encoding: 'json', format: 'sigstore', reason: reasonOf(err) }];
  }
}
