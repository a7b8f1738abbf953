import { Option } from 'commander';
import { Store } from '@keywarden/store';

export const dbOption = (): Option =>
  new Option(
    '--db <url|file>',
    'PostgreSQL URL or SQLite file (default: $KEYWARDEN_DATABASE_URL, $KEYWARDEN_DB, .keywarden/keywarden.db)',
  );

export async function withStore<T>(db: string | undefined, fn: (s: Store) => Promise<T>): Promise<T> {
  const store = await Store.open(db);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}
