import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from './store.ts';

export const PG_URL = process.env.KEYWARDEN_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * The dialects a storage test runs on. SQLite always; PostgreSQL when KEYWARDEN_TEST_DIALECTS names it
 * (npm run test:pg, and CI). Each opened store is isolated: a temp file, or a fresh schema.
 */
export function dialects(): ('sqlite' | 'postgres')[] {
  const wanted = (process.env.KEYWARDEN_TEST_DIALECTS ?? 'sqlite').split(',');
  return (['sqlite', 'postgres'] as const).filter((d) => wanted.includes(d));
}

export async function openTestStore(
  dialect: 'sqlite' | 'postgres',
): Promise<{ store: Store; dispose(): Promise<void> }> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'kw-store-'));
    const store = await Store.open(join(dir, 'test.db'));
    return {
      store,
      async dispose() {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const schema = `kw_test_${randomBytes(6).toString('hex')}`;
  const store = await Store.open(PG_URL, { schema });
  return {
    store,
    async dispose() {
      await store.close();
      const admin = await import('./postgres/open.ts').then((m) => m.openPostgres(PG_URL));
      await admin.schema.dropSchema(schema).cascade().execute();
      await admin.destroy();
    },
  };
}
