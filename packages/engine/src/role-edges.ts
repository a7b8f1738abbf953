import type { RoleSummary } from '@keywarden/core';
import { keyRef, type EdgeInput } from '@keywarden/store';

/**
 * The edges one TUF/Uptane metadata file states: the keys it authorises for each role it names
 * (delegates, with the threshold in the reason), the keys a root anchors (trusts), and the keys
 * whose signature on it holds (signed-by). A key authorised for several roles gets one edge whose
 * reason lists them all, since an edge is unique per (kind, from, to).
 */
export function roleEdges(role: RoleSummary, from: string): EdgeInput[] {
  const byDeclared = new Map(role.keys.map((k) => [k.declaredKeyId, k.keyId]));
  const grants = new Map<string, string[]>();
  for (const d of role.delegations)
    for (const declared of d.keyIds) {
      const keyId = byDeclared.get(declared);
      if (!keyId) continue;
      const list = grants.get(keyId) ?? [];
      list.push(`${d.name} (threshold ${d.threshold} of ${d.keyIds.length})`);
      grants.set(keyId, list);
    }
  const label = `${role.repository ? `${role.repository} ` : ''}${role.name} v${role.version}`;
  const edges: EdgeInput[] = [];
  for (const [keyId, roles] of grants)
    edges.push({
      kind: 'delegates',
      from,
      to: keyRef(keyId),
      reason: `${label} authorises this key for ${roles.join(', ')}`,
    });
  if (role.type === 'root') {
    const self = role.delegations.find((d) => d.name === 'root');
    for (const declared of self?.keyIds ?? []) {
      const keyId = byDeclared.get(declared);
      if (keyId)
        edges.push({
          kind: 'trusts',
          from,
          to: keyRef(keyId),
          reason: `${label}: a root key, trusted by every client holding this root`,
        });
    }
  }
  edges.push(...signedByEdges(role, from));
  return edges;
}

/** signed-by for each signature that verified with a known key. */
export function signedByEdges(role: RoleSummary, from: string): EdgeInput[] {
  const out: EdgeInput[] = [];
  for (const s of role.signatures)
    if (s.status === 'valid' && s.keyId)
      out.push({
        kind: 'signed-by',
        from,
        to: keyRef(s.keyId),
        reason: `TUF signature under keyid ${s.declaredKeyId.slice(0, 16)}…; valid${s.reason ? ` (${s.reason})` : ''}`,
      });
  return out;
}
