import {
  CertIndex,
  SignatureCache,
  validateBest,
  type CertInput,
  type PathError,
  type Purpose,
} from '@keywarden/analyze';
import type { SignatureSummary } from '@keywarden/core';
import type { AssetRow, Store } from '@keywarden/store';
import { loadEstateCerts, type EstateCert } from './estate-certs.ts';
import { trustStoresOf, type TrustStoreOptions } from './trust-stores.ts';

/**
 * Question 2 of the report: for every end-entity certificate and every certificate that signed an
 * artifact, the best RFC 5280 path to a trust anchor at an explicit instant, and where it ends.
 *
 * Anchors are the self-signed certificates of the estate plus those the caller names; each path says
 * whether its anchor sits in a trust store a verifier consults (trust-stores.ts), because a path to
 * a root that only lies in a file proves less than one to a root in a device's db.
 */

export interface ChainOptions extends TrustStoreOptions {
  readonly at: number;
  readonly purpose?: Purpose;
  /** Extra anchors (from --anchor files); they count as controlled trust stores. */
  readonly anchors?: readonly CertInput[];
}

export interface ChainItem {
  readonly sha256: string;
  readonly subject?: string;
  readonly issuer?: string;
  /** 'signer': the certificate made a signature found on an artifact. */
  readonly role: 'leaf' | 'signer';
  readonly status: 'valid' | 'invalid' | 'no-anchor';
  /** SHA-256 fingerprints, leaf first, anchor last (as far as a path was found). */
  readonly path: readonly string[];
  readonly pathSubjects: readonly string[];
  readonly anchor?: { readonly sha256: string; readonly subject: string; readonly trustStores: string[] };
  readonly errors: readonly PathError[];
  readonly warnings: readonly PathError[];
  /** Candidate paths built and tried. */
  readonly candidates: number;
  /** Artifacts this certificate signed (signature asset ids), for signers. */
  readonly signed: readonly string[];
}

/** Everything the chain analysis computed, kept for the graph and the gap findings. */
export interface TrustAnalysis {
  readonly at: number;
  readonly certs: readonly EstateCert[];
  readonly byFingerprint: ReadonlyMap<string, EstateCert>;
  readonly items: readonly ChainItem[];
  /** Certificates declared but never seen as DER: they cannot be validated. */
  readonly withoutDer: readonly AssetRow[];
}

export async function analyzeChains(store: Store, opts: ChainOptions): Promise<TrustAnalysis> {
  const { certs, withoutDer } = await loadEstateCerts(store);
  const byFingerprint = new Map(certs.map((c) => [c.input.cert.sha256, c]));
  const explicit = opts.anchors ?? [];
  const anchors = [...certs.filter((c) => c.input.cert.selfSigned).map((c) => c.input), ...explicit];
  const explicitSet = new Set(explicit.map((a) => a.cert.sha256));
  const index = new CertIndex(
    certs.map((c) => c.input),
    anchors,
  );
  const cache = new SignatureCache();

  const signedBy = new Map<string, string[]>();
  for await (const s of store.assets({ kind: 'signature' })) {
    const fp = (s.record as SignatureSummary).signer?.certificate;
    if (!fp) continue;
    const list = signedBy.get(fp);
    if (list) list.push(s.id);
    else signedBy.set(fp, [s.id]);
  }

  const items: ChainItem[] = [];
  for (const c of certs) {
    const signed = signedBy.get(c.input.cert.sha256) ?? [];
    if (c.row.isCa && signed.length === 0) continue;
    const r = validateBest(c.input, index, {
      at: opts.at,
      purpose: opts.purpose ?? (signed.length > 0 ? 'code-signing' : 'any'),
      signatureCache: cache,
    });
    const pathSubjects = r.path.map((fp) => subjectOf(fp, byFingerprint, explicit) ?? '?');
    const last = r.path[r.path.length - 1];
    const reachedAnchor = !r.errors.some((e) => e.rule === 'path.no-anchor');
    let anchor: ChainItem['anchor'];
    if (reachedAnchor && last) {
      const row = byFingerprint.get(last)?.row;
      const stores = row ? trustStoresOf(row, opts) : [];
      if (explicitSet.has(last)) stores.push('named on the command line');
      anchor = { sha256: last, subject: pathSubjects[pathSubjects.length - 1] ?? '?', trustStores: stores };
    }
    items.push({
      sha256: c.input.cert.sha256,
      ...(c.row.subject !== undefined && { subject: c.row.subject }),
      ...(c.row.issuer !== undefined && { issuer: c.row.issuer }),
      role: signed.length > 0 ? 'signer' : 'leaf',
      status: r.valid ? 'valid' : reachedAnchor ? 'invalid' : 'no-anchor',
      path: r.path,
      pathSubjects,
      ...(anchor && { anchor }),
      errors: r.errors,
      warnings: r.warnings ?? [],
      candidates: r.candidates,
      signed,
    });
  }
  return { at: opts.at, certs, byFingerprint, items, withoutDer };
}

function subjectOf(
  fp: string,
  byFingerprint: ReadonlyMap<string, EstateCert>,
  explicit: readonly CertInput[],
): string | undefined {
  const c = byFingerprint.get(fp)?.input.cert ?? explicit.find((a) => a.cert.sha256 === fp)?.cert;
  return c?.subject.text;
}
