import { createHash } from 'node:crypto';
import { roleEdges } from './role-edges.ts';
import type { Detected } from '@keywarden/scan';
import type { SignatureSummary } from '@keywarden/core';
import {
  assetId,
  keyRef,
  type AssetInput,
  type Batch,
  type EdgeInput,
  type KeyInput,
  type OccurrenceInput,
} from '@keywarden/store';

export interface FileContext {
  readonly path: string;
  readonly layer: string;
  readonly mode: number;
}

/** Accumulates one batch of store rows from detector output. Only public facts are copied. */
export class BatchBuilder {
  assets: AssetInput[] = [];
  keys: KeyInput[] = [];
  occurrences: OccurrenceInput[] = [];
  edges: EdgeInput[] = [];

  get size(): number {
    return this.occurrences.length;
  }

  take(): Batch {
    const b = { assets: this.assets, keys: this.keys, occurrences: this.occurrences, edges: this.edges };
    this.assets = [];
    this.keys = [];
    this.occurrences = [];
    this.edges = [];
    return b;
  }

  problem(path: string, status: 'unreadable' | 'refused', reason: string, layer: string): void {
    this.occurrences.push({ path, offset: 0, encoding: 'file', format: 'file', layer, status, reason });
  }

  /** Returns the asset id the observation was recorded under (undefined for unparseable). */
  add(o: Detected, f: FileContext): string | undefined {
    const at = { path: f.path, offset: o.offset, encoding: o.encoding, layer: f.layer };
    switch (o.type) {
      case 'certificate': {
        const c = o.cert;
        const k = c.publicKey;
        this.keys.push({
          keyId: k.keyId,
          algorithm: k.algorithm,
          ...(k.size !== undefined && { size: k.size }),
          ...(k.curve && { curve: k.curve }),
        });
        const a: AssetInput = {
          kind: 'certificate',
          identity: c.sha256,
          keyId: k.keyId,
          subject: c.subject.text,
          issuer: c.issuer.text,
          serial: c.serial,
          notBefore: c.notBefore,
          notAfter: c.notAfter,
          algorithm: k.algorithm,
          ...(k.size !== undefined && { size: k.size }),
          ...(k.curve && { curve: k.curve }),
          signatureAlgorithm: c.signatureAlgorithm.name,
          ...(c.ski && { ski: c.ski }),
          ...(c.aki && { aki: c.aki }),
          isCa: c.basicConstraints?.ca ?? false,
          selfSigned: c.selfSigned,
          record: { ...c, der: Buffer.from(o.der).toString('base64') },
        };
        return this.record(a, { ...at, format: 'x509' });
      }
      case 'csr':
        return this.record(
          {
            kind: 'csr',
            identity: o.csr.sha256,
            ...(o.csr.key.keyId && { keyId: o.csr.key.keyId }),
            subject: o.csr.subject,
            algorithm: o.csr.key.algorithm,
            signatureAlgorithm: o.csr.signatureAlgorithm,
            record: o.csr,
          },
          { ...at, format: 'pkcs10' },
          o.csr.key,
        );
      case 'crl':
        return this.record(
          {
            kind: 'crl',
            identity: o.crl.sha256,
            issuer: o.crl.issuer,
            notBefore: o.crl.thisUpdate,
            ...(o.crl.nextUpdate !== undefined && { notAfter: o.crl.nextUpdate }),
            signatureAlgorithm: o.crl.signatureAlgorithm,
            ...(o.crl.aki && { aki: o.crl.aki }),
            record: o.crl,
          },
          { ...at, format: 'x509-crl' },
        );
      case 'ssh-certificate': {
        const s = o.sshCert;
        return this.record(
          {
            kind: 'ssh-certificate',
            identity: s.sha256,
            ...(s.key.keyId && { keyId: s.key.keyId }),
            subject: s.keyIdentifier,
            issuer: s.signatureKey.keyId ?? s.signatureKey.algorithm,
            serial: s.serial,
            notBefore: s.validAfter,
            ...(s.validBefore !== undefined && { notAfter: s.validBefore }),
            algorithm: s.key.algorithm,
            record: s,
          },
          { ...at, format: s.type },
          s.key,
        );
      }
      case 'public-key':
      case 'private-key': {
        const identity = o.key.keyId ?? (o.type === 'private-key' ? o.sealedId : undefined);
        if (!identity) {
          this.occurrences.push({
            ...at,
            format: o.format,
            status: 'unparseable',
            reason: 'key without a recoverable identity',
          });
          return undefined;
        }
        const k = o.key;
        return this.record(
          {
            kind: 'key',
            identity,
            ...(k.keyId && { keyId: k.keyId }),
            algorithm: k.algorithm,
            ...(k.size !== undefined && { size: k.size }),
            ...(k.curve && { curve: k.curve }),
            record: { algorithm: k.algorithm, size: k.size, curve: k.curve, sealed: !k.keyId },
          },
          {
            ...at,
            format: o.format,
            ...(o.type === 'private-key' && { private: true, encrypted: o.encrypted, fileMode: f.mode }),
          },
          k,
        );
      }
      case 'signature':
        return this.signature(o.signature, at);
      case 'crypto-library': {
        const l = o.library;
        return this.record(
          {
            kind: 'crypto-library',
            identity: createHash('sha256')
              .update(`${l.library}\0${l.version ?? ''}`)
              .digest('hex'),
            subject: l.library,
            ...(l.version && { serial: l.version }),
            record: l,
          },
          { ...at, format: `sbom:${l.declaredIn}` },
        );
      }
      case 'role': {
        const r = o.role;
        const id = this.record(
          {
            kind: 'role',
            identity: r.sha256,
            subject: r.name,
            issuer: r.repository ?? 'tuf',
            serial: String(r.version),
            ...(r.expires !== undefined && { notAfter: r.expires }),
            record: r,
          },
          { ...at, format: r.repository ? `uptane:${r.repository}` : 'tuf' },
        );
        this.edges.push(...roleEdges(r, id));
        return id;
      }
      case 'declared-bom':
        // Not a row of its own: the scan job imports the document once the scan's rows are stored.
        return undefined;
      case 'unparseable':
        this.occurrences.push({ ...at, format: o.format, status: 'unparseable', reason: o.reason });
        return undefined;
    }
  }

