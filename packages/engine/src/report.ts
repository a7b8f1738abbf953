import type { AssetRow, ProblemRow, Store } from '@keywarden/store';
import { keyItem, keyLabel, signatureItem, type KeyItem, type SignatureItem } from './inventory.ts';
import { analyzeChains, type ChainItem } from './chains.ts';
import type { Finding } from './findings.ts';
import { pqcReadiness, type ReadinessRow } from './policy-check.ts';
import { gapFindings } from './trust-findings.ts';

const DAY = 86_400_000;

export interface ExpiryItem {
  sha256: string;
  subject?: string;
  notAfter: string;
  daysLeft: number;
  layers: string[];
  paths: string[];
}

export interface Report {
  at: string;
  generatedAt: string;
  store: string;
  totals: Record<string, number>;
  /** Question 1: where every key is, and which private keys sit in plain files. */
  keys: {
    byLayer: Record<string, number>;
    byAlgorithm: Record<string, number>;
    privateKeys: (KeyItem & { exposure: 'plaintext' | 'encrypted' })[];
  };
  /** Question 2: every leaf and signer's best RFC 5280 path at `at`, the anchors they end at, the gaps. */
  chains: {
    valid: number;
    invalid: number;
    noAnchor: number;
    /** Paths that end at an anchor in no trust store a verifier consults. */
    uncontrolledAnchor: number;
    anchors: { sha256: string; subject: string; trustStores: string[]; paths: number }[];
    items: ChainItem[];
  };
  /** Question 3: what expires, relative to `at`. */
  expiry: {
    expired: ExpiryItem[];
    within90Days: ExpiryItem[];
    within1Year: ExpiryItem[];
    before?: { date: string; items: ExpiryItem[] };
  };
  /**
   * Question 4, as far as discovery reaches: every signature found on an artifact, checked. Whether
   * each signer is the one a supplier agreed to use needs signing agreements, not modelled yet.
   */
  signatures: { valid: number; invalid: number; unverified: number; items: SignatureItem[] };
  supplierSigning: { assessed: false; note: string };
  /** Post-quantum readiness per product line (Mosca), under `pqc.authority`. */
  pqc: { authority: string; rows: ReadinessRow[] };
  problems: ProblemRow[];
  findings: Finding[];
}

export interface ReportOptions {
  /** The instant every validity judgement is made at (epoch ms). */
  readonly at: number;
  /** Also list what expires before this instant. */
  readonly before?: number;
  /** Paths (or prefixes) the organisation declares as trust stores, besides those recognised by format. */
  readonly trustStorePaths?: readonly string[];
  /** The product's support end: trust anchors must outlive it. */
  readonly supportEnd?: number;
  /** Whose dated rules the post-quantum section uses (default nist). */
  readonly authority?: string;
  /** Service life assumed for the post-quantum deadline when there is no product data (default 15 years). */
  readonly lifetimeYears?: number;
}

async function collect(it: AsyncIterable<AssetRow>): Promise<AssetRow[]> {
  const out: AssetRow[] = [];
  for await (const a of it) out.push(a);
  return out;
}

function expiryItem(a: AssetRow, at: number): ExpiryItem {
  return {
    sha256: a.identity,
    ...(a.subject !== undefined && { subject: a.subject }),
    notAfter: new Date(a.notAfter!).toISOString(),
    daysLeft: Math.floor((a.notAfter! - at) / DAY),
    layers: [...new Set(a.occurrences.map((o) => o.layer))],
    paths: [...new Set(a.occurrences.map((o) => o.path))],
  };
}

function weakKey(algorithm: string | undefined, size: number | undefined): boolean {
  if (size === undefined) return false;
  if (algorithm === 'RSA' || algorithm === 'RSA-PSS' || algorithm === 'DSA') return size < 2048;
  if (algorithm === 'EC') return size < 256;
  return false;
}

