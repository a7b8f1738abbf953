// Judges every stored certificate and key against one authority's dated rules (and an
// organisation's overrides), and turns the quantum-vulnerable ones into migrate-by dates.
// Deep imports until analyze/src/index.ts exports the policy modules (the lead wires that);
// then these become one import from '@keywarden/analyze'.
import {
  algorithmName,
  AUTHORITY_NAMES,
  classify,
  disallowedFrom,
  keyRule,
  moscaDeadline,
  quantumVulnerable,
  type OrgPolicy,
  type Status,
  type Verdict,
} from '@keywarden/analyze';
import type { AssetRow, Store } from '@keywarden/store';
import { EngineError } from './error.ts';

export type RowStatus = Status | 'unknown';

export interface PolicyRow {
  assetId: string;
  kind: 'certificate' | 'key';
  /** Certificate subject, else the first place the key was seen. */
  subject: string;
  algorithm?: string;
  size?: number;
  curve?: string;
  signatureAlgorithm?: string;
  /** The worse of the key and signature-hash verdicts; its rule, source and next change. */
  status: RowStatus;
  rule?: string;
  source?: Verdict['source'];
  nextChange?: Verdict['nextChange'];
  key: Verdict;
  hash?: Verdict;
  quantumVulnerable: boolean | 'unknown';
  /** First day the deciding key rule disallows the key; undefined if it never does. */
  keyDisallowedFrom?: string;
  paths: string[];
}

export interface PolicyCheck {
  at: string;
  authority: string;
  orgPolicy?: string;
  rows: PolicyRow[];
  counts: Record<RowStatus, number>;
}

// 'unknown' ranks above acceptable so that an unjudged hash never lets a row read as fine.
const RANK: Record<RowStatus, number> = {
  acceptable: 0,
  unknown: 1,
  legacy: 2,
  deprecated: 3,
  disallowed: 4,
};

function worse(a: Verdict, b: Verdict | undefined): Verdict {
  if (!b) return a;
  return RANK[b.status] > RANK[a.status] ? b : a;
}

function earliest(a: Verdict['nextChange'], b: Verdict['nextChange']): Verdict['nextChange'] {
  if (!a) return b;
  if (!b) return a;
  return b.from < a.from ? b : a;
}

function checkAuthority(authority: string): void {
  if (!(AUTHORITY_NAMES as readonly string[]).includes(authority))
    throw new EngineError(
      'BAD_ARGUMENT',
      `unknown authority "${authority}"; expected one of ${AUTHORITY_NAMES.join(', ')}`,
    );
}

function row(
  a: AssetRow,
  kind: PolicyRow['kind'],
  at: number,
  authority: string,
  org?: OrgPolicy,
): PolicyRow {
  const paths = a.occurrences.map((o) => o.path);
  const subject = (kind === 'certificate' ? a.subject : undefined) || paths[0] || a.identity;
  const base = {
    assetId: a.id,
    kind,
    subject,
    // The store hands back SQL NULL for an absent column: normalise to absent.
    ...(a.algorithm != null && { algorithm: algorithmName(a.algorithm) }),
    ...(a.size != null && { size: a.size }),
    ...(a.curve != null && { curve: a.curve }),
    ...(kind === 'certificate' &&
      a.signatureAlgorithm != null && { signatureAlgorithm: a.signatureAlgorithm }),
    paths,
  };
  // A sealed key (encrypted container) has no algorithm we could read: unknown, and said so.
  if (base.algorithm === undefined)
    return { ...base, status: 'unknown', key: { status: 'unknown' }, quantumVulnerable: 'unknown' };
  const asset = {
    algorithm: base.algorithm,
    ...(base.size !== undefined && { size: base.size }),
    ...(base.curve !== undefined && { curve: base.curve }),
    ...(base.signatureAlgorithm !== undefined && { signatureAlgorithm: base.signatureAlgorithm }),
  };
  const v = classify(asset, at, authority, org);
  const decider = worse(v.key, v.hash);
  const nextChange = earliest(v.key.nextChange, v.hash?.nextChange);
  const rule = keyRule(asset, authority, org);
  const z = rule && disallowedFrom(rule);
  return {
    ...base,
    status: decider.status,
    ...(decider.rule !== undefined && { rule: decider.rule }),
    ...(decider.source !== undefined && { source: decider.source }),
    ...(nextChange && { nextChange }),
    key: v.key,
    ...(v.hash && { hash: v.hash }),
    quantumVulnerable: quantumVulnerable(asset),
    ...(z !== undefined && { keyDisallowedFrom: z }),
  };
}

