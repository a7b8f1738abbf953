import { canonicalize } from '@keywarden/evidence';
import { GovernError } from '../error.ts';
import { digestOf, isDigest, type Digest } from '../policy/canonical.ts';
import { isOperation, type Operation } from '../policy/operations.ts';

export const REQUEST_KIND = 'keywarden/approval-request';
const MAX_REQUEST_BYTES = 16 * 1024;

/** A request for a sensitive operation; its id is the digest of exactly these fields. */
export interface ApprovalRequest {
  kind: typeof REQUEST_KIND;
  operation: Operation;
  keyId: string;
  parameters: Record<string, string | number | boolean>;
  requester: string;
  /** The policy-version hash the request was made under. */
  policyDigest: Digest;
  createdAt: string;
}

export function createRequest(r: {
  operation: Operation;
  keyId: string;
  parameters?: Record<string, string | number | boolean>;
  requester: string;
  policyDigest: Digest;
  at?: number;
}): ApprovalRequest {
  return checkRequest({
    kind: REQUEST_KIND,
    operation: r.operation,
    keyId: r.keyId,
    parameters: r.parameters ?? {},
    requester: r.requester,
    policyDigest: r.policyDigest,
    createdAt: new Date(r.at ?? Date.now()).toISOString(),
  });
}

export const requestDigest = (r: ApprovalRequest): Digest => digestOf(r);

/** Validates a request read from a file or a log entry; throws BAD_ARGUMENT naming the field. */
export function checkRequest(v: unknown, where = 'approval request'): ApprovalRequest {
  const bad = (f: string): never => {
    throw new GovernError('BAD_ARGUMENT', `${where}: "${f}" is missing or malformed`);
  };
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad('(the request)');
  const o = v as Record<string, unknown>;
  const allowed = ['kind', 'operation', 'keyId', 'parameters', 'requester', 'policyDigest', 'createdAt'];
  for (const k of Object.keys(o))
    if (!allowed.includes(k)) throw new GovernError('BAD_ARGUMENT', `${where}: unknown field "${k}"`);
  if (o.kind !== REQUEST_KIND) bad('kind');
  if (!isOperation(o.operation)) bad('operation');
  if (typeof o.keyId !== 'string' || !/^[A-Za-z0-9._:/@+-]{1,200}$/.test(o.keyId)) bad('keyId');
  if (typeof o.requester !== 'string' || !o.requester || o.requester.length > 64) bad('requester');
  if (!isDigest(o.policyDigest)) bad('policyDigest');
  if (typeof o.createdAt !== 'string' || Number.isNaN(Date.parse(o.createdAt))) bad('createdAt');
  const p = o.parameters;
  if (typeof p !== 'object' || p === null || Array.isArray(p) || Object.keys(p).length > 32)
    bad('parameters');
  for (const [k, x] of Object.entries(p as object))
    if (
      k.length > 64 ||
      !['string', 'number', 'boolean'].includes(typeof x) ||
      (typeof x === 'string' && x.length > 1024)
    )
      bad(`parameters.${k}`);
  if (canonicalize(o).length > MAX_REQUEST_BYTES)
    throw new GovernError('BAD_ARGUMENT', `${where}: larger than ${MAX_REQUEST_BYTES} bytes`);
  return o as unknown as ApprovalRequest;
}