export async function buildReport(store: Store, opts: ReportOptions): Promise<Report> {
  const { at } = opts;
  const certs = await collect(store.assets({ kind: 'certificate' }));
  const keyAssets = await collect(store.assets({ kind: 'key' }));
  const problems = await store.problems();
  const counts = await store.counts();
  const findings: Finding[] = [];

  // Question 2: paths from every leaf and signer to an anchor, and the gaps they show.
  const analysis = await analyzeChains(store, {
    at,
    ...(opts.trustStorePaths && { trustStorePaths: opts.trustStorePaths }),
  });
  findings.push(
    ...(await gapFindings(store, analysis, {
      at,
      ...(opts.supportEnd !== undefined && { supportEnd: opts.supportEnd }),
    })),
  );
  const anchors = new Map<string, Report['chains']['anchors'][number]>();
  for (const i of analysis.items)
    if (i.anchor) {
      const a = anchors.get(i.anchor.sha256) ?? { ...i.anchor, paths: 0 };
      a.paths++;
      anchors.set(i.anchor.sha256, a);
    }
  const chainCount = (st: ChainItem['status']): number =>
    analysis.items.filter((i) => i.status === st).length;
  const chains: Report['chains'] = {
    valid: chainCount('valid'),
    invalid: chainCount('invalid'),
    noAnchor: chainCount('no-anchor'),
    uncontrolledAnchor: analysis.items.filter((i) => i.anchor && i.anchor.trustStores.length === 0).length,
    anchors: [...anchors.values()].sort((x, y) => y.paths - x.paths || x.subject.localeCompare(y.subject)),
    items: [...analysis.items].sort(
      (x, y) => x.status.localeCompare(y.status) || (x.subject ?? '').localeCompare(y.subject ?? ''),
    ),
  };

  // Question 3: expiry windows at the report instant.
  const expired: ExpiryItem[] = [];
  const within90Days: ExpiryItem[] = [];
  const within1Year: ExpiryItem[] = [];
  const before: ExpiryItem[] = [];
  for (const c of certs) {
    if (c.notAfter === undefined) continue;
    const item = expiryItem(c, at);
    if (c.notAfter < at) {
      expired.push(item);
      findings.push({
        rule: 'KW-CERT-EXPIRED',
        severity: 'high',
        subject: c.identity,
        message: `"${c.subject}" expired ${item.notAfter}`,
      });
    } else if (c.notAfter < at + 90 * DAY) {
      within90Days.push(item);
      findings.push({
        rule: 'KW-CERT-EXPIRING-90D',
        severity: 'medium',
        subject: c.identity,
        message: `"${c.subject}" expires ${item.notAfter} (${item.daysLeft} days)`,
      });
    } else if (c.notAfter < at + 365 * DAY) {
      within1Year.push(item);
      findings.push({
        rule: 'KW-CERT-EXPIRING-1Y',
        severity: 'low',
        subject: c.identity,
        message: `"${c.subject}" expires ${item.notAfter} (${item.daysLeft} days)`,
      });
    }
    if (opts.before !== undefined && c.notAfter < opts.before) before.push(item);
    if (c.notBefore !== undefined && c.notBefore > at)
      findings.push({
        rule: 'KW-CERT-NOT-YET-VALID',
        severity: 'low',
        subject: c.identity,
        message: `"${c.subject}" is valid only from ${new Date(c.notBefore).toISOString()}`,
      });
    if (/md5|sha1|SHA1/.test(c.signatureAlgorithm ?? ''))
      findings.push({
        rule: 'KW-WEAK-SIGNATURE',
        severity: 'medium',
        subject: c.identity,
        message: `"${c.subject}" is signed with ${c.signatureAlgorithm}`,
      });
    if (weakKey(c.algorithm, c.size))
      findings.push({
        rule: 'KW-WEAK-KEY',
        severity: 'medium',
        subject: c.identity,
        message: `"${c.subject}" has a ${c.size}-bit ${c.algorithm} key`,
      });
  }
  const byNotAfter = (a: ExpiryItem, b: ExpiryItem): number => a.notAfter.localeCompare(b.notAfter);

  // Question 1: keys by layer and algorithm; private keys and how they are protected.
  const byLayer: Record<string, number> = {};
  const byAlgorithm: Record<string, number> = {};
  const privateKeys: Report['keys']['privateKeys'] = [];
  for (const k of keyAssets) {
    const item = keyItem(k);
    for (const l of new Set(item.occurrences.map((o) => o.layer))) byLayer[l] = (byLayer[l] ?? 0) + 1;
    const alg = keyLabel(k.algorithm, k.size, k.curve);
    byAlgorithm[alg] = (byAlgorithm[alg] ?? 0) + 1;
    if (weakKey(k.algorithm, k.size))
      findings.push({
        rule: 'KW-WEAK-KEY',
        severity: 'medium',
        subject: item.id,
        message: `${k.size}-bit ${k.algorithm} key`,
      });
    if (!item.private) continue;
    const plain = k.occurrences.filter((o) => o.private && o.encrypted === false);
    privateKeys.push({ ...item, exposure: plain.length ? 'plaintext' : 'encrypted' });
    for (const o of plain) {
      const worldReadable = o.fileMode !== undefined && (o.fileMode & 0o004) !== 0;
      findings.push({
        rule: worldReadable ? 'KW-KEY-WORLD-READABLE' : 'KW-KEY-PLAINTEXT',
        severity: worldReadable ? 'critical' : 'high',
        subject: o.path,
        message: `unencrypted ${alg} private key (${item.id.slice(0, 16)}…) in ${o.path}${o.fileMode !== undefined ? ` mode ${o.fileMode.toString(8).padStart(4, '0')}` : ''}`,
      });
    }
  }
  // Question 4 as far as discovery reaches: signatures on artifacts and whether they hold.
  const sigItems = (await collect(store.assets({ kind: 'signature' }))).map(signatureItem);
  for (const sig of sigItems) {
    const where = sig.occurrences[0]?.path ?? sig.artifact.sha256;
    const who = sig.signer.subject ?? sig.signer.issuer ?? 'an unnamed signer';
    if (sig.status === 'invalid')
      findings.push({
        rule: 'KW-SIGNATURE-INVALID',
        severity: 'high',
        subject: where,
        message: `${sig.format} signature by ${who} does not hold on ${where}: ${sig.reason ?? 'invalid'}`,
      });
    else if (sig.status === 'unverified')
      findings.push({
        rule: 'KW-SIGNATURE-UNVERIFIED',
        severity: 'low',
        subject: where,
        message: `${sig.format} signature by ${who} on ${where} could not be checked: ${sig.reason ?? 'signer key unknown'}`,
      });
  }
  const count = (st: SignatureItem['status']): number => sigItems.filter((x) => x.status === st).length;
  for (const p of problems)
    findings.push({
      rule: 'KW-UNPARSEABLE',
      severity: 'info',
      subject: p.path,
      message: `${p.status}: ${p.path}${p.offset ? `@${p.offset}` : ''}: ${p.reason}`,
    });

  const beforeSection =
    opts.before === undefined
      ? {}
      : { before: { date: new Date(opts.before).toISOString(), items: before.sort(byNotAfter) } };
  const authority = opts.authority ?? 'nist';
  const pqc = {
    authority,
    rows: await pqcReadiness(store, {
      at,
      authority,
      lifetimeYears: opts.lifetimeYears ?? 15,
      ...(opts.supportEnd !== undefined && {
        products: [{ name: 'product', supportEnd: new Date(opts.supportEnd).toISOString().slice(0, 10) }],
      }),
    }),
  };
  return {
    at: new Date(at).toISOString(),
    generatedAt: new Date().toISOString(),
    store: store.location,
    totals: {
      certificates: counts.certificate,
      keys: counts.key,
      privateKeys: privateKeys.length,
      csrs: counts.csr,
      crls: counts.crl,
      sshCertificates: counts['ssh-certificate'],
      signatures: counts.signature,
      artifacts: counts.artifact,
      unparseable: problems.filter((p) => p.status === 'unparseable').length,
      unreadable: problems.filter((p) => p.status === 'unreadable').length,
      refused: problems.filter((p) => p.status === 'refused').length,
    },
    keys: { byLayer, byAlgorithm, privateKeys },
    chains,
    expiry: {
      expired: expired.sort(byNotAfter),
      within90Days: within90Days.sort(byNotAfter),
      within1Year: within1Year.sort(byNotAfter),
      ...beforeSection,
    },
    signatures: {
      valid: count('valid'),
      invalid: count('invalid'),
      unverified: count('unverified'),
      items: sigItems,
    },
    supplierSigning: {
      assessed: false,
      note:
        'Signatures found on artifacts are checked above; whether each signer is the key a supplier agreed ' +
        'to sign with is not assessed yet (no signing agreements are recorded).',
    },
    pqc,
    problems,
    findings,
  };
}
