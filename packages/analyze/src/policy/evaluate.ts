import { AUTHORITIES, type Rule, type Status } from './authorities.ts';
import type { OrgPolicy } from './org-policy.ts';
import { familyOf } from './pqc.ts';

export interface Verdict {
  status: Status | 'unknown';
  rule?: string;
  source?: Rule['source'];
  confidence?: Rule['confidence'];
  /** Set when an organisation override decided the verdict. */
  reason?: string;
  nextChange?: { status: Status; from: string };
}

export interface PolicyAsset {
  algorithm: string;
  size?: number;
  curve?: string;
  signatureAlgorithm?: string;
}

// An override may name a family ('RSA', 'SHA-1') or one exact algorithm ('ML-DSA-44').
function matches(r: Rule, family: string, algorithm: string, size?: number, curve?: string): boolean {
  const fam =
    r.family === 'CLASSICAL'
      ? ['RSA', 'EC', 'EdDSA'].includes(family)
      : r.family === family || r.family === algorithm;
  if (!fam) return false;
  if (r.minSize !== undefined && (size === undefined || size < r.minSize)) return false;
  if (r.maxSize !== undefined && (size === undefined || size > r.maxSize)) return false;
  if (r.curves && (!curve || !r.curves.includes(curve))) return false;
  return true;
}

const midnight = (d: string): number => Date.parse(d + 'T00:00:00Z');

function verdict(r: Rule | undefined, at: number): Verdict {
  if (!r) return { status: 'unknown' };
  let status: Status | 'unknown' = 'unknown';
  let nextChange: Verdict['nextChange'];
  for (const s of r.steps) {
    if (midnight(s.from) <= at) status = s.status;
    else if (!nextChange) nextChange = { status: s.status, from: s.from };
  }
  return {
    status,
    rule: r.id,
    source: r.source,
    confidence: r.confidence,
    ...(r.reason !== undefined && { reason: r.reason }),
    ...(nextChange && { nextChange }),
  };
}

/** The first day a rule disallows, if it ever does: the Z of a Mosca check. */
export function disallowedFrom(r: Rule): string | undefined {
  return r.steps.find((s) => s.status === 'disallowed')?.from;
}

// Edwards and post-quantum signatures hash inside the scheme; there is no separate hash to judge.
const INTRINSIC_HASH = /^(Ed25519|Ed448|ML-DSA|SLH-DSA|LMS|HSS|XMSS)/i;

function hashFamily(sig: string): string | undefined {
  if (/sha-?1(?!\d)/i.test(sig)) return 'SHA-1';
  if (/sha-?224/i.test(sig)) return 'SHA-224';
  if (/sha-?(256|384|512)/i.test(sig)) return 'SHA-2';
  return undefined;
}

/** The rules in force for an authority, organisation overrides first. */
export function rulesFor(authority: string, org?: OrgPolicy): Rule[] {
  return [...(org?.rules ?? []), ...(AUTHORITIES[authority] ?? [])];
}

/** The rule that decides an asset's key, or undefined when none covers it. */
export function keyRule(asset: PolicyAsset, authority: string, org?: OrgPolicy): Rule | undefined {
  const fam = familyOf(asset.algorithm);
  return rulesFor(authority, org).find(
    (r) => r.use !== 'hash' && matches(r, fam, asset.algorithm, asset.size, asset.curve),
  );
}

/**
 * Key and signature hash judged separately; an algorithm no rule covers is 'unknown', never
 * acceptable. Organisation overrides win over the authority's rules. `hash` is absent when the
 * asset has no signature or its scheme has no separate hash (EdDSA, ML-DSA, SLH-DSA).
 */
export function classify(
  asset: PolicyAsset,
  at: number,
  authority: string,
  org?: OrgPolicy,
): { key: Verdict; hash?: Verdict } {
  const key = verdict(keyRule(asset, authority, org), at);
  const sig = asset.signatureAlgorithm;
  if (!sig || INTRINSIC_HASH.test(sig)) return { key };
  const hf = hashFamily(sig);
  if (!hf) return { key, hash: { status: 'unknown' } };
  const rule = rulesFor(authority, org).find((r) => r.use === 'hash' && r.family === hf);
  return { key, hash: verdict(rule, at) };
}
