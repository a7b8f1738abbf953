import { GovernError } from '../error.ts';
import { rulesFor, type QuorumPolicy, type QuorumRule } from '../policy/quorum-policy.ts';
import type { Roster } from '../roster/roster.ts';
import { verifyApproval, type SignedApproval } from './approval.ts';
import { requestDigest, type ApprovalRequest } from './request.ts';

export type RefusalCode =
  | 'bad-signature'
  | 'unknown-approver'
  | 'wrong-request'
  | 'wrong-policy-version'
  | 'duplicate-approver'
  | 'rejected'
  | 'future'
  | 'outside-window'
  | 'not-in-role'
  | 'self-approval'
  | 'condition-false';

export interface ApprovalVerdict {
  approver: string;
  decision: 'approve' | 'reject';
  at: string;
  /** Counted toward at least one rule. */
  counted: boolean;
  /** Rules it counted toward. */
  rules: string[];
  reasons: { code: RefusalCode; rule?: string; detail: string }[];
}

export interface RuleVerdict {
  rule: string;
  role: string;
  needed: number;
  counted: string[];
  met: boolean;
}

export interface QuorumResult {
  met: boolean;
  requestDigest: string;
  policyDigest: string;
  at: string;
  rules: RuleVerdict[];
  approvals: ApprovalVerdict[];
  /** Why it is not met (empty when met). */
  reasons: string[];
}

const MAX_APPROVALS = 1000;

function requestFacts(r: ApprovalRequest): Record<string, unknown> {
  return { ...r, parameters: { ...r.parameters }, createdAt: new Date(r.createdAt) };
}

/**
 * Judges the approvals of one request against the policy in force, with roles as held at each
 * approval's own time. Pure: the auditor replaying the log calls exactly this with the same inputs.
 */
export function evaluateQuorum(
  request: ApprovalRequest,
  approvals: readonly SignedApproval[],
  roster: Roster,
  policy: QuorumPolicy,
  at: number,
): QuorumResult {
  if (approvals.length > MAX_APPROVALS)
    throw new GovernError('BAD_ARGUMENT', `more than ${MAX_APPROVALS} approvals for one request`);
  const digest = requestDigest(request);
  const created = Date.parse(request.createdAt);
  const reasons: string[] = [];
  if (request.policyDigest !== policy.digest)
    reasons.push(
      `the request was made under policy ${request.policyDigest}, the policy in force is ${policy.digest} (version ${policy.version})`,
    );
  if (created > at) reasons.push(`the request is dated ${request.createdAt}, after the evaluation instant`);
  const reqFacts = requestFacts(request);
  const rules = rulesFor(policy, request.operation, request.keyId, reqFacts);
  if (!rules.length)
    reasons.push(
      `no rule of policy version ${policy.version} covers ${request.operation} on ${request.keyId}; refused (fail closed)`,
    );

  // Earliest decision per approver wins; later ones are duplicates whatever they say.
  const ordered = approvals
    .map((a, i) => ({ a, i }))
    .sort((x, y) => Date.parse(x.a.payload.at) - Date.parse(y.a.payload.at) || x.i - y.i);
  const seen = new Set<string>();
  const verdicts: ApprovalVerdict[] = [];
  const countedBy = new Map<string, string[]>(rules.map((r) => [r.id, []]));
  for (const { a } of ordered) {
    const p = a.payload;
    const v: ApprovalVerdict = {
      approver: p.approver,
      decision: p.decision,
      at: p.at,
      counted: false,
      rules: [],
      reasons: [],
    };
    verdicts.push(v);
    const t = Date.parse(p.at);
    const refuse = (code: RefusalCode, detail: string, rule?: string): void => {
      v.reasons.push({ code, detail, ...(rule && { rule }) });
    };
    const person = roster.personAt(p.approver, t);
    if (!person) refuse('unknown-approver', `${p.approver} is not on the roster at ${p.at}`);
    else if (!verifyApproval(a, person.publicKey))
      refuse('bad-signature', `the signature does not verify under ${p.approver}'s key`);
    if (p.requestDigest !== digest || p.operation !== request.operation || p.keyId !== request.keyId)
      refuse('wrong-request', 'the approval is for a different request, operation or key');
    if (p.policyDigest !== request.policyDigest || p.policyDigest !== policy.digest)
      refuse(
        'wrong-policy-version',
        `signed under policy ${p.policyDigest}, not the policy in force ${policy.digest}`,
      );
    // Only a verified decision claims the approver's slot, so a forgery cannot pre-empt the real one.
    const authentic = v.reasons.length === 0;
    if (seen.has(p.approver)) refuse('duplicate-approver', `${p.approver} already decided on this request`);
    if (authentic) seen.add(p.approver);
    if (p.decision !== 'approve') refuse('rejected', `${p.approver} rejected the request`);
    if (Number.isNaN(t) || t > at) refuse('future', `dated ${p.at}, after the evaluation instant`);
    if (v.reasons.length) continue;
    for (const rule of rules) {
      const before = v.reasons.length;
      judgeForRule(rule, request, reqFacts, created, t, person!, roster, p, refuse);
      if (v.reasons.length === before) {
        v.rules.push(rule.id);
        countedBy.get(rule.id)!.push(p.approver);
      }
    }
    v.counted = v.rules.length > 0;
    if (v.counted) v.reasons = []; // counted toward some rule; other rules' misses are not refusals
  }

  const ruleVerdicts: RuleVerdict[] = rules.map((r) => {
    const counted = countedBy.get(r.id)!;
    const met = counted.length >= r.approvals.count;
    if (!met)
      reasons.push(
        `rule ${r.id}: ${counted.length} of ${r.approvals.count} approvals from ${r.approvals.role}`,
      );
    if (at > created + r.withinMs)
      reasons.push(`rule ${r.id}: the request expired ${r.approvals.within} after ${request.createdAt}`);
    return { rule: r.id, role: r.approvals.role, needed: r.approvals.count, counted, met };
  });
  return {
    met: reasons.length === 0,
    requestDigest: digest,
    policyDigest: policy.digest,
    at: new Date(at).toISOString(),
    rules: ruleVerdicts,
    approvals: verdicts,
    reasons,
  };
}

