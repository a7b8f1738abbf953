import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EvidenceError } from './error.ts';

/** Files of a log directory besides the tlog-tiles ones. */
export const CHECKPOINT_FILE = 'checkpoint';
export const VKEY_FILE = 'log.vkey';
export const KEY_FILE = join('private', 'log-key.pem');
export const LOCK_FILE = 'lock';
export const PENDING_FILE = 'append.pending';
/**
 * Every cosigned checkpoint is also kept as witnessed/<tree size>: the next append replaces the
 * checkpoint file, and the witnesses' word on the older tree would otherwise be lost.
 */
export const WITNESSED_DIR = 'witnessed';
const MAX_WITNESSED = 100_000;

/** The largest tile or bundle file we read: 256 entries of 64 KiB plus their length prefixes. */
export const MAX_FILE_BYTES = 256 * (0xffff + 2);

export function readBounded(path: string, what = path): Buffer {
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new EvidenceError('LOG_CORRUPT', code === 'ENOENT' ? `${what} is missing` : `cannot read ${what}`, {
      cause: err,
    });
  }
  if (data.length > MAX_FILE_BYTES)
    throw new EvidenceError('LOG_CORRUPT', `${what} is larger than any tile or bundle`);
  return data;
}

export function isLogDir(dir: string): boolean {
  return existsSync(join(dir, CHECKPOINT_FILE));
}

/** Tree sizes with a kept cosigned checkpoint, ascending; names that are not sizes are ignored. */
export function witnessedSizes(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(join(dir, WITNESSED_DIR));
  } catch {
    return [];
  }
  return names
    .filter((n) => /^(0|[1-9]\d{0,15})$/.test(n))
    .sort((a, b) => Number(a) - Number(b))
    .slice(-MAX_WITNESSED);
}
