import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalize } from '@keywarden/evidence';
import { GovernError } from '../error.ts';
import { isDigest } from '../policy/canonical.ts';
import { checkRequest, requestDigest, type ApprovalRequest } from './request.ts';

const MAX_FILE = 16 * 1024;

/**
 * Pending requests live beside the log, named by their digest; the name is re-checked on read, so a
 * file edited after the fact is refused rather than approved under the old id.
 */
export function saveRequest(logDir: string, r: ApprovalRequest): string {
  const dir = join(logDir, 'requests');
  mkdirSync(dir, { recursive: true });
  const id = requestDigest(r);
  writeFileSync(join(dir, `${id.slice(7)}.json`), canonicalize(r), { flag: 'w' });
  return id;
}

export function loadRequest(logDir: string, id: string): ApprovalRequest {
  const full = id.startsWith('sha256:') ? id : `sha256:${id}`;
  if (!isDigest(full)) throw new GovernError('BAD_ARGUMENT', `"${id}" is not a request id (sha256:<64 hex>)`);
  const file = join(logDir, 'requests', `${full.slice(7)}.json`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new GovernError('BAD_ARGUMENT', `no request ${full} in ${join(logDir, 'requests')}`);
  }
  if (text.length > MAX_FILE) throw new GovernError('BAD_ARGUMENT', `${file}: larger than ${MAX_FILE} bytes`);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new GovernError('BAD_ARGUMENT', `${file}: not JSON`);
  }
  const r = checkRequest(v, file);
  if (requestDigest(r) !== full)
    throw new GovernError('BAD_ARGUMENT', `${file}: its content does not hash to ${full} (edited?)`);
  return r;
}