function judgeForRule(
  rule: QuorumRule,
  request: ApprovalRequest,
  reqFacts: Record<string, unknown>,
  created: number,
  t: number,
  person: NonNullable<ReturnType<Roster['personAt']>>,
  roster: Roster,
  p: SignedApproval['payload'],
  refuse: (code: RefusalCode, detail: string, rule?: string) => void,
): void {
  if (t < created || t > created + rule.withinMs)
    refuse(
      'outside-window',
      `approved at ${p.at}, outside ${rule.approvals.within} from the request at ${request.createdAt}`,
      rule.id,
    );
  if (!roster.holds(p.approver, rule.approvals.role, request.keyId, t))
    refuse(
      'not-in-role',
      `${p.approver} did not hold ${rule.approvals.role} for ${request.keyId} at ${p.at}`,
      rule.id,
    );
  if (rule.approvals.excludeRequester && p.approver === request.requester)
    refuse('self-approval', `${p.approver} made the request and may not approve it`, rule.id);
  if (rule.conditionFn) {
    const roles = roster
      .grantsAt(t)
      .filter((g) => g.person === p.approver)
      .map((g) => g.role);
    const facts = {
      request: reqFacts,
      approval: { ...p, at: new Date(t) },
      approver: { id: person.id, name: person.name, email: person.email ?? '', roles },
    };
    if (!rule.conditionFn(facts))
      refuse('condition-false', `condition ${JSON.stringify(rule.approvals.condition)} is false`, rule.id);
  }
}

/** The gate a sensitive operation goes through: returns the verdict when met, otherwise throws. */
export function requireQuorum(
  request: ApprovalRequest,
  approvals: readonly SignedApproval[],
  roster: Roster,
  policy: QuorumPolicy,
  at: number,
): QuorumResult {
  const r = evaluateQuorum(request, approvals, roster, policy, at);
  if (!r.met)
    throw new GovernError(
      'QUORUM_NOT_MET',
      `${request.operation} on ${request.keyId} (request ${r.requestDigest}) refused: ${r.reasons.join('; ')}`,
    );
  return r;
}
