import { EvidenceError } from './error.ts';
import { canonicalize } from './jcs.ts';

/** Hex SHA-256 digests, written `sha256:<64 hex>` so the algorithm travels with the value. */
export type Digest = `sha256:${string}`;

interface Base {
  /** ISO 8601 instant, UTC, e.g. 2026-12-02T14:00:00.000Z. */
  at: string;
  /** Who or what caused the entry (a user, a service, the scheduler). */
  actor?: string;
}

export interface ScanCompleted extends Base {
  type: 'scan.completed';
  scanId: string;
  inventoryDigest: Digest;
  counts?: Record<string, number>;
}

export interface PolicyChanged extends Base {
  type: 'policy.changed';
  policyId: string;
  version: string;
  policyDigest: Digest;
  previousDigest?: Digest;
}

export interface RosterChanged extends Base {
  type: 'roster.changed';
  person: string;
  change: 'added' | 'removed' | 'role-granted' | 'role-revoked';
  role?: string;
  rosterDigest?: Digest;
}

export interface Approval extends Base {
  type: 'approval';
  requestDigest: Digest;
  approver: string;
  decision: 'approve' | 'reject';
  /** Base64 Ed25519 signature by the approver over the canonical approval. */
  signature: string;
}

export interface CeremonyStep extends Base {
  type: 'ceremony.step';
  ceremonyId: string;
  step: number;
  name: string;
  outcome: 'done' | 'exception';
  artefacts?: Record<string, Digest>;
  note?: string;
}

export interface KeyOperation extends Base {
  type: 'key.operation';
  operation: 'generate' | 'import' | 'destroy' | 'sign' | 'revoke' | 'rotate';
  keyId: string;
  requestDigest?: Digest;
  outputDigest?: Digest;
}

export interface DeviceIssued extends Base {
  type: 'device.issued';
  deviceId: string;
  certificate: Digest;
}

export interface DeviceRevoked extends Base {
  type: 'device.revoked';
  deviceId: string;
  certificate?: Digest;
  reason: string;
}

export interface DeviceRenewed extends Base {
  type: 'device.renewed';
  deviceId: string;
  certificate: Digest;
  previous: Digest;
}

export interface DeviceRetired extends Base {
  type: 'device.retired';
  deviceId: string;
}

export interface CrlPublished extends Base {
  type: 'crl.published';
  issuerKeyId: string;
  crlNumber: string;
  crlDigest: Digest;
  entries: number;
}

export interface FleetImported extends Base {
  type: 'fleet.imported';
  sourceDigest: Digest;
  products: number;
  cohorts: number;
  devices: number;
}

export interface AgreementChanged extends Base {
  type: 'agreement.changed';
  supplier: string;
  version: number;
  agreementDigest: Digest;
}

export interface DeliveryVerified extends Base {
  type: 'delivery.verified';
  supplier: string;
  artifactDigest: Digest;
  format: string;
  outcome: 'pass' | 'fail';
  reasons?: string[];
  signerKeyId?: string;
}

export interface RunbookDrill extends Base {
  type: 'runbook.drill';
  runbookId: string;
  runbookVersion: number;
  /** SHA-256 of the runbook file as exercised. */
  versionDigest: Digest;
  participants: string[];
  result: 'passed' | 'passed-with-issues' | 'failed';
  note?: string;
}

export type Statement =
  | ScanCompleted
  | PolicyChanged
  | RosterChanged
  | Approval
  | CeremonyStep
  | KeyOperation
  | DeviceIssued
  | DeviceRevoked
  | DeviceRenewed
  | DeviceRetired
  | CrlPublished
  | FleetImported
  | AgreementChanged
  | DeliveryVerified
  | RunbookDrill;

export type StatementType = Statement['type'];

/** The fields each type must carry (beyond type and at); checked before anything is written. */
const REQUIRED: Record<StatementType, readonly string[]> = {
  'scan.completed': ['scanId', 'inventoryDigest'],
  'policy.changed': ['policyId', 'version', 'policyDigest'],
  'roster.changed': ['person', 'change'],
  approval: ['requestDigest', 'approver', 'decision', 'signature'],
  'ceremony.step': ['ceremonyId', 'step', 'name', 'outcome'],
  'key.operation': ['operation', 'keyId'],
  'device.issued': ['deviceId', 'certificate'],
  'device.revoked': ['deviceId', 'reason'],
  'device.renewed': ['deviceId', 'certificate', 'previous'],
  'device.retired': ['deviceId'],
  'crl.published': ['issuerKeyId', 'crlNumber', 'crlDigest'],
  'fleet.imported': ['sourceDigest'],
  'agreement.changed': ['supplier', 'version', 'agreementDigest'],
  'delivery.verified': ['supplier', 'artifactDigest', 'format', 'outcome'],
  'runbook.drill': ['runbookId', 'runbookVersion', 'versionDigest', 'participants', 'result'],
};

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** tlog-tiles entry bundles carry a uint16 length, so no entry may exceed 64 KiB - 1. */
export const MAX_ENTRY_BYTES = 0xffff;

/** Checks a statement's shape; throws BAD_ARGUMENT naming the field. */
export function checkStatement(s: unknown): asserts s is Statement {
  if (typeof s !== 'object' || s === null || Array.isArray(s))
    throw new EvidenceError('BAD_ARGUMENT', 'a statement is a JSON object');
  const o = s as Record<string, unknown>;
  const type = o.type;
  if (typeof type !== 'string' || !(type in REQUIRED))
    throw new EvidenceError('BAD_ARGUMENT', `unknown statement type ${JSON.stringify(type)}`);
  if (typeof o.at !== 'string' || !ISO_INSTANT.test(o.at) || Number.isNaN(Date.parse(o.at)))
    throw new EvidenceError('BAD_ARGUMENT', `statement ${type}: "at" must be an ISO 8601 UTC instant`);
  for (const f of REQUIRED[type as StatementType])
    if (o[f] === undefined || o[f] === '')
      throw new EvidenceError('BAD_ARGUMENT', `statement ${type}: "${f}" is missing`);
  for (const [k, v] of Object.entries(o))
    if (/Digest$/.test(k) && v !== undefined && (typeof v !== 'string' || !DIGEST.test(v)))
      throw new EvidenceError('BAD_ARGUMENT', `statement ${type}: "${k}" must be sha256:<64 lowercase hex>`);
}

/** The exact bytes logged for a statement: its RFC 8785 canonical JSON in UTF-8. */
export function encodeStatement(s: Statement): Buffer {
  checkStatement(s);
  const bytes = Buffer.from(canonicalize(s), 'utf8');
  if (bytes.length > MAX_ENTRY_BYTES)
    throw new EvidenceError(
      'BAD_ARGUMENT',
      `statement ${s.type} is ${bytes.length} bytes; entries hold at most ${MAX_ENTRY_BYTES}`,
    );
  return bytes;
}
