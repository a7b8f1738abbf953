import { readFileSync, statSync } from 'node:fs';
import { replaceDurable } from '../durable-fs.ts';
import { EvidenceError } from '../error.ts';
import { HASH_SIZE } from '../hash.ts';

/** What a witness remembers per log: the latest checkpoint it cosigned. */
export interface LogState {
  size: number;
  root: Buffer;
}

const FORMAT = 'keywarden-witness-state/v1';
/** One small record per configured log; a state file beyond this is not ours. */
const MAX_STATE_BYTES = 4 * 1024 * 1024;
const MAX_LOGS = 10_000;

function corrupt(path: string, why: string, cause?: unknown): never {
  throw new EvidenceError('LOG_CORRUPT', `witness state ${path}: ${why}`, { cause });
}

/** Reads the state file; a missing file is a witness that has cosigned nothing yet. */
export function loadState(path: string): Map<string, LogState> {
  let text: string;
  try {
    if (statSync(path).size > MAX_STATE_BYTES) corrupt(path, `larger than ${MAX_STATE_BYTES} bytes`);
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (err instanceof EvidenceError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    return corrupt(path, 'cannot be read', err);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return corrupt(path, 'is not JSON', err);
  }
  const d = doc as { format?: unknown; logs?: unknown };
  if (typeof d !== 'object' || d === null || d.format !== FORMAT) corrupt(path, `is not ${FORMAT}`);
  if (typeof d.logs !== 'object' || d.logs === null || Array.isArray(d.logs))
    corrupt(path, 'has no logs object');
  const entries = Object.entries(d.logs as Record<string, unknown>);
  if (entries.length > MAX_LOGS) corrupt(path, `holds more than ${MAX_LOGS} logs`);
  const out = new Map<string, LogState>();
  for (const [origin, v] of entries) {
    const r = v as { size?: unknown; root?: unknown };
    if (typeof r !== 'object' || r === null || !Number.isSafeInteger(r.size) || (r.size as number) < 0)
      corrupt(path, `log ${origin} has no valid size`);
    const root = typeof r.root === 'string' ? Buffer.from(r.root, 'base64') : Buffer.alloc(0);
    if (root.length !== HASH_SIZE || root.toString('base64') !== r.root)
      corrupt(path, `log ${origin} has no valid root hash`);
    out.set(origin, { size: r.size as number, root });
  }
  return out;
}

/** Replaces the state file atomically and durably: a crash leaves the old state or the new one. */
export function saveState(path: string, state: ReadonlyMap<string, LogState>): void {
  const logs: Record<string, { size: number; root: string }> = {};
  for (const [origin, s] of [...state].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    logs[origin] = { size: s.size, root: s.root.toString('base64') };
  try {
    replaceDurable(path, Buffer.from(`${JSON.stringify({ format: FORMAT, logs }, null, 2)}\n`));
  } catch (err) {
    throw new EvidenceError('LOG_WRITE', `cannot write the witness state ${path}`, { cause: err });
  }
}
