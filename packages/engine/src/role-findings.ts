import type { RoleSummary } from '@keywarden/core';
import type { AssetRow, Store } from '@keywarden/store';
import type { Finding } from './findings.ts';

/**
 * Gaps in TUF/Uptane metadata at an instant: a role past its expiry (clients refuse it, updates
 * stop), a threshold not met or never checkable, a root rotation its predecessor did not sign, and
 * a root key also authorised for an online role (so the key that must stay offline signs daily).
 */

/** Roles a repository signs with keys kept online in the TUF model. */
const ONLINE = new Set(['timestamp', 'snapshot']);

export async function roleFindings(store: Store, at: number): Promise<Finding[]> {
  const out: Finding[] = [];
  for await (const row of store.assets({ kind: 'role' })) {
    const r = row.record as RoleSummary;
    const who = label(r, row);
    const where = row.occurrences.map((o) => `seen at ${o.path}`);
    if (r.expires !== undefined && r.expires <= at)
      out.push({
        rule: 'KW-TUF-ROLE-EXPIRED',
        severity: r.type === 'root' || r.type === 'timestamp' ? 'high' : 'medium',
        subject: row.identity,
        message: `${who} expired ${new Date(r.expires).toISOString()}: clients holding it refuse updates`,
        evidence: where,
      });
    if (r.thresholdMet === false)
      out.push({
        rule: 'KW-TUF-THRESHOLD-NOT-MET',
        severity: 'high',
        subject: row.identity,
        message: `${who} carries ${r.validKeys ?? 0} valid signatures from authorised keys; threshold ${r.threshold ?? '?'}`,
        evidence: [
          ...r.signatures.map(
            (s) => `keyid ${s.declaredKeyId.slice(0, 16)}…: ${s.status}${s.reason ? ` (${s.reason})` : ''}`,
          ),
          ...where,
        ],
      });
    else if (r.thresholdMet === 'unknown')
      out.push({
        rule: 'KW-TUF-ROLE-UNVERIFIED',
        severity: 'medium',
        subject: row.identity,
        message: `${who}: no metadata naming its signing keys was found beside it, so its signatures are unchecked`,
        evidence: where,
      });
    if (r.rotation && r.rotation.thresholdMet !== true)
      out.push({
        rule: 'KW-TUF-ROOT-ROTATION-UNSIGNED',
        severity: 'critical',
        subject: row.identity,
        message: `${who} is not signed by a threshold of root v${r.rotation.from}'s root keys (${r.rotation.validKeys} of ${r.rotation.threshold ?? '?'}): clients on v${r.rotation.from} cannot rotate to it`,
        evidence: where,
      });
    if (r.type === 'root') out.push(...sharedRootKeys(r, row, who));
  }
  return out;
}

function sharedRootKeys(r: RoleSummary, row: AssetRow, who: string): Finding[] {
  const rootKeys = new Set(r.delegations.find((d) => d.name === 'root')?.keyIds ?? []);
  const out: Finding[] = [];
  for (const d of r.delegations) {
    if (!ONLINE.has(d.name)) continue;
    const shared = d.keyIds.filter((k) => rootKeys.has(k));
    if (shared.length > 0)
      out.push({
        rule: 'KW-TUF-ROOT-KEY-ONLINE',
        severity: 'high',
        subject: row.identity,
        subjects: shared,
        message: `${who} authorises a root key for the online ${d.name} role: compromise of the online key is compromise of root`,
      });
  }
  return out;
}

function label(r: RoleSummary, row: AssetRow): string {
  return `${r.repository ? `Uptane ${r.repository}` : 'TUF'} ${r.name} v${r.version} (${row.identity.slice(0, 12)})`;
}