export async function policyCheck(
  store: Store,
  opts: { at: number; authority: string; org?: OrgPolicy },
): Promise<PolicyCheck> {
  checkAuthority(opts.authority);
  const rows: PolicyRow[] = [];
  for (const kind of ['certificate', 'key'] as const)
    for await (const a of store.assets({ kind })) rows.push(row(a, kind, opts.at, opts.authority, opts.org));
  const counts: Record<RowStatus, number> = {
    acceptable: 0,
    legacy: 0,
    deprecated: 0,
    disallowed: 0,
    unknown: 0,
  };
  for (const r of rows) counts[r.status]++;
  return {
    at: new Date(opts.at).toISOString(),
    authority: opts.authority,
    ...(opts.org && { orgPolicy: opts.org.file }),
    rows,
    counts,
  };
}

export interface Product {
  name: string;
  /** Last day the product line is supported (YYYY-MM-DD), from the fleet data. */
  supportEnd: string;
  /** Assets seen under this path belong to the product; without it, the whole estate does. */
  pathPrefix?: string;
}

export interface ReadinessRow {
  product: string;
  supportEnd: string;
  /** From fleet data, or estimated as the scan instant plus the configured lifetime. */
  supportEndFrom: 'fleet' | 'lifetime';
  assets: number;
  vulnerable: number;
  notVulnerable: number;
  unknown: number;
  /** Earliest day the authority disallows one of the product's quantum-vulnerable keys. */
  disallowFrom?: string;
  /** Mosca: disallow date minus the shelf life; undefined if nothing vulnerable is ever disallowed. */
  migrateBy?: string;
  /** Support ends before the migrate-by date: the line retires before it must migrate. */
  retiresFirst: boolean;
  /** Migration time from `at` already overruns the migrate-by date. */
  late: boolean;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

function addYears(ms: number, years: number): string {
  const d = new Date(ms);
  d.setUTCFullYear(d.getUTCFullYear() + years);
  return d.toISOString().slice(0, 10);
}

export async function pqcReadiness(
  store: Store,
  opts: {
    at: number;
    authority: string;
    org?: OrgPolicy;
    products?: readonly Product[];
    /** Service life assumed for the estate when there is no fleet data. */
    lifetimeYears: number;
    /** X: how long signatures and protected data must stay trustworthy. Default 0. */
    shelfLifeYears?: number;
    /** Y: how long a migration takes. Default 0. */
    migrationYears?: number;
  },
): Promise<ReadinessRow[]> {
  if (!(opts.lifetimeYears >= 0 && opts.lifetimeYears <= 100))
    throw new EngineError('BAD_ARGUMENT', `lifetimeYears ${opts.lifetimeYears}: expected 0 to 100`);
  for (const p of opts.products ?? [])
    if (!DAY.test(p.supportEnd) || Number.isNaN(Date.parse(p.supportEnd + 'T00:00:00Z')))
      throw new EngineError(
        'BAD_ARGUMENT',
        `product ${p.name}: supportEnd ${p.supportEnd} is not YYYY-MM-DD`,
      );
  const { rows } = await policyCheck(store, opts);
  const lines: (Product & { supportEndFrom: ReadinessRow['supportEndFrom'] })[] = opts.products?.length
    ? opts.products.map((p) => ({ ...p, supportEndFrom: 'fleet' as const }))
    : [{ name: 'estate', supportEnd: addYears(opts.at, opts.lifetimeYears), supportEndFrom: 'lifetime' }];
  return lines.map((p) => {
    const mine = p.pathPrefix ? rows.filter((r) => r.paths.some((x) => x.startsWith(p.pathPrefix!))) : rows;
    const vuln = mine.filter((r) => r.quantumVulnerable === true);
    // The quantum deadline is when keys still allowed today stop being allowed; a key disallowed
    // already (RSA-1024, say) is a policy failure now, reported by policy check, not a migration date.
    const today = new Date(opts.at).toISOString().slice(0, 10);
    const zs = vuln.map((r) => r.keyDisallowedFrom).filter((z): z is string => z !== undefined && z > today);
    const z = zs.sort()[0];
    const out: ReadinessRow = {
      product: p.name,
      supportEnd: p.supportEnd,
      supportEndFrom: p.supportEndFrom,
      assets: mine.length,
      vulnerable: vuln.length,
      notVulnerable: mine.filter((r) => r.quantumVulnerable === false).length,
      unknown: mine.filter((r) => r.quantumVulnerable === 'unknown').length,
      retiresFirst: false,
      late: false,
    };
    if (z === undefined) return out;
    const m = moscaDeadline({
      disallowFrom: z,
      shelfLifeYears: opts.shelfLifeYears ?? 0,
      migrationYears: opts.migrationYears ?? 0,
      at: opts.at,
    });
    const retiresFirst = p.supportEnd < m.migrateBy;
    return { ...out, disallowFrom: z, migrateBy: m.migrateBy, retiresFirst, late: !retiresFirst && m.late };
  });
}
