export * from './error.ts';
export * from './hsm/hsm.ts';
export { GrapheneHsm } from './hsm/graphene-hsm.ts';
export { takeInventory, describeObjects } from './hsm/inventory.ts';
export type {
  HsmCertificateSummary,
  HsmInventory,
  HsmInventoryObject,
  HsmKeyFlags,
  KeySource,
} from './hsm/inventory.ts';
export { hsmFindings, HSM_RULES } from './hsm/findings.ts';
export { publicKeyOf, type KeyIdentity } from './hsm/spki.ts';
export { ecdsaRawToDer } from './hsm/ecdsa-signature.ts';
export { pkcs11Uri } from './hsm/pkcs11-uri.ts';
export { resolvePin } from './hsm/pin.ts';
// Custody: roster, quorum policy and signed approvals.
export { digestOf, isDigest, sha256Digest, type Digest } from './policy/canonical.ts';
export { OPERATIONS, isOperation, keyMatches, type Operation } from './policy/operations.ts';
export {
  loadQuorumPolicy,
  parseQuorumPolicy,
  policyFromDocument,
  rulesFor,
  POLICY_KIND,
  type QuorumPolicy,
  type QuorumPolicyDoc,
  type QuorumRule,
  type QuorumRuleDoc,
} from './policy/quorum-policy.ts';
export {
  Roster,
  type Grant,
  type Person,
  type RosterSnapshot,
  type RosterStatement,
} from './roster/roster.ts';
export { entriesOf, type GovernLog, type ReadableLog } from './roster/governed-log.ts';
export { normalisePublicKey } from './roster/public-key.ts';
export {
  addPerson,
  grantRole,
  loadRoster,
  removePerson,
  revokeRole,
  rosterAt,
  type ChangeContext,
} from './roster/changes.ts';
export {
  custodyGaps,
  leave,
  type CustodyGap,
  type LeaveResult,
  type ReCustodyTask,
} from './roster/leaver.ts';
export {
  checkRequest,
  createRequest,
  requestDigest,
  REQUEST_KIND,
  type ApprovalRequest,
} from './approvals/request.ts';
export {
  readPrivateKey,
  signApproval,
  verifyApproval,
  APPROVAL_KIND,
  type ApprovalPayload,
  type SignedApproval,
} from './approvals/approval.ts';
export {
  evaluateQuorum,
  requireQuorum,
  type ApprovalVerdict,
  type QuorumResult,
  type RefusalCode,
  type RuleVerdict,
} from './approvals/evaluate.ts';
export {
  auditApprovals,
  quorumFromLog,
  recordApproval,
  recordPolicy,
  replay,
  requireQuorumFromLog,
  QUORUM_POLICY_ID,
  type AuditEntry,
  type AuditReport,
  type LogState,
} from './approvals/log-records.ts';
export { loadRequest, saveRequest } from './approvals/request-store.ts';
// Ceremonies (scripted, signed, resumable) and runbooks with their drills.
export * from './ceremony/index.ts';
export * from './runbook/index.ts';
export { signWithApproval, type ApprovedSignature } from './approved-sign.ts';
