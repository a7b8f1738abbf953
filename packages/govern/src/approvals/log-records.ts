import type { Approval, PolicyChanged, Statement } from '@keywarden/evidence';
import { GovernError } from '../error.ts';
import type { Digest } from '../policy/canonical.ts';
import { policyFromDocument, type QuorumPolicy } from '../policy/quorum-policy.ts';
import { entriesOf, type GovernLog, type ReadableLog } from '../roster/governed-log.ts';
import { Roster } from '../roster/roster.ts';
import { APPROVAL_KIND, type SignedApproval } from './approval.ts';
import { evaluateQuorum, requireQuorum, type QuorumResult } from './evaluate.ts';
import { checkRequest, requestDigest, type ApprovalRequest } from './request.ts';

export const QUORUM_POLICY_ID = 'quorum';

/** An approval entry carries the whole request, so the log alone is enough to re-judge it. */
export interface ApprovalStatement extends Approval {
  operation: SignedApproval['payload']['operation'];
  keyId: string;
  policyDigest: Digest;
  request: ApprovalRequest;
}

export interface QuorumPolicyStatement extends PolicyChanged {
  policy: QuorumPolicy['document'];
  requestDigest?: Digest;
}

export async function recordApproval(
  log: GovernLog,
  request: ApprovalRequest,
  a: SignedApproval,
): Promise<number> {
  const p = a.payload;
  if (p.requestDigest !== requestDigest(request))
    throw new GovernError('BAD_ARGUMENT', 'the approval is not for this request');
  const s: ApprovalStatement = {
    type: 'approval',
    at: p.at,
    actor: p.approver,
    requestDigest: p.requestDigest,
    approver: p.approver,
    decision: p.decision,
    signature: a.signature,
    operation: p.operation,
    keyId: p.keyId,
    policyDigest: p.policyDigest,
    request,
  };
  return log.append(s);
}

function approvalFrom(s: ApprovalStatement): SignedApproval {
  return {
    payload: {
      kind: APPROVAL_KIND,
      requestDigest: s.requestDigest,
      operation: s.operation,
      keyId: s.keyId,
      policyDigest: s.policyDigest,
      approver: s.approver,
      decision: s.decision,
      at: s.at,
    },
    signature: s.signature,
  };
}

const isQuorumPolicy = (s: Statement): s is QuorumPolicyStatement =>
  s.type === 'policy.changed' && s.policyId === QUORUM_POLICY_ID;

/** Everything govern derives from a log prefix: roster, policy in force, approvals by request. */
export interface LogState {
  roster: Roster;
  policy?: QuorumPolicy;
  approvals: Map<string, { request: ApprovalRequest; approvals: SignedApproval[] }>;
}

export function replay(log: ReadableLog, upTo = log.size): LogState {
  const state: LogState = { roster: new Roster(), approvals: new Map() };
  for (const { index, statement: s } of entriesOf(log, upTo)) {
    if (s.type === 'roster.changed') state.roster.apply(s, index);
    else if (isQuorumPolicy(s))
      state.policy = policyFromDocument(s.policy, `quorum policy at log index ${index}`);
    else if (s.type === 'approval') {
      const a = s as ApprovalStatement;
      const request = checkRequest(a.request, `approval at log index ${index}`);
      if (requestDigest(request) !== a.requestDigest) continue; // judged as wrong-request would be; never counted
      const entry = state.approvals.get(a.requestDigest) ?? { request, approvals: [] };
      entry.approvals.push(approvalFrom(a));
      state.approvals.set(a.requestDigest, entry);
    }
  }
  return state;
}

/** The quorum status of a request from the log: roster, policy in force and approvals all as logged. */
export function quorumFromLog(
  log: ReadableLog,
  request: ApprovalRequest,
  at: number,
  upTo = log.size,
): QuorumResult {
  const st = replay(log, upTo);
  if (!st.policy)
    throw new GovernError(
      'QUORUM_NOT_MET',
      'no quorum policy has been recorded in the evidence log; refused (fail closed)',
    );
  return evaluateQuorum(
    request,
    st.approvals.get(requestDigest(request))?.approvals ?? [],
    st.roster,
    st.policy,
    at,
  );
}