  /**
   * A signature becomes three kinds of rows: the signature asset (who, how, valid?), the artifact it
   * covers, and the edges between them and to the signer's key and certificate.
   */
  private signature(
    s: SignatureSummary,
    at: { path: string; offset: number; encoding: string; layer: string },
  ): string {
    const art = this.record(
      {
        kind: 'artifact',
        identity: s.artifact.sha256,
        subject: at.path,
        record: s.artifact,
      },
      { ...at, offset: 0, format: s.artifact.format },
    );
    const id = this.record(
      {
        kind: 'signature',
        identity: signatureIdentity(s),
        ...(s.signer.keyId && { keyId: s.signer.keyId }),
        ...(s.signer.subject && { subject: s.signer.subject }),
        ...(s.signer.issuer && { issuer: s.signer.issuer }),
        ...(s.signer.serial && { serial: s.signer.serial }),
        ...(s.signedAt !== undefined && { notBefore: s.signedAt }),
        ...(s.signer.keyAlgorithm && { algorithm: s.signer.keyAlgorithm }),
        ...(s.signer.keySize !== undefined && { size: s.signer.keySize }),
        ...(s.signer.curve && { curve: s.signer.curve }),
        signatureAlgorithm: s.signatureAlgorithm,
        ...(s.signer.ski && { aki: s.signer.ski }),
        record: s,
      },
      { ...at, format: s.format },
      s.signer.keyId && s.signer.keyAlgorithm
        ? {
            keyId: s.signer.keyId,
            algorithm: s.signer.keyAlgorithm,
            ...(s.signer.keySize !== undefined && { size: s.signer.keySize }),
            ...(s.signer.curve && { curve: s.signer.curve }),
          }
        : undefined,
    );
    this.edges.push({
      kind: 'covers',
      from: id,
      to: art,
      reason: `${s.format} signature over this artifact`,
    });
    if (s.signer.keyId)
      this.edges.push({ kind: 'signed-by', from: id, to: keyRef(s.signer.keyId), reason: signerReason(s) });
    if (s.signer.certificate)
      this.edges.push({
        kind: 'signed-by',
        from: id,
        to: assetId('certificate', s.signer.certificate),
        reason: signerReason(s),
      });
    for (const c of s.certificates)
      this.edges.push({
        kind: 'embeds',
        from: art,
        to: assetId('certificate', c),
        reason: `carried in the ${s.format} signature's certificate set`,
      });
    return id;
  }

  private record(
    a: AssetInput,
    occ: Omit<OccurrenceInput, 'status' | 'assetId'>,
    key?: { keyId?: string; algorithm: string; size?: number; curve?: string },
  ): string {
    if (key?.keyId)
      this.keys.push({
        keyId: key.keyId,
        algorithm: key.algorithm,
        ...(key.size !== undefined && { size: key.size }),
        ...(key.curve && { curve: key.curve }),
      });
    this.assets.push(a);
    const id = assetId(a.kind, a.identity);
    this.occurrences.push({ ...occ, assetId: id, status: 'ok' });
    return id;
  }
}

/**
 * A signature is judged against the bytes it sits on: the same signature value copied onto a
 * modified image is another (invalid) signature, so identity is the value and the artifact together.
 */
export function signatureIdentity(s: SignatureSummary): string {
  return createHash('sha256').update(`${s.sha256}\0${s.artifact.sha256}`).digest('hex');
}

function signerReason(s: SignatureSummary): string {
  const by = s.signer.ski
    ? `subject key identifier ${s.signer.ski}`
    : s.signer.issuer
      ? `issuer "${s.signer.issuer}" and serial ${s.signer.serial ?? '?'}`
      : 'the key the container names';
  return `${s.format} signer named by ${by}; signature ${s.status}${s.reason ? ` (${s.reason})` : ''}`;
}
