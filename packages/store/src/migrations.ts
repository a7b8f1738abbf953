import { type Kysely, type Migration } from 'kysely';

/**
 * Forward-only migrations, applied in order on open. Never edit a released migration: add a new one.
 * Kysely's Migrator records them and serialises concurrent openers with a lock table.
 */
export const migrations: Record<string, Migration> = {
  '0001_inventory': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('scans')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .addColumn('finished_at', 'bigint')
        .addColumn('roots', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('summary', 'text')
        .execute();
      await db.schema
        .createTable('keys')
        .addColumn('key_id', 'text', (c) => c.primaryKey())
        .addColumn('algorithm', 'text', (c) => c.notNull())
        .addColumn('size', 'integer')
        .addColumn('curve', 'text')
        .addColumn('first_seen', 'bigint', (c) => c.notNull())
        .addColumn('last_seen', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('assets')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('identity', 'text', (c) => c.notNull())
        .addColumn('key_id', 'text')
        .addColumn('subject', 'text')
        .addColumn('issuer', 'text')
        .addColumn('serial', 'text')
        .addColumn('not_before', 'bigint')
        .addColumn('not_after', 'bigint')
        .addColumn('algorithm', 'text')
        .addColumn('size', 'integer')
        .addColumn('curve', 'text')
        .addColumn('signature_algorithm', 'text')
        .addColumn('ski', 'text')
        .addColumn('aki', 'text')
        .addColumn('is_ca', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('self_signed', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('record', 'text', (c) => c.notNull())
        .addColumn('first_seen', 'bigint', (c) => c.notNull())
        .addColumn('last_seen', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('assets_kind_not_after')
        .on('assets')
        .columns(['kind', 'not_after'])
        .execute();
      await db.schema.createIndex('assets_key_id').on('assets').column('key_id').execute();
      await db.schema.createIndex('assets_ski').on('assets').column('ski').execute();
      await db.schema.createIndex('assets_subject').on('assets').column('subject').execute();
      await db.schema
        .createTable('occurrences')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('asset_id', 'text', (c) => c.references('assets.id'))
        .addColumn('first_scan_id', 'text', (c) => c.notNull().references('scans.id'))
        .addColumn('scan_id', 'text', (c) => c.notNull().references('scans.id'))
        .addColumn('path', 'text', (c) => c.notNull())
        .addColumn('offset', 'bigint', (c) => c.notNull())
        .addColumn('encoding', 'text', (c) => c.notNull())
        .addColumn('format', 'text', (c) => c.notNull())
        .addColumn('layer', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('private', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('encrypted', 'integer')
        .addColumn('file_mode', 'integer')
        .addColumn('first_seen', 'bigint', (c) => c.notNull())
        .addColumn('last_seen', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('occurrences_asset').on('occurrences').column('asset_id').execute();
      await db.schema.createIndex('occurrences_status').on('occurrences').column('status').execute();
    },
  },
  '0002_edges': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('edges')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('from_id', 'text', (c) => c.notNull())
        .addColumn('to_id', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('first_seen', 'bigint', (c) => c.notNull())
        .addColumn('last_seen', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('edges_from').on('edges').columns(['from_id', 'kind']).execute();
      await db.schema.createIndex('edges_to').on('edges').columns(['to_id', 'kind']).execute();
      // Signers are named by issuer and serial (CMS sid): finding their certificate must not scan.
      await db.schema
        .createIndex('assets_issuer_serial')
        .on('assets')
        .columns(['issuer', 'serial'])
        .execute();
    },
  },
};
