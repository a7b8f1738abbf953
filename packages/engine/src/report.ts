import { X509Certificate } from 'node:crypto';
import type { AssetRow, ProblemRow, Store } from '@keywarden/store';
import { keyItem, keyLabel, signatureItem, type KeyItem, type SignatureItem } from './inventory.ts';
import type { Finding } from './findings.ts';

const DAY = 86_400_000;

export interface ChainLink {
  child: string;
  childSubject?: string;
  issuer: string;
  issuerSubject?: string;
  /** How the issuer was found: key identifiers (AKI = SKI) or names alone. */
  matchedBy: 'key-identifier' | 'name';
  /** The issuer's public key verifies the child's signature (node:crypto). */
  signatureVerified: boolean;
}

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
  /** Question 2: issuer links found, roots, and the gaps. */
  chains: {
    roots: { sha256: string; subject?: string; signatureVerified: boolean }[];
    links: ChainLink[];
    missingIssuer: { sha256: string; subject?: string; issuer?: string; aki?: string }[];
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
  problems: ProblemRow[];
  findings: Finding[];
}

export interface ReportOptions {
  /** The instant every validity judgement is made at (epoch ms). */
  readonly at: number;
  /** Also list what expires before this instant. */
  readonly before?: number;
}

async function collect(it: AsyncIterable<AssetRow>): Promise<AssetRow[]> {
  const out: AssetRow[] = [];
  for await (const a of it) out.push(a);
  return out;
}

function derOf(a: AssetRow): string | undefined {
  const r = a.record as { der?: string } | null;
  return r?.der;
}

/** Checks issuer -> child signatures with node:crypto, parsing each certificate at most once. */
class Verifier {
  private readonly cache = new Map<string, X509Certificate | null>();
  private cert(a: AssetRow): X509Certificate | null {
    let c = this.cache.get(a.id);
    if (c === undefined) {
      const der = derOf(a);
      try {
        c = der ? new X509Certificate(Buffer.from(der, 'base64')) : null;
      } catch {
        c = null;
      }
      this.cache.set(a.id, c);
    }
    return c;
  }
  verifies(child: AssetRow, issuer: AssetRow): boolean {
    const c = this.cert(child);
    const i = this.cert(issuer);
    if (!c || !i) return false;
    try {
      return c.verify(i.publicKey);
    } catch {
      return false;
    }
  }
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
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
  const verifier = new Verifier();

  // Question 2: link every certificate to its issuer(s) by key identifier first, then by name.
  const bySki = new Map<string, AssetRow[]>();
  const bySubject = new Map<string, AssetRow[]>();
  for (const c of certs) {
    if (c.ski) push(bySki, c.ski, c);
    if (c.subject !== undefined) push(bySubject, c.subject, c);
  }
  const roots: Report['chains']['roots'] = [];
  const links: ChainLink[] = [];
  const missingIssuer: Report['chains']['missingIssuer'] = [];
  for (const c of certs) {
    if (c.selfSigned) {
      roots.push({ sha256: c.identity, subject: c.subject, signatureVerified: verifier.verifies(c, c) });
      continue;
    }
    const byKey = c.aki ? (bySki.get(c.aki) ?? []).filter((i) => i.id !== c.id) : [];
    const candidates = byKey.length
      ? byKey
      : (bySubject.get(c.issuer ?? '') ?? []).filter((i) => i.id !== c.id && !c.aki);
    if (candidates.length === 0) {
      missingIssuer.push({
        sha256: c.identity,
        subject: c.subject,
        issuer: c.issuer,
        ...(c.aki && { aki: c.aki }),
      });
      findings.push({
        rule: 'KW-CHAIN-ISSUER-MISSING',
        severity: 'medium',
        subject: c.identity,
        message: `no issuer "${c.issuer}" in the inventory for "${c.subject}"`,
      });
      continue;
    }
    let anyVerified = false;
    for (const i of candidates) {
      const ok = verifier.verifies(c, i);
      anyVerified ||= ok;
      links.push({
        child: c.identity,
        childSubject: c.subject,
        issuer: i.identity,
        issuerSubject: i.subject,
        matchedBy: byKey.length ? 'key-identifier' : 'name',
        signatureVerified: ok,
      });
    }
    if (!anyVerified)
      findings.push({
        rule: 'KW-CHAIN-SIGNATURE-INVALID',
        severity: 'high',
        subject: c.identity,
        message: `issuer candidate(s) for "${c.subject}" do not verify its signature`,
      });
  }

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
    chains: { roots, links, missingIssuer },
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
    problems,
    findings,
  };
}
