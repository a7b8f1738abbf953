import { nameKey } from './name-key.ts';
import type { CertInput, PathError, PathResult, ValidationOptions } from './types.ts';
import { validatePath } from './validate.ts';

/**
 * Path building (RFC 4158 in spirit): from a leaf, every loop-free way up through the pool to a trust
 * anchor, best candidates first, then RFC 5280 validation of each until one holds. Cross-certificates
 * give a certificate several issuers, so several paths.
 */

export interface BuildLimits {
  /** Certificates on a path, anchor included. */
  readonly maxDepth?: number;
  /** Complete paths to collect before giving up on more. */
  readonly maxPaths?: number;
}

/** Certificates and anchors by subject name and by SKI, built once and shared by many leaves. */
export class CertIndex {
  private readonly bySubject = new Map<string, CertInput[]>();
  private readonly bySki = new Map<string, CertInput[]>();
  private readonly anchorKeys = new Map<string, CertInput[]>();

  constructor(pool: readonly CertInput[], anchors: readonly CertInput[]) {
    const seen = new Set<string>();
    for (const c of [...anchors, ...pool]) {
      if (seen.has(c.cert.sha256)) continue;
      seen.add(c.cert.sha256);
      push(this.bySubject, nameKey(c.cert.subject), c);
      if (c.cert.ski) push(this.bySki, c.cert.ski, c);
    }
    // An anchor is its name and key: any certificate with both is trusted as that anchor.
    for (const a of anchors)
      push(this.anchorKeys, `${nameKey(a.cert.subject)}\0${a.cert.publicKey.keyId}`, a);
  }

  /** The anchor for this certificate when it is one (same name and key), else undefined. */
  anchorFor(c: CertInput): CertInput | undefined {
    return this.anchorKeys.get(`${nameKey(c.cert.subject)}\0${c.cert.publicKey.keyId}`)?.[0];
  }

  /** Issuer candidates: AKI = SKI first (with matching name first), then any certificate of the issuer's name. */
  issuersOf(c: CertInput): CertInput[] {
    const issuerName = nameKey(c.cert.issuer);
    const byName = this.bySubject.get(issuerName) ?? [];
    const byKey = c.cert.aki ? (this.bySki.get(c.cert.aki) ?? []) : [];
    const out: CertInput[] = [];
    const add = (x: CertInput): void => {
      if (!out.includes(x)) out.push(x);
    };
    for (const x of byKey) if (nameKey(x.cert.subject) === issuerName) add(x);
    // With an AKI that names a key, a same-named certificate of another key cannot have signed it.
    for (const x of byName) if (!c.cert.aki || !x.cert.ski || x.cert.ski === c.cert.aki) add(x);
    for (const x of byKey) add(x);
    // Prefer issuers valid longest: a fresh cross-certificate over an expired one.
    return out.sort((a, b) => b.cert.notAfter - a.cert.notAfter);
  }
}

function push<V>(m: Map<string, V[]>, k: string, v: V): void {
  const l = m.get(k);
  if (l) l.push(v);
  else m.set(k, [v]);
}

/** Every loop-free path from `leaf` to an anchor, leaf first, anchor last, in preference order. */
export function buildPaths(leaf: CertInput, index: CertIndex, limits: BuildLimits = {}): CertInput[][] {
  const maxDepth = limits.maxDepth ?? 8;
  const maxPaths = limits.maxPaths ?? 16;
  const out: CertInput[][] = [];
  const self = index.anchorFor(leaf);
  if (self) out.push([leaf]);
  const walk = (chain: CertInput[]): void => {
    if (out.length >= maxPaths || chain.length >= maxDepth) return;
    const top = chain[chain.length - 1]!;
    for (const issuer of index.issuersOf(top)) {
      if (out.length >= maxPaths) return;
      // No certificate (by name and key) twice: cross-signing loops end here.
      if (
        chain.some(
          (c) =>
            c.cert.sha256 === issuer.cert.sha256 ||
            (nameKey(c.cert.subject) === nameKey(issuer.cert.subject) &&
              c.cert.publicKey.keyId === issuer.cert.publicKey.keyId),
        )
      )
        continue;
      const anchor = index.anchorFor(issuer);
      if (anchor) out.push([...chain, anchor]);
      else walk([...chain, issuer]);
    }
  };
  walk([leaf]);
  return out;
}

/**
 * Builds and validates; the first valid path wins, else the candidate with the fewest errors. With no
 * path at all the result carries 'path.no-anchor' and the longest partial chain found.
 */
export function validateBest(
  leaf: CertInput,
  index: CertIndex,
  opts: ValidationOptions & BuildLimits,
): PathResult & { readonly candidates: number } {
  const candidates = buildPaths(leaf, index, opts);
  let best: PathResult | undefined;
  for (const chain of candidates) {
    const r = validatePath(chain, opts);
    if (r.valid) return { ...r, candidates: candidates.length };
    if (!best || r.errors.length < best.errors.length) best = r;
  }
  if (best) return { ...best, candidates: candidates.length };
  const partial = longestPartial(leaf, index, opts.maxDepth ?? 8);
  const top = partial[partial.length - 1]!.cert;
  const noAnchor: PathError = {
    rule: 'path.no-anchor',
    index: partial.length - 1,
    message: `no trust anchor found above "${top.subject.text}" (issuer "${top.issuer.text}"${top.aki ? `, key id ${top.aki}` : ''})`,
  };
  return {
    valid: false,
    path: partial.map((c) => c.cert.sha256),
    errors: [noAnchor],
    warnings: [],
    candidates: 0,
  };
}

function longestPartial(leaf: CertInput, index: CertIndex, maxDepth: number): CertInput[] {
  const chain = [leaf];
  while (chain.length < maxDepth) {
    const top = chain[chain.length - 1]!;
    const next = index.issuersOf(top).find((i) => !chain.some((c) => c.cert.sha256 === i.cert.sha256));
    if (!next) break;
    chain.push(next);
  }
  return chain;
}
