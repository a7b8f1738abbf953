import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { Database } from '../schema.ts';

/** Embedded store: one file, WAL so readers never block the scan's writer. */
export function openSqlite(file: string): Kysely<Database> {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new BetterSqlite3(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  // A second scan on the same file waits for the first one's batch instead of failing at once.
  db.pragma('busy_timeout = 30000');
  return new Kysely<Database>({ dialect: new SqliteDialect({ database: db }) });
}
