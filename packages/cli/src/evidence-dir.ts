import { dirname, join } from 'node:path';
import { EvidenceError, EvidenceLog } from '@keywarden/evidence';
import { DEFAULT_SQLITE_FILE } from '@keywarden/store';

/**
 * Where the evidence log of a store lives: `--log`, else $KEYWARDEN_EVIDENCE_DIR, else beside the
 * SQLite file (so each database has its own log), else beside the default database.
 */
export function evidenceDirFor(db: string | undefined, log?: string): string {
  if (log) return log;
  if (process.env.KEYWARDEN_EVIDENCE_DIR) return process.env.KEYWARDEN_EVIDENCE_DIR;
  const target = db ?? process.env.KEYWARDEN_DATABASE_URL ?? process.env.KEYWARDEN_DB ?? DEFAULT_SQLITE_FILE;
  if (/^postgres(ql)?:\/\//.test(target)) return join(dirname(DEFAULT_SQLITE_FILE), 'evidence');
  return join(dirname(target), 'evidence');
}

const LOCK_WAIT_MS = 10_000;

/**
 * Open the log for one append, creating it on first use. Another writer holds the lock for the
 * length of its own append only, so a busy log is waited for, briefly, before giving up.
 */
export async function withEvidenceLog<T>(dir: string, fn: (log: EvidenceLog) => Promise<T>): Promise<T> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  let log: EvidenceLog;
  for (;;) {
    try {
      log = await EvidenceLog.open(dir, { create: true });
      break;
    } catch (err) {
      if (!(err instanceof EvidenceError && err.code === 'LOG_LOCKED') || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    return await fn(log);
  } finally {
    await log.close();
  }
}