/** The gate against the log: throws QUORUM_NOT_MET unless the logged approvals meet the policy in force. */
export function requireQuorumFromLog(log: ReadableLog, request: ApprovalRequest, at: number): QuorumResult {
  const st = replay(log);
  if (!st.policy)
    throw new GovernError(
      'QUORUM_NOT_MET',
      'no quorum policy has been recorded in the evidence log; refused (fail closed)',
    );
  return requireQuorum(
    request,
    st.approvals.get(requestDigest(request))?.approvals ?? [],
    st.roster,
    st.policy,
    at,
  );
}

/**
 * Records a new quorum policy. The first one bootstraps; every later one needs a policy-change
 * request approved under the policy in force, naming the new policy's digest in its parameters.
 */
export async function recordPolicy(
  log: GovernLog,
  policy: QuorumPolicy,
  ctx: { actor: string; at?: number; request?: ApprovalRequest },
): Promise<number> {
  const at = ctx.at ?? Date.now();
  const st = replay(log);
  if (st.policy) {
    if (st.policy.digest === policy.digest)
      throw new GovernError('BAD_ARGUMENT', 'that policy is already in force');
    if (policy.version <= st.policy.version)
      throw new GovernError(
        'POLICY_INVALID',
        `policy version ${policy.version} must be above the version in force (${st.policy.version})`,
      );
    const r = ctx.request;
    if (!r || r.operation !== 'policy-change' || r.parameters.policyDigest !== policy.digest)
      throw new GovernError(
        'QUORUM_NOT_MET',
        `changing the quorum policy needs an approved policy-change request with parameter policyDigest=${policy.digest}`,
      );
    requireQuorum(r, st.approvals.get(requestDigest(r))?.approvals ?? [], st.roster, st.policy, at);
  }
  const s: QuorumPolicyStatement = {
    type: 'policy.changed',
    at: new Date(at).toISOString(),
    actor: ctx.actor,
    policyId: QUORUM_POLICY_ID,
    version: String(policy.version),
    policyDigest: policy.digest,
    ...(st.policy && { previousDigest: st.policy.digest }),
    policy: policy.document,
    ...(ctx.request && { requestDigest: requestDigest(ctx.request) }),
  };
  return log.append(s);
}

export interface AuditEntry {
  index: number;
  type: string;
  requestDigest: string;
  met: boolean;
  reasons: string[];
  result?: QuorumResult;
}

export interface AuditReport {
  ok: boolean;
  /** Every logged operation that cites a request, re-judged with only what the log held before it. */
  operations: AuditEntry[];
  /** Every request with approvals, judged at the end of the log. */
  requests: QuorumResult[];
}

/** The auditor's offline re-run: replays the log and re-evaluates every quorum it cites. */
export function auditApprovals(log: ReadableLog): AuditReport {
  const operations: AuditEntry[] = [];
  for (const { index, statement: s } of entriesOf(log)) {
    const rd = (s as { requestDigest?: string }).requestDigest;
    if (s.type === 'approval' || !rd) continue;
    const st = replay(log, index);
    const found = st.approvals.get(rd);
    const at = Date.parse(s.at);
    if (!found || !st.policy) {
      operations.push({
        index,
        type: s.type,
        requestDigest: rd,
        met: false,
        reasons: [
          !st.policy
            ? 'no quorum policy was in force'
            : 'no approvals for that request precede it in the log',
        ],
      });
      continue;
    }
    const result = evaluateQuorum(found.request, found.approvals, st.roster, st.policy, at);
    operations.push({
      index,
      type: s.type,
      requestDigest: rd,
      met: result.met,
      reasons: result.reasons,
      result,
    });
  }
  const end = replay(log);
  const last = log.size ? Date.parse(log.statement(log.size - 1).at) : Date.now();
  const requests = end.policy
    ? [...end.approvals.values()].map((x) =>
        evaluateQuorum(x.request, x.approvals, end.roster, end.policy!, last),
      )
    : [];
  return { ok: operations.every((o) => o.met), operations, requests };
}
