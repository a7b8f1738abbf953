import { isKeyPattern, keyMatches } from '../policy/operations.ts';
import type { QuorumPolicy } from '../policy/quorum-policy.ts';
import { removePerson, revokeRole, loadRoster, type ChangeContext } from './changes.ts';
import type { GovernLog } from './governed-log.ts';
import type { Roster } from './roster.ts';

export interface CustodyGap {
  keyId: string;
  rule: string;
  role: string;
  needed: number;
  holders: string[];
  /** below: the quorum can no longer be met; margin: exactly the quorum is left, no one can be absent. */
  status: 'below' | 'margin';
}

export interface ReCustodyTask {
  kind: 're-custody';
  keyId: string;
  role: string;
  /** How many more holders of the role this key needs for its quorum to be met again. */
  missing: number;
  reason: string;
}

export interface LeaveResult {
  person: string;
  revoked: { role: string; scope?: string }[];
  gaps: CustodyGap[];
  tasks: ReCustodyTask[];
  warnings: string[];
  indices: number[];
}

const KEY_OPERATIONS = new Set<string>(['generate', 'import', 'destroy', 'sign', 'revoke']);

/** Keys the roster and policy name literally, plus any the caller knows from the inventory. */
function knownKeys(roster: Roster, policy: QuorumPolicy, extra: readonly string[]): string[] {
  const ids = new Set(extra);
  for (const r of policy.rules) for (const k of r.keys ?? []) if (!isKeyPattern(k)) ids.add(k);
  for (const g of roster.grants) if (g.scope && !isKeyPattern(g.scope)) ids.add(g.scope);
  return [...ids].sort();
}

/**
 * Every key whose custody quorum is at or below its size at `t`. Holders must reach the count even
 * with the requester excluded, since the requester need not be a holder; equal is the margin.
 */
export function custodyGaps(
  roster: Roster,
  policy: QuorumPolicy,
  t: number,
  keys: readonly string[] = [],
): CustodyGap[] {
  const gaps: CustodyGap[] = [];
  for (const keyId of knownKeys(roster, policy, keys))
    for (const rule of policy.rules) {
      if (!rule.operations.some((op) => KEY_OPERATIONS.has(op))) continue; // governs the roster or policy, not a key
      if (rule.keys && !rule.keys.some((k) => keyMatches(k, keyId))) continue;
      const holders = roster.holders(rule.approvals.role, keyId, t);
      const needed = rule.approvals.count;
      if (holders.length <= needed)
        gaps.push({
          keyId,
          rule: rule.id,
          role: rule.approvals.role,
          needed,
          holders,
          status: holders.length < needed ? 'below' : 'margin',
        });
    }
  return gaps;
}

/**
 * The leaver workflow: revoke every role the person holds, take them off the roster (each a logged
 * change), then list the keys left below or at their custody quorum and open a task for each below.
 */
export async function leave(
  log: GovernLog,
  person: string,
  policy: QuorumPolicy,
  ctx: ChangeContext,
  opts: { keys?: readonly string[] } = {},
): Promise<LeaveResult> {
  const t = ctx.at ?? Date.now();
  const before = loadRoster(log);
  const held = before.grantsAt(t).filter((g) => g.person === person);
  const beforeGaps = new Set(
    custodyGaps(before, policy, t, opts.keys).map((g) => `${g.keyId} ${g.rule} ${g.status}`),
  );
  const indices: number[] = [];
  const revoked: LeaveResult['revoked'] = [];
  const seen = new Set<string>();
  for (const g of held) {
    const k = `${g.role} ${g.scope ?? ''}`;
    if (seen.has(k)) continue;
    seen.add(k);
    indices.push(
      await revokeRole(log, { person, role: g.role, ...(g.scope && { scope: g.scope }) }, { ...ctx, at: t }),
    );
    revoked.push({ role: g.role, ...(g.scope && { scope: g.scope }) });
  }
  indices.push(await removePerson(log, person, { ...ctx, at: t }));
  const after = loadRoster(log);
  const gaps = custodyGaps(after, policy, t, opts.keys);
  const tasks: ReCustodyTask[] = gaps
    .filter((g) => g.status === 'below')
    .map((g) => ({
      kind: 're-custody',
      keyId: g.keyId,
      role: g.role,
      missing: g.needed - g.holders.length,
      reason: `rule ${g.rule} needs ${g.needed} of ${g.role}; ${g.holders.length} left after ${person} left`,
    }));
  const warnings = gaps
    .filter((g) => g.status === 'margin')
    .map(
      (g) =>
        `${g.keyId}: ${g.holders.length} holders of ${g.role} left, exactly the quorum of ${g.needed} (rule ${g.rule})${beforeGaps.has(`${g.keyId} ${g.rule} margin`) ? '' : ` since ${person} left`}`,
    );
  return { person, revoked, gaps, tasks, warnings, indices };
}
